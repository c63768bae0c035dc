# Flags live on INTERFACE targets that real targets link; nothing is set globally.

# initbench_warnings: strict warnings for the project's own code.
add_library(initbench_warnings INTERFACE)
target_compile_options(initbench_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
  -Wdouble-promotion -Wnull-dereference -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wunused -Wformat=2 -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(initbench_warnings INTERFACE
    # GCC 12 reports false positives inside its own AVX-512 intrinsics when Eigen inlines them.
    -Wno-maybe-uninitialized
    # ...and in fmt 9's fill_t when trainer.cpp is inlined with asserts on (GCC bug 105593 family).
    -Wno-stringop-overflow
    -Wmisleading-indentation -Wduplicated-cond -Wduplicated-branches -Wlogical-op)
endif()
if(INITBENCH_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 with sanitizers: false -Wuninitialized inside its AVX-512 headers (GCC bug 105593).
  target_compile_options(initbench_warnings INTERFACE -Wno-uninitialized)
endif()
if(INITBENCH_WERROR)
  target_compile_options(initbench_warnings INTERFACE -Werror)
endif()

# initbench_options: optimisation, SIMD and sanitizers, for everything we build (tests and
# benchmarks included, so that what is tested is what is timed).
# Everything but the instruction-set kernels (src/kernels/isa_*.cpp, which carry their own
# -march and are chosen at run time) is compiled for one fixed baseline, INITBENCH_ARCH, never
# for the build machine: Eigen's vectorised code (reductions, the SVD of the probes) then has the
# same instructions, and so the same bits, wherever it is built and run.
add_library(initbench_options INTERFACE)
target_compile_options(initbench_options INTERFACE -march=${INITBENCH_ARCH})
target_compile_options(initbench_options INTERFACE $<$<CONFIG:Release>:-O3>)
# Eigen's own SIMD kernels use FMA explicitly; forbidding the compiler from contracting a*b+c
# elsewhere keeps scalar code (the generator, the QR) bit-reproducible across builds.
target_compile_options(initbench_options INTERFACE -ffp-contract=off)
# ...and no auto-vectorisation: GCC 12's vectoriser fuses a*b - c*d pairs into FMA-family
# instructions (vfmaddsub) even with -ffp-contract=off (seen in Eigen's eigensolver, which the
# mean-field quadrature and the symmetry probe use), and it runs at -O2 and -O3 but not at -O1:
# a Release build and the sanitizer build (-O1) then gave different last bits. The hot loops are
# vectorised by hand (src/kernels/) and by Eigen's own packets, which this flag does not touch.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(initbench_options INTERFACE -fno-tree-vectorize)
elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(initbench_options INTERFACE -fno-vectorize -fno-slp-vectorize)
endif()
if(INITBENCH_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "INITBENCH_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++, as `make fuzz` does")
  endif()
  # Coverage for libFuzzer and both sanitizers in everything; the fuzz targets link libFuzzer.
  target_compile_options(initbench_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(initbench_options INTERFACE -fsanitize=address,undefined)
elseif(INITBENCH_SANITIZE)
  target_compile_options(initbench_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(initbench_options INTERFACE -fsanitize=address,undefined)
endif()
