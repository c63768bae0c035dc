#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "initbench/spec.hpp"

using namespace initbench;

namespace {

// A small valid spec built from sections; a test replaces the body of the sections it is about.
// "top" holds the top-level keys.
std::string spec(const std::map<std::string, std::string>& bodies = {}) {
  const std::vector<std::pair<std::string, std::string>> defaults{
      {"top", "name = \"t\""},         {"data", "kind = \"circles\"\ntrain = 20\ntest = 10"},
      {"model", "layers = [2, 4, 1]"}, {"init", "scheme = \"he_normal\""},
      {"train", "steps = 10"},         {"probes", ""},
  };
  std::string text;
  for (const auto& [section, body] : defaults) {
    if (section != "top") text += "\n[" + section + "]\n";
    auto it = bodies.find(section);
    text += (it != bodies.end() ? it->second : body) + "\n";
  }
  return text;
}

Experiment parse(const std::string& text, const SpecOptions& options = {}) {
  return parse_experiment(text, "spec.toml", options);
}

// The message parse() throws for `text`, or "" if it does not throw.
std::string error_of(const std::string& text, const SpecOptions& options = {}) {
  try {
    parse(text, options);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

// "spec.toml:N: " for the first line of `text` that contains `needle`.
std::string place_of(const std::string& text, std::string_view needle) {
  const auto at = text.find(needle);
  REQUIRE(at != std::string::npos);
  long line = 1;
  for (std::size_t i = 0; i < at; ++i) line += text[i] == '\n' ? 1 : 0;
  return "spec.toml:" + std::to_string(line) + ": ";
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// parse(text) must fail with a message that starts with the place of the line holding `needle`
// and contains every fragment.
void expect_error(const std::string& text, std::string_view needle,
                  std::initializer_list<std::string_view> fragments,
                  const SpecOptions& options = {}) {
  const std::string message = error_of(text, options);
  INFO("spec:\n" << text);
  INFO("message: " << message);
  REQUIRE_FALSE(message.empty());
  CHECK(message.starts_with(place_of(text, needle)));
  for (const auto fragment : fragments) CHECK(contains(message, fragment));
  CHECK(message.find('\n') == std::string::npos);  // one line
}

// A --set must fail with a message that starts with "--set <text>: " and contains every fragment.
void expect_set_error(const std::string& override_text,
                      std::initializer_list<std::string_view> fragments) {
  const std::string message = error_of(spec(), SpecOptions{{override_text}, false});
  INFO("message: " << message);
  REQUIRE_FALSE(message.empty());
  CHECK(message.starts_with("--set " + override_text + ": "));
  for (const auto fragment : fragments) CHECK(contains(message, fragment));
}

using Axes = std::vector<std::pair<std::string, std::string>>;

// Two grids are the same when every run has the same axes and the same resolved settings.
void check_same_grid(const Experiment& a, const Experiment& b) {
  CHECK(a.name == b.name);
  CHECK(a.description == b.description);
  CHECK(a.axes == b.axes);
  REQUIRE(a.runs.size() == b.runs.size());
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    const RunConfig& x = a.runs[i];
    const RunConfig& y = b.runs[i];
    CAPTURE(i);
    CHECK(x.run_index == y.run_index);
    CHECK(x.axes == y.axes);
    CHECK(x.seed == y.seed);
    CHECK(x.experiment == y.experiment);
    CHECK(x.data.kind == y.data.kind);
    CHECK(x.data.train == y.data.train);
    CHECK(x.data.noise == y.data.noise);
    CHECK(x.model.layers == y.model.layers);
    CHECK(x.model.depth == y.model.depth);
    CHECK(x.model.width == y.model.width);
    CHECK(x.model.activation == y.model.activation);
    CHECK(x.model.output == y.model.output);
    CHECK(x.model.precision == y.model.precision);
    CHECK(x.scheme == y.scheme);
    CHECK(x.init.weights.text() == y.init.weights.text());
    CHECK(x.init.bias_text == y.init.bias_text);
    CHECK(x.init.scale == y.init.scale);
    CHECK(x.train.optimizer.kind == y.train.optimizer.kind);
    CHECK(x.train.optimizer.lr == y.train.optimizer.lr);
    CHECK(x.train.steps == y.train.steps);
    CHECK(x.train.epochs == y.train.epochs);
    CHECK(x.train.batch == y.train.batch);
    CHECK(x.probes.every == y.probes.every);
    CHECK(x.probes.dump_weights == y.probes.dump_weights);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Good specs
// ---------------------------------------------------------------------------------------------

TEST_CASE("spec: a full spec maps every key onto RunConfig") {
  const std::string text = R"toml(name = "full_1.0-x"
description = "every key"
seed = 7

[data]
kind = "blobs"
train = 40
test = 12
noise = 0.1
classes = 4
factor = 0.5
features = 3
cluster_std = 0.7
center_box = 5.0
hidden = 6
outputs = 2
classify = true
path = "a.csv"
test_path = "b.csv"
test_fraction = 0.25
label = "y"
targets = ["t1", "t2"]
limit_train = 30
limit_test = 10
standardize = true

[model]
layers = [3, 8, 4]
activation = "leaky_relu(slope=0.2)"
output = "softmax"
precision = "double"

[init]
scheme = "he_normal(mode=fan_out)"
bias = "normal(stddev=0.1)"
scale = 0.5

[train]
optimizer = "adam"
lr = 0.001
momentum = 0.8
beta1 = 0.85
beta2 = 0.99
eps = 1e-7
weight_decay = 1e-4
batch = 16
steps = 100
eval_every = 10
target_loss = 0.1
target_accuracy = 0.9
stop_at_target = true
stall_window = 50
stall_tolerance = 1e-3
stop_on_stall = true

[probes]
every = 10
schedule = "log"
batch = 0
histograms = true
histogram_bins = 20
histogram_every = 50
symmetry = true
symmetry_every = 20
symmetry_tolerance = 1e-5
jacobian = true
jacobian_every = 30
jacobian_samples = 2
dump_weights = [0, 100]
)toml";
  const Experiment e = parse(text);
  CHECK(e.name == "full_1.0-x");
  CHECK(e.description == "every key");
  CHECK(e.path == "spec.toml");
  CHECK(e.axes.empty());
  REQUIRE(e.runs.size() == 1);
  const RunConfig& r = e.runs[0];
  CHECK(r.experiment == "full_1.0-x");
  CHECK(r.run_index == 0);
  CHECK(r.axes.empty());
  CHECK(r.seed == 7);
  CHECK(r.weights_dir.empty());

  CHECK(r.data.kind == "blobs");
  CHECK(r.data.train == 40);
  CHECK(r.data.test == 12);
  CHECK(r.data.noise == 0.1);
  CHECK(r.data.classes == 4);
  CHECK(r.data.factor == 0.5);
  CHECK(r.data.features == 3);
  CHECK(r.data.cluster_std == 0.7);
  CHECK(r.data.center_box == 5.0);
  CHECK(r.data.hidden == 6);
  CHECK(r.data.outputs == 2);
  CHECK(r.data.classify);
  CHECK(r.data.path == "a.csv");
  CHECK(r.data.test_path == "b.csv");
  CHECK(r.data.test_fraction == 0.25);
  CHECK(r.data.label == "y");
  CHECK(r.data.targets == std::vector<std::string>{"t1", "t2"});
  CHECK(r.data.limit_train == 30);
  CHECK(r.data.limit_test == 10);
  CHECK(r.data.standardize);

  CHECK(r.model.layers == std::vector<Index>{3, 8, 4});
  CHECK(r.model.depth == 0);
  CHECK(r.model.width == 0);
  CHECK(r.model.activation == Activation{ActivationKind::kLeakyRelu, 0.2});
  CHECK(r.model.output == Output::kSoftmax);
  CHECK(r.model.precision == Precision::kDouble);

  CHECK(r.scheme == "he_normal(mode=fan_out)");
  CHECK(r.init.weights.name() == "he_normal");
  CHECK(r.init.weights.choice("mode") == "fan_out");
  CHECK(r.init.bias_text == "normal(stddev=0.1)");
  CHECK(r.init.bias().name() == "normal");
  CHECK(r.init.scale == 0.5);

  CHECK(r.train.optimizer.kind == OptimizerKind::kAdam);
  CHECK(r.train.optimizer.lr == 0.001);
  CHECK(r.train.optimizer.momentum == 0.8);
  CHECK(r.train.optimizer.beta1 == 0.85);
  CHECK(r.train.optimizer.beta2 == 0.99);
  CHECK(r.train.optimizer.eps == 1e-7);
  CHECK(r.train.optimizer.weight_decay == 1e-4);
  CHECK(r.train.batch == 16);
  CHECK(r.train.steps == 100);
  CHECK(r.train.epochs == 0);
  CHECK(r.train.eval_every == 10);
  CHECK(r.train.target_loss == 0.1);
  CHECK(r.train.target_accuracy == 0.9);
  CHECK(r.train.stop_at_target);
  CHECK(r.train.stall_window == 50);
  CHECK(r.train.stall_tolerance == 1e-3);
  CHECK(r.train.stop_on_stall);

  CHECK(r.probes.every == 10);
  CHECK(r.probes.log_schedule);
  CHECK(r.probes.batch == 0);
  CHECK(r.probes.on("histograms"));
  CHECK(r.probes.integer("histogram_bins") == 20);
  CHECK(r.probes.integer("histogram_every") == 50);
  CHECK(r.probes.on("symmetry"));
  CHECK(r.probes.integer("symmetry_every") == 20);
  CHECK(r.probes.number("symmetry_tolerance") == 1e-5);
  CHECK(r.probes.on("jacobian"));
  CHECK(r.probes.integer("jacobian_every") == 30);
  CHECK(r.probes.integer("jacobian_samples") == 2);
  CHECK(r.probes.dump_weights == std::vector<long>{0, 100});
}

TEST_CASE("spec: keys left out keep RunConfig's defaults, depth, width and epochs map") {
  const Experiment e =
      parse(spec({{"model", "depth = 3\nwidth = 16"}, {"init", ""}, {"train", "epochs = 4"}}));
  REQUIRE(e.runs.size() == 1);
  const RunConfig& r = e.runs[0];
  const RunConfig defaults;
  CHECK(r.seed == defaults.seed);
  CHECK(r.model.layers.empty());
  CHECK(r.model.depth == 3);
  CHECK(r.model.width == 16);
  CHECK(r.model.activation == defaults.model.activation);
  CHECK(r.model.output == defaults.model.output);
  CHECK(r.scheme == "he_normal");
  CHECK(r.init.weights.name() == "he_normal");
  CHECK(r.init.bias_text.empty());
  CHECK(r.train.epochs == 4);
  CHECK(r.train.steps == 0);
  CHECK(r.train.optimizer.kind == OptimizerKind::kSgd);
  CHECK(r.train.optimizer.lr == defaults.train.optimizer.lr);
  CHECK(std::isnan(r.train.target_accuracy));
  CHECK(r.probes.every == defaults.probes.every);
  CHECK(r.probes.batch == defaults.probes.batch);
  CHECK_FALSE(r.probes.log_schedule);
}

TEST_CASE("spec: the grid is the product of the lists, the first list in the file slowest") {
  // toml++ sorts keys by name (init < model < seed); the grid follows the file instead.
  const std::string text = R"toml(name = "grid"
seed = [1, 2]

[model]
depth = [2, 3]
width = 8

[data]
kind = "circles"
train = 20
test = 10

[init]
scheme = ["zeros", "normal(stddev=10)", "he_normal"]

[train]
steps = 5
lr = 0.5
)toml";
  const Experiment e = parse(text);
  CHECK(e.axes == std::vector<std::string>{"seed", "model.depth", "init.scheme"});
  REQUIRE(e.runs.size() == 12);
  const std::vector<std::string> schemes{"zeros", "normal(stddev=10)", "he_normal"};
  for (std::size_t i = 0; i < 12; ++i) {
    const RunConfig& r = e.runs[i];
    CAPTURE(i);
    CHECK(r.run_index == static_cast<long>(i));
    CHECK(r.seed == 1 + i / 6);
    CHECK(r.model.depth == static_cast<Index>(2 + i / 3 % 2));
    CHECK(r.model.width == 8);
    CHECK(r.scheme == schemes[i % 3]);
    CHECK(r.train.optimizer.lr == 0.5);
    CHECK(r.axes == Axes{{"seed", std::to_string(1 + i / 6)},
                         {"model.depth", std::to_string(2 + i / 3 % 2)},
                         {"init.scheme", schemes[i % 3]}});
  }
}

TEST_CASE("spec: range, linspace, logspace and template tables generate the same grid as lists") {
  const std::string tail = R"toml(data.kind = "circles"
data.train = 20
data.test = 10
model.layers = [2, 4, 1]
train.steps = 3
)toml";
  const Experiment generated = parse(R"toml(name = "g"
seed = {range = [1, 8, 3]}
train.eval_every = {range = [5, 2, -1]}
init.scheme = {template = "variance_scaling(scale={}, mode=fan_in)", values = [1.0, 1.25, 3, 0.5]}
train.lr = {logspace = [-3, -1, 3]}
train.momentum = {linspace = [0, 0.5, 3]}
)toml" + tail);
  const Experiment listed = parse(R"toml(name = "g"
seed = [1, 4, 7]
train.eval_every = [5, 4, 3]
init.scheme = ["variance_scaling(scale=1.0, mode=fan_in)", "variance_scaling(scale=1.25, mode=fan_in)", "variance_scaling(scale=3, mode=fan_in)", "variance_scaling(scale=0.5, mode=fan_in)"]
train.lr = [0.001, 0.01, 0.1]
train.momentum = [0.0, 0.25, 0.5]
)toml" + tail);
  check_same_grid(generated, listed);
  CHECK(generated.resolved == listed.resolved);  // the resolved spec lists the values
  // a template over a generated axis
  const Experiment nested = parse(R"toml(name = "n"
init.scheme = {template = "normal(stddev={})", values = {logspace = [-2, 0, 3]}}
)toml" + tail);
  REQUIRE(nested.runs.size() == 3);
  CHECK(nested.runs[0].scheme == "normal(stddev=0.01)");
  CHECK(nested.runs[2].scheme == "normal(stddev=1.0)");
  // --set takes them too
  const Experiment set =
      parse("name = \"s\"\n" + tail, SpecOptions{{"seed={range=[3, 5]}"}, false});
  REQUIRE(set.runs.size() == 2);
  CHECK(set.runs[1].seed == 4);
}

TEST_CASE("spec: data.input_scale is a finite number above 0") {
  const std::string head =
      "name = \"t\"\n[model]\nlayers = [2, 3, 1]\n[train]\nsteps = 1\n[data]\nkind = \"circles\"\n";
  CHECK(parse(head + "input_scale = 0.25\n").runs.at(0).data.input_scale == 0.25);
  for (const std::string value : {"0", "-1", "inf", "nan"}) {
    const std::string line = "input_scale = " + value;
    expect_error(head + line + "\n", line, {"data.input_scale", "must be a finite number > 0"});
  }
}

TEST_CASE("spec: a bad axis table is one line naming the place, the key and the forms allowed") {
  const std::string head =
      "name = \"t\"\n[data]\nkind = \"circles\"\n[model]\nlayers = [2, 3, 1]\n";
  const auto bad = [&](const std::string& line, std::initializer_list<std::string_view> fragments) {
    expect_error(head + "[train]\n" + line + "\n", line, fragments);
  };
  bad("steps = {range = [5, 5]}", {"train.steps", "is empty", "{range = [start, stop, step]}"});
  bad("steps = {range = [1, 9, 0]}", {"step must not be 0"});
  bad("steps = {range = [1.5, 3]}", {"range takes integers"});
  bad("steps = {range = [1]}", {"range takes a list of 2 or 3 numbers"});
  bad("steps = {linspace = [1, 3, 3]}", {"linspace gives numbers; use range"});
  bad("lr = {logspace = [-3, -1]}", {"logspace takes a list of 3 numbers"});
  bad("lr = {linspace = [0, 1, 0]}", {"the count must be an integer from 1 to 100000"});
  bad("lr = {logspace = [-3, 400, 3]}", {"logspace gives inf"});
  bad("lr = {linspace = [-1, 1, 3]}", {"train.lr = -1", "must be"});  // each value still checked
  bad("lr = {rnage = [1, 2]}", {"unknown form with key(s) rnage"});
  bad("optimizer = {template = \"sgd\", values = [1]}", {"template must be a string with {}"});
  bad("lr = {template = \"{}\", values = [1]}", {"template gives strings"});
  bad("stop_at_target = {range = [0, 2]}", {"range gives integers"});
}

TEST_CASE("spec: axis values of every kind are shown as text") {
  const Experiment e = parse(spec({{"train", "steps = 5\nlr = [0.1, 1e-3, 1]"},
                                   {"data",
                                    "kind = \"circles\"\ntrain = 20\nstandardize = "
                                    "[true, false]"},
                                   {"model", "layers = [2, 4, 1]\nprecision = [\"float\"]"}}));
  CHECK(e.axes == std::vector<std::string>{"data.standardize", "model.precision", "train.lr"});
  REQUIRE(e.runs.size() == 6);
  CHECK(e.runs[0].axes ==
        Axes{{"data.standardize", "true"}, {"model.precision", "float"}, {"train.lr", "0.1"}});
  CHECK(e.runs[1].axes[2].second == "0.001");
  CHECK(e.runs[2].axes[2].second == "1");
  CHECK(e.runs[2].train.optimizer.lr == 1.0);
  CHECK(e.runs[5].axes[0].second == "false");
  CHECK_FALSE(e.runs[5].data.standardize);
}

TEST_CASE("spec: lists by nature are axes only as lists of lists") {
  SUBCASE("layers") {
    const Experiment single = parse(spec({{"model", "layers = [2, 10, 5, 1]"}}));
    CHECK(single.axes.empty());
    REQUIRE(single.runs.size() == 1);
    CHECK(single.runs[0].model.layers == std::vector<Index>{2, 10, 5, 1});

    const Experiment grid = parse(spec({{"model", "layers = [[2, 10, 5, 1], [2, 3, 1]]"}}));
    CHECK(grid.axes == std::vector<std::string>{"model.layers"});
    REQUIRE(grid.runs.size() == 2);
    CHECK(grid.runs[0].model.layers == std::vector<Index>{2, 10, 5, 1});
    CHECK(grid.runs[0].axes == Axes{{"model.layers", "2-10-5-1"}});
    CHECK(grid.runs[1].model.layers == std::vector<Index>{2, 3, 1});
    CHECK(grid.runs[1].axes == Axes{{"model.layers", "2-3-1"}});
  }
  SUBCASE("dump_weights") {
    CHECK(parse(spec({{"probes", "dump_weights = [0, 5]"}})).axes.empty());
    CHECK(parse(spec({{"probes", "dump_weights = []"}})).runs[0].probes.dump_weights.empty());
    const Experiment grid = parse(spec({{"probes", "dump_weights = [[0], [0, 5], []]"}}));
    REQUIRE(grid.runs.size() == 3);
    CHECK(grid.runs[1].probes.dump_weights == std::vector<long>{0, 5});
    CHECK(grid.runs[1].axes == Axes{{"probes.dump_weights", "0-5"}});
    CHECK(grid.runs[2].axes == Axes{{"probes.dump_weights", "none"}});
  }
  SUBCASE("targets") {
    const std::string data =
        "kind = \"csv\"\npath = \"d.csv\"\ntargets = [[\"a\"], [\"a\", \"b\"]]";
    const Experiment grid = parse(spec({{"data", data}, {"model", "depth = 1\nwidth = 4"}}));
    REQUIRE(grid.runs.size() == 2);
    CHECK(grid.runs[1].data.targets == std::vector<std::string>{"a", "b"});
    CHECK(grid.runs[1].axes == Axes{{"data.targets", "a+b"}});
  }
}

TEST_CASE("spec: [quick] overrides apply only with SpecOptions::quick") {
  const std::string text = R"toml(name = "q"
seed = [1, 2, 3]

[data]
kind = "circles"
train = 300

[model]
layers = [2, 4, 1]
depth = 0

[init]
scheme = ["zeros", "he_normal"]

[train]
steps = 1000

[quick]
seed = [1]

[quick.train]
steps = 20

[quick.data]
train = 50
)toml";
  // depth = 0 above is an error of the file itself: it must be reported, quick or not.
  expect_error(text, "depth = 0", {"model.depth = 0", "must be >= 1"});

  std::string good = text;
  good.replace(good.find("depth = 0\n"), 10, "");
  const Experiment full = parse(good);
  CHECK(full.runs.size() == 6);
  CHECK(full.runs[0].train.steps == 1000);
  CHECK(full.runs[0].data.train == 300);
  CHECK_FALSE(contains(full.resolved, "quick"));

  const Experiment quick = parse(good, SpecOptions{{}, true});
  CHECK(quick.axes == std::vector<std::string>{"seed", "init.scheme"});  // same axes, same order
  REQUIRE(quick.runs.size() == 2);
  CHECK(quick.runs[0].seed == 1);
  CHECK(quick.runs[1].scheme == "he_normal");
  CHECK(quick.runs[0].train.steps == 20);
  CHECK(quick.runs[0].data.train == 50);
  CHECK(quick.runs[0].axes == Axes{{"seed", "1"}, {"init.scheme", "zeros"}});
  CHECK_FALSE(contains(quick.resolved, "quick"));

  SUBCASE("[quick] is checked even without --quick") {
    std::string bad = good + "stpes = 3\n";  // lands in [quick.data]
    expect_error(bad, "stpes", {"quick.data.stpes"});
    bad = good;
    bad.replace(bad.find("steps = 20"), 10, "steps = -2");
    expect_error(bad, "steps = -2", {"quick.train.steps = -2", "must be >= 0"});
  }
  SUBCASE("a [quick] key replaces its alternative") {
    std::string epochs = good;
    epochs.replace(epochs.find("steps = 20"), 10, "epochs = 2");
    const Experiment q = parse(epochs, SpecOptions{{}, true});
    CHECK(q.runs[0].train.epochs == 2);
    CHECK(q.runs[0].train.steps == 0);
  }
}

TEST_CASE("spec: --set overrides replace whole values, TOML or bare words") {
  const std::string text = spec({{"top", "name = \"t\"\nseed = [1, 2]"},
                                 {"model", "depth = 2\nwidth = 4"},
                                 {"init", "scheme = \"he_normal\""}});
  SUBCASE("TOML values") {
    const Experiment e =
        parse(text, SpecOptions{{"model.depth=30", "train.lr=0.1", "init.scheme=\"lecun_normal\"",
                                 "seed=[5, 6, 7]", "model.activation = \"tanh\""},
                                false});
    REQUIRE(e.runs.size() == 3);
    CHECK(e.runs[0].model.depth == 30);
    CHECK(e.runs[0].train.optimizer.lr == 0.1);
    CHECK(e.runs[0].scheme == "lecun_normal");
    CHECK(e.runs[2].seed == 7);
    CHECK(e.runs[0].model.activation.kind == ActivationKind::kTanh);
  }
  SUBCASE("bare words, and a bare list, which becomes an axis") {
    const Experiment e = parse(
        text, SpecOptions{{"model.depth=30", "init.scheme=[glorot_normal,he_normal]"}, false});
    CHECK(e.axes == std::vector<std::string>{"seed", "init.scheme"});
    REQUIRE(e.runs.size() == 4);
    CHECK(e.runs[0].scheme == "glorot_normal");
    CHECK(e.runs[1].scheme == "he_normal");
    CHECK(e.runs[1].axes == Axes{{"seed", "1"}, {"init.scheme", "he_normal"}});

    const Experiment call =
        parse(text, SpecOptions{{"init.scheme=he_normal(mode=fan_out)"}, false});
    CHECK(call.runs[0].scheme == "he_normal(mode=fan_out)");
    CHECK(call.runs[0].init.weights.choice("mode") == "fan_out");

    const Experiment commas = parse(
        text, SpecOptions{{"init.scheme=[he_normal(mode=fan_out, slope=0.1), zeros]"}, false});
    REQUIRE(commas.runs.size() == 4);
    CHECK(commas.runs[0].scheme == "he_normal(mode=fan_out, slope=0.1)");
    CHECK(commas.runs[1].scheme == "zeros");

    const Experiment numbers = parse(text, SpecOptions{{"train.lr=[0.1,1e-2]"}, false});
    CHECK(numbers.runs[1].train.optimizer.lr == 0.01);
  }
  SUBCASE("a scalar replaces a list, a new key goes last among the axes") {
    const Experiment e = parse(text, SpecOptions{{"seed=3", "data.noise=[0, 0.1]"}, false});
    CHECK(e.axes == std::vector<std::string>{"data.noise"});
    REQUIRE(e.runs.size() == 2);
    CHECK(e.runs[1].seed == 3);
    CHECK(e.runs[1].data.noise == 0.1);
  }
  SUBCASE("layers replace depth and width, and the other way round") {
    const Experiment e = parse(text, SpecOptions{{"model.layers=[2, 3, 3, 1]"}, false});
    CHECK(e.runs[0].model.layers == std::vector<Index>{2, 3, 3, 1});
    CHECK(e.runs[0].model.depth == 0);
    const Experiment back =
        parse(spec(), SpecOptions{{"model.depth=2", "model.width=3", "train.epochs=1"}, false});
    CHECK(back.runs[0].model.layers.empty());
    CHECK(back.runs[0].model.width == 3);
    CHECK(back.runs[0].train.epochs == 1);
    CHECK(back.runs[0].train.steps == 0);
  }
  SUBCASE("overrides apply after [quick]") {
    const std::string quick = text + "\n[quick.model]\ndepth = 1\n";
    CHECK(parse(quick, SpecOptions{{}, true}).runs[0].model.depth == 1);
    CHECK(parse(quick, SpecOptions{{"model.depth=5"}, true}).runs[0].model.depth == 5);
  }
}

TEST_CASE("spec: the resolved text parses back to the same grid") {
  const std::string text = R"toml(name = "round_trip"
description = "quotes ' and \" survive"
seed = [1, 2]

[model]
depth = [2, 3]
width = 8
activation = "leaky_relu(slope=0.2)"

[data]
kind = "circles"
train = 20
noise = 0.1

[init]
scheme = ["zeros", "normal(stddev=10)"]
scale = 1

[train]
steps = 5
lr = [0.1, 1e-8, 2.0]

[probes]
dump_weights = [[0], [0, 5]]

[quick.train]
steps = 6
)toml";
  auto round_trip = [](const std::string& spec_text, const SpecOptions& options) {
    Experiment first = parse(spec_text, options);
    INFO("resolved:\n" << first.resolved);
    const Experiment second = parse(first.resolved);
    check_same_grid(first, second);
    CHECK(second.resolved == first.resolved);  // a fixed point
    return first;
  };
  const Experiment plain = round_trip(text, {});
  CHECK(plain.runs.size() == 48);
  CHECK(contains(plain.resolved, "lr = [0.1, 1e-08, 2.0]"));
  CHECK(contains(plain.resolved, "scale = 1\n"));
  round_trip(text, SpecOptions{{"model.layers=[[2, 3, 1], [2, 1]]", "train.batch=4"}, true});

