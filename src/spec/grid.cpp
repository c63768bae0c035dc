// grid.cpp: the layers merged (file, [quick], --set), the grid of runs and the checks of each
// run as a whole, and the resolved spec as TOML.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>

#include "initbench/activation.hpp"
#include "initbench/data.hpp"
#include "initbench/init.hpp"
#include "initbench/loss.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "internal.hpp"

namespace initbench::spec_internal {

// ---------------------------------------------------------------------------------------------
// Layers: the file, then [quick], then each --set, each replacing whole values
// ---------------------------------------------------------------------------------------------

Entry* find_entry(std::vector<Entry>& entries, std::string_view dotted) {
  for (Entry& e : entries) {
    if (e.key->dotted() == dotted) return &e;
  }
  return nullptr;
}
const Entry* find_entry(const std::vector<Entry>& entries, std::string_view dotted) {
  for (const Entry& e : entries) {
    if (e.key->dotted() == dotted) return &e;
  }
  return nullptr;
}

// Keys of one layer that exclude each other.
void check_alternatives(const std::vector<Entry>& entries, std::string_view prefix) {
  for (const Alternative& pair : alternatives()) {
    const Entry* a = find_entry(entries, pair.a);
    const Entry* b = find_entry(entries, pair.b);
    if (a == nullptr || b == nullptr) continue;
    throw SpecError(fmt::format("{}: {}{} and {}{} exclude each other: {}",
                                (a->order > b->order ? a : b)->where, prefix, pair.a, prefix,
                                pair.b, pair.advice));
  }
}

// `layer` replaces whole values of `base`; keys new to base go after it, in the layer's order.
void merge(std::vector<Entry>& base, std::vector<Entry> layer) {
  for (const Entry& e : layer) {
    const std::string dotted = e.key->dotted();
    for (const Alternative& pair : alternatives()) {
      std::string_view other;
      if (pair.a == dotted) other = pair.b;
      if (pair.b == dotted) other = pair.a;
      if (other.empty() || find_entry(layer, other) != nullptr) continue;
      std::erase_if(base, [&](const Entry& b) { return b.key->dotted() == other; });
    }
  }
  long next = 0;
  for (const Entry& b : base) next = std::max(next, b.order);
  for (Entry& e : layer) {
    if (Entry* old = find_entry(base, e.key->dotted())) {
      e.order = old->order;
      *old = std::move(e);
    } else {
      e.order = ++next;
      base.push_back(std::move(e));
    }
  }
  std::stable_sort(base.begin(), base.end(),
                   [](const Entry& a, const Entry& b) { return a.order < b.order; });
}

// What the merged spec must have.
// `headers`: the places of the file's [section] headers, for keys that are missing from them.
void check_required(const std::vector<Entry>& entries, const std::string& source,
                    const std::map<std::string, std::string>& headers) {
  auto place = [&](const std::string& section) {
    auto it = headers.find(section);
    return it != headers.end() ? it->second : source;
  };
  if (find_entry(entries, "name") == nullptr) {
    throw SpecError(fmt::format(
        "{}: missing key 'name' (the experiment's folder name, e.g. name = \"course_init\")",
        source));
  }
  const Entry* layers = find_entry(entries, "model.layers");
  const Entry* depth = find_entry(entries, "model.depth");
  const Entry* width = find_entry(entries, "model.width");
  if (layers == nullptr && depth == nullptr && width == nullptr) {
    throw SpecError(fmt::format(
        "{}: [model] needs layers = [n_0, ..., n_L] or depth and width (hidden layers between "
        "the data's input and output sizes)",
        place("model")));
  }
  if ((depth == nullptr) != (width == nullptr)) {
    const Entry* given = depth != nullptr ? depth : width;
    throw SpecError(fmt::format("{}: model.{} needs model.{} too", given->where,
                                depth != nullptr ? "depth" : "width",
                                depth != nullptr ? "width" : "depth"));
  }
  if (find_entry(entries, "train.steps") == nullptr &&
      find_entry(entries, "train.epochs") == nullptr) {
    throw SpecError(
        fmt::format("{}: [train] needs steps (updates) or epochs (passes over the "
                    "training set)",
                    place("train")));
  }
}

// ---------------------------------------------------------------------------------------------
// The grid, and the checks of each run as a whole
// ---------------------------------------------------------------------------------------------

namespace {

// Checks each run as a whole: what no single value shows (sizes against the data and the
// schemes, a batch larger than the data, a target a linear output cannot reach).
class RunChecker {
 public:
  RunChecker(const std::vector<Entry>& entries, const std::string& source)
      : entries_(entries), source_(source) {}

