// spec.hpp: experiment files (TOML) -> a grid of RunConfig.
//
// A spec names a dataset, a model, initialization schemes, training and probes. Any scalar may be
// given as a list instead: the runs are the Cartesian product of all lists, the first list in
// the file varying slowest. Keys that are lists by nature (model.layers, probes.dump_weights,
// data.targets) become axes when given as a list of lists. Everything is checked before anything
// runs, including each run's network against the schemes and the synthetic data; errors are
// SpecError, one line, "file:line: message" naming the key, the value and what is allowed (for an
// override, "--set key=value: message"). The full key reference is in docs/spec.md.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "initbench/config.hpp"

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
};

// Reads, checks and expands a spec file. Throws SpecError.
Experiment load_experiment(const std::string& path, const SpecOptions& options = {});
// The same from text (tests; `source` names it in messages).
Experiment parse_experiment(const std::string& text, const std::string& source,
                            const SpecOptions& options = {});

}  // namespace initbench