  SUBCASE("an order sections cannot show is written with dotted keys") {
    // init.scheme comes before seed here, and a --set adds a [data] axis after [train]'s.
    const std::string dotted = R"toml(name = "dotted"
init.scheme = ["zeros", "he_normal"]
seed = [1, 2]
model.layers = [2, 3, 1]
train.steps = [1, 2]
)toml";
    const Experiment e = round_trip(dotted, SpecOptions{{"data.noise=[0.0, 0.5]"}, false});
    CHECK(e.axes == std::vector<std::string>{"init.scheme", "seed", "train.steps", "data.noise"});
    CHECK(contains(e.resolved, "init.scheme = "));
  }
}

// ---------------------------------------------------------------------------------------------
// Zipped axes: keys that vary together
// ---------------------------------------------------------------------------------------------

namespace {

// seed x (model.depth, train.lr) x init.scheme: the zip sits at model.depth's place although
// train.lr comes after init.scheme.
const std::string kZipped = R"toml(name = "z"
seed = [1, 2]
zip = [["model.depth", "train.lr"]]

[model]
depth = [1, 2, 3]
width = 4
activation = "tanh"

[init]
scheme = ["zeros", "he_normal"]

[train]
steps = 3
lr = [0.1, 0.01, 0.001]
)toml";

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("spec: zipped keys vary together as one axis at the place of their first key") {
  const Experiment e = parse(kZipped);
  CHECK(e.axes == std::vector<std::string>{"seed", "model.depth", "init.scheme", "train.lr"});
  CHECK(e.zips == std::vector<std::vector<std::string>>{{"model.depth", "train.lr"}});
  REQUIRE(e.runs.size() == 12);  // 2 x 3 x 2, not 2 x 3 x 2 x 3
  CHECK(e.runs[0].axes ==
        Axes{{"seed", "1"}, {"model.depth", "1"}, {"init.scheme", "zeros"}, {"train.lr", "0.1"}});
  CHECK(
      e.runs[1].axes ==
      Axes{{"seed", "1"}, {"model.depth", "1"}, {"init.scheme", "he_normal"}, {"train.lr", "0.1"}});
  CHECK(e.runs[2].axes ==
        Axes{{"seed", "1"}, {"model.depth", "2"}, {"init.scheme", "zeros"}, {"train.lr", "0.01"}});
  CHECK(e.runs[11].axes == Axes{{"seed", "2"},
                                {"model.depth", "3"},
                                {"init.scheme", "he_normal"},
                                {"train.lr", "0.001"}});
  const std::vector<double> lr{0.1, 0.01, 0.001};
  for (const RunConfig& run : e.runs) {
    CAPTURE(run.run_index);
    REQUIRE(run.model.depth >= 1);
    REQUIRE(run.model.depth <= 3);
    CHECK(run.train.optimizer.lr == lr[static_cast<std::size_t>(run.model.depth - 1)]);
    CHECK(run.seed == (run.run_index < 6 ? 1 : 2));
  }

  SUBCASE("one group may be written without the outer list") {
    check_same_grid(e, parse(replaced(kZipped, "[[\"model.depth\", \"train.lr\"]]",
                                      "[\"model.depth\", \"train.lr\"]")));
  }
  SUBCASE("a generated axis zips like its list") {
    check_same_grid(
        e, parse(replaced(kZipped, "lr = [0.1, 0.01, 0.001]", "lr = {logspace = [-1, -3, 3]}")));
  }
  SUBCASE("two groups, and a group of three keys") {
    const Experiment two = parse(replaced(
        replaced(kZipped, "[[\"model.depth\", \"train.lr\"]]",
                 "[[\"model.depth\", \"train.lr\", \"model.width\"], [\"seed\", \"init.scheme\"]]"),
        "width = 4", "width = [4, 8, 16]"));
    REQUIRE(two.runs.size() == 6);  // (seed, scheme) 2 x (depth, lr, width) 3
    CHECK(two.runs[4].axes == Axes{{"seed", "2"},
                                   {"model.depth", "2"},
                                   {"model.width", "8"},
                                   {"init.scheme", "he_normal"},
                                   {"train.lr", "0.01"}});
  }
  SUBCASE("[quick] and --set change the zipped lists, keeping them of one length") {
    const std::string quick = kZipped + "\n[quick]\nmodel.depth = [5, 6]\ntrain.lr = [0.5, 0.2]\n";
    const Experiment q = parse(quick, SpecOptions{{}, true});
    REQUIRE(q.runs.size() == 8);
    CHECK(q.runs[2].model.depth == 6);
    CHECK(q.runs[2].train.optimizer.lr == 0.2);
    const Experiment set = parse(kZipped, SpecOptions{{"model.depth=[7]", "train.lr=[0.3]"}});
    REQUIRE(set.runs.size() == 4);
    CHECK(set.runs[3].axes == Axes{{"seed", "2"},
                                   {"model.depth", "7"},
                                   {"init.scheme", "he_normal"},
                                   {"train.lr", "0.3"}});
  }
}

