#include "initbench/runner.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <Eigen/Core>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "initbench/data.hpp"
#include "initbench/io.hpp"
#include "initbench/kernels.hpp"
#include "initbench/report.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "initbench/trainer.hpp"

#if __has_include("initbench_git_commit.hpp")
#include "initbench_git_commit.hpp"  // generated at every build (cmake/GitCommit.cmake)
#endif
#ifndef INITBENCH_GIT_COMMIT
#define INITBENCH_GIT_COMMIT "unknown"
#endif
#ifndef INITBENCH_CXX_FLAGS
#define INITBENCH_CXX_FLAGS "unknown"
#endif

namespace initbench {

namespace fs = std::filesystem;

Shard Shard::parse(const std::string& text) {
  // [robustness] strict digits: sscanf's %ld accepted " 1/2" and "+1/2", and an
  // out-of-range count ("1/99999999999999999999") was undefined behaviour.
  long i = 0;
  long n = 0;
  const auto slash = text.find('/');
  auto number = [](std::string_view digits, long& out) {
    const char* end = digits.data() + digits.size();
    if (digits.empty() || std::isdigit(static_cast<unsigned char>(digits.front())) == 0)
      return false;
    const auto [ptr, error] = std::from_chars(digits.data(), end, out);
    return error == std::errc() && ptr == end;
  };
  if (slash == std::string::npos || !number(std::string_view(text).substr(0, slash), i) ||
      !number(std::string_view(text).substr(slash + 1), n) || n < 1 || i < 1 || i > n) {
    throw std::invalid_argument(
        fmt::format("--shard '{}': expected I/N with 1 <= I <= N, e.g. --shard 2/8", text));
  }
  return {i - 1, n};
}

std::vector<long> shard_assignment(const Experiment& experiment, long count) {
  std::vector<std::pair<std::uint64_t, long>> keys;
  for (const RunConfig& run : experiment.runs) {
    std::string key;
    for (const auto& [axis, value] : run.axes) key += axis + "=" + value + ";";
    keys.emplace_back(hash_string(key.data(), key.size()), run.run_index);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<long> shard(experiment.runs.size(), 0);
  for (std::size_t k = 0; k < keys.size(); ++k) {
    shard[static_cast<std::size_t>(keys[k].second)] = static_cast<long>(k) % count;
  }
  return shard;
}

namespace {

constexpr const char* kRunsDir = ".runs";
constexpr const char* kSpecCopy = "spec.toml";
constexpr const char* kMeta = "meta.json";

// Runs with equal keys share one loaded dataset: the whole DataSpec, and the seed when the data
// depend on it.
struct DataKey {
  DataSpec spec;
  std::uint64_t seed = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted comparison
  friend auto operator<=>(const DataKey&, const DataKey&) = default;
};

DataKey data_key(const DataSpec& d, std::uint64_t seed) { return {d, d.seeded() ? seed : 0}; }

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

// The CPU's model name as /proc/cpuinfo gives it (provenance only: results do not depend on it).
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "unknown";
}

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
      "  \"kernels\": \"{}\",\n"
      "  \"cpu\": \"{}\",\n"
      "  \"threads\": {},\n"
      "  \"shard\": \"{}/{}\",\n"
      "  \"runs\": {},\n"
      "  \"date\": \"{:%Y-%m-%dT%H:%M:%SZ}\"\n"
      "}}\n",
      json_escape(experiment.name), json_escape(experiment.path), INITBENCH_VERSION,
      INITBENCH_GIT_COMMIT, json_escape(__VERSION__), json_escape(INITBENCH_CXX_FLAGS),
      EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, FMT_VERSION, TOML_LIB_MAJOR,
      TOML_LIB_MINOR, TOML_LIB_PATCH, isa_name(active_isa()), json_escape(cpu_model()),
      options.threads, options.shard.index + 1, options.shard.count, experiment.runs.size(), utc);
}

