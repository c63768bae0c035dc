#include "initbench/runner.hpp"

#include <Eigen/Core>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "initbench/data.hpp"
#include "initbench/io.hpp"
#include "initbench/report.hpp"
#include "initbench/text.hpp"
#include "initbench/trainer.hpp"

#ifndef INITBENCH_GIT_COMMIT
#define INITBENCH_GIT_COMMIT "unknown"
#endif
#ifndef INITBENCH_CXX_FLAGS
#define INITBENCH_CXX_FLAGS "unknown"
#endif

namespace initbench {

namespace fs = std::filesystem;

Shard Shard::parse(const std::string& text) {
  long i = 0;
  long n = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%ld/%ld%c", &i, &n, &tail) != 2 || n < 1 || i < 1 || i > n) {
    throw std::invalid_argument(
        fmt::format("--shard '{}': expected I/N with 1 <= I <= N, e.g. --shard 2/8", text));
  }
  return {i - 1, n};
}

namespace {

constexpr const char* kRunsDir = ".runs";
constexpr const char* kSpecCopy = "spec.toml";
constexpr const char* kMeta = "meta.json";

// Runs that share this key share one loaded dataset. File datasets do not depend on the seed
// unless a CSV file is split at random.
std::string data_key(const DataSpec& d, std::uint64_t seed) {
  const bool seeded = d.kind != "idx" && !(d.kind == "csv" && !d.test_path.empty());
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", d.kind, d.train, d.test,
                     format_number(d.noise), d.classes, format_number(d.factor), d.features,
                     format_number(d.cluster_std), format_number(d.center_box), d.hidden, d.outputs,
                     d.classify, d.path, d.test_path, format_number(d.test_fraction), d.label,
                     fmt::join(d.targets, ","), d.limit_train, d.limit_test, d.standardize,
                     seeded ? std::to_string(seed) : std::string("-"));
}

std::string describe_run(const RunConfig& run) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : run.axes) parts.push_back(key + "=" + value);
  return parts.empty() ? fmt::format("run {}", run.run_index)
                       : fmt::format("run {} ({})", run.run_index, join(parts));
}

std::string bundle_path(const std::string& folder, long run_index) {
  return fmt::format("{}/{}/{}.bundle", folder, kRunsDir, run_index);
}

// Run indices with a bundle in the folder.
std::vector<long> completed_runs(const std::string& folder) {
  std::vector<long> done;
  const fs::path dir = fs::path(folder) / kRunsDir;
  if (!fs::exists(dir)) return done;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".bundle") continue;
    const std::string stem = entry.path().stem().string();
    char* end = nullptr;
    const long id = std::strtol(stem.c_str(), &end, 10);
    if (end != nullptr && *end == '\0') done.push_back(id);
  }
  std::sort(done.begin(), done.end());
  return done;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string meta_json(const Experiment& experiment, const RunnerOptions& options) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format(
      "{{\n"
      "  \"experiment\": \"{}\",\n"
      "  \"spec\": \"{}\",\n"
      "  \"initbench_version\": \"{}\",\n"
      "  \"git_commit\": \"{}\",\n"
      "  \"compiler\": \"{}\",\n"
      "  \"flags\": \"{}\",\n"
      "  \"eigen\": \"{}.{}.{}\",\n"
      "  \"fmt\": \"{}\",\n"
      "  \"tomlplusplus\": \"{}.{}.{}\",\n"
      "  \"threads\": {},\n"
      "  \"shard\": \"{}/{}\",\n"
      "  \"runs\": {},\n"
      "  \"date\": \"{:%Y-%m-%dT%H:%M:%SZ}\"\n"
      "}}\n",
      json_escape(experiment.name), json_escape(experiment.path), INITBENCH_VERSION, INITBENCH_GIT_COMMIT,
      json_escape(__VERSION__), json_escape(INITBENCH_CXX_FLAGS), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
      EIGEN_MINOR_VERSION, FMT_VERSION, TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH, options.threads,
      options.shard.index + 1, options.shard.count, experiment.runs.size(), utc);
}