  // `choice[i]`: the index of the run's value in entries[i].values.
  void check(const RunConfig& run, const std::vector<std::size_t>& choice) {
    run_ = &run;
    choice_ = &choice;
    check_data();
    check_model();
    check_train();
  }

 private:
  // Where the run's value of the first of `keys` that the spec sets was written; the spec itself
  // if it sets none of them (every value is a default).
  std::string where(const std::vector<std::string_view>& keys) const {
    for (const std::string_view dotted : keys) {
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].key->dotted() == dotted) return entries_[i].values[(*choice_)[i]].where;
      }
    }
    return source_;
  }

  [[noreturn]] void fail_at(const std::vector<std::string>& keys, const std::string& what) const {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    fail_at_any(views, what);
  }
  [[noreturn]] void fail_at(std::initializer_list<std::string_view> keys,
                            const std::string& what) const {
    fail_at_any(std::vector<std::string_view>(keys), what);
  }
  [[noreturn]] void fail_at_any(const std::vector<std::string_view>& keys,
                                const std::string& what) const {
    std::vector<std::string> axes;
    for (const auto& [key, value] : run_->axes) axes.push_back(fmt::format("{}={}", key, value));
    const std::string run =
        axes.empty() ? "" : fmt::format(" (run {}: {})", run_->run_index, join(axes));
    throw SpecError(fmt::format("{}: {}{}", where(keys), what, run));
  }

  void check_generators() const {
    const DataSpec& d = run_->data;
    if (d.generator == "numpy") {
      if (!dataset_kind(d.kind).numpy) {
        fail_at({"data.generator", "data.kind"},
                fmt::format("data.generator = 'numpy' (scikit-learn's make_circles after "
                            "np.random.seed) exists for kind 'circles' only; got '{}'",
                            d.kind));
      }
      if (d.numpy_seed < 0 || d.numpy_test_seed < 0) {
        fail_at({"data.generator"},
                "data.generator = 'numpy' needs data.numpy_seed and data.numpy_test_seed (the "
                "np.random.seed values before the training and the test set)");
      }
    } else if (d.numpy_seed >= 0 || d.numpy_test_seed >= 0) {
      fail_at({"data.numpy_seed", "data.numpy_test_seed"},
              "data.numpy_seed and data.numpy_test_seed apply to data.generator = \"numpy\" "
              "only; set it, or remove them");
    }
    const InitConfig& init = run_->init;
    if (init.generator == "numpy" && init.numpy_seed < 0) {
      fail_at({"init.generator"},
              "init.generator = 'numpy' needs init.numpy_seed (the np.random.seed value before "
              "the first layer is drawn)");
    }
    if (init.generator != "numpy" && init.numpy_seed >= 0) {
      fail_at({"init.numpy_seed"},
              "init.numpy_seed applies to init.generator = \"numpy\" only; set it, or remove "
              "it");
    }
  }

  void check_data() const {
    check_generators();
    try {
      check_data_spec(run_->data);
    } catch (const RunCheckError& e) {
      fail_at(e.keys, e.what());
    }
  }

  void check_model() {
    const ModelConfig& m = run_->model;
    if (const std::optional<DataShape> shape = synthetic_shape(run_->data)) {
      try {
        check_run(*run_, *shape);
      } catch (const RunCheckError& e) {
        fail_at(e.keys, e.what());
      }
      return;
    }
    // File data: the shape is known once the files are read (run_experiment checks the run
    // then); here only what the spec alone determines.
    MlpConfig net;
    if (!m.layers.empty()) {
      net.sizes = m.layers;
    } else {
      // depth x width between sizes known only from the files: the hidden layers alone (a
      // residual net: depth blocks of block_depth square layers).
      const double square_layers = m.residual ? static_cast<double>(m.depth * m.block_depth)
                                              : static_cast<double>(m.depth - 1);
      const auto hidden =
          square_layers * static_cast<double>(m.width) * static_cast<double>(m.width + 1);
      if (hidden > static_cast<double>(kMaxParameters)) {
        fail_at({"model.width"},
                fmt::format("the hidden layers alone have {:.3g} parameters: absurd; the limit "
                            "is {}",
                            hidden, kMaxParameters));
      }
      return;
    }
    // InitConfig::check walks every layer; many runs share the same network and schemes.
    auto signature = std::make_tuple(run_->scheme, run_->init.bias_text, net.sizes);
    if (!checked_.insert(signature).second) return;
    try {
      check_network(*run_, net, "model.layers");
    } catch (const RunCheckError& e) {
      fail_at(e.keys, e.what());
    }
  }

  void check_train() const {
    const TrainConfig& t = run_->train;
    if (!std::isnan(t.target_accuracy) && run_->model.output == Output::kLinear) {
      fail_at({"train.target_accuracy"},
              "train.target_accuracy: a linear output makes no class predictions; use "
              "target_loss");
    }
    if (t.stop_at_target && std::isnan(t.target_accuracy) && std::isnan(t.target_loss)) {
      fail_at({"train.stop_at_target"},
              "train.stop_at_target = true needs train.target_loss or train.target_accuracy");
    }
    if (t.stop_on_stall && t.stall_window <= 0) {
      fail_at({"train.stop_on_stall"}, "train.stop_on_stall = true needs train.stall_window > 0");
    }
    try {
      t.optimizer.validate();
    } catch (const std::invalid_argument& e) {
      fail_at({"train.optimizer"}, e.what());
    }
  }

  const std::vector<Entry>& entries_;
  const std::string& source_;
  const RunConfig* run_ = nullptr;
  const std::vector<std::size_t>* choice_ = nullptr;
  // (scheme, bias, sizes) already checked with InitConfig::check
  std::set<std::tuple<std::string, std::string, std::vector<Index>>> checked_;
};

}  // namespace