TEST_CASE("spec: the resolved text of zipped axes parses back to the same grid") {
  auto round_trip = [](const std::string& text, const SpecOptions& options) {
    const Experiment first = parse(text, options);
    INFO("resolved:\n" << first.resolved);
    const Experiment second = parse(first.resolved);
    check_same_grid(first, second);
    CHECK(second.zips == first.zips);
    CHECK(second.resolved == first.resolved);  // a fixed point
    return first;
  };
  const Experiment plain = round_trip(kZipped, {});
  // zip, a top-level key, comes before the first table
  CHECK(contains(plain.resolved, "seed = [1, 2]\nzip = [['model.depth', 'train.lr']]\n\n["));
  round_trip(kZipped + "\n[quick]\nmodel.depth = [5, 6]\ntrain.lr = [0.5, 0.2]\n",
             SpecOptions{{"train.batch=4"}, true});
  // an order sections cannot show: every key dotted at the top level, zip among them
  const Experiment dotted = round_trip(R"toml(name = "dotted"
init.scheme = ["zeros", "he_normal"]
seed = [1, 2]
zip = ["train.steps", "train.lr"]
model.layers = [2, 3, 1]
train.steps = [1, 2, 3]
train.lr = [0.3, 0.2, 0.1]
)toml",
                                       SpecOptions{{"data.noise=[0.0, 0.5]"}, false});
  CHECK(dotted.runs.size() == 24);
  CHECK(contains(dotted.resolved, "init.scheme = "));
  CHECK(contains(dotted.resolved, "zip = [['train.steps', 'train.lr']]\n"));
}

