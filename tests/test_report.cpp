#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "initbench/data.hpp"
#include "initbench/io.hpp"
#include "initbench/report.hpp"
#include "initbench/spec.hpp"
#include "initbench/text.hpp"
#include "initbench/trainer.hpp"

using namespace initbench;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("initbench_test_report_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

RunRecord probed_run() {
  const Dataset data = make_circles(120, 40, 0.05, 4);
  RunConfig c;
  c.experiment = "round,trip";  // a comma: must be quoted
  c.run_index = 7;
  c.model.layers = {2, 6, 5, 1};
  c.model.activation = Activation::parse("tanh");
  c.scheme = "he_normal(mode=fan_out, slope=0.1)";
  c.init.weights = Scheme::parse(c.scheme);
  c.train.optimizer.lr = 0.05;
  c.train.steps = 40;
  c.train.eval_every = 10;
  c.probes.every = 10;
  c.probes.set("histograms", true);
  c.probes.set("symmetry", true);
  c.probes.set("jacobian", true);
  RunRecord record = train(c, data);
  record.run.settings = run_settings(c);  // as the runner does
  return record;
}

// Every value of a row type written to CSV reads back to exactly the same value.
template <typename Row>
void check_round_trip(const std::vector<Row>& rows, const CsvTable& table) {
  REQUIRE(table.rows.size() == rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    rows[r].visit([&](const char* name, const auto& value) {
      const std::string& text = table.rows[r][table.column(name)];
      using V = std::decay_t<decltype(value)>;
      CAPTURE(name);
      CAPTURE(text);
      if constexpr (std::is_same_v<V, std::string>) {
        CHECK(text == value);
      } else if constexpr (std::is_floating_point_v<V>) {
        const double back = parse_double(text).value();
        if (std::isnan(value)) {
          CHECK(std::isnan(back));
        } else {
          CHECK(back == value);
        }
      } else {
        CHECK(std::stol(text) == value);
      }
    });
  }
}

}  // namespace

TEST_CASE("every CSV file reads back to the same values, bit for bit") {
  const RunRecord record = probed_run();
  REQUIRE(!record.rows<LayerRow>().empty());
  REQUIRE(!record.rows<HistogramRow>().empty());
  REQUIRE(!record.rows<SymmetryRow>().empty());
  REQUIRE(!record.rows<JacobianRow>().empty());
  const fs::path dir = temp_dir("round_trip");
  fs::create_directories(dir);
  for (const ReportFile& file : report_files()) {
    std::ofstream((dir / file.name).string(), std::ios::binary) << file.csv({record});
  }
  check_round_trip(std::vector<RunRow>{record.run}, read_csv((dir / kRunsCsv).string()));
  check_round_trip(record.curves, read_csv((dir / kCurvesCsv).string()));
  check_round_trip(record.rows<LayerRow>(), read_csv((dir / "layers.csv").string()));
  check_round_trip(record.rows<SymmetryRow>(), read_csv((dir / "symmetry.csv").string()));
  check_round_trip(record.rows<HistogramRow>(), read_csv((dir / "histograms.csv").string()));
  check_round_trip(record.rows<JacobianRow>(), read_csv((dir / "jacobian.csv").string()));
  check_round_trip(std::vector<TimingRow>{record.timing}, read_csv((dir / kTimingsCsv).string()));
  // every key's resolved value is a column of runs.csv, after the fixed ones, in the key table's
  // order: a run built in code has each read back from its config
  const CsvTable runs = read_csv((dir / kRunsCsv).string());
  const std::vector<std::string> names = setting_names();
  REQUIRE(runs.columns.size() == run_columns().size() - 2 + names.size());  // no validation
  CHECK(
      std::equal(names.begin(), names.end(), runs.columns.end() - static_cast<long>(names.size())));
  CHECK(runs.rows[0][runs.column("init.scheme")] == "he_normal(mode=fan_out, slope=0.1)");
  CHECK(runs.rows[0][runs.column("train.lr")] == "0.05");
  CHECK(runs.rows[0][runs.column("model.activation")] == "tanh");
  CHECK(runs.rows[0][runs.column("model.layers")] == "2-6-5-1");
  CHECK(runs.rows[0][runs.column("model.depth")].empty());  // given by model.layers
  CHECK(runs.rows[0][runs.column("train.optimizer")] == "sgd");
  CHECK(runs.rows[0][runs.column("train.batch")] == "0");
  CHECK(runs.rows[0][runs.column("data.kind")] == "circles");
  CHECK(runs.rows[0][runs.column("probes.histograms")] == "true");
  CHECK(runs.rows[0][runs.column("probes.jacobian_samples")] == "3");  // its default
  CHECK(runs.rows[0][runs.column("train.target_loss")].empty());       // not set, no default
  // no temporary files are left behind
  for (const auto& entry : fs::directory_iterator(dir)) CHECK(entry.path().extension() == ".csv");
  fs::remove_all(dir);
}

