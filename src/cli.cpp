// cli.cpp: the initbench command's progress display, summary table and Python scripts (cli.hpp).
#include "cli.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "initbench/text.hpp"

#ifndef INITBENCH_SOURCE_DIR
#define INITBENCH_SOURCE_DIR "."
#endif

namespace initbench::cli {

namespace fs = std::filesystem;

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string clock_text(double seconds) {
  const long s = std::lround(seconds);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string axes_text(const RunConfig& run) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : run.axes) parts.push_back(key + "=" + value);
  return join(parts);
}

void print_summary(const CsvTable& summary) {
  std::vector<std::size_t> group;
  const std::size_t runs_col = summary.column("runs");
  for (std::size_t c = 0; c < runs_col; ++c) group.push_back(c);
  const std::pair<const char*, const char*> shown[] = {
      {"final_train_loss_mean", "train loss"},
      {"final_train_acc_mean", "train acc"},
      {"final_test_acc_mean", "test acc"},
      {"steps_to_target_mean", "steps to target"},
      {"init_grad_ratio_mean", "grad ratio W1/WL"}};
  std::vector<std::string> header;
  for (std::size_t c : group) header.push_back(summary.columns[c]);
  header.insert(header.end(), {"runs", "converged", "diverged"});
  for (const auto& [col, label] : shown) header.emplace_back(label);
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : summary.rows) {
    std::vector<std::string> row;
    for (std::size_t c : group) row.push_back(r[c]);
    row.push_back(r[runs_col]);
    row.push_back(r[summary.column("converged")]);
    row.push_back(r[summary.column("diverged")]);
    for (const auto& [col, label] : shown) {
      const double v = parse_double(r[summary.column(col)]).value_or(std::nan(""));
      row.push_back(std::isnan(v) ? "-" : fmt::format("{:.4g}", v));
    }
    rows.push_back(row);
  }
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = header[c].size();
    for (const auto& row : rows) widths[c] = std::max(widths[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c < group.size()) {
        fmt::print("{:<{}}  ", row[c], widths[c]);
      } else {
        fmt::print("{:>{}}  ", row[c], widths[c]);
      }
    }
    fmt::print("\n");
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

// ---------------------------------------------------------------------------------------------
// Figures and the report page: scripts/plot.py and scripts/report.py, run with Debian's Python
// (the one with matplotlib and pandas)
// ---------------------------------------------------------------------------------------------

namespace {

std::string python() { return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

std::string script(const char* name) {
  return std::string(INITBENCH_SOURCE_DIR) + "/scripts/" + name;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Why the script at `path` cannot run here, or "" if it can: it is missing, or Python cannot
// import `module` (Debian's `package`).
std::string script_unavailable(const std::string& path, const char* module, const char* package) {
  if (!fs::exists(path)) return fmt::format("{} not found", path);
  const std::string probe = fmt::format("{} -c 'import {}' >/dev/null 2>&1", python(), module);
  if (std::system(probe.c_str()) != 0) {
    return fmt::format("{} cannot import {} (apt-get install {})", python(), module, package);
  }
  return "";
}

// Runs the script at `path` with these arguments; returns its exit status.
int run_script(const std::string& path, const std::vector<std::string>& args) {
  std::string command = fmt::format("{} {}", python(), shell_quote(path));
  for (const std::string& arg : args) {
    command += ' ';
    command += shell_quote(arg);
  }
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

std::string plotting_unavailable() {
  return script_unavailable(script("plot.py"), "matplotlib", "python3-matplotlib");
}

// Runs the plotting script on an experiment folder; returns its exit status.
int plot_folder(const std::string& folder) { return run_script(script("plot.py"), {"--", folder}); }

// The figures at the end of `run` and `merge`: a failure, or no matplotlib, is said on stderr and
// leaves the results as they are.
void draw_figures(const std::string& folder) {
  const std::string why = plotting_unavailable();
  if (!why.empty()) {
    std::fprintf(stderr, "initbench: figures skipped: %s\n", why.c_str());
  } else if (plot_folder(folder) != 0) {
    std::fprintf(stderr, "initbench: plotting %s failed (see above)\n", folder.c_str());
  }
}

// `initbench report`: scripts/report.py writes the page (default DIR/report.html).
int report_folder(const std::string& folder, const std::string& out, bool force) {
  const std::string why = script_unavailable(script("report.py"), "pandas", "python3-pandas");
  if (!why.empty()) throw std::runtime_error("cannot write the report: " + why);
  std::vector<std::string> args;
  if (!out.empty()) args.insert(args.end(), {"--output", out});
  if (force) args.emplace_back("--force");
  args.insert(args.end(), {"--", folder});
  return run_script(script("report.py"), args);
}

}  // namespace initbench::cli
