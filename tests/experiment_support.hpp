// Helpers for the experiment tests: load a shipped spec at its [quick] size and run it in memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "initbench/rows.hpp"
#include "initbench/runner.hpp"
#include "initbench/spec.hpp"

namespace initbench::testing {

// The seed shift of the claim tests: INITBENCH_SEED_OFFSET (an integer >= 0), 0 when unset.
std::uint64_t seed_offset();

// experiments/<file> with its [quick] profile (and extra --set overrides), every run's seed
// shifted by seed_offset(): a claim must hold for other seeds than the spec's.
Experiment quick_experiment(const std::string& file,
                            const std::vector<std::string>& overrides = {});

// Runs every run of the experiment in memory on every core; records in grid order.
std::vector<RunRecord> run_quick(const Experiment& experiment);

// A run's setting (its runs.csv column: "init.scheme" -> "he_normal"), or its seed; throws if
// absent.
std::string axis(const RunRecord& record, const std::string& key);

// Records grouped by the value of one axis, in grid order.
std::map<std::string, std::vector<const RunRecord*>> group_by(const std::vector<RunRecord>& records,
                                                              const std::string& key);

// The one run of the grid whose axes have these values; throws if none or several match.
const RunRecord& find_run(const std::vector<RunRecord>& records,
                          const std::map<std::string, std::string>& where);

// The layers.csv rows of a run at one probe step, by layer (1..L).
std::map<long, LayerRow> layers_at(const RunRecord& record, long step);

double mean(const std::vector<double>& values);
// The median (the mean of the two middle values for an even count); 0 for none.
double median(std::vector<double> values);

}  // namespace initbench::testing
