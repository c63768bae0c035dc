// initbench: the command-line tool. Commands only parse arguments and print; the work is done by
// the library (spec.hpp -> runner.hpp -> trainer.hpp -> report.hpp).
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "initbench/diagnose.hpp"
#include "initbench/init.hpp"
#include "initbench/initcheck.hpp"
#include "initbench/io.hpp"
#include "initbench/kernels.hpp"
#include "initbench/report.hpp"
#include "initbench/runner.hpp"
#include "initbench/spec.hpp"
#include "initbench/text.hpp"
#include "initbench/trainer.hpp"

#ifndef INITBENCH_SOURCE_DIR
#define INITBENCH_SOURCE_DIR "."
#endif

namespace {

using namespace initbench;
using namespace initbench::cli;
namespace fs = std::filesystem;

// The default job: the deeplearning.ai initialization exercise on built-in circles data, under
// the schemes the course and its article compare; probes record symmetry and gradient ratios.
constexpr const char* kDemoSpec = R"spec(name = "course_demo"
description = "The course's circles network under zeros, large random, LeCun, Glorot and He init"
seed = 1

[data]
kind = "circles"
train = 300
test = 100
noise = 0.05

[model]
layers = [2, 10, 5, 1]
activation = "relu"
output = "sigmoid"
precision = "double"

[init]
scheme = ["zeros", "normal(stddev=10)", "lecun_normal", "glorot_normal", "he_normal"]

[train]
optimizer = "sgd"
lr = 0.01
steps = 15000
eval_every = 1000

[probes]
every = 15000
symmetry = true
)spec";

std::atomic<bool> g_cancel{false};

extern "C" void on_signal(int signal) {
  g_cancel.store(true);
  std::signal(signal,
              SIG_DFL);  // a second Ctrl-C ends the process at once (finished runs are saved)
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

// Where --quick writes without --out (ignored by git, like build/).
constexpr const char* kQuickOut = "quick-results";

struct RunArgs {
  std::vector<std::string> specs;
  std::string out = "results";
  int threads = 0;
  bool quick = false;
  bool resume = false;
  bool force = false;
  std::vector<std::string> sets;
  std::string shard = "1/1";  // [robustness] so that an explicit --shard "" is an error
  bool no_plot = false;
};

int run_specs(const RunArgs& args) {
  SpecOptions spec_options{args.sets, args.quick};
  // Check every spec completely before running any.
  std::vector<Experiment> experiments;
  for (const auto& path : args.specs) experiments.push_back(load_experiment(path, spec_options));
  for (std::size_t i = 0; i < experiments.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (experiments[i].name == experiments[j].name) {
        throw std::runtime_error(
            fmt::format("{} and {} both have name = \"{}\": both would write {}/{}/; rename one",
                        experiments[j].path, experiments[i].path, experiments[i].name, args.out,
                        experiments[i].name));
      }
    }
    if (args.quick && !experiments[i].has_quick) {
      fmt::print(stderr,
                 "initbench: warning: {} has no [quick] table: --quick runs it at full size\n",
                 experiments[i].path);
    }
  }
  RunnerOptions options;
  options.out_dir = args.out;
  options.threads = args.threads;
  options.resume = args.resume;
  options.force = args.force;
  // Nothing runs before every folder is known to be replaceable.
  for (const Experiment& experiment : experiments) check_replaceable(experiment, options);
  options.cancel = &g_cancel;
  options.shard = Shard::parse(args.shard);
  for (const Experiment& experiment : experiments) {
    Progress progress;
    options.live = &progress.live();
    options.on_start = [&](long total, long skipped) { progress.started(total, skipped); };
    options.on_run_done = [&](long done, long total, const RunConfig& run,
                              const RunRecord& record) {
      progress.run_done(done, total, run, record);
    };
    fmt::print("{}: {} ({} runs) -> {}/{}\n", experiment.name, experiment.description,
               experiment.runs.size(), args.out, experiment.name);
    std::fflush(stdout);
    const RunnerResult result = run_experiment(experiment, options);
    if (result.interrupted) {
      progress.stop();
    } else {
      progress.finish(result);
    }
    options.live = nullptr;
    if (result.interrupted) {
      std::fprintf(stderr,
                   "\ninitbench: interrupted: %ld of %ld runs complete and saved in %s; run again "
                   "with --resume to "
                   "finish\n",
                   result.completed, result.total, result.folder.c_str());
      return 130;
    }
    print_summary(read_csv(result.folder + "/" + kSummaryCsv));
    fmt::print("\n");
    std::fflush(stdout);
    if (!args.no_plot && options.shard.count == 1) draw_figures(result.folder);
  }
  return 0;
}