TEST_CASE("CSV text: quoting, nan and inf as pandas reads them") {
  CHECK(csv_escape("plain") == "plain");
  CHECK(csv_escape("a,b") == "\"a,b\"");
  CHECK(csv_escape("say \"hi\"") == "\"say \"\"hi\"\"\"");
  RunRecord r;
  r.run.settings = {{"init.scheme", "normal(mean=0, stddev=10)"}};
  r.run.final_train_loss = std::nan("");
  r.run.final_test_loss = HUGE_VAL;
  r.run.init_grad_ratio = 1e-300;
  const std::string text = runs_csv({r});
  const CsvTable t = parse_csv(text, "mem");
  CHECK(t.rows[0][t.column("init.scheme")] == "normal(mean=0, stddev=10)");
  CHECK(t.rows[0][t.column("final_train_loss")] == "nan");
  CHECK(t.rows[0][t.column("final_test_loss")] == "inf");
  CHECK(t.rows[0][t.column("init_grad_ratio")] == "1e-300");
}

TEST_CASE("parse_csv rejects ragged rows and bad quoting with the line") {
  CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n3\n", "x.csv"), doctest::Contains("x.csv:3"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(parse_csv("a,b\n\"1,2\n", "x.csv"), doctest::Contains("unterminated"),
                       std::runtime_error);
  CHECK_THROWS_AS(parse_csv("", "x.csv"), std::runtime_error);
  const CsvTable t = parse_csv("a,b\r\n\"x\n\"\"y\",2\r\n", "x.csv");
  CHECK(t.rows[0][0] == "x\n\"y");
  CHECK_THROWS_WITH_AS(t.column("c"), doctest::Contains("no column 'c'"), std::runtime_error);
}

TEST_CASE(".npy files: numpy's format, read back exactly") {
  const fs::path dir = temp_dir("npy");
  Matrix<float> W(2, 3);
  W << 1, 2, 3, 4, 5, 6.5f;
  Vector<double> b(3);
  b << -1, 0.25, 1e-300;
  write_npy((dir / "W.npy").string(), W);
  write_npy((dir / "b.npy").string(), b);
  const std::string bytes = read_file((dir / "W.npy").string());
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK((bytes.size() - 2 * 3 * 4) % 64 == 0);  // header padded to 64 bytes
  CHECK(bytes.find("'descr': '<f4'") != std::string::npos);
  CHECK(bytes.find("'shape': (2, 3)") != std::string::npos);
  CHECK(read_npy((dir / "W.npy").string()) == W.cast<double>());
  const Matrix<double> back = read_npy((dir / "b.npy").string());
  CHECK(back.rows() == 3);
  CHECK(back.col(0) == b);
  fs::remove_all(dir);
}

TEST_CASE("write_file_atomic: an unwritable place is a clear error and leaves nothing") {
  CHECK_THROWS_WITH_AS(write_file_atomic("/nonexistent-dir/x.csv", "a"),
                       doctest::Contains("/nonexistent-dir/x.csv"), std::runtime_error);
  const fs::path dir = temp_dir("atomic");
  write_file_atomic((dir / "f.txt").string(), "first");
  write_file_atomic((dir / "f.txt").string(), "second");
  CHECK(read_file((dir / "f.txt").string()) == "second");
  fs::remove_all(dir);
}