TEST_CASE("spec: a bad zip is one line naming the place and what is allowed") {
  const auto with_zip = [](std::string_view zip) {
    return replaced(kZipped, "zip = [[\"model.depth\", \"train.lr\"]]",
                    "zip = " + std::string(zip));
  };
  SUBCASE("lists of different lengths") {
    const std::string text = replaced(kZipped, "lr = [0.1, 0.01, 0.001]", "lr = [0.1, 0.01]");
    expect_error(text, "lr = [0.1, 0.01]",
                 {"train.lr has 2 values, but it is zipped with model.depth, which has 3 values "
                  "(spec.toml:6)",
                  "the same number of values"});
  }
  SUBCASE("a zipped key that is not a list") {
    expect_error(replaced(kZipped, "lr = [0.1, 0.01, 0.001]", "lr = 0.1"), "lr = 0.1",
                 {"train.lr = 0.1: zipped with model.depth, train.lr", "must be a list"});
  }
  SUBCASE("a zipped key that is not set") {
    expect_error(with_zip("[[\"model.depth\", \"train.momentum\"]]"),
                 "zip =", {"zip: train.momentum is not set", "must be given as a list"});
  }
  SUBCASE("a key zipped twice") {
    expect_error(with_zip("[[\"model.depth\", \"train.lr\"], [\"seed\", \"train.lr\"]]"),
                 "zip =", {"zip: train.lr is zipped twice (also at spec.toml:3)"});
    expect_error(with_zip("[\"seed\", \"seed\"]"), "zip =", {"zip: seed is zipped twice"});
  }
  SUBCASE("keys that are unknown or cannot be axes, groups too small, wrong types") {
    expect_error(with_zip("[[\"model.dept\", \"train.lr\"]]"),
                 "zip =", {"zip: unknown key 'model.dept'", "model.depth"});
    expect_error(with_zip("[[\"name\", \"seed\"]]"), "zip =", {"zip: name cannot be an axis"});
    expect_error(with_zip("[[\"seed\"]]"), "zip =", {"a group needs two keys or more"});
    expect_error(with_zip("\"seed\""), "zip =",
                 {"zip: expected a list of groups of keys, got the string 'seed'",
                  "zip = [[\"model.depth\", \"train.lr\"], ...]"});
    expect_error(with_zip("[]"), "zip =", {"got an empty list"});
    expect_error(with_zip("[[\"seed\", \"train.lr\"], \"model.depth\"]"),
                 "zip =", {"every group must be a list of keys, got the string 'model.depth'"});
    expect_error(with_zip("[[1, 2]]"),
                 "zip =", {"expected a key's dotted name, got the integer 1"});
  }
  SUBCASE("zip is the file's: [quick] and --set change the zipped keys") {
    const std::string quick = kZipped + "\n[quick]\nzip = [[\"seed\", \"init.scheme\"]]\n";
    expect_error(quick, "zip = [[\"seed\"", {"quick.zip: zip is written at the top level"});
    const std::string message = error_of(kZipped, SpecOptions{{"zip=[[seed, train.lr]]"}});
    CHECK(message.starts_with("--set zip=[[seed, train.lr]]: --set cannot change zip"));
  }
  SUBCASE("[quick] or --set breaking a zip is named at its own place") {
    const std::string quick = kZipped + "\n[quick]\ntrain.lr = [0.5, 0.2]\n";
    CHECK(error_of(quick).empty());  // [quick] applies only with --quick
    expect_error(quick, "lr = [0.5, 0.2]",
                 {"train.lr has 2 values, but it is zipped with model.depth, which has 3"},
                 SpecOptions{{}, true});
    const std::string set = error_of(kZipped, SpecOptions{{"train.lr=0.5"}});
    CHECK(set.starts_with("--set train.lr=0.5: train.lr = 0.5: zipped with model.depth"));
    const std::string layers =
        error_of(kZipped, SpecOptions{{"model.layers=[[2, 3, 1], [2, 1], [2, 2, 1]]"}});
    CHECK(layers.starts_with("spec.toml:3: zip: model.depth is not set"));
  }
}

