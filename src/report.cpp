#include "initbench/report.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <stdexcept>
#include <type_traits>

#include "initbench/io.hpp"
#include "initbench/text.hpp"

namespace initbench {

std::string csv_escape(std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

template <typename V>
std::string field(const V& value) {
  if constexpr (std::is_same_v<V, std::string>) {
    return csv_escape(value);
  } else if constexpr (std::is_floating_point_v<V>) {
    return format_number(value);
  } else {
    return fmt::format("{}", value);
  }
}

template <typename Row>
void header(const Row& row, std::string& out) {
  bool first = true;
  row.visit([&](const char* name, const auto&) {
    if (!first) out += ',';
    out += name;
    first = false;
  });
}

template <typename Row>
void line(const Row& row, std::string& out) {
  bool first = true;
  row.visit([&](const char*, const auto& value) {
    if (!first) out += ',';
    out += field(value);
    first = false;
  });
}

// All rows of one type across records, in record order.
template <typename Row, typename Get>
std::string table(const std::vector<RunRecord>& records, Get get) {
  std::string out;
  header(Row{}, out);
  out += '\n';
  for (const RunRecord& r : records) {
    for (const Row& row : get(r)) {
      line(row, out);
      out += '\n';
    }
  }
  return out;
}

}  // namespace

std::string runs_csv(const std::vector<RunRecord>& records) {
  std::string out;
  header(RunRow{}, out);
  const auto& axes = records.empty() ? std::vector<std::pair<std::string, std::string>>{}
                                     : records.front().run.axes;
  for (const auto& [name, value] : axes) out += ',' + csv_escape(name);
  out += '\n';
  for (const RunRecord& r : records) {
    line(r.run, out);
    if (r.run.axes.size() != axes.size())
      throw std::logic_error("runs with different grid axes in one table");
    for (const auto& [name, value] : r.run.axes) out += ',' + csv_escape(value);
    out += '\n';
  }
  return out;
}

std::string curves_csv(const std::vector<RunRecord>& records) {
  return table<CurveRow>(
      records, [](const RunRecord& r) -> const auto& { return r.curves; });
}
std::string layers_csv(const std::vector<RunRecord>& records) {
  return table<LayerRow>(
      records, [](const RunRecord& r) -> const auto& { return r.layers; });
}
std::string symmetry_csv(const std::vector<RunRecord>& records) {
  return table<SymmetryRow>(
      records, [](const RunRecord& r) -> const auto& { return r.symmetry; });
}
std::string histograms_csv(const std::vector<RunRecord>& records) {
  return table<HistogramRow>(
      records, [](const RunRecord& r) -> const auto& { return r.histograms; });
}
std::string jacobian_csv(const std::vector<RunRecord>& records) {
  return table<JacobianRow>(
      records, [](const RunRecord& r) -> const auto& { return r.jacobian; });
}
std::string timings_csv(const std::vector<RunRecord>& records) {
  return table<TimingRow>(records,
                          [](const RunRecord& r) { return std::vector<TimingRow>{r.timing}; });
}

void write_reports(const std::string& dir, const std::vector<RunRecord>& records) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/" + kRunsCsv, runs_csv(records));
  write_file_atomic(dir + "/" + kCurvesCsv, curves_csv(records));
  write_file_atomic(dir + "/" + kLayersCsv, layers_csv(records));
  write_file_atomic(dir + "/" + kSymmetryCsv, symmetry_csv(records));
  write_file_atomic(dir + "/" + kHistogramsCsv, histograms_csv(records));
  write_file_atomic(dir + "/" + kJacobianCsv, jacobian_csv(records));
  write_file_atomic(dir + "/" + kTimingsCsv, timings_csv(records));
}

std::size_t CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  throw std::runtime_error(
      fmt::format("{}: no column '{}'{}", source, name, did_you_mean(name, columns)));
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  std::vector<std::string> fields;
  std::string current;
  bool quoted = false;
  bool field_started = false;
  long line = 1;
  long record_line = 1;
  auto end_record = [&] {
    fields.push_back(std::move(current));
    current.clear();
    if (table.columns.empty()) {
      table.columns = std::move(fields);
    } else if (fields.size() != table.columns.size()) {
      throw std::runtime_error(fmt::format("{}:{}: {} fields, but the header has {}", source,
                                           record_line, fields.size(), table.columns.size()));
    } else {
      table.rows.push_back(std::move(fields));
    }
    fields.clear();
    field_started = false;
    record_line = line;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          current += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        current += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (field_started || !current.empty()) {
          throw std::runtime_error(
              fmt::format("{}:{}: a quote in the middle of a field", source, line));
        }
        quoted = true;
        field_started = true;
        break;
      case ',':
        fields.push_back(std::move(current));
        current.clear();
        field_started = false;
        break;
      case '\r': break;
      case '\n':
        ++line;
        end_record();
        break;
      default: current += c; field_started = true;
    }
  }
  if (quoted)
    throw std::runtime_error(fmt::format("{}:{}: unterminated quoted field", source, record_line));
  if (!current.empty() || !fields.empty() || field_started) end_record();
  if (table.columns.empty())
    throw std::runtime_error(fmt::format("{}: empty file: no header row", source));
  return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_file(path), path); }

}  // namespace initbench
