#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "initbench/io.hpp"
#include "initbench/report.hpp"
#include "initbench/runner.hpp"

using namespace initbench;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("initbench_test_runner_" + name);
  fs::remove_all(dir);
  return dir;
}

// A small grid by hand (the spec parser has its own tests): schemes x seeds on circles.
Experiment grid() {
  Experiment e;
  e.name = "grid";
  e.path = "test-grid.toml";
  e.resolved = "name = \"grid\"\n";
  e.axes = {"init.scheme", "seed"};
  long index = 0;
  for (const std::string scheme : {"zeros", "glorot_uniform", "he_normal", "lsuv"}) {
    for (const std::uint64_t seed : {1ULL, 2ULL, 3ULL}) {
      RunConfig c;
      c.experiment = e.name;
      c.run_index = index++;
      c.seed = seed;
      c.data.kind = "circles";
      c.data.train = 200;
      c.data.test = 50;
      c.model.layers = {2, 16, 16, 1};
      c.model.activation = Activation::parse("tanh");
      c.scheme = scheme;
      c.init.weights = Scheme::parse(scheme);
      c.train.optimizer.lr = 0.2;
      c.train.batch = 32;
      c.train.steps = 150;
      c.train.eval_every = 50;
      c.probes.every = 50;
      c.probes.set("symmetry", true);
      c.probes.set("histograms", true);
      c.probes.dump_weights = {0};
      c.axes = {{"init.scheme", scheme}, {"seed", std::to_string(seed)}};
      e.runs.push_back(c);
    }
  }
  return e;
}

// Every file of a folder but timings.csv and meta.json (clock readings), by name.
std::map<std::string, std::string> deterministic_files(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), folder).string();
    // clock readings; .runs/ holds the runner's checkpoints, which carry the timings too
    if (name == "timings.csv" || name == "meta.json" || name.rfind(".runs/", 0) == 0) continue;
    files[name] = read_file(entry.path().string());
  }
  return files;
}

}  // namespace

TEST_CASE("runner: outputs are byte-identical for 1 and 2 threads") {
  const Experiment e = grid();
  const fs::path one = temp_dir("threads1");
  const fs::path two = temp_dir("threads2");
  RunnerOptions options;
  options.out_dir = one.string();
  options.threads = 1;
  const RunnerResult a = run_experiment(e, options);
  options.out_dir = two.string();
  options.threads = 2;
  const RunnerResult b = run_experiment(e, options);
  CHECK(a.completed == 12);
  CHECK(b.completed == 12);
  const auto fa = deterministic_files(one / "grid");
  const auto fb = deterministic_files(two / "grid");
  // runs.csv, curves.csv and the files of the probes on (layers, symmetry, histograms; not
  // timings.csv, clock readings), summary.csv and spec.toml; W and b of 3 layers for 12 runs
  CHECK(fa.size() == 5 + 2 + 12 * 6);
  for (const char* probe_off : {"jacobian.csv", "correlation.csv", "layer_jacobian.csv"})
    CHECK(fa.count(probe_off) == 0);
  CHECK(fa == fb);
  // the files parse, and hold every run in grid order
  const CsvTable runs = read_csv((one / "grid" / "runs.csv").string());
  REQUIRE(runs.rows.size() == 12);
  for (std::size_t i = 0; i < 12; ++i)
    CHECK(runs.rows[i][runs.column("run_id")] == std::to_string(i));
  CHECK(runs.rows[4][runs.column("init.scheme")] == "glorot_uniform");
  const CsvTable summary = read_csv((one / "grid" / "summary.csv").string());
  REQUIRE(summary.rows.size() == 4);  // one per scheme, over 3 seeds
  CHECK(summary.rows[0][summary.column("runs")] == "3");
  CHECK(read_csv((one / "grid" / "timings.csv").string()).rows.size() == 12);
  // weight dumps: numpy-readable, W of shape (fan_out, fan_in)
  const Matrix<double> W2 =
      read_npy((one / "grid" / "weights" / "5" / "step0" / "W2.npy").string());
  CHECK(W2.rows() == 16);
  CHECK(W2.cols() == 16);
  CHECK(read_npy((one / "grid" / "weights" / "5" / "step0" / "b3.npy").string()).rows() == 1);
  CHECK(!fs::exists(one / "grid" / "weights" / "5" / "step0" / "alpha.npy"));  // plain MLP
  fs::remove_all(one);
  fs::remove_all(two);
}