TEST_CASE("spec: load_experiment reads files and names a missing one") {
  const std::string message = [] {
    try {
      load_experiment("/nonexistent/initbench/x.toml");
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  CHECK(message.starts_with("/nonexistent/initbench/x.toml: cannot read: "));
  CHECK_THROWS_AS(load_experiment("/"), SpecError);
}

// ---------------------------------------------------------------------------------------------
// Bad specs: one clear line each, naming the place and the key or value
// ---------------------------------------------------------------------------------------------

TEST_CASE("spec: TOML syntax errors give file:line:column") {
  const std::string text = "name = \"t\"\n\n[model\nlayers = [2, 1]\n";
  const std::string message = error_of(text);
  INFO(message);
  CHECK(message.starts_with("spec.toml:3:7: "));
  CHECK(contains(message, "Error while parsing"));
  CHECK(error_of("name = \"t\"\nseed = 1\nseed = 2\n").starts_with("spec.toml:3:"));
}

TEST_CASE("spec: unknown keys and tables suggest the closest name") {
  expect_error(spec({{"top", "name = \"t\"\nsede = 1"}}), "sede",
               {"unknown key 'sede'", "did you mean 'seed'?"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\nactivaton = \"relu\""}}), "activaton",
               {"unknown key 'model.activaton'", "did you mean 'activation'?"});
  expect_error(spec() + "[modle]\ndepth = 2\n", "[modle]",
               {"unknown table 'modle'", "did you mean 'model'?"});
  expect_error(spec() + "[quick.trian]\nsteps = 2\n", "[quick.trian]",
               {"unknown table 'quick.trian'", "did you mean 'train'?"});
  expect_error("name = \"t\"\ndata = 3\n", "data = 3", {"data must be a table"});
}

