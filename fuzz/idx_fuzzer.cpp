// idx_fuzzer: bytes -> read_idx as labels (1 dimension) and as images (3 dimensions), raw or
// gzip (zlib reads either). A bad file must end in std::runtime_error naming it; anything else
// (a crash, a sanitizer report, a hang, an allocation the file's size does not justify) is a bug.
#include <cstddef>
#include <cstdint>
#include <exception>

#include "fuzz_input.hpp"
#include "initbench/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static initbench::fuzz::InputFile file("idx");
  file.write(data, size);
  for (const std::uint32_t dims : {1U, 3U}) {
    try {
      const initbench::IdxArray a = initbench::read_idx(file.path(), dims);
      std::size_t total = 1;
      for (const auto d : a.dims) total *= d;
      if (a.dims.size() != dims || a.data.size() != total) __builtin_trap();
    } catch (const std::exception&) {
    }
  }
  return 0;
}