// runs.csv's verdict in words: "symmetric+dead+stalled" -> "symmetric, dead, stalled"; the
// phases say what they are ("ordered phase"); "ok" -> "no failure".
std::string verdict_words(const std::string& verdict) {
  if (verdict.starts_with("ok")) return "no failure" + verdict.substr(2);
  std::vector<std::string> words;
  std::size_t begin = 0;
  while (begin <= verdict.size()) {
    const std::size_t end = std::min(verdict.find('+', begin), verdict.size());
    std::string word = verdict.substr(begin, end - begin);
    if (word == "ordered" || word == "chaotic") word += " phase";
    if (word == "dead") word = "dead units";
    if (word == "saturated") word = "saturated units";
    if (word == "vanishing" || word == "exploding") word += " gradients";
    words.push_back(word);
    begin = end + 1;
  }
  return join(words);
}

int run_demo() {
  const Experiment experiment = parse_experiment(kDemoSpec, "built-in course demo");
  RunnerOptions options;
  options.out_dir = "";  // keep in memory: the demo writes no files
  options.cancel = &g_cancel;
  fmt::print(
      "{}\n[2, 10, 5, 1] relu/sigmoid on circles (300 train, 100 test), full-batch gradient "
      "descent, "
      "lr 0.01, 15000 steps\n\n",
      experiment.description);
  const auto start = std::chrono::steady_clock::now();
  const RunnerResult result = run_experiment(experiment, options);
  if (result.interrupted) return 130;
  fmt::print("{:<20} {:>12} {:>11} {:>10} {:>9} {:>16} {:>17}\n", "scheme", "initial cost",
             "final cost", "train acc", "test acc", "distinct neurons", "grad ratio W1/W3");
  for (const RunRecord& r : result.records) {
    long distinct = -1;
    for (const auto& s : r.rows<SymmetryRow>()) {
      if (s.layer == 1) distinct = s.distinct_neurons;  // the last probe: the end of training
    }
    const double ratio = r.run.init_grad_ratio;
    fmt::print("{:<20} {:>12.4g} {:>11.4f} {:>10.3f} {:>9.3f} {:>13}/10 {:>17}\n", r.run.scheme,
               r.curves.front().train_loss, r.run.final_train_loss, r.run.final_train_acc,
               r.run.final_test_acc, distinct,
               std::isnan(ratio) ? std::string("0/0") : fmt::format("{:.3g}", ratio));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "\n{} runs in {:.2f} s. Zeros keep all 10 first-layer neurons identical (symmetry is never "
      "broken);\n"
      "normal(stddev=10) starts with a huge cost. Reproduce with CSV reports and figures:\n"
      "  initbench run course_init\n",
      result.records.size(), seconds);
  // The story in words: each scheme's verdicts (runs.csv's verdict column, docs/diagnosis.md).
  fmt::print("\nVerdicts (initbench diagnose, docs/diagnosis.md):\n");
  for (const RunRecord& r : result.records)
    fmt::print("  {:<18} {}\n", r.run.scheme, verdict_words(r.run.verdict));
  return 0;
}

// Where shipped experiments are found, in order: ./experiments, the source tree's, and the
// installed ones (<prefix>/share/initbench/experiments, next to <prefix>/bin/initbench).
std::vector<fs::path> experiment_dirs() {
  std::vector<fs::path> dirs{fs::path("experiments"),
                             fs::path(INITBENCH_SOURCE_DIR) / "experiments"};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "initbench" / "experiments");
  return dirs;
}