TEST_CASE("spec: wrong types name the expected type") {
  expect_error(spec({{"data", "kind = \"circles\"\ntrain = \"300\""}}), "train = \"300\"",
               {"data.train", "expected an integer", "'300'"});
  expect_error(spec({{"train", "steps = 10\nlr = \"fast\""}}), "lr = ", {"train.lr", "a number"});
  expect_error(spec({{"probes", "histograms = 1"}}), "histograms",
               {"probes.histograms", "true or false"});
  expect_error(spec({{"model", "layers = [2, \"x\", 1]"}}), "layers",
               {"model.layers", "a list of integers", "'x'"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\nactivation = 3"}}), "activation",
               {"model.activation", "expected a string"});
  expect_error(spec({{"data", "kind = \"circles\"\ntrain = 2.5"}}), "train = 2.5",
               {"data.train", "expected an integer", "2.5"});
  expect_error(spec({{"top", "name = [\"a\", \"b\"]"}}), "name = ", {"name", "cannot be an axis"});
  expect_error(spec({{"init", "scheme = [[\"zeros\"]]"}}), "scheme", {"init.scheme", "a list"});
  expect_error(spec({{"model", "layers = [[2, 4, 1], 3]"}}), "layers",
               {"model.layers", "list of lists"});
}

TEST_CASE("spec: empty lists") {
  expect_error(spec({{"init", "scheme = []"}}), "scheme", {"init.scheme", "empty list"});
  expect_error(spec({{"top", "name = \"t\"\nseed = []"}}), "seed", {"seed", "empty list"});
  expect_error(spec({{"model", "layers = []"}}), "layers", {"model.layers", "empty list"});
}

TEST_CASE("spec: impossible sizes and values") {
  struct Case {
    std::map<std::string, std::string> bodies;  // sections that differ from spec()'s
    std::string needle;                         // on the line the message must name
    std::vector<std::string> fragments;
  };
  const std::string depth_width = "depth = 1\nwidth = 4";
  const std::vector<Case> cases{
      {{{"model", "depth = 2\nwidth = 0"}}, "width", {"model.width = 0", ">= 1"}},
      {{{"model", "depth = 0\nwidth = 4"}}, "depth", {"model.depth = 0", ">= 1"}},
      {{{"model", "depth = 100000\nwidth = 4"}},
       "depth",
       {"model.depth = 100000", "absurd", "10000"}},
      {{{"model", "depth = 2\nwidth = 1000000"}}, "width", {"model.width = 1000000", "absurd"}},
      {{{"model", "layers = [2, 0, 1]"}}, "layers", {"model.layers = [2, 0, 1]", ">= 1"}},
      {{{"model", "layers = [2]"}}, "layers", {"model.layers", "at least 2"}},
      {{{"model", "depth = 2"}}, "depth", {"model.depth needs model.width"}},
      {{{"model", "layers = [2, 4, 1]\ndepth = 2"}}, "depth", {"model.layers and model.depth"}},
      {{{"model", ""}}, "[model]", {"[model] needs layers"}},
      {{{"data", "kind = \"circles\"\ntrain = 0"}}, "train", {"data.train = 0", ">= 1"}},
      {{{"data", "kind = \"circles\"\ntrain = 1"}}, "train", {"data.train = 1", "at least 2"}},
      {{{"data", "train = 100000000"}}, "train", {"data.train = 100000000", "absurd"}},
      {{{"data", "noise = -1"}}, "noise", {"data.noise = -1", ">= 0"}},
      {{{"data", "kind = \"circles\"\nclasses = 3"}}, "classes", {"data.classes = 3", "2 classes"}},
      {{{"data", "factor = 1"}}, "factor", {"data.factor = 1", "[0, 1)"}},
      {{{"data", "validation = -1"}}, "validation", {"data.validation = -1", ">= 0"}},
      {{{"data", "kind = \"circles\"\ntrain = 20\nvalidation = 20"}},
       "validation",
       {"data.validation = 20", "20 training samples", "0 <= validation < 20"}},
      {{{"data", "kind = \"circles\"\ntrain = 20\nvalidation = 15"},
        {"train", "steps = 10\nbatch = 10"}},
       "batch",
       {"train.batch = 10", "larger than the data", "5 training samples"}},
      {{{"data", "validation = [2, 4]"}}, "validation", {"data.validation", "cannot be an axis"}},
      {{{"data", "kind = \"csv\"\npath = \"d.csv\""}, {"model", depth_width}},
       "kind",
       {"data.label", "data.targets"}},
      {{{"data", "kind = \"idx\""}, {"model", depth_width}}, "kind", {"data.path"}},
      {{{"train", "steps = 10\nbatch = 100"}},
       "batch",
       {"train.batch = 100", "larger than the data", "20 training samples"}},
      {{{"train", "steps = 10\nbatch = -1"}}, "batch", {"train.batch = -1", ">= 0"}},
      {{{"train", "steps = 10\nlr = 0"}}, "lr", {"train.lr = 0", "> 0"}},
      {{{"train", "steps = 10\nlr = -0.1"}}, "lr", {"train.lr = -0.1", "> 0"}},
      {{{"train", "steps = -1"}}, "steps", {"train.steps = -1", ">= 0"}},
      {{{"train", "steps = 10\nepochs = 2"}}, "epochs", {"train.steps and train.epochs"}},
      {{{"train", "lr = 0.1"}}, "[train]", {"[train] needs steps", "epochs"}},
      {{{"train", "steps = 10\ntarget_accuracy = 1.5"}},
       "target_accuracy",
       {"train.target_accuracy = 1.5", "[0, 1]"}},
      {{{"train", "steps = 10\nmomentum = 1"}}, "momentum", {"train.momentum = 1", "[0, 1)"}},
      {{{"train", "steps = 10\nstop_at_target = true"}},
       "stop_at_target",
       {"train.stop_at_target", "target_loss"}},
      {{{"train", "steps = 10\nstop_on_stall = true"}},
       "stop_on_stall",
       {"train.stop_on_stall", "stall_window"}},
      {{{"probes", "every = -1"}}, "every", {"probes.every = -1", ">= 0"}},
      {{{"probes", "jacobian_samples = 0"}},
       "jacobian_samples",
       {"probes.jacobian_samples = 0", ">= 1"}},
      {{{"probes", "histogram_bins = 0"}}, "histogram_bins", {"probes.histogram_bins = 0", ">= 1"}},
      {{{"probes", "dump_weights = [0, -5]"}}, "dump_weights", {"probes.dump_weights", "-5"}},
      {{{"probes", "dump_weights = [0, 50]"}}, "dump_weights", {"step 50", "after the last step"}},
      {{{"train", "epochs = 2\nbatch = 5"}, {"probes", "dump_weights = [0, 100]"}},
       "dump_weights",
       {"step 100", "after the last step (8)"}},
      {{{"data", "kind = \"blobs\""}, {"model", "layers = [2, 4, 3]\noutput = \"sigmoid\""}},
       "output",
       {"'sigmoid' is for binary labels", "3 classes", "softmax"}},
      {{{"data", "kind = \"xor\"\ntrain = 1"}, {"init", "scheme = \"lsuv\""}},
       "scheme",
       {"'lsuv'", "at least 2"}},
      {{{"top", "name = \"a/b\""}}, "name", {"name = 'a/b'", "folder name"}},
      {{{"top", "name = \"..\""}}, "name", {"name = '..'", "folder name"}},
      {{{"top", "name = \"t\"\nseed = -1"}}, "seed", {"seed = -1", ">= 0"}},
  };
  for (const Case& c : cases) {
    const std::string text = spec(c.bodies);
    const std::string message = error_of(text);
    INFO("spec:\n" << text);
    INFO("message: " << message);
    REQUIRE_FALSE(message.empty());
    CHECK(message.starts_with(place_of(text, c.needle)));
    for (const auto& fragment : c.fragments) CHECK(contains(message, fragment));
  }
  const std::string no_name = error_of(spec({{"top", "seed = 1"}}));
  CHECK(no_name.starts_with("spec.toml: missing key 'name'"));
}

TEST_CASE("spec: unknown names list the allowed ones") {
  expect_error(spec({{"init", "scheme = \"he_norml\""}}), "he_norml",
               {"init.scheme = 'he_norml'", "did you mean 'he_normal'?", "glorot_uniform"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\nactivation = \"rleu\""}}), "rleu",
               {"model.activation = 'rleu'", "relu", "tanh"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\noutput = \"softmx\""}}), "softmx",
               {"model.output = 'softmx'", "did you mean 'softmax'?", "linear"});
  expect_error(spec({{"train", "steps = 10\noptimizer = \"adma\""}}), "adma",
               {"train.optimizer = 'adma'", "did you mean 'adam'?", "nesterov"});
  expect_error(spec({{"data", "kind = \"circels\""}}), "circels",
               {"data.kind = 'circels'", "did you mean 'circles'?", "spirals"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\nprecision = \"half\""}}), "half",
               {"model.precision = 'half'", "float, double"});
  expect_error(spec({{"probes", "schedule = \"lin\""}}), "schedule",
               {"probes.schedule = 'lin'", "every, log"});
  // An axis names the bad item's own line.
  expect_error(spec({{"init", "scheme = [\n  \"zeros\",\n  \"he_nromal\",\n]"}}), "he_nromal",
               {"init.scheme = 'he_nromal'", "did you mean 'he_normal'?"});
}

