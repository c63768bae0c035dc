// runner.hpp: run an experiment's grid on a thread pool, deterministically, without losing work.
//
// Runs are independent: each takes its randomness from (seed, run key) only and uses
// single-threaded linear algebra, so every output but timings.csv is byte-identical for any
// thread count. As each run finishes, its rows are written atomically to
// <folder>/.runs/<run_id>.bundle; the experiment's CSV files are assembled from the bundles in
// grid order (every few seconds, and at the end), so after an interruption or a crash the folder
// holds complete CSV files of the runs that completed, and --resume runs only the rest, ending
// with files identical to those of an uninterrupted run.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "initbench/rows.hpp"
#include "initbench/spec.hpp"
#include "initbench/trainer.hpp"

namespace initbench {

struct Shard {
  long index = 0;  // 0-based
  long count = 1;
  // "I/N" with 1 <= I <= N (the CLI's and Slurm's 1-based form); throws std::invalid_argument.
  static Shard parse(const std::string& text);
};

// Which shard each run of the grid belongs to (index run_index), for a split into `count`
// shards. Runs are ordered by a hash of their run key (their axis values) and dealt out in turn,
// so every shard gets the same number of runs (give or take one) and a mix of every axis, even
// when the number of shards divides an axis' length.
std::vector<long> shard_assignment(const Experiment& experiment, long count);

struct RunnerOptions {
  std::string out_dir = "results";  // the experiment folder is out_dir/<name>; "" = keep in memory
  int threads = 0;                  // 0 = every core
  bool resume = false;              // skip runs already complete in the folder
  // Replace a folder's results although they come from another spec (or profile) or another
  // commit (check_replaceable).
  bool force = false;
  Shard shard;
  // Raised by SIGINT/SIGTERM: running runs stop at their next step, completed ones are saved.
  // The runner raises it too when a run fails.
  std::atomic<bool>* cancel = nullptr;
  // Progress: called after each run completes (done, total, the run, its seconds).
  std::function<void(long done, long total, const RunConfig& run, const RunRecord& record)>
      on_run_done;
  std::function<void(long total, long skipped)> on_start;
  // Live step counts for a progress display (trainer.hpp), or nullptr.
  LiveProgress* live = nullptr;
};

struct RunnerResult {
  std::string folder;  // "" when kept in memory
  long total = 0;      // runs in this shard
  long completed = 0;  // complete now (including resumed ones)
  long skipped = 0;    // already complete when resuming
  bool interrupted = false;
  std::vector<RunRecord> records;  // in memory mode only, in grid order
};

// Whether run_experiment may write out_dir/<name>/: a folder holding results (runs.csv or
// spec.toml) is replaced only by the same resolved spec (profile and --set included) from the
// same commit, unless options.force; with options.resume the spec must match (checked when
// resuming). Throws std::runtime_error saying what would be replaced and how to proceed.
void check_replaceable(const Experiment& experiment, const RunnerOptions& options);

// Checks every run against its data (loads each distinct dataset once), then runs the grid.
// Throws std::invalid_argument / SpecError for a model that does not fit its data (before any
// run starts), std::runtime_error for I/O failures or a run that fails; completed work is saved
// first.
RunnerResult run_experiment(const Experiment& experiment, const RunnerOptions& options);

// Reassembles the CSV files of an experiment folder from its run bundles (grid order);
// summary.csv groups the runs by `axes` (Experiment::axes) but seed.
void assemble_reports(const std::string& folder, const std::vector<std::string>& axes);

// Merges the folders of the N shards of one experiment (initbench run --shard I/N) into
// out_dir/<name>/, which then equals the folder of an unsharded run (timings.csv and meta.json
// aside). Throws std::runtime_error naming the folder when a shard is missing, duplicated, from
// another spec, or incomplete (interrupted: finish it with --resume first). Returns the folder.
std::string merge_shards(const std::string& out_dir, const std::vector<std::string>& shard_folders);

// meta.json: version, git commit, compiler, flags, library versions, date.
std::string meta_json(const Experiment& experiment, const RunnerOptions& options);

}  // namespace initbench