void assemble_reports(const std::string& folder, const std::vector<std::string>& axes) {
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
  for (const ReportFile& file : report_files()) {
    const std::string path = folder + "/" + file.name;
    // No completed run: just the header; a probe no run had on: no file (nor an older one).
    if (out.count(file.name) == 0) out[file.name] = file.csv(none);
    const std::string& text = out[file.name];
    if (file.probe && text.find('\n') + 1 == text.size()) {
      fs::remove(path);
      continue;
    }
    write_file_atomic(path, text);
  }
  // The summary groups runs by every axis but the seed (setting columns of runs.csv).
  const CsvTable runs = parse_csv(out[kRunsCsv], folder + "/" + kRunsCsv);
  write_file_atomic(folder + "/" + kSummaryCsv, summary_csv(runs, axes));
}

std::string merge_shards(const std::string& out_dir,
                         const std::vector<std::string>& shard_folders) {
  if (shard_folders.empty()) throw std::runtime_error("merge: no shard folders given");
  // Every shard must hold the same resolved spec and say which shard it is.
  struct ShardInfo {
    std::string folder;
    Shard shard;
    std::vector<long> runs;
  };
  std::vector<ShardInfo> shards;
  std::string spec_text;
  for (const std::string& folder : shard_folders) {
    const std::string spec_path = folder + "/" + kSpecCopy;
    const std::string meta_path = folder + "/" + kMeta;
    if (!fs::exists(spec_path) || !fs::exists(meta_path)) {
      throw std::runtime_error(fmt::format("merge: {} is not an experiment folder (no {} or {})",
                                           folder, kSpecCopy, kMeta));
    }
    const std::string text = read_file(spec_path);
    if (spec_text.empty()) {
      spec_text = text;
    } else if (text != spec_text) {
      throw std::runtime_error(
          fmt::format("merge: {} is a shard of a different spec than {} (their spec.toml differ)",
                      folder, shards.front().folder));
    }
    const std::string meta = read_file(meta_path);
    const auto key = meta.find("\"shard\": \"");
    if (key == std::string::npos)
      throw std::runtime_error(fmt::format("merge: {}: no shard in meta.json", folder));
    const auto start = key + 10;
    const std::string shard_text = meta.substr(start, meta.find('"', start) - start);
    shards.push_back({folder, Shard::parse(shard_text), completed_runs(folder)});
  }
  const Experiment experiment =
      parse_experiment(spec_text, shards.front().folder + "/" + kSpecCopy);
  const long count = shards.front().shard.count;
  std::vector<const ShardInfo*> by_index(static_cast<std::size_t>(count), nullptr);
  for (const ShardInfo& s : shards) {
    if (s.shard.count != count) {
      throw std::runtime_error(
          fmt::format("merge: {} is shard {}/{}, but {} is shard {}/{}: shards of different splits",
                      s.folder, s.shard.index + 1, s.shard.count, shards.front().folder,
                      shards.front().shard.index + 1, count));
    }
    const ShardInfo*& slot = by_index[static_cast<std::size_t>(s.shard.index)];
    if (slot != nullptr) {
      throw std::runtime_error(fmt::format("merge: shard {}/{} given twice: {} and {}",
                                           s.shard.index + 1, count, slot->folder, s.folder));
    }
    slot = &s;
  }
  for (long i = 0; i < count; ++i) {
    if (by_index[static_cast<std::size_t>(i)] == nullptr) {
      throw std::runtime_error(fmt::format("merge: shard {}/{} is missing", i + 1, count));
    }
  }
  // Every run of the grid exactly once, from the shard that owns it.
  const std::vector<long> owners = shard_assignment(experiment, count);
  for (const RunConfig& run : experiment.runs) {
    const ShardInfo& owner =
        *by_index[static_cast<std::size_t>(owners[static_cast<std::size_t>(run.run_index)])];
    if (!std::binary_search(owner.runs.begin(), owner.runs.end(), run.run_index)) {
      throw std::runtime_error(fmt::format(
          "merge: {} lacks run {} of its shard {}/{} (interrupted? finish it with "
          "initbench run --shard {}/{} --resume)",
          owner.folder, run.run_index, owner.shard.index + 1, count, owner.shard.index + 1, count));
    }
  }
  std::string folder = out_dir + "/" + experiment.name;
  for (const ShardInfo& s : shards) {
    if (fs::weakly_canonical(s.folder) == fs::weakly_canonical(folder)) {
      throw std::runtime_error(
          fmt::format("merge: the output folder {} is one of the shards", folder));
    }
  }
  try {
    fs::create_directories(fs::path(folder) / kRunsDir);
  } catch (const fs::filesystem_error& e) {
    throw std::runtime_error(
        fmt::format("cannot create the output folder {}: {}", folder, e.code().message()));
  }
  for (long id : completed_runs(folder)) fs::remove(bundle_path(folder, id));
  for (const ShardInfo& s : shards) {
    for (long id : s.runs) {
      // Only the runs this shard owns: a bundle of another split (a stray file) is not trusted.
      if (id < 0 || id >= static_cast<long>(owners.size()) ||
          owners[static_cast<std::size_t>(id)] != s.shard.index) {
        continue;
      }
      write_file_atomic(bundle_path(folder, id), read_file(bundle_path(s.folder, id)));
      const fs::path weights = fs::path(s.folder) / "weights" / std::to_string(id);
      if (fs::exists(weights)) {
        const fs::path target = fs::path(folder) / "weights" / std::to_string(id);
        fs::create_directories(target.parent_path());
        fs::remove_all(target);
        fs::copy(weights, target, fs::copy_options::recursive);
      }
    }
  }
  write_file_atomic(folder + "/" + kSpecCopy, spec_text);
  RunnerOptions options;
  options.shard = Shard{};
  write_file_atomic(folder + "/" + kMeta, meta_json(experiment, options));
  assemble_reports(folder, experiment.axes);
  return folder;
}