// A spec argument: a file, or the name of a shipped experiment ("course_init" or
// "course_init.toml", as `initbench list` shows them). Rewrites `arg` to the file; returns an
// error message, or "" when it is fine.
std::string resolve_spec(std::string& arg) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) return "";
  if (fs::is_directory(arg, ec)) {
    return fmt::format("'{}' is a folder, not a spec file (the output folder is given with --out)",
                       arg);
  }
  if (arg.find_first_of("[],=") != std::string::npos) {
    return fmt::format(
        "'{}' is not a spec file: a --set value with spaces must be quoted, as in "
        "--set 'init.scheme=[zeros, he_normal]'",
        arg);
  }
  const bool name_like = arg.find('/') == std::string::npos && !arg.empty();
  std::vector<std::string> names;
  if (name_like) {
    const std::string file = arg.ends_with(".toml") ? arg : arg + ".toml";
    for (const fs::path& dir : experiment_dirs()) {
      if (fs::is_regular_file(dir / file, ec)) {
        arg = (dir / file).string();
        return "";
      }
      if (!fs::is_directory(dir, ec)) continue;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".toml") names.push_back(entry.path().stem().string());
      }
    }
    return fmt::format(
        "no spec file '{}' and no shipped experiment of that name{}; "
        "`initbench list` shows them",
        arg, did_you_mean(arg, names));
  }
  return fmt::format("no spec file '{}'", arg);
}

CLI::Validator set_argument() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        if (value.find('=') != std::string::npos) return "";
        return fmt::format("--set {}: expected key=value, as in --set model.depth=5", value);
      },
      "KEY=VALUE");
}

CLI::Validator spec_argument() {
  return CLI::Validator(resolve_spec, "SPEC", "a spec file or a shipped experiment's name");
}

int list_experiments() {
  for (const auto& dir : experiment_dirs()) {
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".toml") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    fmt::print("Experiments in {}:\n", dir.string());
    for (const auto& file : files) {
      try {
        const Experiment e = load_experiment(file.string());
        fmt::print("  {:<22} {:>5} runs  {}\n", file.filename().string(), e.runs.size(),
                   e.description);
      } catch (const std::exception& e) {
        fmt::print("  {:<22} error: {}\n", file.filename().string(), e.what());
      }
    }
    return 0;
  }
  fmt::print("no experiments folder found (looked in ./experiments and {}/experiments)\n",
             INITBENCH_SOURCE_DIR);
  return 1;
}

std::string scheme_signature(const SchemeInfo& s) {
  std::vector<std::string> params;
  for (const ParamInfo& p : s.params) {
    params.push_back(p.default_value.empty() ? p.name
                                             : fmt::format("{}={}", p.name, p.default_value));
  }
  return fmt::format("{}{}", s.name, params.empty() ? "" : fmt::format("({})", join(params)));
}

// The README's scheme table, generated so that it cannot drift from the registry.
int schemes_markdown() {
  fmt::print("| scheme | formula | source |\n|---|---|---|\n");
  auto cell = [](std::string text) {  // a '|' would end the cell
    for (std::size_t i = text.find('|'); i != std::string::npos; i = text.find('|', i + 2))
      text.replace(i, 1, "\\|");
    return text;
  };
  for (const SchemeInfo& s : schemes()) {
    fmt::print("| `{}` | {}{}{} | {} |\n", scheme_signature(s), cell(s.formula),
               s.for_bias ? "" : " (weights only)", s.residual ? " (residual nets only)" : "",
               cell(s.source));
  }
  return 0;
}

int list_schemes() {
  for (const SchemeInfo& s : schemes()) {
    fmt::print("{}\n    {}\n    {}\n", scheme_signature(s), s.formula, s.source);
    if (!s.for_bias) fmt::print("    weights only: cannot initialise a bias\n");
    if (s.residual)
      fmt::print("    residual nets only (model.residual = true); alpha_b learnable\n");
  }
  fmt::print(
      "\nA gain may be a number or an activation name (PyTorch's calculate_gain): gain=tanh is "
      "5/3.\n"
      "Biases: bias = \"default\" (zeros; torch_default's own rule) or any scheme not marked "
      "\"weights only\".\n");
  return 0;
}