TEST_CASE("spec: scheme parameters that are missing, unknown or out of range") {
  expect_error(spec({{"init", "scheme = \"normal\""}}), "scheme",
               {"init.scheme = 'normal'", "missing parameter 'stddev'"});
  expect_error(spec({{"init", "scheme = \"he_normal(gain=2)\""}}), "gain=2",
               {"init.scheme", "unknown parameter 'gain'"});
  expect_error(spec({{"init", "scheme = \"normal(stddev=-1)\""}}), "stddev=-1",
               {"init.scheme = 'normal(stddev=-1)'", "stddev must be >= 0"});
  expect_error(spec({{"init", "scheme = \"orthogonal(gain=0)\""}}), "gain=0",
               {"init.scheme", "gain must be > 0"});
  expect_error(spec({{"init", "scheme = \"he_normal\"\nbias = \"orthogonal\""}}), "bias",
               {"init.bias = 'orthogonal'", "cannot initialise biases"});
  expect_error(spec({{"init", "scheme = \"he_normal\"\nscale = 0"}}), "scale",
               {"init.scale = 0", "> 0"});
}

TEST_CASE("spec: sizes are checked against the schemes and the data when the spec knows them") {
  expect_error(spec({{"init", "scheme = \"identity\""}}), "identity",
               {"init.scheme = 'identity'", "square"});
  // Square hidden layers pass; the first layer (2 -> 4) does not.
  expect_error(spec({{"model", "depth = 2\nwidth = 4"}, {"init", "scheme = \"identity\""}}),
               "identity", {"layer 1", "square"});
  CHECK_NOTHROW(parse(spec({{"data", "kind = \"teacher\"\nfeatures = 2\noutputs = 2"},
                            {"model", "layers = [2, 2, 2]\noutput = \"linear\""},
                            {"init", "scheme = \"identity\""}})));
  // In a grid the message names the run.
  expect_error(spec({{"init", "scheme = [\"he_normal\", \"identity\"]"}}), "identity",
               {"(run 1: init.scheme=identity)"});
  expect_error(spec({{"model", "layers = [3, 4, 1]"}}), "layers",
               {"model.layers = [3, 4, 1]", "does not fit the circles data", "2 inputs"});
  expect_error(spec({{"model", "layers = [2, 4, 3]"}, {"data", "kind = \"moons\""}}), "layers",
               {"does not fit the moons data", "1 output"});
  expect_error(spec({{"model", "layers = [5, 4, 3]"},
                     {"data", "kind = \"blobs\"\nfeatures = 5\nclasses = 4"}}),
               "layers", {"blobs", "end with 4"});
  expect_error(spec({{"data", "kind = \"teacher\"\nfeatures = 2"}}), "kind",
               {"model.output = 'sigmoid'", "linear"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\noutput = \"softmax\""}}), "softmax",
               {"model.output = 'softmax'", "sigmoid"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\noutput = \"linear\""},
                     {"train", "steps = 10\ntarget_accuracy = 0.9"}}),
               "target_accuracy", {"train.target_accuracy", "linear"});
  // Files: only what the spec itself shows is checked here.
  const std::string idx = "kind = \"idx\"\npath = \"/no/such/folder\"";
  CHECK_NOTHROW(parse(spec({{"data", idx}, {"model", "layers = [784, 10, 10]"}})));
  CHECK_NOTHROW(parse(spec({{"data", idx}, {"model", "depth = 2\nwidth = 10"}})));
  expect_error(
      spec({{"data", idx}, {"model", "layers = [784, 10, 10]"}, {"init", "scheme = \"identity\""}}),
      "identity", {"layer 1", "square"});
}

TEST_CASE("spec: residual nets: the keys map, and invalid combinations are one-line errors") {
  const std::string blocks = "depth = 3\nwidth = 8\nresidual = true";
  const Experiment e = parse(spec(
      {{"model", blocks + "\nblock_depth = 1"}, {"init", "scheme = \"skipinit(alpha=0.1)\""}}));
  REQUIRE(e.runs.size() == 1);
  CHECK(e.runs[0].model.residual);
  CHECK(e.runs[0].model.block_depth == 1);
  const MlpConfig net = e.runs[0].network(2, 1);
  CHECK(net.blocks == 3);
  CHECK(net.num_layers() == 5);
  CHECK(net.learn_alpha);
  CHECK_FALSE(parse(spec({{"model", blocks}})).runs[0].network(2, 1).learn_alpha);  // he_normal
  CHECK(parse(spec({{"model", blocks}})).runs[0].network(2, 1).num_layers() == 8);  // m = 2
  expect_error(spec({{"model", blocks + "\nblock_depth = 3"}}), "block_depth",
               {"model.block_depth = 3", "must be 1 or 2"});
  expect_error(spec({{"model", "layers = [2, 4, 1]\nresidual = true"}}), "residual",
               {"model.residual", "not from layers"});
  expect_error(spec({{"model", blocks}, {"init", "scheme = \"lsuv\""}}), "lsuv",
               {"init.scheme = 'lsuv'", "residual net's stream"});
  expect_error(spec({{"model", blocks}, {"probes", "jacobian = true"}}), "jacobian = true",
               {"probes.jacobian is for plain MLPs"});
  // file data: the size limit counts depth x block_depth square layers (2 x 10000 x 250 x 251
  // = 1.26e9 parameters > 1e9; the plain net's 9999 x 250 x 251 = 6.3e8 passes)
  const std::string idx = "kind = \"idx\"\npath = \"/no/such/folder\"";
  expect_error(spec({{"data", idx}, {"model", "depth = 10000\nwidth = 250\nresidual = true"}}),
               "width = 250", {"the hidden layers alone have 1.26e+09 parameters"});
  CHECK_NOTHROW(parse(spec({{"data", idx}, {"model", "depth = 10000\nwidth = 250"}})));
  expect_error(spec({{"model", "depth = 3\nwidth = 8"}, {"probes", "stream = true"}}),
               "stream = true", {"probes.stream", "needs model.residual = true"});
  CHECK_NOTHROW(parse(spec({{"model", blocks}, {"probes", "stream = true"}})));
  for (const char* scheme : {"fixup", "rezero", "skipinit"}) {
    CAPTURE(scheme);
    expect_error(
        spec({{"model", "depth = 3\nwidth = 8"}, {"init", fmt::format("scheme = \"{}\"", scheme)}}),
        scheme, {"is for residual nets (model.residual = true)"});
  }
}