TEST_CASE(
    "runner: an interrupted experiment keeps complete files, --resume ends identical to an "
    "uninterrupted run") {
  const Experiment e = grid();
  const fs::path full = temp_dir("full");
  const fs::path part = temp_dir("part");
  RunnerOptions options;
  options.threads = 2;
  options.out_dir = full.string();
  run_experiment(e, options);

  std::atomic<bool> cancel{false};
  options.out_dir = part.string();
  options.cancel = &cancel;
  options.on_run_done = [&](long done, long, const RunConfig&, const RunRecord&) {
    if (done >= 5) cancel.store(true);  // as SIGINT would
  };
  const RunnerResult interrupted = run_experiment(e, options);
  CHECK(interrupted.interrupted);
  CHECK(interrupted.completed >= 5);
  CHECK(interrupted.completed < 12);
  // what is there parses completely and holds exactly the completed runs
  const CsvTable runs = read_csv((part / "grid" / "runs.csv").string());
  CHECK(static_cast<long>(runs.rows.size()) == interrupted.completed);
  for (const char* f :
       {"curves.csv", "layers.csv", "symmetry.csv", "histograms.csv", "summary.csv"}) {
    CHECK_NOTHROW(read_csv((part / "grid" / f).string()));
  }
  for (const auto& entry : fs::recursive_directory_iterator(part)) {
    CHECK(entry.path().string().find(".tmp.") == std::string::npos);
  }

  cancel.store(false);
  options.on_run_done = nullptr;
  options.resume = true;
  long started_skipped = -1;
  options.on_start = [&](long, long skipped) { started_skipped = skipped; };
  const RunnerResult resumed = run_experiment(e, options);
  CHECK(started_skipped == interrupted.completed);
  CHECK(resumed.completed == 12);
  CHECK(deterministic_files(part / "grid") == deterministic_files(full / "grid"));

  // a different spec in the same folder is refused on --resume
  Experiment other = e;
  other.resolved = "name = \"grid\"\nseed = 9\n";
  CHECK_THROWS_WITH_AS(run_experiment(other, options), doctest::Contains("different spec"),
                       std::runtime_error);
  fs::remove_all(full);
  fs::remove_all(part);
}

TEST_CASE("runner: a model that does not fit its data fails before any run, writing nothing") {
  Experiment e = grid();
  e.runs[7].model.layers = {3, 16, 1};
  const fs::path dir = temp_dir("misfit");
  RunnerOptions options;
  options.out_dir = dir.string();
  CHECK_THROWS_WITH_AS(run_experiment(e, options), doctest::Contains("run 7"), SpecError);
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("runner: softmax on binary circles data is refused with the fix") {
  Experiment e = grid();
  e.runs[0].model.output = Output::kSoftmax;
  RunnerOptions options;
  options.out_dir = "";
  CHECK_THROWS_WITH_AS(run_experiment(e, options), doctest::Contains("softmax"), SpecError);
}

TEST_CASE("runner: in-memory mode and shards") {
  const Experiment e = grid();
  RunnerOptions options;
  options.out_dir = "";
  options.shard = Shard::parse("2/3");
  const RunnerResult r = run_experiment(e, options);
  CHECK(r.total == 4);
  REQUIRE(r.records.size() == 4);
  const std::vector<long> owner = shard_assignment(e, 3);
  for (const RunRecord& record : r.records)
    CHECK(owner[static_cast<std::size_t>(record.run.run_id)] == 1);
  // every shard gets 4 of the 12 runs, and the runs of one scheme are not all in one shard
  for (long s = 0; s < 3; ++s) CHECK(std::count(owner.begin(), owner.end(), s) == 4);
  for (std::size_t first = 0; first < 12; first += 3) {  // the 3 seeds of one scheme
    CHECK_FALSE((owner[first] == owner[first + 1] && owner[first] == owner[first + 2]));
  }
  CHECK_THROWS_AS(Shard::parse("0/3"), std::invalid_argument);
  CHECK_THROWS_AS(Shard::parse("4/3"), std::invalid_argument);
  CHECK_THROWS_AS(Shard::parse("1/0"), std::invalid_argument);
  CHECK_THROWS_AS(Shard::parse("a/b"), std::invalid_argument);
  CHECK_THROWS_AS(Shard::parse("1/2x"), std::invalid_argument);
}

TEST_CASE("runner: an unwritable output folder is a clear error") {
  Experiment e = grid();
  RunnerOptions options;
  options.out_dir = "/proc/initbench-cannot-write-here";
  CHECK_THROWS_WITH_AS(run_experiment(e, options), doctest::Contains("output folder"),
                       std::runtime_error);
}

namespace {
constexpr const char* kShardSpec = R"spec(name = "sharded"
seed = [1, 2]
[data]
kind = "moons"
train = 120
test = 40
[model]
layers = [2, 12, 1]
activation = ["tanh", "relu"]
[init]
scheme = ["glorot_uniform", "he_normal", "orthogonal"]
[train]
lr = 0.1
steps = 60
eval_every = 20
[probes]
every = 20
symmetry = true
dump_weights = [60]
)spec";
}  // namespace

