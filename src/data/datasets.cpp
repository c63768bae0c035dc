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
  for (Matrix<double>* X : {&data.X_train, &data.X_test}) {
    for (Index j = 0; j < X->cols(); ++j) {
      for (Index i = 0; i < n; ++i) (*X)(i, j) = ((*X)(i, j) - mean(i)) / scale(i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The single entry point
// ---------------------------------------------------------------------------------------------

namespace {

// 2 classes: one 0/1 target row; K > 2: K one-hot rows.
DataShape labels(const DataSpec& d, Index inputs, Index classes) {
  return DataShape{inputs, classes == 2 ? 1 : classes, classes, d.train, d.kind};
}

// data.train below `minimum`.
void need_train(const DataSpec& d, Index minimum, std::string_view why) {
  if (d.train < minimum) {
    throw RunCheckError({"data.train", "data.kind"},
                        fmt::format("data.train = {}: {} needs at least {} training samples{}",
                                    d.train, d.kind, minimum, why));
  }
}

void need_path(const DataSpec& d, std::string_view what) {
  if (d.path.empty()) {
    throw RunCheckError({"data.kind"},
                        fmt::format("data.kind = '{}' needs data.path ({})", d.kind, what));
  }
}

void one_per_class(const DataSpec& d, Index classes) {
  need_train(d, classes, fmt::format(" (one per class; it has {} classes)", classes));
}

bool always_seeded(const DataSpec&) { return true; }

// Each entry names only the fields it sets; the rest keep DatasetKind's defaults. GCC 12 warns
// about exactly that (-Wmissing-field-initializers), which is the point of designated
// initializers here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
// A function-local static: the registry may be read during other files' static initialization.
const std::vector<DatasetKind>& registry() {
  static const std::vector<DatasetKind> kinds = {
      {.name = "circles",
       .natural_classes = 2,
       .fixed_classes = true,
       .numpy = true,
       .shape = [](const DataSpec& d, Index k) { return labels(d, 2, k); },
       .check = [](const DataSpec& d, Index) { need_train(d, 2, " (one per class)"); },
       .load =
           [](const DataSpec& d, Index, std::uint64_t seed) {
             if (uses_numpy(d.generator)) {
               return make_circles_numpy(d.train, d.test, d.noise, d.factor,
                                         numpy_seed(d.numpy_seed, "numpy_seed"),
                                         numpy_seed(d.numpy_test_seed, "numpy_test_seed"));
             }
             return make_circles(d.train, d.test, d.noise, seed, d.factor);
           },
       .seeded = always_seeded},
      {.name = "moons",
       .natural_classes = 2,
       .fixed_classes = true,
       .shape = [](const DataSpec& d, Index k) { return labels(d, 2, k); },
       .check = [](const DataSpec& d, Index) { need_train(d, 2, " (one per class)"); },
       .load = [](const DataSpec& d, Index,
                  std::uint64_t seed) { return make_moons(d.train, d.test, d.noise, seed); },
       .seeded = always_seeded},
      {.name = "spirals",
       .natural_classes = 2,
       .shape = [](const DataSpec& d, Index k) { return labels(d, 2, k); },
       .check = one_per_class,
       .load = [](const DataSpec& d, Index k,
                  std::uint64_t seed) { return make_spirals(d.train, d.test, k, d.noise, seed); },
       .seeded = always_seeded},
      {.name = "xor",
       .natural_classes = 2,
       .fixed_classes = true,
       .shape = [](const DataSpec& d, Index k) { return labels(d, 2, k); },
       .load = [](const DataSpec& d, Index,
                  std::uint64_t seed) { return make_xor(d.train, d.test, d.noise, seed); },
       .seeded = always_seeded},
      {.name = "blobs",
       .natural_classes = 3,  // sklearn's default
       .shape = [](const DataSpec& d, Index k) { return labels(d, d.features, k); },
       .check = one_per_class,
       .load =
           [](const DataSpec& d, Index k, std::uint64_t seed) {
             return make_blobs(d.train, d.test, k, d.features, d.cluster_std, d.center_box, seed);
           },
       .seeded = always_seeded},
      {.name = "teacher",
       .natural_classes = 2,  // with classify; regression has none
       .shape =
           [](const DataSpec& d, Index k) {
             if (d.classify) return labels(d, d.features, k);
             return DataShape{d.features, d.outputs, 0, d.train, d.kind};
           },
       .check =
           [](const DataSpec& d, Index) {
             if (!d.classify && d.classes != 0) {
               throw RunCheckError(
                   {"data.classes"},
                   fmt::format("data.classes = {}: teacher regression has no classes; set "
                               "classify = true, or use data.outputs",
                               d.classes));
             }
           },
       .load =
           [](const DataSpec& d, Index k, std::uint64_t seed) {
             if (!d.classify && d.classes != 0) {
               throw std::invalid_argument(fmt::format(
                   "teacher: classes = {} needs classify = true (regression uses outputs)",
                   d.classes));
             }
             const Teacher teacher{d.features, d.hidden, d.classify ? k : d.outputs, d.classify};
             return make_teacher(d.train, d.test, teacher, d.noise, seed);
           },
       .seeded = always_seeded},
      {.name = "idx",
       .check = [](const DataSpec& d, Index) { need_path(d, "the folder of the IDX files"); },
       .load =
           [](const DataSpec& d, Index, std::uint64_t) {
             if (d.path.empty())
               throw std::invalid_argument("idx: path (the folder of IDX files) is empty");
             return load_idx(d.path, d.limit_train, d.limit_test, d.classes);
           },
       .seeded = [](const DataSpec&) { return false; }},
      {.name = "csv",
       .check =
           [](const DataSpec& d, Index) {
             need_path(d, "the training CSV file");
             if (d.label.empty() == d.targets.empty()) {
               throw RunCheckError({"data.kind"},
                                   "data.kind = 'csv' needs exactly one of data.label (a "
                                   "classification label column) and data.targets (regression "
                                   "target columns)");
             }
             if (!d.targets.empty() && d.classes != 0) {
               throw RunCheckError({"data.classes"},
                                   fmt::format("data.classes = {} applies to a label column, not "
                                               "to regression targets",
                                               d.classes));
             }
           },
       .load = [](const DataSpec& d, Index, std::uint64_t seed) { return load_csv(d, seed); },
       // a file split at random depends on the seed; files with their own test set do not
       .seeded = [](const DataSpec& d) { return d.test_path.empty(); }},
  };
  return kinds;
}
#pragma GCC diagnostic pop

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
  return !uses_numpy(generator) && (entry == nullptr || entry->seeded(*this));
}

std::optional<DataShape> synthetic_shape(const DataSpec& spec) {
  const DatasetKind* kind = find_kind(spec.kind);
  if (kind == nullptr || kind->shape == nullptr) return std::nullopt;
  return kind->shape(spec, classes_of(*kind, spec));
}

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
  if (spec.standardize) standardize(data);
  return data;
}

}  // namespace initbench
