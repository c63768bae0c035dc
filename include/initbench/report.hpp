// report.hpp: rows -> tidy CSV files, and back.
//
// One folder per experiment; one file per row type (rows.hpp), a header row, one observation
// per line. Numbers are written with the shortest text that reads back to the same double
// ("0.1", "1e-08"), non-finite values as nan, inf, -inf (pandas and R read them). Text fields
// holding a comma or a quote are quoted as RFC 4180 says.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "initbench/diagnose.hpp"
#include "initbench/rows.hpp"
#include "initbench/text.hpp"

namespace initbench {

// The files every run writes besides its probes' (probes.hpp: probe_registry names those).
inline constexpr const char* kRunsCsv = "runs.csv";
inline constexpr const char* kCurvesCsv = "curves.csv";
inline constexpr const char* kTimingsCsv = "timings.csv";

// A text field, quoted as RFC 4180 says when it holds a comma, a quote or a line break.
std::string csv_escape(std::string_view field);

// One CSV field, header and line from a row type's visit (rows.hpp).
template <typename V>
std::string csv_field(const V& value) {
  if constexpr (std::is_same_v<V, std::string>) {
    return csv_escape(value);
  } else if constexpr (std::is_floating_point_v<V>) {
    return format_number(value);
  } else {
    return fmt::format("{}", value);
  }
}
template <typename Row>
void csv_header(const Row& row, std::string& out) {
  bool first = true;
  row.visit([&](const char* name, const auto&) {
    if (!first) out += ',';
    out += name;
    first = false;
  });
}
template <typename Row>
void csv_line(const Row& row, std::string& out) {
  bool first = true;
  row.visit([&](const char*, const auto& value) {
    if (!first) out += ',';
    out += csv_field(value);
    first = false;
  });
}

// All rows of one type across records, in record order: the header, then one line per row.
template <typename Row, typename Get>
std::string rows_csv(const std::vector<RunRecord>& records, Get get) {
  std::string out;
  csv_header(Row{}, out);
  out += '\n';
  for (const RunRecord& r : records) {
    for (const Row& row : get(r)) {
      csv_line(row, out);
      out += '\n';
    }
  }
  return out;
}

// The file of a probe: rows_csv over each record's rows<Row>() (rows.hpp).
template <typename Row>
std::string probe_csv(const std::vector<RunRecord>& records) {
  return rows_csv<Row>(records,
                       [](const RunRecord& r) -> const std::vector<Row>& { return r.rows<Row>(); });
}

// Every fixed column runs.csv may have, in order: RunRow's, the validation columns included
// (present only with a split). Any other column is a grid axis.
const std::vector<std::string>& run_columns();

// CSV text of one file: the header from the row type, then every row. runs.csv rows carry their
// grid axes as extra columns (named by the first row's axes).
std::string runs_csv(const std::vector<RunRecord>& records);
std::string curves_csv(const std::vector<RunRecord>& records);
std::string timings_csv(const std::vector<RunRecord>& records);

// Every per-run CSV file, in the order they are written: runs, curves, each probe's file in
// the probe registry's order, timings; its name and its text from the records (just the header
// when no record has rows of its type). This one table drives the run bundles, their assembly
// into an experiment folder, and the shard merge. A probe's file is in an experiment folder only
// when some run has rows in it (its probe was on); the others always are.
struct ReportFile {
  std::string name;
  std::string (*csv)(const std::vector<RunRecord>& records);
  bool probe = false;
};
const std::vector<ReportFile>& report_files();

// A parsed CSV file: its header and rows of fields (strings, unquoted).
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  // Index of a column; throws std::runtime_error naming the column and the file.
  std::size_t column(std::string_view name) const;
  std::string source;  // the path, for messages
};

// The project's one CSV tokenizer (result files here, dataset files in data/csv.cpp): RFC 4180
// records one at a time, fields unquoted ("" inside quotes is a quote), LF or CRLF line ends.
// Throws std::runtime_error ("source:line: what") on a quote in the middle of a field or an
// unterminated quoted field.
class CsvReader {
 public:
  CsvReader(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}
  // The next record's fields; false at the end of the text.
  bool next(std::vector<std::string>& fields);
  // The line the last record began on (1-based).
  long line() const { return record_line_; }
  // Whether the last record was a blank line: one unquoted field of spaces and tabs only.
  bool blank() const { return blank_; }

 private:
  std::string_view text_;
  std::string source_;
  std::size_t pos_ = 0;
  long line_ = 1;
  long record_line_ = 1;
  bool blank_ = false;
};

// Parses CSV text; throws std::runtime_error ("path:line: what") on ragged rows or bad quoting.
CsvTable parse_csv(std::string_view text, const std::string& source);
CsvTable read_csv(const std::string& path);

// summary.csv: one row per setting (every grid axis but the seed), over the runs (seeds) with that
// setting: status counts, then mean, std (n - 1), min and max of each final metric (the
// validation ones too when runs.csv has them), of
// steps_to_target (over the runs that reached it) and of init_grad_ratio, each over the runs
// where the value is finite. Computed from runs.csv, so it serves merged folders too.
inline constexpr const char* kSummaryCsv = "summary.csv";
std::string summary_csv(const CsvTable& runs, const std::vector<std::string>& axes);

// A run's rows for every file, as one text that is written atomically when the run completes
// (the runner's .runs/<run_id>.bundle); parse_bundle returns (file name, CSV text with header).
std::string make_bundle(const RunRecord& record);
std::vector<std::pair<std::string, std::string>> parse_bundle(std::string_view text,
                                                              const std::string& source);

// ---------------------------------------------------------------------------------------------
// An experiment folder read back (`initbench diagnose`)
// ---------------------------------------------------------------------------------------------

struct FolderDiagnosis {
  std::vector<std::string> axes;  // the grid axes but seed (summary.csv's first columns)
  struct Run {
    long run_id = 0;
    std::string scheme;
    long seed = 0;
    std::vector<std::string> axis_values;  // in `axes` order
    std::string symmetric, vanishing, exploding, saturated, dead, phase, stalled, diverged, verdict;
  };
  std::vector<Run> runs;
  // The files a verdict would read that are not in the folder ("layers.csv"), each with the
  // verdicts it leaves unknown; empty when runs.csv carried the verdicts itself.
  std::vector<std::string> absent;
  bool from_columns = false;  // the verdicts were runs.csv's own columns
};

// Reads FOLDER/runs.csv (required: std::runtime_error naming it when absent) and, if runs.csv
// has no verdict columns (written before they existed), recomputes them from curves.csv,
// layers.csv and symmetry.csv as far as they are present.
FolderDiagnosis diagnose_folder(const std::string& folder);

// The table `initbench diagnose` prints: one row per run.
std::string diagnosis_table(const FolderDiagnosis& d);

}  // namespace initbench
