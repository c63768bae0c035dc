// csv.cpp: datasets from CSV files (load_csv).
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "initbench/data.hpp"
#include "initbench/io.hpp"
#include "initbench/report.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "shared.hpp"

namespace initbench {

using namespace data_internal;

// ---------------------------------------------------------------------------------------------
// CSV files
// ---------------------------------------------------------------------------------------------

namespace {

// Larger labels are almost surely a wrong column, and would make a huge one-hot matrix.
constexpr double kMaxLabel = 65535.0;

struct NumericTable {  // a dataset file: its columns and numbers
  std::string path;
  std::vector<std::string> columns;
  std::vector<double> cells;       // row-major: rows() x columns.size()
  std::vector<std::size_t> lines;  // the file line of each row, 1-based

  std::size_t rows() const { return lines.size(); }
  double at(std::size_t row, std::size_t column) const {
    return cells[row * columns.size() + column];
  }
};

void read_csv_header(NumericTable& table, std::vector<std::string>& cells, long line_number) {
  for (auto& cell : cells) {
    std::string name = trim(cell);
    if (name.empty()) {
      throw std::runtime_error(fmt::format("{}:{}: column {} of the header has no name", table.path,
                                           line_number, table.columns.size() + 1));
    }
    if (std::find(table.columns.begin(), table.columns.end(), name) != table.columns.end()) {
      throw std::runtime_error(
          fmt::format("{}:{}: duplicate column '{}'", table.path, line_number, name));
    }
    table.columns.push_back(std::move(name));
  }
}

void read_csv_row(NumericTable& table, const std::vector<std::string>& fields, long line_number) {
  if (fields.size() != table.columns.size()) {
    throw std::runtime_error(fmt::format("{}:{}: {} cells, but the header has {} columns",
                                         table.path, line_number, fields.size(),
                                         table.columns.size()));
  }
  for (std::size_t c = 0; c < fields.size(); ++c) {
    const std::string cell = trim(fields[c]);
    const auto value = parse_double(cell);
    if (!value) {
      throw std::runtime_error(fmt::format("{}:{}: column '{}': '{}' is not a number", table.path,
                                           line_number, table.columns[c], cell));
    }
    if (!std::isfinite(*value)) {
      throw std::runtime_error(
          fmt::format("{}:{}: column '{}': '{}' is not finite (NaN and infinities are not allowed)",
                      table.path, line_number, table.columns[c], cell));
    }
    table.cells.push_back(*value);
  }
  table.lines.push_back(static_cast<std::size_t>(line_number));
}

// The file through the project's CSV tokenizer (report.hpp: CsvReader, RFC 4180 quoting), then
// cells trimmed and read as numbers; blank lines are skipped.
NumericTable read_csv_table(const std::string& path) {
  NumericTable table;
  table.path = path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error(fmt::format("{}: no such file", path));
  std::string text = read_file(path);
  // Excel and PowerShell begin UTF-8 files with a byte-order mark; it is not part of a name.
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  CsvReader reader(text, path);
  std::vector<std::string> fields;
  bool have_header = false;
  while (reader.next(fields)) {
    if (reader.blank()) continue;
    if (have_header) {
      read_csv_row(table, fields, reader.line());
    } else {
      read_csv_header(table, fields, reader.line());
      have_header = true;
    }
  }
  if (!have_header)
    throw std::runtime_error(fmt::format("{}: empty file (expected a header row)", path));
  if (table.rows() == 0)
    throw std::runtime_error(fmt::format("{}: no data rows after the header", path));
  return table;
}

std::size_t column_index(const NumericTable& table, const std::string& name,
                         std::string_view role) {
  const auto it = std::find(table.columns.begin(), table.columns.end(), name);
  if (it == table.columns.end()) {
    throw std::runtime_error(fmt::format("{}:1: no {} column '{}' (columns: {}){}", table.path,
                                         role, name, join(table.columns),
                                         did_you_mean(name, table.columns)));
  }
  return static_cast<std::size_t>(it - table.columns.begin());
}

// Which columns are features and which are targets, by name.
struct CsvLayout {
  std::vector<std::string> features;
  std::vector<std::string> targets;  // the label column alone for classification
  bool classify = false;
};

CsvLayout csv_layout(const DataSpec& spec, const NumericTable& table) {
  CsvLayout layout;
  layout.classify = !spec.label.empty();
  layout.targets = layout.classify ? std::vector<std::string>{spec.label} : spec.targets;
  for (const auto& name : layout.targets)
    column_index(table, name, layout.classify ? "label" : "target");
  for (const auto& name : table.columns) {
    if (std::find(layout.targets.begin(), layout.targets.end(), name) == layout.targets.end()) {
      layout.features.push_back(name);
    }
  }
  if (layout.features.empty()) {
    throw std::runtime_error(
        fmt::format("{}:1: no feature columns (every column is a label or target)", table.path));
  }
  return layout;
}

// The test file must have exactly the training file's columns, in any order.
void check_same_columns(const NumericTable& train, const NumericTable& test) {
  for (const auto& name : train.columns) {
    if (std::find(test.columns.begin(), test.columns.end(), name) == test.columns.end()) {
      throw std::runtime_error(fmt::format("{}:1: no column '{}', which the training file {} has",
                                           test.path, name, train.path));
    }
  }
  for (const auto& name : test.columns) {
    if (std::find(train.columns.begin(), train.columns.end(), name) == train.columns.end()) {
      throw std::runtime_error(fmt::format("{}:1: column '{}' is not in the training file {}",
                                           test.path, name, train.path));
    }
  }
}

// Rows of a table that form one set, in file order.
struct CsvRows {
  const NumericTable* table;
  std::vector<std::size_t> rows;
};

Matrix<double> csv_matrix(const CsvRows& set, const std::vector<std::string>& names) {
  Matrix<double> M(to_index(names.size()), to_index(set.rows.size()));  // (columns, rows)
  for (std::size_t c = 0; c < names.size(); ++c) {
    const std::size_t column = column_index(*set.table, names[c], "");
    for (std::size_t j = 0; j < set.rows.size(); ++j) {
      M(to_index(c), to_index(j)) = set.table->at(set.rows[j], column);
    }
  }
  return M;
}

// Checks every label of the set (also those a limit drops later) and returns the largest.
Index csv_check_labels(const CsvRows& set, const std::string& label, Index classes) {
  const std::size_t column = column_index(*set.table, label, "label");
  Index largest = 0;
  for (const std::size_t row : set.rows) {
    const double value = set.table->at(row, column);
    const std::size_t line = set.table->lines[row];
    if (value < 0 || value != std::floor(value) || value > kMaxLabel) {
      throw std::runtime_error(
          fmt::format("{}:{}: label column '{}': {} is not a class index (an integer in 0..{})",
                      set.table->path, line, label, format_number(value), kMaxLabel));
    }
    const auto k = static_cast<Index>(value);
    if (classes > 0 && k >= classes) {
      throw std::runtime_error(
          fmt::format("{}:{}: label column '{}': {} is out of range for classes = {}",
                      set.table->path, line, label, k, classes));
    }
    largest = std::max(largest, k);
  }
  return largest;
}

Labels csv_labels(const CsvRows& set, const std::string& label) {
  const std::size_t column = column_index(*set.table, label, "label");
  Labels labels;
  for (const std::size_t row : set.rows)
    labels.push_back(static_cast<Index>(set.table->at(row, column)));
  return labels;
}

std::vector<std::size_t> all_rows(const NumericTable& table) {
  std::vector<std::size_t> rows(table.rows());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

// Splits the rows of one file: round(m * fraction) random rows go to test; both keep file order.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split_rows(const NumericTable& table,
                                                                         double fraction,
                                                                         std::uint64_t seed) {
  const Index m = to_index(table.rows());
  const auto n_test = static_cast<Index>(std::llround(static_cast<double>(m) * fraction));
  if (m - n_test < 1) {
    throw std::runtime_error(fmt::format(
        "{}: {} rows leave no training rows with test_fraction = {}", table.path, m, fraction));
  }
  Rng rng(seed, 0, stream::kData);
  const auto order = permutation(m, rng);
  std::vector<bool> is_test(to_size(m), false);
  for (Index i = 0; i < n_test; ++i) is_test[to_size(order[to_size(i)])] = true;
  std::vector<std::size_t> train;
  std::vector<std::size_t> test;
  for (std::size_t row = 0; row < table.rows(); ++row) (is_test[row] ? test : train).push_back(row);
  return {std::move(train), std::move(test)};
}

void keep_first(std::vector<std::size_t>& rows, Index limit) {
  if (limit > 0 && to_size(limit) < rows.size()) rows.resize(to_size(limit));
}

}  // namespace

Dataset load_csv(const DataSpec& spec, std::uint64_t seed) {
  if (spec.path.empty()) throw std::invalid_argument("csv: path is empty");
  if (spec.label.empty() == spec.targets.empty()) {
    throw std::invalid_argument(
        fmt::format("csv {}: set exactly one of label (classification) and targets (regression); "
                    "got label '{}', targets [{}]",
                    spec.path, spec.label, join(spec.targets)));
  }
  if (!spec.targets.empty() && spec.classes != 0) {
    throw std::invalid_argument(
        fmt::format("csv {}: classes = {} applies to a label column, not to regression targets",
                    spec.path, spec.classes));
  }
  if (spec.limit_train < 0 || spec.limit_test < 0 || spec.classes < 0) {
    throw std::invalid_argument(
        fmt::format("csv: need limit_train, limit_test, classes >= 0; got {}, {}, {}",
                    spec.limit_train, spec.limit_test, spec.classes));
  }
  const bool split = spec.test_path.empty();
  if (split && !(spec.test_fraction >= 0.0 && spec.test_fraction < 1.0)) {
    throw std::invalid_argument(
        fmt::format("csv: need 0 <= test_fraction < 1; got {}", spec.test_fraction));
  }
  const NumericTable train_table = read_csv_table(spec.path);
  const CsvLayout layout = csv_layout(spec, train_table);
  std::optional<NumericTable> test_table;
  CsvRows train{&train_table, {}};
  CsvRows test{&train_table, {}};
  if (split) {
    std::tie(train.rows, test.rows) = split_rows(train_table, spec.test_fraction, seed);
  } else {
    test_table = read_csv_table(spec.test_path);
    check_same_columns(train_table, *test_table);
    train.rows = all_rows(train_table);
    test = CsvRows{&*test_table, all_rows(*test_table)};
  }
  Dataset d;
  d.name = std::filesystem::path(spec.path).stem().string();
  if (layout.classify) {
    const Index largest =
        std::max(csv_check_labels(train, spec.label, spec.classes),
                 test.rows.empty() ? 0 : csv_check_labels(test, spec.label, spec.classes));
    d.num_classes = spec.classes > 0 ? spec.classes : std::max<Index>(2, largest + 1);
  }
  keep_first(train.rows, spec.limit_train);
  keep_first(test.rows, spec.limit_test);
  d.X_train = csv_matrix(train, layout.features);
  d.X_test = csv_matrix(test, layout.features);
  if (layout.classify) {
    d.Y_train = encode_labels(csv_labels(train, spec.label), d.num_classes);
    d.Y_test = encode_labels(csv_labels(test, spec.label), d.num_classes);
  } else {
    d.Y_train = csv_matrix(train, layout.targets);
    d.Y_test = csv_matrix(test, layout.targets);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// Standardization
// ---------------------------------------------------------------------------------------------

// The entry names only the fields it sets; the rest keep DatasetKind's defaults. GCC 12 warns
// about exactly that (-Wmissing-field-initializers), which is the point of designated
// initializers here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
DatasetKind data_internal::csv_kind() {
  return {.name = "csv",
          .check =
              [](const DataSpec& d, Index) {
                need_path(d, "the training CSV file");
                if (d.label.empty() == d.targets.empty()) {
                  throw RunCheckError({"data.kind"},
                                      "data.kind = 'csv' needs exactly one of data.label (a "
                                      "classification label column) and data.targets (regression "
                                      "target columns)");
                }
                if (!d.targets.empty() && d.classes != 0) {
                  throw RunCheckError(
                      {"data.classes"},
                      fmt::format("data.classes = {} applies to a label column, not "
                                  "to regression targets",
                                  d.classes));
                }
              },
          .load = [](const DataSpec& d, Index, std::uint64_t seed) { return load_csv(d, seed); },
          // a file split at random depends on the seed; files with their own test set do not
          .seeded = [](const DataSpec& d) { return d.test_path.empty(); }};
}
#pragma GCC diagnostic pop

}  // namespace initbench
