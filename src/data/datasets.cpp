// datasets.cpp: standardization, the registry of dataset kinds and load_dataset.
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "initbench/data.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "shared.hpp"

namespace initbench {

using namespace data_internal;

void standardize(Dataset& data) {
  const Index n = data.X_train.rows();
  const Index m = data.X_train.cols();
  if (m == 0) return;
  // Scalar sums in sample order (not Eigen's SIMD reductions), so the bits do not depend on the
  // instruction set.
  Vector<double> mean = Vector<double>::Zero(n);
  for (Index j = 0; j < m; ++j) {
    for (Index i = 0; i < n; ++i) mean(i) += data.X_train(i, j);
  }
  mean /= static_cast<double>(m);
  // A constant feature is detected exactly, not by std == 0: its mean can be off by an ulp (three
  // 0.1s average to 0.10000000000000002), which would leave a tiny std and blow the rounding
  // error up to +-1. Its mean is then the constant itself, so it centres to exact zeros.
  std::vector<bool> constant(to_size(n), true);
  for (Index j = 1; j < m; ++j) {
    for (Index i = 0; i < n; ++i) {
      if (data.X_train(i, j) != data.X_train(i, 0)) constant[to_size(i)] = false;
    }
  }
  for (Index i = 0; i < n; ++i) {
    if (constant[to_size(i)]) mean(i) = data.X_train(i, 0);
  }
  Vector<double> variance = Vector<double>::Zero(n);
  for (Index j = 0; j < m; ++j) {
    for (Index i = 0; i < n; ++i)
      variance(i) += (data.X_train(i, j) - mean(i)) * (data.X_train(i, j) - mean(i));
  }
  Vector<double> scale(n);
  for (Index i = 0; i < n; ++i) {
    const double stddev = std::sqrt(variance(i) / static_cast<double>(m));
    scale(i) = constant[to_size(i)] || stddev == 0.0 ? 1.0 : stddev;  // constant: only centred
  }
  for (Matrix<double>* X : {&data.X_train, &data.X_val, &data.X_test}) {
    for (Index j = 0; j < X->cols(); ++j) {
      for (Index i = 0; i < n; ++i) (*X)(i, j) = ((*X)(i, j) - mean(i)) / scale(i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The single entry point
// ---------------------------------------------------------------------------------------------

namespace {

// The registry: each source file's kinds (shared.hpp), joined once. A function-local static:
// the registry may be read during other files' static initialization.
const std::vector<DatasetKind>& registry() {
  static const std::vector<DatasetKind> kinds = [] {
    std::vector<DatasetKind> all = synthetic_kinds();
    all.push_back(idx_kind());
    all.push_back(csv_kind());
    return all;
  }();
  return kinds;
}

const DatasetKind* find_kind(std::string_view name) {
  for (const DatasetKind& kind : registry()) {
    if (name == kind.name) return &kind;
  }
  return nullptr;
}

Index classes_of(const DatasetKind& kind, const DataSpec& spec) {
  return spec.classes > 0 ? spec.classes : kind.natural_classes;
}

}  // namespace

const std::vector<DatasetKind>& dataset_registry() { return registry(); }

const std::vector<std::string>& dataset_kinds() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const DatasetKind& kind : registry()) out.emplace_back(kind.name);
    return out;
  }();
  return names;
}

const DatasetKind& dataset_kind(std::string_view name) {
  if (const DatasetKind* kind = find_kind(name)) return *kind;
  throw std::invalid_argument(fmt::format("unknown dataset kind '{}' (expected one of: {}){}", name,
                                          join(dataset_kinds()),
                                          did_you_mean(name, dataset_kinds())));
}

bool DataSpec::seeded() const {
  const DatasetKind* entry = find_kind(kind);
  return !uses_numpy(generator) &&
         (entry == nullptr || entry->seeded == nullptr || entry->seeded(*this));
}

std::optional<DataShape> synthetic_shape(const DataSpec& spec) {
  const DatasetKind* kind = find_kind(spec.kind);
  if (kind == nullptr || kind->shape == nullptr) return std::nullopt;
  DataShape shape = kind->shape(spec, classes_of(*kind, spec));
  shape.train -= spec.validation;  // what is left to train on (check_data_spec: at least 1)
  return shape;
}

namespace {

RunCheckError too_many_held_out(Index count, Index m, std::string_view what,
                                std::vector<std::string> keys) {
  return RunCheckError(std::move(keys),
                       fmt::format("data.validation = {}: {} {} training sample{}; hold out "
                                   "fewer, 0 <= validation < {}, to leave some to train on",
                                   count, what, m, m == 1 ? "" : "s", m));
}

}  // namespace

void check_data_spec(const DataSpec& spec) {
  const DatasetKind& kind = dataset_kind(spec.kind);
  const Index k = spec.classes;
  if (kind.fixed_classes && k != 0 && k != kind.natural_classes) {
    throw RunCheckError({"data.classes"},
                        fmt::format("data.classes = {}: {} has {} classes; leave classes out or "
                                    "set {}",
                                    k, spec.kind, kind.natural_classes, kind.natural_classes));
  }
  if (kind.check != nullptr) kind.check(spec, classes_of(kind, spec));
  // Synthetic data: the training count is data.train, known here; file data are checked once
  // loaded (split_validation).
  if (kind.shape != nullptr && spec.validation >= spec.train) {
    throw too_many_held_out(spec.validation, spec.train, "data.train generates",
                            {"data.validation", "data.train"});
  }
}

void split_validation(Dataset& data, Index count) {
  if (count == 0) return;
  if (count < 0) {
    throw RunCheckError({"data.validation"},
                        fmt::format("data.validation = {}: must be >= 0 (0: no split)", count));
  }
  const Index m = data.X_train.cols();
  if (count >= m) {
    throw too_many_held_out(count, m, fmt::format("'{}' has", data.name),
                            {"data.validation", "data.limit_train"});
  }
  const Index kept = m - count;
  data.X_val = data.X_train.rightCols(count);
  data.Y_val = data.Y_train.rightCols(count);
  // conservativeResize keeps the leading columns (column-major storage): the first `kept`
  // samples, bit for bit.
  data.X_train.conservativeResize(Eigen::NoChange, kept);
  data.Y_train.conservativeResize(Eigen::NoChange, kept);
}

DataShape data_shape(const DataSpec& spec, const Dataset& data) {
  return {.inputs = data.num_features(),
          .outputs = data.num_targets(),
          .classes = data.num_classes,
          .train = data.X_train.cols(),
          .kind = spec.kind};
}

namespace {

Dataset generate(const DataSpec& spec, std::uint64_t seed) {
  const DatasetKind& kind = dataset_kind(spec.kind);
  if (uses_numpy(spec.generator) && !kind.numpy) {
    throw std::invalid_argument(fmt::format(
        "generator 'numpy' (scikit-learn's make_circles) exists for kind 'circles' only; got "
        "'{}'",
        spec.kind));
  }
  if (kind.fixed_classes && spec.classes != 0 && spec.classes != kind.natural_classes) {
    throw std::invalid_argument(fmt::format("{}: has {} classes; classes must be 0 or {}, got {}",
                                            spec.kind, kind.natural_classes, kind.natural_classes,
                                            spec.classes));
  }
  return kind.load(spec, classes_of(kind, spec), seed);
}

}  // namespace

Dataset load_dataset(const DataSpec& spec, std::uint64_t seed) {
  Dataset data = generate(spec, seed);
  split_validation(data, spec.validation);  // before standardize: its statistics are training's
  if (spec.standardize) standardize(data);
  if (spec.input_scale != 1.0) {
    data.X_train *= spec.input_scale;
    data.X_val *= spec.input_scale;
    data.X_test *= spec.input_scale;
  }
  return data;
}

}  // namespace initbench