void assemble_reports(const std::string& folder) {
  const char* files[] = {kRunsCsv, kCurvesCsv, kLayersCsv, kSymmetryCsv, kHistogramsCsv, kJacobianCsv, kTimingsCsv};
  std::map<std::string, std::string> out;
  const std::vector<long> done = completed_runs(folder);
  for (long id : done) {
    const std::string path = bundle_path(folder, id);
    for (auto& [name, text] : parse_bundle(read_file(path), path)) {
      auto it = out.find(name);
      if (it == out.end()) {
        out[name] = text;  // header and rows
      } else {
        it->second.append(text, text.find('\n') + 1);  // rows only
      }
    }
  }
  const std::vector<RunRecord> none;
  for (const char* name : files) {
    if (out.count(name) == 0) {
      // No completed run: just the header.
      if (std::string_view(name) == kRunsCsv) out[name] = runs_csv(none);
      if (std::string_view(name) == kCurvesCsv) out[name] = curves_csv(none);
      if (std::string_view(name) == kLayersCsv) out[name] = layers_csv(none);
      if (std::string_view(name) == kSymmetryCsv) out[name] = symmetry_csv(none);
      if (std::string_view(name) == kHistogramsCsv) out[name] = histograms_csv(none);
      if (std::string_view(name) == kJacobianCsv) out[name] = jacobian_csv(none);
      if (std::string_view(name) == kTimingsCsv) out[name] = timings_csv(none);
    }
    write_file_atomic(folder + "/" + name, out[name]);
  }
  // The summary groups runs by every axis but the seed: the axes are the columns after the
  // fixed RunRow columns.
  const CsvTable runs = parse_csv(out[kRunsCsv], folder + "/" + kRunsCsv);
  std::size_t fixed = 0;
  RunRow{}.visit([&](const char*, const auto&) { ++fixed; });
  const std::vector<std::string> axes(runs.columns.begin() + static_cast<long>(fixed), runs.columns.end());
  write_file_atomic(folder + "/" + kSummaryCsv, summary_csv(runs, axes));
}