namespace {

// The runs this shard owns, in grid order.
std::vector<const RunConfig*> shard_runs(const Experiment& experiment, const Shard& shard) {
  std::vector<const RunConfig*> runs;
  const std::vector<long> owner = shard_assignment(experiment, shard.count);
  for (const RunConfig& run : experiment.runs) {
    if (owner[static_cast<std::size_t>(run.run_index)] == shard.index) runs.push_back(&run);
  }
  return runs;
}

// Every distinct dataset loaded once, and every run checked against its data (check_run),
// before anything runs: one dataset per run, shared where the runs' data keys are equal.
std::vector<std::shared_ptr<const Dataset>> load_run_data(
    const Experiment& experiment, const std::vector<const RunConfig*>& runs) {
  std::map<DataKey, std::shared_ptr<const Dataset>> datasets;
  std::vector<std::shared_ptr<const Dataset>> run_data;
  for (const RunConfig* run : runs) {
    const DataKey key = data_key(run->data, run->seed);
    auto it = datasets.find(key);
    if (it == datasets.end()) {
      try {
        it = datasets
                 .emplace(key, std::make_shared<const Dataset>(load_dataset(run->data, run->seed)))
                 .first;
      } catch (const RunCheckError& e) {
        // A spec value that does not fit the files (data.validation): at the key's line.
        throw SpecError(fmt::format("{}: {}", experiment.place(e.keys), e.what()));
      } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: [data]: {}", experiment.path, e.what()));
      }
    }
    run_data.push_back(it->second);
    try {
      check_run(*run, data_shape(run->data, *it->second));
    } catch (const RunCheckError& e) {
      throw SpecError(
          fmt::format("{}: {}: {}", experiment.place(e.keys), describe_run(*run), e.what()));
    }
  }
  return run_data;
}

