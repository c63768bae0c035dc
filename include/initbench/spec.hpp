// spec.hpp: experiment files (TOML) -> a grid of RunConfig.
//
// A spec names a dataset, a model, initialization schemes, training and probes. Any scalar may be
// given as a list instead: the runs are the Cartesian product of all lists, the first list in
// the file varying slowest. Keys that are lists by nature (model.layers, probes.dump_weights,
// data.targets) become axes when given as a list of lists. Everything is checked before anything
// runs, including each run's network against the schemes and the synthetic data; errors are
// SpecError, one line, "file:line: message" naming the key, the value and what is allowed (for an
// override, "--set key=value: message"). The full key reference is in docs/spec.md. Keys named
// together in the top-level zip (zip = [["model.depth", "train.lr"]]) vary together, one axis.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "initbench/config.hpp"
#include "initbench/data.hpp"

namespace initbench {

struct SpecError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct SpecOptions {
  std::vector<std::string> overrides;  // "key=value" (--set), applied in order after the file
  bool quick = false;                  // apply the spec's [quick] table (before the overrides)
};

struct Experiment {
  std::string name;         // the output folder's name
  std::string description;  // one line
  std::string path;         // the spec file
  // The spec after [quick] and --set, without [quick], as TOML text (written as spec.toml): it
  // parses back to the same grid, in the same order.
  std::string resolved;
  std::vector<std::string>
      axes;                     // dotted keys given as lists ("init.scheme", "seed"), in file order
  std::vector<RunConfig> runs;  // the grid; runs[i].run_index == i; runs[i].axes names every axis
  bool has_quick = false;       // the file has a [quick] table
  // groups of axes that vary together, as written in zip
  std::vector<std::vector<std::string>> zips;
  // Where each key the spec sets was written ("file:line", or "--set key=value"), by dotted
  // name: errors found once file data are loaded (RunCheckError's keys) point there.
  std::map<std::string, std::string> places;
  // The place of the first of `keys` the spec sets; the spec file if it sets none.
  std::string place(const std::vector<std::string>& keys) const;
};

// The one check of a run against its data: the network's ends, the output layer against the
// targets, the parameter count, every layer's schemes on the resolved network, the batch
// against the samples. The spec checker calls it for every run whose data shape the spec
// determines; run_experiment calls it once the data are loaded (file data, and experiments
// built in code). Throws RunCheckError.
void check_run(const RunConfig& run, const DataShape& shape);
// The part of check_run that needs only the network's sizes: its parameter count against
// kMaxParameters and every layer's schemes. `size_key` is the key the sizes came from.
void check_network(const RunConfig& run, const MlpConfig& net, const char* size_key);
// A network beyond this many parameters is a typo, not an experiment.
inline constexpr Index kMaxParameters = 1000000000;

// runs.csv's setting columns: one per key of the key table (src/spec/keys.cpp) but the top-level
// ones (`name` is the experiment column, `seed` the seed column, `description` stays in
// spec.toml), named by the dotted key, in the table's order: data, model, init, train, probes.
// Each holds this run's value as the spec wrote it (after [quick] and --set; RunConfig::written),
// else the key's default read back from the RunConfig; "" for a key left unset that has no
// default. A key added to the table gets its column with no other change.
std::vector<std::pair<std::string, std::string>> run_settings(const RunConfig& run);
// The setting columns' names alone, in order.
std::vector<std::string> setting_names();

// Reads, checks and expands a spec file. Throws SpecError.
Experiment load_experiment(const std::string& path, const SpecOptions& options = {});
// The same from text (tests; `source` names it in messages).
Experiment parse_experiment(const std::string& text, const std::string& source,
                            const SpecOptions& options = {});

}  // namespace initbench
