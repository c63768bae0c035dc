# The ctest test install.destdir (tests/CMakeLists.txt): installs the build tree into a temporary
# DESTDIR under the configured prefix, as `make install` would, and checks what arrived:
# bin/initbench runs (--version, and `describe` on an installed spec), every experiments/*.toml is
# there byte for byte, the docs are there, and python/initbench/ (when the source tree has it) is
# installed where Debian's python3 imports it from.
#   cmake -DBINARY_DIR=... -DSOURCE_DIR=... -DPREFIX=... -DPYTHONDIR=... -DPYTHON=...
#         -DVERSION=... -P InstallCheck.cmake
function(fail)
  string(JOIN "" message ${ARGN})
  message(FATAL_ERROR "install.destdir: ${message}")
endfunction()

set(destdir "${BINARY_DIR}/install-check")
file(REMOVE_RECURSE "${destdir}")
execute_process(COMMAND "${CMAKE_COMMAND}" -E env "DESTDIR=${destdir}"
                        "${CMAKE_COMMAND}" --install "${BINARY_DIR}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  fail("cmake --install failed (${status}):\n${output}")
endif()
set(root "${destdir}${PREFIX}")
message(STATUS "installed into DESTDIR=${destdir}, prefix ${PREFIX}")

# The binary runs.
set(exe "${root}/bin/initbench")
if(NOT EXISTS "${exe}")
  fail("${exe} was not installed")
endif()
execute_process(COMMAND "${exe}" --version RESULT_VARIABLE status OUTPUT_VARIABLE output
                ERROR_VARIABLE output)
if(NOT status EQUAL 0 OR NOT output MATCHES "initbench ${VERSION}")
  fail("`${exe} --version` gave status ${status} and:\n${output}")
endif()
message(STATUS "bin/initbench --version: ${output}")

# Every shipped spec, identical, and readable by the installed binary.
file(GLOB specs RELATIVE "${SOURCE_DIR}/experiments" "${SOURCE_DIR}/experiments/*.toml")
if(NOT specs)
  fail("no experiments/*.toml in ${SOURCE_DIR}")
endif()
set(shared "${root}/share/initbench/experiments")
foreach(spec IN LISTS specs)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${SOURCE_DIR}/experiments/${spec}"
                          "${shared}/${spec}" RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    fail("${shared}/${spec} is missing or differs from experiments/${spec}")
  endif()
endforeach()
list(LENGTH specs count)
message(STATUS "share/initbench/experiments: ${count} specs")
execute_process(COMMAND "${exe}" describe "${shared}/course_init.toml" --quick
                WORKING_DIRECTORY "${destdir}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0 OR NOT output MATCHES "estimated cost")
  fail("`initbench describe` on the installed course_init.toml gave status ${status}:\n${output}")
endif()

# The docs.
foreach(doc README.md spec.md csv.md)
  if(NOT EXISTS "${root}/share/doc/initbench/${doc}")
    fail("share/doc/initbench/${doc} was not installed")
  endif()
endforeach()

# The Python package, when there is one: installed whole, and importable from there.
if(EXISTS "${SOURCE_DIR}/python/initbench/__init__.py")
  if(IS_ABSOLUTE "${PYTHONDIR}")
    set(pydir "${destdir}${PYTHONDIR}")
  else()
    set(pydir "${root}/${PYTHONDIR}")
  endif()
  file(GLOB_RECURSE modules RELATIVE "${SOURCE_DIR}/python/initbench"
       "${SOURCE_DIR}/python/initbench/*.py")
  foreach(module IN LISTS modules)
    if(NOT EXISTS "${pydir}/initbench/${module}")
      fail("${pydir}/initbench/${module} was not installed")
    endif()
  endforeach()
  if(EXISTS "${PYTHON}")
    execute_process(COMMAND "${CMAKE_COMMAND}" -E env "PYTHONPATH=${pydir}"
                            PYTHONDONTWRITEBYTECODE=1
                            "${PYTHON}" -c "import initbench; print(initbench.__file__)"
                    WORKING_DIRECTORY "${destdir}"
                    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
    string(STRIP "${output}" output)
    if(NOT status EQUAL 0 OR NOT output STREQUAL "${pydir}/initbench/__init__.py")
      fail("`import initbench` from ${pydir} with ${PYTHON} gave status ${status}:\n${output}")
    endif()
    message(STATUS "python: import initbench -> ${output}")
  else()
    message(STATUS "python: ${PYTHON} is missing; import not checked")
  endif()
else()
  message(STATUS "python: the source tree has no python/initbench/ yet; nothing to check")
endif()

file(REMOVE_RECURSE "${destdir}")