// The first line where two texts differ, for a message: "line N: 'a' vs 'b'".
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (long line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(sa, la));
    const bool gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga && !gb) return "they differ in line ends";
    if (!ga) la = "(end)";
    if (!gb) lb = "(end)";
    if (!ga || !gb || la != lb) return fmt::format("line {}: '{}' there, '{}' here", line, la, lb);
  }
}

// The "git_commit" of a meta.json, or "" if it has none.
std::string meta_commit(const std::string& meta) {
  const std::string key = "\"git_commit\": \"";
  const auto at = meta.find(key);
  if (at == std::string::npos) return "";
  const auto end = meta.find('"', at + key.size());
  return end == std::string::npos ? "" : meta.substr(at + key.size(), end - at - key.size());
}

}  // namespace

void check_replaceable(const Experiment& experiment, const RunnerOptions& options) {
  if (options.out_dir.empty() || options.force || options.resume) return;
  const std::string folder = options.out_dir + "/" + experiment.name;
  const std::string spec_path = folder + "/" + kSpecCopy;
  std::error_code ec;
  if (!fs::exists(spec_path, ec) && !fs::exists(folder + "/" + kRunsCsv, ec)) return;
  const auto refuse = [&](const std::string& why) {
    return std::runtime_error(fmt::format(
        "{} holds results of {}: not replaced; pass --force to replace them, or choose another "
        "--out",
        folder, why));
  };
  if (!fs::exists(spec_path, ec)) throw refuse("an unknown spec (no spec.toml)");
  const std::string old = read_file(spec_path);
  if (old != experiment.resolved) {
    throw refuse(fmt::format("a different spec or profile (spec.toml, {})",
                             first_difference(old, experiment.resolved)));
  }
  const std::string meta_path = folder + "/" + kMeta;
  if (fs::exists(meta_path, ec)) {
    const std::string commit = meta_commit(read_file(meta_path));
    if (!commit.empty() && commit != INITBENCH_GIT_COMMIT) {
      throw refuse(
          fmt::format("another commit ({}; this build is {})", commit, INITBENCH_GIT_COMMIT));
    }
  }
}

namespace {

// Creates the experiment folder (or checks, with --resume, that it holds this spec and shard),
// writes spec.toml and meta.json, and returns the runs already complete there (none without
// --resume: their bundles are removed).
std::vector<long> prepare_folder(const Experiment& experiment, const RunnerOptions& options,
                                 const std::string& folder) {
  check_replaceable(experiment, options);
  try {
    fs::create_directories(fs::path(folder) / kRunsDir);
  } catch (const fs::filesystem_error& e) {
    throw std::runtime_error(
        fmt::format("cannot create the output folder {}: {}", folder, e.code().message()));
  }
  // [robustness] a process killed mid-write (SIGKILL) leaves <file>.tmp.<pid> behind.
  remove_stale_temporaries(folder);
  const std::string spec_path = folder + "/" + kSpecCopy;
  if (options.resume && fs::exists(spec_path) && read_file(spec_path) != experiment.resolved) {
    throw std::runtime_error(fmt::format(
        "{} holds results of a different spec (its spec.toml differs): --resume would mix them; "
        "use another --out or remove the folder",
        folder));
  }
  const std::string meta_path = folder + "/" + kMeta;
  if (options.resume && fs::exists(meta_path)) {
    // A folder of another split would hold runs this shard does not own.
    const std::string wanted =
        fmt::format("\"shard\": \"{}/{}\"", options.shard.index + 1, options.shard.count);
    if (read_file(meta_path).find(wanted) == std::string::npos) {
      throw std::runtime_error(
          fmt::format("{} holds another shard or split than --shard {}/{}: --resume would mix "
                      "them; use the same --shard or another --out",
                      folder, options.shard.index + 1, options.shard.count));
    }
  }
  std::vector<long> already;
  if (options.resume) {
    already = completed_runs(folder);
  } else {
    for (long id : completed_runs(folder)) fs::remove(bundle_path(folder, id));
  }
  write_file_atomic(spec_path, experiment.resolved);
  write_file_atomic(folder + "/" + kMeta, meta_json(experiment, options));
  return already;
}

}  // namespace