TEST_CASE("spec: model.norm with its values and what a batch norm needs") {
  const std::string net = "layers = [2, 4, 4, 1]";
  const Experiment e = parse(spec({{"model", net + "\nnorm = [\"none\", \"batch\", \"layer\"]"}}));
  REQUIRE(e.runs.size() == 3);
  CHECK(e.runs[0].model.norm == Norm::kNone);
  CHECK(e.runs[1].network(2, 1).norm == Norm::kBatch);
  CHECK(e.runs[2].network(2, 1).norm == Norm::kLayer);
  CHECK(parse(spec()).runs[0].model.norm == Norm::kNone);
  expect_error(spec({{"model", net + "\nnorm = \"group\""}}), "group",
               {"model.norm", "unknown norm 'group'", "allowed: none, batch, layer"});
  expect_error(spec({{"model", net + "\nnorm = 1"}}), "norm = 1", {"model.norm"});
  // batch norm: at least 2 samples in every training pass (20 training samples here)
  const std::string batch = net + "\nnorm = \"batch\"";
  expect_error(spec({{"model", batch}, {"train", "steps = 10\nbatch = 1"}}), "norm",
               {"model.norm = 'batch'", "train.batch = 1", "allowed: 2 or more"});
  expect_error(spec({{"model", batch}, {"train", "steps = 10\nbatch = 19"}}), "norm",
               {"last batch of 1 sample"});
  expect_error(spec({{"model", batch}, {"probes", "every = 1\nbatch = 1"}}), "norm",
               {"probes.batch = 1"});
  CHECK_NOTHROW(parse(spec({{"model", batch}, {"train", "steps = 10\nbatch = 18"}})));
  CHECK_NOTHROW(
      parse(spec({{"model", net + "\nnorm = \"layer\""}, {"train", "steps = 10\nbatch = 1"}})));
  // what knows no norm
  expect_error(spec({{"model", batch}, {"probes", "jacobian = true"}}), "jacobian = true",
               {"probes.jacobian", "model.norm = \"none\""});
  expect_error(spec({{"model", batch}, {"init", "scheme = \"lsuv\""}}), "lsuv",
               {"init.scheme = 'lsuv'", "model.norm = 'batch'"});
}

TEST_CASE("spec: a grid too large to run is refused") {
  const std::string ten = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]";
  const std::string message =
      error_of(spec({{"top", "name = \"t\"\nseed = " + ten},
                     {"train", "steps = " + ten + "\nlr = " + ten + "\neval_every = " + ten},
                     {"probes", "every = " + ten + "\nbatch = " + ten}}));
  CHECK(message.starts_with("spec.toml: the grid has more than 100000 runs"));
}

TEST_CASE("spec: bad --set paths and values name the --set") {
  expect_set_error("modle.depth=3", {"unknown key 'modle.depth'", "did you mean 'model.depth'?"});
  expect_set_error("model.dpth=3", {"did you mean 'model.depth'?"});
  expect_set_error("model=3", {"'model' is a table", "model.depth"});
  expect_set_error("depth3", {"expected key=value"});
  expect_set_error("quick.train.steps=1", {"[quick]"});
  expect_set_error("model.depth=", {"empty"});
  expect_set_error("model.depth=0", {"model.depth = 0", "must be >= 1"});
  expect_set_error("model.depth=abc", {"model.depth", "expected an integer", "'abc'"});
  expect_set_error("model.layers=[2, 0, 1]", {"model.layers", ">= 1"});
  expect_set_error("init.scheme=[]", {"init.scheme", "empty list"});
  expect_set_error("init.scheme=he_norml", {"'he_norml'", "did you mean 'he_normal'?"});
  expect_set_error("init.scheme=[zeros,,he_normal]", {"empty"});
  expect_set_error("name=[a, b]", {"cannot be an axis"});
  // A bad value that only shows against the data names the --set too.
  const std::string message =
      error_of(spec(), SpecOptions{{"init.scheme=identity(gain=1)"}, false});
  CHECK(message.starts_with("--set init.scheme=identity(gain=1): "));
  CHECK(contains(message, "square"));
}

TEST_CASE(
    "spec: the teacher's singular_values and whiten, and the modes probe, with one-line errors") {
  const std::string teacher = "kind = \"teacher\"\nfeatures = 4\noutputs = 3\ntrain = 20\ntest = 0";
  const std::string linear = "layers = [4, 6, 3]\nactivation = \"identity\"\noutput = \"linear\"";
  const auto with = [&](const std::string& data, const std::string& model,
                        const std::string& probes) {
    return spec({{"data", teacher + "\n" + data}, {"model", model}, {"probes", probes}});
  };
  const Experiment ok = parse(with("singular_values = [2, 1.5, 0.5]\nwhiten = true", linear,
                                   "modes = true\nmodes_every = 2"));
  REQUIRE(ok.runs.size() == 1);
  CHECK(ok.runs[0].data.singular_values == std::vector<double>{2.0, 1.5, 0.5});
  CHECK(ok.runs[0].data.whiten);
  CHECK(ok.runs[0].probes.on("modes"));
  // singular values: finite, > 0, strictly decreasing, at most min(features, outputs), numbers
  expect_error(with("singular_values = [2, 2]", linear, ""), "singular_values",
               {"data.singular_values = [2.0, 2.0]", "strictly decreasing"});
  expect_error(with("singular_values = [2, -1]", linear, ""), "singular_values",
               {"value 2 is -1", "finite number > 0"});
  expect_error(with("singular_values = [2, \"x\"]", linear, ""), "singular_values",
               {"expected a list of numbers"});
  expect_error(with("singular_values = [4, 3, 2, 1]", linear, ""), "singular_values",
               {"has 4 values", "at most 3"});
  expect_error(with("singular_values = [2]\nhidden = 5", linear, ""), "singular_values",
               {"hidden = 0 and classify = false"});
  expect_error(spec({{"data",
                      "kind = \"teacher\"\nfeatures = 4\noutputs = 3\ntrain = 4\n"
                      "test = 0\nwhiten = true"},
                     {"model", linear}}),
               "whiten", {"data.whiten needs more training samples than features"});
  // as an axis: a list of lists
  CHECK(parse(with("singular_values = [[2, 1], [3]]", linear, "")).runs.size() == 2);
  // the modes probe: a linear teacher, no standardize, identity units, no residual stream
  expect_error(
      with("", "layers = [4, 6, 3]\nactivation = \"tanh\"\noutput = \"linear\"", "modes = true"),
      "modes = true", {"probes.modes needs a linear network", "'tanh'"});
  expect_error(with("hidden = 5", linear, "modes = true"), "modes = true",
               {"probes.modes measures the modes of a linear teacher"});
  expect_error(with("standardize = true", linear, "modes = true"), "modes = true",
               {"data.standardize = true"});
  expect_error(spec({{"probes", "modes = true"}}), "modes = true",
               {"needs data.kind = \"teacher\""});
}

TEST_CASE("spec: model.parametrization and base_width, and what they refuse") {
  const std::string layers = "layers = [2, 16, 16, 1]\n";
  // an unknown name, with the allowed ones
  expect_error(spec({{"model", layers + "parametrization = \"mu\""}}), "parametrization",
               {"unknown parametrization 'mu'", "did you mean 'mup'", "standard, ntk, mup"});
  // mup without base_width; with a scheme whose variance is not sigma^2 / fan_in; on a
  // residual net: each error points at the parametrization's line
  expect_error(spec({{"model", layers + "parametrization = \"mup\""}}), "parametrization",
               {"needs model.base_width >= 1"});
  expect_error(spec({{"model", layers + "parametrization = \"mup\"\nbase_width = 8"},
                     {"init", "scheme = \"glorot_uniform\""}}),
               "parametrization", {"sigma^2 / fan_in", "glorot_uniform"});
  expect_error(
      spec({{"model", "residual = true\ndepth = 2\nwidth = 8\nparametrization = \"ntk\""}}),
      "parametrization", {"plain MLPs", "model.residual"});
  expect_error(spec({{"model", layers + "base_width = 0"}}), "base_width", {"base_width"});
  // a norm: the forward multipliers and rate factors are defined here for nets without norms
  expect_error(spec({{"model", layers + "parametrization = \"ntk\"\nnorm = \"layer\""}}),
               "parametrization", {"without normalization layers", "model.norm = 'layer'"});
  // these parse: ntk needs no base width, and standard ignores it
  CHECK(parse(spec({{"model", layers + "parametrization = \"ntk\""}})).runs.size() == 1);
  CHECK(parse(spec({{"model", layers + "parametrization = [\"standard\", \"mup\"]\nbase_width = 4"},
                    {"train", "steps = 10\noptimizer = \"adam\""}}))
            .runs.size() == 2);
}