RunnerResult run_experiment(const Experiment& experiment, const RunnerOptions& options) {
  RunnerResult result;
  const bool in_memory = options.out_dir.empty();

  // The runs of this shard.
  std::vector<const RunConfig*> runs;
  for (const RunConfig& run : experiment.runs) {
    if (options.shard.contains(run.run_index)) runs.push_back(&run);
  }
  result.total = static_cast<long>(runs.size());

  // Load every distinct dataset once and check that every run fits its data, before anything runs.
  std::map<std::string, std::shared_ptr<const Dataset>> datasets;
  std::vector<std::shared_ptr<const Dataset>> run_data;
  for (const RunConfig* run : runs) {
    const std::string key = data_key(run->data, run->seed);
    auto it = datasets.find(key);
    if (it == datasets.end()) {
      try {
        it = datasets.emplace(key, std::make_shared<const Dataset>(load_dataset(run->data, run->seed))).first;
      } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: [data]: {}", experiment.path, e.what()));
      }
    }
    run_data.push_back(it->second);
    try {
      const MlpConfig net = run->model.resolve(it->second->num_features(), it->second->num_targets());
      run->init.check(net);
      if (run->model.output == Output::kSoftmax && (it->second->num_classes < 2 || it->second->num_targets() < 2)) {
        throw std::invalid_argument(
            it->second->num_classes == 2
                ? "output softmax needs one-hot targets, but these binary data have one 0/1 target row: use output = "
                  "\"sigmoid\""
                : "output softmax needs class labels, but the data are a regression task: use output = \"linear\"");
      }
      if (run->model.output == Output::kSigmoid && it->second->num_classes != 2 && it->second->num_classes != 0) {
        throw std::invalid_argument(fmt::format(
            "output sigmoid is for binary labels, but the data have {} classes: use output = \"softmax\"",
            it->second->num_classes));
      }
    } catch (const std::invalid_argument& e) {
      throw SpecError(fmt::format("{}: {}: {}", experiment.path, describe_run(*run), e.what()));
    }
  }

  // The folder.
  std::string folder;
  std::vector<long> already;
  if (!in_memory) {
    folder = options.out_dir + "/" + experiment.name;
    result.folder = folder;
    try {
      fs::create_directories(fs::path(folder) / kRunsDir);
    } catch (const fs::filesystem_error& e) {
      throw std::runtime_error(fmt::format("cannot create the output folder {}: {}", folder, e.code().message()));
    }
    const std::string spec_path = folder + "/" + kSpecCopy;
    if (options.resume && fs::exists(spec_path) && read_file(spec_path) != experiment.resolved) {
      throw std::runtime_error(fmt::format(
          "{} holds results of a different spec (its spec.toml differs): --resume would mix them; "
          "use another --out or remove the folder",
          folder));
    }
    if (options.resume) {
      already = completed_runs(folder);
    } else {
      for (long id : completed_runs(folder)) fs::remove(bundle_path(folder, id));
    }
    write_file_atomic(spec_path, experiment.resolved);
    write_file_atomic(folder + "/" + kMeta, meta_json(experiment, options));
  }

  // The queue: runs of this shard not yet complete.
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!std::binary_search(already.begin(), already.end(), runs[i]->run_index)) todo.push_back(i);
  }
  result.skipped = static_cast<long>(runs.size() - todo.size());
  if (options.on_start) options.on_start(result.total, result.skipped);

  std::vector<RunRecord> records(in_memory ? runs.size() : 0);
  std::atomic<std::size_t> next{0};
  std::atomic<long> done{result.skipped};
  std::atomic<bool> failed{false};
  // One flag stops everything: the caller's (raised by SIGINT/SIGTERM), or ours if none was
  // given; a failing run raises it too, so the other runs stop and their work is not wasted
  // beyond what was complete.
  std::atomic<bool> local_cancel{false};
  std::atomic<bool>& cancel = options.cancel != nullptr ? *options.cancel : local_cancel;
  std::mutex mutex;  // guards error, records, progress callbacks and assembly
  std::string error;
  auto last_assembly = std::chrono::steady_clock::now();

  auto worker = [&] {
    while (!cancel.load()) {
      const std::size_t k = next.fetch_add(1);
      if (k >= todo.size()) return;
      const std::size_t i = todo[k];
      const RunConfig& base = *runs[i];
      RunConfig run = base;
      if (!in_memory && !base.probes.dump_weights.empty()) {
        run.weights_dir = fmt::format("{}/weights/{}", folder, base.run_index);
      }
      try {
        RunRecord record = train(run, *run_data[i], &cancel);
        if (!in_memory) write_file_atomic(bundle_path(folder, base.run_index), make_bundle(record));
        const long now_done = ++done;
        std::lock_guard<std::mutex> lock(mutex);
        if (options.on_run_done) options.on_run_done(now_done, result.total, base, record);
        if (in_memory) {
          records[i] = std::move(record);
        } else if (std::chrono::steady_clock::now() - last_assembly > std::chrono::seconds(10)) {
          assemble_reports(folder);
          last_assembly = std::chrono::steady_clock::now();
        }
      } catch (const Cancelled&) {
        return;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (error.empty()) error = fmt::format("{}: {}: {}", experiment.path, describe_run(base), e.what());
        failed.store(true);
        cancel.store(true);
        return;
      }
    }
  };

  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const auto threads = static_cast<std::size_t>(std::min<long>(
      options.threads > 0 ? options.threads : static_cast<long>(hardware), std::max<long>(1, static_cast<long>(todo.size()))));
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  result.completed = done.load();
  result.interrupted = !failed.load() && cancel.load() && result.completed < result.total;
  if (!in_memory) assemble_reports(folder);
  if (in_memory) result.records = std::move(records);
  if (failed.load()) throw std::runtime_error(error);
  return result;
}

}  // namespace initbench