// initbench check-init: every layer of a folder of W<l>.npy against the schemes (initcheck.hpp).
int check_init(const std::string& folder, const std::string& scheme_text, const std::string& csv) {
  const std::vector<LayerWeights> layers = load_weights_folder(folder);
  std::optional<Scheme> scheme;
  if (!scheme_text.empty()) scheme = Scheme::parse(scheme_text);
  const std::vector<Scheme> candidates = comparison_schemes();
  std::vector<InitCheckRow> rows;
  for (std::size_t l = 0; l < layers.size(); ++l)
    rows.push_back(check_layer_weights(static_cast<long>(l + 1), layers[l].W, candidates, scheme));
  if (!csv.empty()) write_file_atomic(csv, init_check_csv(rows));
  fmt::print("{}", init_check_table(folder, rows));
  return 0;
}

// initbench diagnose: the verdicts of every run of an experiment folder (diagnose.hpp).
int diagnose_command(const std::string& folder) {
  const FolderDiagnosis d = diagnose_folder(folder);
  for (const std::string& file : d.absent)
    std::fprintf(stderr, "initbench: note: no %s in %s\n", file.c_str(), folder.c_str());
  fmt::print("{}", diagnosis_table(d));
  return 0;
}

int describe(const std::string& path, const SpecOptions& spec_options, int threads) {
  const Experiment e = load_experiment(path, spec_options);
  fmt::print("{}: {}\n{} runs", e.name, e.description, e.runs.size());
  // the grid's dimensions: each axis, a zip group once, as (key, key)
  std::vector<std::string> dims;
  std::vector<std::string> zipped;
  for (const auto& axis : e.axes) {
    if (std::find(zipped.begin(), zipped.end(), axis) != zipped.end()) continue;
    const auto zip = std::find_if(e.zips.begin(), e.zips.end(), [&](const auto& keys) {
      return std::find(keys.begin(), keys.end(), axis) != keys.end();
    });
    if (zip == e.zips.end()) {
      dims.push_back(axis);
    } else {
      dims.push_back(fmt::format("({})", join(*zip)));
      zipped.insert(zipped.end(), zip->begin(), zip->end());
    }
  }
  if (!dims.empty()) fmt::print(" over {}", join(dims, " x "));
  fmt::print("\n");
  for (const auto& axis : e.axes) {
    std::vector<std::string> values;
    for (const auto& run : e.runs) {
      for (const auto& [key, value] : run.axes) {
        if (key == axis && std::find(values.begin(), values.end(), value) == values.end())
          values.push_back(value);
      }
    }
    fmt::print("  {} = [{}]\n", axis, join(values));
  }
  const std::size_t shown = std::min<std::size_t>(e.runs.size(), 5);
  for (std::size_t i = 0; i < shown; ++i)
    fmt::print("  run {}: {}\n", e.runs[i].run_index, axes_text(e.runs[i]));
  if (shown < e.runs.size()) fmt::print("  ...\n");

  // Cost: floating-point operations of forward and backward (twice step_work's multiply-adds)
  // times steps, plus each run's fixed cost (its setup, the evaluations at step 0 and the end).
  // Both are calibrated on run 0 trained twice, for a few steps and for more: the difference
  // gives the time per step (per FLOP), the rest the fixed cost (one short run timed alone
  // counts its setup once per step: 50 times he2015's recorded time). The data are read once:
  // sizes only, every run of a spec reads data of the same shape.
  double total_flop = 0.0;
  std::vector<double> flops;
  const Dataset data = load_dataset(e.runs.front().data, e.runs.front().seed);
  const Index m = data.X_train.cols();
  for (const RunConfig& run : e.runs) {
    const double steps = static_cast<double>(run.train.total_steps(m));
    flops.push_back(2.0 * step_work(run, data) * steps);
    total_flop += flops.back();
  }
  RunConfig probe = e.runs.front();
  const long first_steps = probe.train.total_steps(m);
  const auto timed = [&](long steps, long eval_every) {
    probe.train.steps = steps;
    probe.train.epochs = 0;
    probe.train.eval_every = eval_every;  // 0: step 0 and the end, as every run
    probe.train.stop_at_target = false;
    probe.train.stop_on_stall = false;
    probe.probes = ProbeConfig{};
    // CPU time, not wall time: on a machine shared with other jobs the wall clock measures the
    // others too (a load of 10 on 2 cores made the estimates 5 times too long); the estimate is
    // for cores of its own.
    const std::clock_t start = std::clock();
    train(probe, data);
    return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  };
  const long short_steps = std::min<long>(first_steps, 5);
  const long calibration_steps = std::min<long>(first_steps, 100);
  const double short_seconds = timed(short_steps, 0);
  const double long_seconds = timed(calibration_steps, 0);
  // An evaluation (a forward pass over the training, validation and test sets) costs what a
  // training step's FLOPs do not say (large products, no backward): timed apart, as the extra
  // evaluations of the short run evaluated at every step, per parameter.
  const double evaluated_seconds = short_steps > 1 ? timed(short_steps, 1) : short_seconds;
  const auto parameters = [&](const RunConfig& run) {
    return step_work(run, data) / 3.0 / static_cast<double>(run.train.batch_size(m));
  };
  const double eval_per_parameter =
      short_steps > 1 ? std::max(0.0, evaluated_seconds - short_seconds) /
                            static_cast<double>(short_steps - 1) / parameters(e.runs.front())
                      : 0.0;
  const double step_flop = flops.front() / static_cast<double>(std::max<long>(1, first_steps));
  const double per_flop =
      calibration_steps > short_steps
          ? std::max(0.0, long_seconds - short_seconds) /
                (step_flop * static_cast<double>(calibration_steps - short_steps))
          : 0.0;
  const double fixed =
      std::max(0.0, short_seconds - per_flop * step_flop * static_cast<double>(short_steps));
  // Evaluations beyond step 0 and the end (those are in each run's fixed cost).
  double eval_seconds = 0.0;
  for (const RunConfig& run : e.runs) {
    const long steps = run.train.total_steps(m);
    if (run.train.eval_every <= 0 || steps <= 0) continue;
    const long extra = (steps - 1) / run.train.eval_every;  // whole evaluations
    eval_seconds += static_cast<double>(extra) * eval_per_parameter * parameters(run);
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double workers = static_cast<double>(std::min<std::size_t>(
      threads > 0 ? static_cast<std::size_t>(threads) : cores, e.runs.size()));
  const double seconds =
      (total_flop * per_flop + eval_seconds + fixed * static_cast<double>(e.runs.size())) / workers;
  // Runs that stop early (at their target, on a stall; diverged runs too) cost less than
  // planned: the estimate assumes every run goes to its last step.
  const bool may_stop = std::any_of(e.runs.begin(), e.runs.end(), [](const RunConfig& run) {
    return run.train.stop_at_target || run.train.stop_on_stall;
  });
  fmt::print(
      "estimated cost: {:.3g} GFLOP of training, {} {} on {} thread(s) (calibrated on run 0: "
      "{} and {} steps; probes extra{})\n",
      total_flop / 1e9, may_stop ? "at most" : "about", clock_text(seconds), workers, short_steps,
      calibration_steps,
      may_stop ? "; every run to its last step, while runs that reach their target or stall stop "
                 "early"
               : "");
  return 0;
}

}  // namespace