RunnerResult run_experiment(const Experiment& experiment, const RunnerOptions& options) {
  RunnerResult result;
  const bool in_memory = options.out_dir.empty();
  const std::vector<const RunConfig*> runs = shard_runs(experiment, options.shard);
  result.total = static_cast<long>(runs.size());
  const std::vector<std::shared_ptr<const Dataset>> run_data = load_run_data(experiment, runs);
  std::string folder;
  std::vector<long> already;
  if (!in_memory) {
    folder = options.out_dir + "/" + experiment.name;
    result.folder = folder;
    already = prepare_folder(experiment, options, folder);
  }

  // The queue: runs of this shard not yet complete.
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!std::binary_search(already.begin(), already.end(), runs[i]->run_index)) todo.push_back(i);
  }
  result.skipped = static_cast<long>(runs.size() - todo.size());
  // Each queued run's length and work, for the progress display
  std::vector<long> run_steps(runs.size(), 0);
  std::vector<double> run_work(runs.size(), 0.0);
  if (options.live != nullptr) {
    for (const std::size_t i : todo) {
      run_steps[i] = runs[i]->train.total_steps(run_data[i]->X_train.cols());
      run_work[i] = step_work(*runs[i], *run_data[i]);
      options.live->add_total(run_work[i] * static_cast<double>(run_steps[i]));
    }
  }
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
        RunRecord record = train(run, *run_data[i], &cancel, options.live);
        record.run.settings = run_settings(run);
        if (!in_memory) write_file_atomic(bundle_path(folder, base.run_index), make_bundle(record));
        const long now_done = ++done;
        std::lock_guard<std::mutex> lock(mutex);
        if (options.live != nullptr) {  // a run that stopped early counts as its full length
          const long rest = std::max<long>(0, run_steps[i] - record.run.steps_run);
          options.live->add(run_work[i] * static_cast<double>(rest));
        }
        if (options.on_run_done) options.on_run_done(now_done, result.total, base, record);
        if (in_memory) {
          records[i] = std::move(record);
        } else if (std::chrono::steady_clock::now() - last_assembly > std::chrono::seconds(10)) {
          assemble_reports(folder, experiment.axes);
          last_assembly = std::chrono::steady_clock::now();
        }
      } catch (const Cancelled&) {
        return;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (error.empty())
          error = fmt::format("{}: {}: {}", experiment.path, describe_run(base), e.what());
        failed.store(true);
        cancel.store(true);
        return;
      }
    }
  };

  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const auto threads = static_cast<std::size_t>(
      std::min<long>(options.threads > 0 ? options.threads : static_cast<long>(hardware),
                     std::max<long>(1, static_cast<long>(todo.size()))));
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  result.completed = done.load();
  result.interrupted = !failed.load() && cancel.load() && result.completed < result.total;
  if (in_memory) {
    if (failed.load()) throw std::runtime_error(error);
    result.records = std::move(records);
    return result;
  }
  // The CSV files from what was saved. After a failed run the first error is the one reported
  // (the assembly may fail for the same reason, a full disk); either way the runs saved in
  // .runs/ are what --resume starts from, and the message says so.
  const auto saved = [&](const std::string& what) {
    return std::runtime_error(
        fmt::format("{} ({} of {} runs are saved in {}: run again with --resume to finish)", what,
                    result.completed, result.total, folder));
  };
  try {
    assemble_reports(folder, experiment.axes);
  } catch (const std::exception& e) {
    if (!failed.load()) throw saved(e.what());
  }
  if (failed.load()) throw saved(error);
  return result;
}

}  // namespace initbench