TEST_CASE("runner: a residual net's weight dumps hold alpha_b as alpha.npy") {
  const Experiment e = parse_experiment(R"spec(
name = "residual"
seed = 1
[data]
kind = "circles"
train = 64
test = 16
[model]
residual = true
depth = 3
width = 8
[init]
scheme = "rezero"
[train]
lr = 0.5
steps = 5
[probes]
stream = true
dump_weights = [0, 5]
)spec",
                                        "residual.toml");
  const fs::path root = temp_dir("residual_dump");
  RunnerOptions options;
  options.out_dir = root.string();
  run_experiment(e, options);
  const fs::path weights = root / "residual" / "weights" / "0";
  const Matrix<double> start = read_npy((weights / "step0" / "alpha.npy").string());
  const Matrix<double> end = read_npy((weights / "step5" / "alpha.npy").string());
  REQUIRE(start.size() == 3);
  REQUIRE(end.size() == 3);
  CHECK(start.isZero());  // ReZero's start
  // after 5 updates: alpha_b as stream.csv reports it at step 5, and moved away from 0
  const CsvTable stream = read_csv((root / "residual" / "stream.csv").string());
  int compared = 0;
  for (const auto& row : stream.rows) {
    const long block = std::stol(row[stream.column("block")]);
    if (row[stream.column("step")] != "5" || block == 0) continue;
    const double alpha = std::stod(row[stream.column("alpha")]);
    CHECK(end(block - 1) == doctest::Approx(alpha).epsilon(1e-6));
    CHECK(end(block - 1) != 0.0);
    ++compared;
  }
  CHECK(compared == 3);
  fs::remove_all(root);
}

TEST_CASE("runner: N shards run by hand and merged give the bytes of an unsharded run") {
  const Experiment e = parse_experiment(kShardSpec, "sharded.toml");
  REQUIRE(e.runs.size() == 12);
  const fs::path root = temp_dir("shards");
  RunnerOptions options;
  options.out_dir = (root / "whole").string();
  run_experiment(e, options);
  std::vector<std::string> shard_dirs;
  for (int i = 1; i <= 5; ++i) {
    options.out_dir = (root / ("shard" + std::to_string(i))).string();
    options.shard = Shard::parse(std::to_string(i) + "/5");
    const RunnerResult r = run_experiment(e, options);
    CHECK(r.total == (i <= 2 ? 3 : 2));  // 12 runs over 5 shards
    shard_dirs.push_back(r.folder);
  }
  const std::string merged = merge_shards((root / "merged").string(), shard_dirs);
  CHECK(deterministic_files(merged) == deterministic_files(root / "whole" / "sharded"));

  // a missing shard
  const std::vector<std::string> four(shard_dirs.begin(), shard_dirs.end() - 1);
  CHECK_THROWS_WITH_AS(merge_shards((root / "m2").string(), four),
                       doctest::Contains("shard 5/5 is missing"), std::runtime_error);
  // a duplicated shard
  std::vector<std::string> dup = shard_dirs;
  dup.back() = shard_dirs.front();
  CHECK_THROWS_WITH_AS(merge_shards((root / "m3").string(), dup), doctest::Contains("given twice"),
                       std::runtime_error);
  // a shard of another spec
  std::string other_text = kShardSpec;
  other_text.replace(other_text.find("lr = 0.1"), 8, "lr = 0.2");
  const Experiment other = parse_experiment(other_text, "other.toml");
  options.out_dir = (root / "foreign").string();
  options.shard = Shard::parse("5/5");
  std::vector<std::string> mixed = shard_dirs;
  mixed.back() = run_experiment(other, options).folder;
  CHECK_THROWS_WITH_AS(merge_shards((root / "m4").string(), mixed),
                       doctest::Contains("different spec"), std::runtime_error);
  // an incomplete (interrupted) shard
  const std::vector<long> owner = shard_assignment(e, 5);
  const auto lost = std::find(owner.begin(), owner.end(), 1) - owner.begin();  // a run of shard 2/5
  fs::remove(fs::path(shard_dirs[1]) / ".runs" / (std::to_string(lost) + ".bundle"));
  CHECK_THROWS_WITH_AS(merge_shards((root / "m5").string(), shard_dirs),
                       doctest::Contains(("lacks run " + std::to_string(lost)).c_str()),
                       std::runtime_error);
  // resuming a shard folder with another split is refused
  options.out_dir = (root / "shard2").string();
  options.shard = Shard::parse("2/4");
  options.resume = true;
  CHECK_THROWS_WITH_AS(run_experiment(e, options), doctest::Contains("another shard or split"),
                       std::runtime_error);
  fs::remove_all(root);
}

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A column of a CSV text, as written.
std::vector<std::string> column_of(const std::string& text, const std::string& name) {
  const CsvTable table = parse_csv(text, name);
  const std::size_t c = table.column(name);
  std::vector<std::string> out;
  for (const auto& row : table.rows) out.push_back(row[c]);
  return out;
}

