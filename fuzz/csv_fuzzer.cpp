// csv_fuzzer: bytes -> the CSV data reader (load_dataset with kind "csv") and the CSV table
// reader of result files (parse_csv). The first byte picks the options: a label or a target
// column named "y", the number of classes, a test file (the same bytes) or a split, and
// standardization; the rest is the file. A bad file must end in std::exception with a message;
// anything else (a crash, a sanitizer report, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "fuzz_input.hpp"
#include "initbench/data.hpp"
#include "initbench/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static initbench::fuzz::InputFile file("csv");
  const std::uint8_t options = data[0];
  file.write(data + 1, size - 1);

  // Strings, not literals, are assigned: GCC 12 warns (-Wrestrict, a false positive) on
  // assigning a short literal to a std::string.
  static const std::string kCsv = "csv";
  static const std::string kY = "y";
  initbench::DataSpec spec;
  spec.kind = kCsv;
  spec.path = file.path();
  if ((options & 1U) != 0) {
    spec.targets = {kY};
  } else {
    spec.label = kY;
    spec.classes = (options >> 1U) & 3U;  // 0 (from the labels), 1, 2 or 3
  }
  if ((options & 8U) != 0) spec.test_path = file.path();
  spec.test_fraction = (options & 16U) != 0 ? 0.5 : 0.2;
  spec.standardize = (options & 32U) != 0;
  spec.limit_train = (options & 64U) != 0 ? 3 : 0;
  try {
    const initbench::Dataset d = initbench::load_dataset(spec, 1);
    if (d.X_train.cols() != d.Y_train.cols() || d.X_test.cols() != d.Y_test.cols())
      __builtin_trap();
  } catch (const std::exception&) {
  }
  try {
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const initbench::CsvTable table = initbench::parse_csv(text, "fuzz.csv");
    for (const auto& row : table.rows) {
      if (row.size() != table.columns.size()) __builtin_trap();
    }
  } catch (const std::exception&) {
  }
  return 0;
}
