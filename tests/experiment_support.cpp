#include "experiment_support.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <stdexcept>

namespace initbench::testing {

std::uint64_t seed_offset() {
  const char* text = std::getenv("INITBENCH_SEED_OFFSET");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-') {
    throw std::invalid_argument(
        std::string("INITBENCH_SEED_OFFSET must be an integer >= 0, got '") + text + "'");
  }
  return value;
}

Experiment quick_experiment(const std::string& file, const std::vector<std::string>& overrides) {
  Experiment experiment = load_experiment(
      std::string(INITBENCH_SOURCE_DIR) + "/experiments/" + file, SpecOptions{overrides, true});
  // The claims must not hang on the spec's particular seeds: shift every run's seed (the axis
  // values, which the tests look runs up by, stay as written).
  const std::uint64_t offset = seed_offset();
  for (RunConfig& run : experiment.runs) run.seed += offset;
  return experiment;
}

std::vector<RunRecord> run_quick(const Experiment& experiment) {
  RunnerOptions options;
  options.out_dir = "";  // in memory
  return run_experiment(experiment, options).records;
}

std::string axis(const RunRecord& record, const std::string& key) {
  // the seed as the spec wrote it (load_quick adds INITBENCH_SEED_OFFSET to the run's seed)
  if (key == "seed")
    return std::to_string(static_cast<std::uint64_t>(record.run.seed) - seed_offset());
  for (const auto& [name, value] : record.run.settings) {
    if (name == key) return value;
  }
  throw std::invalid_argument("run " + std::to_string(record.run.run_id) + " has no setting " +
                              key);
}

std::map<std::string, std::vector<const RunRecord*>> group_by(const std::vector<RunRecord>& records,
                                                              const std::string& key) {
  std::map<std::string, std::vector<const RunRecord*>> groups;
  for (const RunRecord& r : records) groups[axis(r, key)].push_back(&r);
  return groups;
}

const RunRecord& find_run(const std::vector<RunRecord>& records,
                          const std::map<std::string, std::string>& where) {
  const RunRecord* found = nullptr;
  for (const RunRecord& r : records) {
    bool match = true;
    for (const auto& [key, value] : where) match = match && axis(r, key) == value;
    if (!match) continue;
    if (found != nullptr) {
      throw std::invalid_argument("find_run: runs " + std::to_string(found->run.run_id) + " and " +
                                  std::to_string(r.run.run_id) + " both match");
    }
    found = &r;
  }
  if (found == nullptr) throw std::invalid_argument("find_run: no run matches");
  return *found;
}

std::map<long, LayerRow> layers_at(const RunRecord& record, long step) {
  std::map<long, LayerRow> out;
  for (const LayerRow& row : record.rows<initbench::LayerRow>()) {
    if (row.step == step) out[row.layer] = row;
  }
  return out;
}

double mean(const std::vector<double>& values) {
  return values.empty() ? 0.0
                        : std::accumulate(values.begin(), values.end(), 0.0) /
                              static_cast<double>(values.size());
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace initbench::testing
