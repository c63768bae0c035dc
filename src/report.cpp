#include "initbench/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>
#include <type_traits>

#include "initbench/io.hpp"
#include "initbench/probes.hpp"
#include "initbench/text.hpp"

namespace initbench {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

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

const std::vector<std::string>& run_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    RunRow all;
    all.validation = true;
    all.visit([&](const char* name, const auto&) { out.emplace_back(name); });
    return out;
  }();
  return names;
}

std::string runs_csv(const std::vector<RunRecord>& records) {
  std::string out;
  // The fixed columns of the first run: every run of an experiment has the same (a validation
  // split or none: data.validation is not an axis), and the same setting columns.
  const RunRow first = records.empty() ? RunRow{} : records.front().run;
  csv_header(first, out);
  for (const auto& [name, value] : first.settings) out += ',' + csv_escape(name);
  out += '\n';
  for (const RunRecord& r : records) {
    csv_line(r.run, out);
    if (r.run.settings.size() != first.settings.size())
      throw std::logic_error("runs with different setting columns in one table");
    if (r.run.validation != first.validation)
      throw std::logic_error("runs with and without a validation split in one table");
    for (const auto& [name, value] : r.run.settings) out += ',' + csv_escape(value);
    out += '\n';
  }
  return out;
}

std::string curves_csv(const std::vector<RunRecord>& records) {
  CurveRow first;  // the header: with the validation columns when the runs have a split
  first.validation = !records.empty() && records.front().run.validation;
  std::string out;
  csv_header(first, out);
  out += '\n';
  for (const RunRecord& r : records) {
    for (const CurveRow& row : r.curves) {
      if (row.validation != first.validation)
        throw std::logic_error("curves with and without a validation split in one table");
      csv_line(row, out);
      out += '\n';
    }
  }
  return out;
}
std::string timings_csv(const std::vector<RunRecord>& records) {
  return rows_csv<TimingRow>(records,
                             [](const RunRecord& r) { return std::vector<TimingRow>{r.timing}; });
}

const std::vector<ReportFile>& report_files() {
  static const std::vector<ReportFile> files = [] {
    std::vector<ReportFile> out{{kRunsCsv, runs_csv}, {kCurvesCsv, curves_csv}};
    for (const Probe& probe : probe_registry()) out.push_back({probe.file(), probe.csv, true});
    out.push_back({kTimingsCsv, timings_csv});
    return out;
  }();
  return files;
}

std::size_t CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  throw std::runtime_error(
      fmt::format("{}: no column '{}'{}", source, name, did_you_mean(name, columns)));
}

bool CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (pos_ >= text_.size()) return false;
  record_line_ = line_;
  std::string current;
  bool quoted = false;
  bool field_started = false;  // the field began with a quote (so "" is a field, not nothing)
  bool any_quote = false;
  bool line_end = false;
  for (; pos_ < text_.size() && !line_end; ++pos_) {
    const char c = text_[pos_];
    if (quoted) {
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          current += '"';
          ++pos_;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        current += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (field_started || !current.empty()) {
          throw std::runtime_error(
              fmt::format("{}:{}: a quote in the middle of a field", source_, line_));
        }
        quoted = true;
        field_started = true;
        any_quote = true;
        break;
      case ',':
        fields.push_back(std::move(current));
        current.clear();
        field_started = false;
        break;
      case '\r': break;
      case '\n':
        ++line_;
        line_end = true;
        break;
      default: current += c; field_started = true;
    }
  }
  if (quoted) {
    throw std::runtime_error(
        fmt::format("{}:{}: unterminated quoted field", source_, record_line_));
  }
  // the last record may lack a line end; nothing but a stray '\r' there is no record
  if (!line_end && current.empty() && fields.empty() && !field_started) return false;
  fields.push_back(std::move(current));
  blank_ =
      fields.size() == 1 && !any_quote && fields[0].find_first_not_of(" \t") == std::string::npos;
  return true;
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  CsvReader reader(text, source);
  std::vector<std::string> fields;
  while (reader.next(fields)) {
    if (table.columns.empty()) {
      table.columns = fields;
    } else if (fields.size() != table.columns.size()) {
      throw std::runtime_error(fmt::format("{}:{}: {} fields, but the header has {}", source,
                                           reader.line(), fields.size(), table.columns.size()));
    } else {
      table.rows.push_back(fields);
    }
  }
  if (table.columns.empty())
    throw std::runtime_error(fmt::format("{}: empty file: no header row", source));
  return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_file(path), path); }

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