// Every zipped key is given as a list, and the keys of a group have as many values each. A
// length that differs is named at the key's place, with its group's first key's place.
void check_zips(const std::vector<Entry>& entries, const std::vector<Zip>& zips) {
  for (const Zip& zip : zips) {
    const Entry* first = nullptr;
    for (const std::string& dotted : zip.keys) {
      const Entry* e = find_entry(entries, dotted);
      if (e == nullptr) {
        throw SpecError(
            fmt::format("{}: zip: {} is not set; a zipped key must be given as a list "
                        "(zipped with {})",
                        zip.where, dotted, join(zip.keys)));
      }
      if (!e->axis) {
        throw SpecError(fmt::format("{}: {} = {}: zipped with {} ({}), so it must be a list",
                                    e->where, dotted, shown(e->values.front()), join(zip.keys),
                                    zip.where));
      }
      if (first == nullptr) {
        first = e;
      } else if (e->values.size() != first->values.size()) {
        const auto count = [](const Entry& x) {
          return fmt::format("{} value{}", x.values.size(), x.values.size() == 1 ? "" : "s");
        };
        throw SpecError(fmt::format(
            "{}: {} has {}, but it is zipped with {}, which has {} ({}); zipped keys need the "
            "same number of values",
            e->where, dotted, count(*e), first->key->dotted(), count(*first), first->where));
      }
    }
  }
}