std::string validation_spec(const fs::path& dir, const std::string& train_file,
                            const std::string& extra) {
  return fmt::format(R"spec(name = "val"
seed = [1, 2]
[data]
kind = "csv"
path = "{}"
test_path = "{}"
label = "y"
{}
[model]
layers = [2, 8, 1]
activation = "tanh"
[init]
scheme = ["glorot_uniform", "he_normal"]
[train]
lr = 0.3
batch = 8
steps = 30
eval_every = 10
)spec",
                     (dir / train_file).string(), (dir / "held_out.csv").string(), extra);
}

}  // namespace

TEST_CASE("runner: data.validation reports the held-out rows and never trains on them") {
  // 60 rows; the validation split holds out the last 20. The same 20 rows are also the test
  // file, and `first.csv` holds the other 40: so a run with the split must train exactly as a
  // run on first.csv, and its validation numbers must equal its test numbers.
  const fs::path dir = temp_dir("validation");
  fs::create_directories(dir);
  std::string all = "x1,x2,y\n";
  std::string first = all;
  std::string held_out = all;
  for (int i = 0; i < 60; ++i) {
    const double x1 = std::sin(1.7 * i);
    const double x2 = std::cos(2.3 * i);
    const std::string row = fmt::format("{},{},{}\n", x1, x2, x1 * x2 > 0 ? 1 : 0);
    all += row;
    (i < 40 ? first : held_out) += row;
  }
  write_file_atomic((dir / "all.csv").string(), all);
  write_file_atomic((dir / "first.csv").string(), first);
  write_file_atomic((dir / "held_out.csv").string(), held_out);

  RunnerOptions options;
  options.threads = 1;
  options.out_dir = (dir / "split").string();
  run_experiment(parse_experiment(validation_spec(dir, "all.csv", "validation = 20"), "a.toml"),
                 options);
  options.out_dir = (dir / "plain").string();
  run_experiment(parse_experiment(validation_spec(dir, "first.csv", ""), "b.toml"), options);
  const std::string split_runs = read_file((dir / "split/val/runs.csv").string());
  const std::string plain_runs = read_file((dir / "plain/val/runs.csv").string());
  const std::string split_curves = read_file((dir / "split/val/curves.csv").string());
  const std::string plain_curves = read_file((dir / "plain/val/curves.csv").string());

  // The columns: after the fixed ones and before the settings, only with the split.
  CHECK(contains(split_runs.substr(0, split_runs.find('\n')),
                 ",verdict,final_val_loss,final_val_acc,data.kind"));
  CHECK(plain_runs.substr(0, plain_runs.find('\n')).find("final_val") == std::string::npos);
  CHECK(
      split_curves.starts_with("run_id,step,train_loss,train_acc,test_loss,test_acc,val_loss,"
                               "val_acc\n"));
  CHECK(plain_curves.starts_with("run_id,step,train_loss,train_acc,test_loss,test_acc\n"));
  const std::string summary = read_file((dir / "split/val/summary.csv").string());
  CHECK(summary.starts_with("init.scheme,runs,"));  // the validation columns are not axes
  CHECK(contains(summary, ",final_val_loss_mean,final_val_loss_std,"));

  // Trained on the first 40 rows only, bit for bit; the validation set is the last 20.
  CHECK(column_of(split_curves, "train_loss") == column_of(plain_curves, "train_loss"));
  CHECK(column_of(split_curves, "test_loss") == column_of(plain_curves, "test_loss"));
  CHECK(column_of(split_curves, "val_loss") == column_of(split_curves, "test_loss"));
  CHECK(column_of(split_curves, "val_acc") == column_of(split_curves, "test_acc"));
  CHECK(column_of(split_runs, "final_val_loss") == column_of(split_runs, "final_test_loss"));
  CHECK(column_of(split_runs, "final_val_acc") == column_of(plain_runs, "final_test_acc"));
  CHECK(column_of(split_curves, "step").size() == 16);  // 4 runs x steps 0, 10, 20, 30

  // Holding out all 60 rows leaves nothing to train on: one line at the key's line.
  options.out_dir = "";
  const std::string text = validation_spec(dir, "all.csv", "validation = 60");
  const long line =
      std::count(text.begin(), text.begin() + static_cast<long>(text.find("validation =")), '\n') +
      1;
  CHECK_THROWS_WITH_AS(
      run_experiment(parse_experiment(text, "c.toml"), options),
      (fmt::format("c.toml:{}: data.validation = 60: 'all' has 60 training samples; "
                   "hold out fewer, 0 <= validation < 60, to leave some to train on",
                   line))
          .c_str(),
      SpecError);
  fs::remove_all(dir);
}