namespace {

struct Stats {
  double mean = kNaN;
  double std = kNaN;
  double min = kNaN;
  double max = kNaN;
};

Stats stats(const std::vector<double>& values) {
  std::vector<double> finite;
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  Stats s;
  if (finite.empty()) return s;
  const auto n = static_cast<double>(finite.size());
  double sum = 0.0;
  s.min = finite.front();
  s.max = finite.front();
  for (double v : finite) {
    sum += v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  s.mean = sum / n;
  if (finite.size() > 1) {
    double sq = 0.0;
    for (double v : finite) sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / (n - 1.0));
  }
  return s;
}

}  // namespace

std::string summary_csv(const CsvTable& runs, const std::vector<std::string>& axes) {
  std::vector<std::string> group_columns;
  for (const auto& axis : axes) {
    if (axis != "seed") group_columns.push_back(axis);
  }
  std::vector<std::string> metrics = {"final_train_loss", "final_train_acc", "final_test_loss",
                                      "final_test_acc"};
  // A validation split's columns, when runs.csv has them.
  if (std::find(runs.columns.begin(), runs.columns.end(), "final_val_loss") != runs.columns.end())
    metrics.insert(metrics.end(), {"final_val_loss", "final_val_acc"});
  metrics.insert(metrics.end(), {"steps_to_target", "init_grad_ratio"});
  std::string out;
  for (const auto& c : group_columns) out += csv_escape(c) + ",";
  out += "runs";
  for (const char* s : kStatusNames) out += fmt::format(",{}", s);
  for (const auto& m : metrics) out += fmt::format(",{0}_mean,{0}_std,{0}_min,{0}_max", m);
  out += '\n';

  // Groups in order of first appearance (grid order).
  std::vector<std::vector<std::string>> keys;
  std::vector<std::vector<std::size_t>> members;
  std::vector<std::size_t> key_columns;
  for (const auto& c : group_columns) key_columns.push_back(runs.column(c));
  for (std::size_t r = 0; r < runs.rows.size(); ++r) {
    std::vector<std::string> key;
    for (std::size_t c : key_columns) key.push_back(runs.rows[r][c]);
    auto it = std::find(keys.begin(), keys.end(), key);
    if (it == keys.end()) {
      keys.push_back(key);
      members.emplace_back();
      it = keys.end() - 1;
    }
    members[static_cast<std::size_t>(it - keys.begin())].push_back(r);
  }
  const std::size_t status_column = runs.column("status");
  for (std::size_t g = 0; g < keys.size(); ++g) {
    for (const auto& v : keys[g]) out += csv_escape(v) + ",";
    out += std::to_string(members[g].size());
    for (const char* s : kStatusNames) {
      long count = 0;
      for (std::size_t r : members[g]) count += runs.rows[r][status_column] == s ? 1 : 0;
      out += fmt::format(",{}", count);
    }
    for (const auto& m : metrics) {
      const std::size_t column = runs.column(m);
      std::vector<double> values;
      for (std::size_t r : members[g]) {
        double v = parse_double(runs.rows[r][column]).value_or(kNaN);
        if (m == "steps_to_target" && v < 0) v = kNaN;  // not reached
        values.push_back(v);
      }
      const Stats s = stats(values);
      out += fmt::format(",{},{},{},{}", format_number(s.mean), format_number(s.std),
                         format_number(s.min), format_number(s.max));
    }
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bundles
// ---------------------------------------------------------------------------------------------

namespace {
constexpr std::string_view kBundleMagic = "initbench-bundle 1\n";
}

std::string make_bundle(const RunRecord& record) {
  const std::vector<RunRecord> one{record};
  std::string out(kBundleMagic);
  for (const ReportFile& file : report_files()) {
    const std::string text = file.csv(one);
    out += fmt::format("section {} {}\n", file.name, text.size());
    out += text;
  }
  out += "end\n";
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_bundle(std::string_view text,
                                                              const std::string& source) {
  auto bad = [&](const std::string& what) {
    return std::runtime_error(
        fmt::format("{}: corrupt run bundle ({}); delete it to rerun that run", source, what));
  };
  if (text.substr(0, kBundleMagic.size()) != kBundleMagic) throw bad("bad header");
  std::size_t pos = kBundleMagic.size();
  std::vector<std::pair<std::string, std::string>> sections;
  while (true) {
    const std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) throw bad("truncated");
    const std::string line(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line == "end") break;
    char name[64] = {};
    std::size_t size = 0;
    if (std::sscanf(line.c_str(), "section %63s %zu", name, &size) != 2)
      throw bad("bad section line");
    if (pos + size > text.size()) throw bad("truncated section");
    sections.emplace_back(name, std::string(text.substr(pos, size)));
    pos += size;
  }
  return sections;
}

// ---------------------------------------------------------------------------------------------
// An experiment folder read back
// ---------------------------------------------------------------------------------------------

namespace {

namespace fs = std::filesystem;

// A table's cells as numbers, with the file, line and column in any error.
class Cells {
 public:
  Cells(const CsvTable& table, std::size_t row) : table_(table), row_(row) {}
  const std::string& text(std::string_view column) const {
    return table_.rows[row_][table_.column(column)];
  }
  double number(std::string_view column) const {
    const std::string& cell = text(column);
    const std::optional<double> value = parse_double(cell);
    if (!value) {
      throw std::runtime_error(fmt::format("{}:{}: column {}: '{}' is not a number", table_.source,
                                           row_ + 2, column, cell));
    }
    return *value;
  }
  long integer(std::string_view column) const { return std::lround(number(column)); }

 private:
  const CsvTable& table_;
  std::size_t row_;
};

template <typename Row, typename Fill>
std::map<long, std::vector<Row>> rows_by_run(const CsvTable& table, Fill fill) {
  std::map<long, std::vector<Row>> out;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const Cells c(table, i);
    Row row;
    row.run_id = c.integer("run_id");
    fill(c, row);
    out[row.run_id].push_back(row);
  }
  return out;
}

const std::vector<std::string>& verdict_columns() {
  static const std::vector<std::string> columns = {"symmetric", "vanishing", "exploding",
                                                   "saturated", "dead",      "phase",
                                                   "stalled",   "diverged",  "verdict"};
  return columns;
}

}  // namespace

FolderDiagnosis diagnose_folder(const std::string& folder) {
  const fs::path dir(folder);
  const std::string runs_path = (dir / kRunsCsv).string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error(fmt::format("{}: not a folder", folder));
  if (!fs::is_regular_file(runs_path, ec)) {
    throw std::runtime_error(fmt::format(
        "{}: not found (an experiment folder, as initbench run writes it, has one)", runs_path));
  }
  const CsvTable runs = read_csv(runs_path);
  FolderDiagnosis out;
  const auto has = [&](const std::string& name) {
    return std::find(runs.columns.begin(), runs.columns.end(), name) != runs.columns.end();
  };
  out.from_columns = has("verdict");
  // The grid axes but seed: summary.csv's columns before `runs`. Without it, in a folder
  // written before runs.csv had a column per setting, the columns after the last fixed one
  // (final_val_acc with a validation split, else verdict, or gain before the verdict columns).
  const std::string summary_path = (dir / kSummaryCsv).string();
  if (fs::is_regular_file(summary_path, ec)) {
    const CsvTable summary = read_csv(summary_path);
    out.axes.assign(summary.columns.begin(),
                    summary.columns.begin() + static_cast<long>(summary.column("runs")));
  } else {
    const std::size_t last_fixed = runs.column(has("final_val_acc") ? "final_val_acc"
                                               : out.from_columns   ? "verdict"
                                                                    : "gain");
    out.axes.assign(runs.columns.begin() + static_cast<long>(last_fixed) + 1, runs.columns.end());
    std::erase(out.axes, "seed");
  }

  std::map<long, std::vector<CurveRow>> curves;
  std::map<long, std::vector<LayerRow>> layers;
  std::map<long, std::vector<SymmetryRow>> symmetry;
  bool have_curves = false, have_layers = false, have_symmetry = false;
  if (!out.from_columns) {
    const auto present = [&](const char* name, const char* verdicts) {
      if (fs::is_regular_file(dir / name, ec)) return true;
      out.absent.push_back(fmt::format("{} ({} unknown)", name, verdicts));
      return false;
    };
    if ((have_curves = present(kCurvesCsv, "stalled and diverged"))) {
      curves = rows_by_run<CurveRow>(read_csv((dir / kCurvesCsv).string()),
                                     [](const Cells& c, CurveRow& r) {
                                       r.step = c.integer("step");
                                       r.train_loss = c.number("train_loss");
                                     });
    }
    if ((have_layers = present("layers.csv", "vanishing, exploding, saturated and dead"))) {
      layers = rows_by_run<LayerRow>(read_csv((dir / "layers.csv").string()),
                                     [](const Cells& c, LayerRow& r) {
                                       r.step = c.integer("step");
                                       r.layer = c.integer("layer");
                                       r.fan_out = c.integer("fan_out");
                                       r.saturated_frac = c.number("saturated_frac");
                                       r.dead_frac = c.number("dead_frac");
                                       r.delta_norm = c.number("delta_norm");
                                       r.grad_w_norm = c.number("grad_w_norm");
                                     });
    }
    if ((have_symmetry = present("symmetry.csv", "symmetric"))) {
      symmetry = rows_by_run<SymmetryRow>(read_csv((dir / "symmetry.csv").string()),
                                          [](const Cells& c, SymmetryRow& r) {
                                            r.step = c.integer("step");
                                            r.layer = c.integer("layer");
                                            r.width = c.integer("width");
                                            r.distinct_neurons = c.integer("distinct_neurons");
                                          });
    }
  }

  for (std::size_t i = 0; i < runs.rows.size(); ++i) {
    const Cells c(runs, i);
    FolderDiagnosis::Run run;
    run.run_id = c.integer("run_id");
    run.scheme = c.text(has("init.scheme") ? "init.scheme" : "scheme");  // "scheme": older
    run.seed = c.integer("seed");
    for (const std::string& axis : out.axes) run.axis_values.push_back(c.text(axis));
    RunRow row;
    if (out.from_columns) {
      row.symmetric = c.text("symmetric");
      row.vanishing = c.text("vanishing");
      row.exploding = c.text("exploding");
      row.saturated = c.text("saturated");
      row.dead = c.text("dead");
      row.phase = c.text("phase");
      row.stalled = c.text("stalled");
      row.diverged = c.text("diverged");
      row.verdict = c.text("verdict");
    } else {
      row.run_id = run.run_id;
      row.depth = c.integer("depth");
      row.status = c.text("status");
      row.init_grad_ratio = c.number("init_grad_ratio");
      row.chi_1 = c.number("chi_1");
      static const std::vector<CurveRow> no_curves;
      static const std::vector<LayerRow> no_layers;
      static const std::vector<SymmetryRow> no_symmetry;
      auto rows_of = [&](const auto& by_run, const auto& none) {
        const auto it = by_run.find(run.run_id);
        return it == by_run.end() ? &none : &it->second;
      };
      const Diagnosis d =
          diagnose(DiagnosisInput{&row, have_curves ? rows_of(curves, no_curves) : nullptr,
                                  have_layers ? rows_of(layers, no_layers) : nullptr,
                                  have_symmetry ? rows_of(symmetry, no_symmetry) : nullptr});
      set_verdicts(d, row);
    }
    run.symmetric = row.symmetric;
    run.vanishing = row.vanishing;
    run.exploding = row.exploding;
    run.saturated = row.saturated;
    run.dead = row.dead;
    run.phase = row.phase;
    run.stalled = row.stalled;
    run.diverged = row.diverged;
    run.verdict = row.verdict;
    out.runs.push_back(std::move(run));
  }
  return out;
}

std::string diagnosis_table(const FolderDiagnosis& d) {
  std::vector<std::string> header{"run"};
  header.insert(header.end(), d.axes.begin(), d.axes.end());
  if (d.axes.empty()) header.emplace_back("scheme");
  header.emplace_back("seed");
  header.insert(header.end(), verdict_columns().begin(), verdict_columns().end());
  std::vector<std::vector<std::string>> rows;
  for (const FolderDiagnosis::Run& r : d.runs) {
    std::vector<std::string> row{std::to_string(r.run_id)};
    row.insert(row.end(), r.axis_values.begin(), r.axis_values.end());
    if (d.axes.empty()) row.push_back(r.scheme);
    row.push_back(std::to_string(r.seed));
    row.insert(row.end(), {r.symmetric, r.vanishing, r.exploding, r.saturated, r.dead, r.phase,
                           r.stalled, r.diverged, r.verdict});
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = header[c].size();
    for (const auto& row : rows) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  auto add_row = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c == 0) {
        out += fmt::format("{:>{}}  ", row[c], widths[c]);  // the run id, right-aligned
      } else if (c + 1 < row.size()) {
        out += fmt::format("{:<{}}  ", row[c], widths[c]);
      } else {
        out += row[c];
      }
    }
    out += '\n';
  };
  add_row(header);
  for (const auto& row : rows) add_row(row);
  return out;
}

}  // namespace initbench