namespace {

// One dimension of the grid: an axis, or a zip group at the place of its first key; the entries
// that move along it, and its length.
struct Dimension {
  std::vector<std::size_t> members;
  std::size_t size = 0;
  std::string name;
};

std::vector<Dimension> dimensions(const std::vector<Entry>& entries, const std::vector<Zip>& zips) {
  std::vector<Dimension> out;
  std::vector<bool> placed(entries.size(), false);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].axis || placed[i]) continue;
    Dimension d{{i}, entries[i].values.size(), entries[i].key->dotted()};
    for (const Zip& zip : zips) {
      if (std::find(zip.keys.begin(), zip.keys.end(), d.name) == zip.keys.end()) continue;
      d.members.clear();
      for (std::size_t j = i; j < entries.size(); ++j) {
        if (std::find(zip.keys.begin(), zip.keys.end(), entries[j].key->dotted()) == zip.keys.end())
          continue;
        d.members.push_back(j);
        placed[j] = true;
      }
      d.name = fmt::format("({})", join(zip.keys));
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

std::vector<RunConfig> expand(const std::vector<Entry>& entries, const std::vector<Zip>& zips,
                              const std::string& source) {
  check_zips(entries, zips);
  const std::vector<Dimension> dims = dimensions(entries, zips);
  std::size_t count = 1;
  std::vector<std::string> sizes;
  for (const Dimension& d : dims) {
    sizes.push_back(fmt::format("{} {}", d.name, d.size));
    count *= d.size;
    if (count > kMaxRuns) {
      throw SpecError(fmt::format("{}: the grid has more than {} runs (axes: {}): absurd", source,
                                  kMaxRuns, join(sizes, " x ")));
    }
  }
  RunChecker checker(entries, source);
  std::vector<RunConfig> runs;
  runs.reserve(count);
  std::vector<std::size_t> choice(entries.size(), 0);
  for (std::size_t r = 0; r < count; ++r) {
    // Mixed radix, the first dimension slowest; a zip group's keys move together.
    std::size_t rest = r;
    for (std::size_t k = dims.size(); k-- > 0;) {
      for (const std::size_t i : dims[k].members) choice[i] = rest % dims[k].size;
      rest /= dims[k].size;
    }
    RunConfig run;
    run.run_index = static_cast<long>(r);
    run.init.weights = Scheme::parse(run.scheme);  // RunConfig's default scheme, unless set
    // npy(path): a relative path is relative to the spec file, wherever initbench runs
    run.init.base_dir = std::filesystem::path(source).parent_path().string();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Value& value = entries[i].values[choice[i]];
      entries[i].key->apply(run, value);
      if (entries[i].axis) run.axes.emplace_back(entries[i].key->dotted(), axis_text(value));
      run.written[entries[i].key->dotted()] = axis_text(value);
    }
    checker.check(run, choice);
    runs.push_back(std::move(run));
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// The resolved spec as TOML
// ---------------------------------------------------------------------------------------------

namespace {

std::string entry_text(const Entry& e) {
  if (!e.axis) return toml_text(e.values.front());
  std::vector<std::string> items;
  for (const Value& v : e.values) items.push_back(toml_text(v));
  return fmt::format("[{}]", join(items));
}

std::vector<std::string> axis_keys(const std::vector<const Entry*>& entries) {
  std::vector<std::string> out;
  for (const Entry* e : entries) {
    if (e->axis) out.push_back(e->key->dotted());
  }
  return out;
}

}  // namespace

// Top-level keys, then one [section] per table, keys in their order within each table. The
// tables come in order of appearance or, if that would reorder the axes, the tables holding axes
// first, in the order of their first axis. TOML puts every top-level key before the first table,
// so when neither keeps the axes in order (init.scheme written as a dotted key before seed, or
// axes of two tables interleaved), every key is written dotted at the top level, in order.
std::string resolved_text(const std::vector<Entry>& entries, const std::vector<Zip>& zips) {
  // zip, a top-level key, goes after the other top-level keys
  std::string zip_line;
  if (!zips.empty()) {
    std::vector<std::string> groups;
    for (const Zip& zip : zips) groups.push_back(toml_text(Value{zip.keys, ""}));
    zip_line = fmt::format("zip = [{}]\n", join(groups));
  }
  std::vector<const Entry*> in_order;
  in_order.reserve(entries.size());
  for (const Entry& e : entries) in_order.push_back(&e);
  for (const bool axes_first : {false, true}) {
    std::vector<std::string_view> sections{""};
    for (const bool axes_pass : {true, false}) {
      for (const Entry& e : entries) {
        if ((axes_pass && !(axes_first && e.axis)) ||
            std::find(sections.begin(), sections.end(), e.key->section) != sections.end()) {
          continue;
        }
        sections.push_back(e.key->section);
      }
    }
    std::vector<const Entry*> grouped;
    for (const std::string_view section : sections) {
      for (const Entry& e : entries) {
        if (e.key->section == section) grouped.push_back(&e);
      }
    }
    if (axis_keys(grouped) != axis_keys(in_order)) continue;
    std::string out;
    std::string_view current;
    for (const Entry* e : grouped) {
      if (e->key->section != current) {
        if (current.empty()) out += std::exchange(zip_line, "");
        current = e->key->section;
        out += fmt::format("\n[{}]\n", current);
      }
      out += fmt::format("{} = {}\n", e->key->name, entry_text(*e));
    }
    return out + zip_line;
  }
  std::string out;
  for (const Entry* e : in_order) out += fmt::format("{} = {}\n", e->key->dotted(), entry_text(*e));
  return out + zip_line;
}

}  // namespace initbench::spec_internal