// Long (about 170 lines) for a reason: CLI11 declares each subcommand and option in place, with
// its help text; the work is in the functions above.
static int run_main(int argc, char** argv) {
  CLI::App app{
      "initbench: measures why weight initialization matters.\n"
      "Without a command, runs the course demonstration (symmetry, vanishing and exploding) and "
      "prints "
      "a table."};
  app.set_version_flag("--version", [] {
    // The kernels' instruction set: every choice gives the same bytes
    // (include/initbench/kernels.hpp).
    std::string supported;
    for (const Isa isa : supported_isas()) {
      supported += fmt::format("{}{}", supported.empty() ? "" : ", ", isa_name(isa));
    }
    std::string active;
    try {
      active = std::string(isa_name(active_isa()));
    } catch (const std::exception& e) {
      active = fmt::format("none ({})", e.what());
    }
    return fmt::format(
        "initbench {}\nkernels: {} (this CPU supports: {}; INITBENCH_ISA=avx512|avx2|scalar picks "
        "one, with the same results)",
        INITBENCH_VERSION, active, supported);
  });
  app.require_subcommand(0, 1);

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run experiment specs (TOML) and write CSV reports");
  run->add_option("spec", run_args.specs,
                  "Experiment spec files, or shipped experiments by name (initbench list)")
      ->required()
      ->transform(spec_argument());
  CLI::Option* run_out =
      run->add_option("--out", run_args.out,
                      "Output folder; each experiment writes OUT/<name>/ (with --quick: "
                      "quick-results, so that a quick run never lands among full results)")
          ->capture_default_str();
  run->add_option("--threads", run_args.threads, "Worker threads (0: every core)")
      ->check(CLI::Range(0, 1024));
  run->add_flag("--quick", run_args.quick,
                "Apply each spec's [quick] profile (small sizes, for tests)");
  run->add_option("--set", run_args.sets,
                  "Override a key: --set model.depth=30 --set init.scheme=[a,b]")
      ->check(set_argument())
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_flag("--resume", run_args.resume, "Skip runs already complete in the output folder");
  run->add_flag("--force", run_args.force,
                "Replace an output folder's results from another spec, profile or commit");
  run->add_option("--shard", run_args.shard, "Run only shard I of N (1-based): --shard 2/8");
  run->add_flag("--no-plot", run_args.no_plot,
                "Do not draw the figures (scripts/plot.py) at the end");

  std::string merge_out = "results";
  std::vector<std::string> merge_dirs;
  auto* merge = app.add_subcommand(
      "merge", "Merge the folders of an experiment's shards (run --shard I/N) into one");
  merge->add_option("--out", merge_out, "Output folder; the experiment goes to OUT/<name>/")
      ->capture_default_str();
  merge->add_option("shard_dirs", merge_dirs, "The shards' experiment folders (OUT_i/<name>)")
      ->required()
      ->check(CLI::ExistingDirectory);
  bool merge_no_plot = false;
  merge->add_flag("--no-plot", merge_no_plot,
                  "Do not draw the figures (scripts/plot.py) at the end, as run --no-plot");

  std::string plot_dir;
  auto* plot = app.add_subcommand(
      "plot", "Draw an experiment folder's figures into DIR/plots/ (scripts/plot.py)");
  plot->add_option("dir", plot_dir, "Experiment folder (results/<name>)")
      ->required()
      ->check(CLI::ExistingDirectory);

  std::string report_dir, report_out;
  bool report_force = false;
  auto* report_cmd = app.add_subcommand(
      "report", "Write an experiment folder as one self-contained HTML page (scripts/report.py)");
  report_cmd->add_option("dir", report_dir, "Experiment folder (results/<name>)")
      ->required()
      ->check(CLI::ExistingDirectory);
  report_cmd->add_option("-o,--output", report_out,
                         "The page to write (default DIR/report.html, which git ignores under "
                         "results/)");
  report_cmd->add_flag("--force", report_force,
                       "Replace the output file even when it is not a report initbench wrote");

  app.add_subcommand("list", "List the shipped experiments with their descriptions");
  bool markdown = false;
  auto* schemes_cmd =
      app.add_subcommand("schemes", "List every initialization scheme with its formula and source");
  schemes_cmd->add_flag("--markdown", markdown, "As a Markdown table (the README's)");
  std::string describe_path;
  int describe_threads = 0;
  auto* desc = app.add_subcommand(
      "describe", "Show a spec's grid: run count, axes, a few runs, estimated cost");
  desc->add_option("spec", describe_path, "Experiment spec file, or a shipped experiment's name")
      ->required()
      ->transform(spec_argument());
  desc->add_flag("--quick", run_args.quick, "Apply the spec's [quick] profile");
  desc->add_option("--set", run_args.sets, "Override a key (as for run)")
      ->check(set_argument())
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  desc->add_option("--threads", describe_threads,
                   "Threads to estimate the time for (0: every core)");

  std::string check_folder, check_scheme, check_csv;
  auto* check_cmd = app.add_subcommand(
      "check-init",
      "Read a folder of W1.npy, W2.npy, ... and report each layer's variance against the "
      "schemes', its distribution's shape, orthogonality and zeros");
  check_cmd->add_option("folder", check_folder, "Folder of W<l>.npy (fan_out, fan_in)")->required();
  check_cmd->add_option("--scheme", check_scheme,
                        "Also compare with this scheme: he_normal, normal(stddev=0.01), ...");
  check_cmd->add_option("--csv", check_csv, "Also write the table as CSV, one row per layer");

  std::string diagnose_dir;
  auto* diagnose_cmd = app.add_subcommand(
      "diagnose",
      "Print the verdicts of every run of an experiment folder: symmetric, vanishing, exploding, "
      "saturated, dead, phase, stalled, diverged (docs/diagnosis.md)");
  diagnose_cmd->add_option("dir", diagnose_dir, "Experiment folder (results/<name>)")->required();

  // An unknown command is named as such, with the closest one (CLI11 would report "arguments
  // not expected").
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      commands.push_back(sub->get_name());
    if (std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
      std::fprintf(stderr,
                   "initbench: error: unknown command '%s'%s; commands: %s (see "
                   "initbench --help)\n",
                   argv[1], did_you_mean(argv[1], commands).c_str(), join(commands).c_str());
      return 2;
    }
    // An unknown --option, named before its value is taken for a spec file.
    const CLI::App* sub = app.get_subcommand(argv[1]);
    std::vector<std::string> options{"--help"};
    for (const CLI::Option* o : sub->get_options()) {
      for (const std::string& name : o->get_lnames()) {
        if (std::find(options.begin(), options.end(), "--" + name) == options.end())
          options.push_back("--" + name);
      }
    }
    for (int i = 2; i < argc; ++i) {
      const std::string token = std::string(argv[i]).substr(0, std::string(argv[i]).find('='));
      if (!token.starts_with("--") || token == "--") continue;
      if (token == "--set" && i + 1 < argc && std::string_view(argv[i]) == "--set" &&
          std::string_view(argv[i + 1]).find('=') == std::string_view::npos) {
        std::fprintf(stderr,
                     "initbench: error: --set %s: expected key=value, as in --set "
                     "model.depth=5\n",
                     argv[i + 1]);
        return 2;
      }
      if (std::find(options.begin(), options.end(), token) == options.end()) {
        std::fprintf(stderr,
                     "initbench: error: %s: unknown option%s; options: %s (see "
                     "initbench %s --help)\n",
                     token.c_str(), did_you_mean(token, options).c_str(), join(options).c_str(),
                     argv[1]);
        return 2;
      }
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // [robustness] --help and --version print as CLI11 does; a bad command line is one
    // line on stderr and exit status 2 (CLI11's own message spans two lines, with codes 105-109).
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::fprintf(stderr, "initbench: error: %s (see initbench --help)\n", e.what());
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    // A bad INITBENCH_ISA or INITBENCH_GEMM_BLOCKING is an error before anything runs.
    active_isa();
    kernels::gemm_blocking<float>();
    kernels::gemm_blocking<double>();
    if (*run) {
      if (run_args.quick && run_out->count() == 0) run_args.out = kQuickOut;
      return run_specs(run_args);
    }
    if (*merge) {
      const std::string folder = merge_shards(merge_out, merge_dirs);
      fmt::print("merged {} shards into {}\n", merge_dirs.size(), folder);
      print_summary(read_csv(folder + "/" + kSummaryCsv));
      fmt::print("\n");
      std::fflush(stdout);
      if (!merge_no_plot) draw_figures(folder);
      return 0;
    }
    if (*plot) {
      const std::string why = plotting_unavailable();
      if (!why.empty()) throw std::runtime_error("cannot draw figures: " + why);
      return plot_folder(plot_dir);
    }
    if (*report_cmd) return report_folder(report_dir, report_out, report_force);
    if (app.got_subcommand("list")) return list_experiments();
    if (*schemes_cmd) return markdown ? schemes_markdown() : list_schemes();
    if (*check_cmd) return check_init(check_folder, check_scheme, check_csv);
    if (*diagnose_cmd) return diagnose_command(diagnose_dir);
    if (*desc)
      return describe(describe_path, SpecOptions{run_args.sets, run_args.quick}, describe_threads);
    return run_demo();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "initbench: error: %s\n", e.what());
    return 1;
  }
}

// Anything thrown while declaring the command line (before run_main's own handler) is reported
// the same way: one line, exit status 1.
int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "initbench: error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "initbench: error: unknown exception\n");
  }
  return 1;
}
