#include <doctest/doctest.h>
#include <zlib.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "initbench/data.hpp"

using namespace initbench;

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

// A fresh folder under the system's temporary directory, removed with everything in it. mkdtemp
// gives a unique name, so ctest may run these cases in parallel.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "initbench-data-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

using Bytes = std::vector<std::uint8_t>;

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

void put_u32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX file of unsigned bytes: magic 0x000008NN, the sizes, the data.
Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (const auto d : dims) put_u32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A small MNIST-like image set: count images of rows x cols with distinct pixel values.
Bytes pixels(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, std::uint8_t offset) {
  Bytes data(std::size_t{count} * rows * cols);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::uint8_t>((i * 37 + offset) % 256);
  return data;
}

// Writes a complete, valid IDX folder: 5 train and 3 test images of 3 x 2, labels in 0..3.
struct IdxFolder {
  TempDir dir;
  Bytes train_pixels = pixels(5, 3, 2, 0);
  Bytes test_pixels = pixels(3, 3, 2, 11);
  Bytes train_labels{3, 0, 1, 2, 1};
  Bytes test_labels{2, 0, 3};

  std::string train_images() const { return dir.file("train-images-idx3-ubyte"); }
  std::string train_labels_path() const { return dir.file("train-labels-idx1-ubyte"); }
  std::string test_images() const { return dir.file("t10k-images-idx3-ubyte.gz"); }
  std::string test_labels_path() const { return dir.file("t10k-labels-idx1-ubyte.gz"); }

  // Train raw, test gzip: one folder exercises both readers.
  IdxFolder() {
    write_raw(train_images(), idx_bytes({5, 3, 2}, train_pixels));
    write_raw(train_labels_path(), idx_bytes({5}, train_labels));
    write_gz(test_images(), idx_bytes({3, 3, 2}, test_pixels));
    write_gz(test_labels_path(), idx_bytes({3}, test_labels));
  }
  Dataset load(Index classes = 0) const { return load_idx(dir.path(), 0, 0, classes); }
};

// The message of the exception f throws (failing the test if it throws none, or another type).
template <typename Error = std::runtime_error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("no exception thrown");
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool same_bytes(const Matrix<double>& a, const Matrix<double>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}

bool same_dataset(const Dataset& a, const Dataset& b) {
  return same_bytes(a.X_train, b.X_train) && same_bytes(a.Y_train, b.Y_train) &&
         same_bytes(a.X_test, b.X_test) && same_bytes(a.Y_test, b.Y_test) &&
         a.num_classes == b.num_classes;
}

// Class of each column: the 0/1 value of a single row, else the row holding the 1 (checking that
// the column is one-hot).
std::vector<Index> classes_of(const Matrix<double>& Y) {
  std::vector<Index> out;
  for (Index j = 0; j < Y.cols(); ++j) {
    if (Y.rows() == 1) {
      REQUIRE((Y(0, j) == 0.0 || Y(0, j) == 1.0));
      out.push_back(static_cast<Index>(Y(0, j)));
    } else {
      Index k = 0;
      Y.col(j).maxCoeff(&k);
      REQUIRE(Y.col(j).sum() == 1.0);
      REQUIRE(Y(k, j) == 1.0);
      out.push_back(k);
    }
  }
  return out;
}

std::vector<Index> class_counts(const Matrix<double>& Y, Index classes) {
  std::vector<Index> counts(static_cast<std::size_t>(classes), 0);
  for (const Index k : classes_of(Y)) ++counts[static_cast<std::size_t>(k)];
  return counts;
}

DataSpec spec_of(const std::string& kind) {
  DataSpec spec;
  spec.kind = kind;
  return spec;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Synthetic generators
// ---------------------------------------------------------------------------------------------

TEST_CASE("data: circles keep sklearn's geometry: radii 1 and factor, half the points each") {
  const Dataset d = make_circles(300, 101, 0.0, 7, 0.5);
  CHECK(d.num_classes == 2);
  REQUIRE(d.X_train.rows() == 2);
  REQUIRE(d.X_train.cols() == 300);
  REQUIRE(d.Y_train.rows() == 1);
  REQUIRE(d.X_test.cols() == 101);
  for (const auto* set : {&d.X_train, &d.X_test}) {
    const Matrix<double>& X = *set;
    const Matrix<double>& Y = set == &d.X_train ? d.Y_train : d.Y_test;
    for (Index j = 0; j < X.cols(); ++j) {
      CHECK(X.col(j).norm() == doctest::Approx(Y(0, j) == 1.0 ? 0.5 : 1.0).epsilon(1e-12));
    }
  }
  CHECK(class_counts(d.Y_train, 2) == std::vector<Index>{150, 150});
  CHECK(class_counts(d.Y_test, 2) == std::vector<Index>{50, 51});  // the odd point goes inside
  // Noise is added afterwards: the same seed with noise moves the points by about `noise`.
  const Dataset noisy = make_circles(300, 101, 0.1, 7, 0.5);
  CHECK(same_bytes(noisy.Y_train, d.Y_train));
  const double rms = std::sqrt((noisy.X_train - d.X_train).squaredNorm() / 600.0);
  CHECK(rms == doctest::Approx(0.1).epsilon(0.15));
}

TEST_CASE("data: moons are two interleaving half circles (sklearn make_moons)") {
  const Dataset d = make_moons(301, 40, 0.0, 3);
  REQUIRE(d.X_train.rows() == 2);
  REQUIRE(d.Y_train.rows() == 1);
  CHECK(d.num_classes == 2);
  CHECK(class_counts(d.Y_train, 2) == std::vector<Index>{150, 151});
  CHECK(class_counts(d.Y_test, 2) == std::vector<Index>{20, 20});
  double outer_min_x = 1e9;
  double outer_max_x = -1e9;
  for (Index j = 0; j < d.X_train.cols(); ++j) {
    const double x = d.X_train(0, j);
    const double y = d.X_train(1, j);
    if (d.Y_train(0, j) == 0.0) {  // upper half of the unit circle
      CHECK(std::hypot(x, y) == doctest::Approx(1.0).epsilon(1e-12));
      CHECK(y >= -1e-12);
      outer_min_x = std::min(outer_min_x, x);
      outer_max_x = std::max(outer_max_x, x);
    } else {  // lower half of the unit circle centred at (1, 0.5)
      CHECK(std::hypot(x - 1.0, y - 0.5) == doctest::Approx(1.0).epsilon(1e-12));
      CHECK(y <= 0.5 + 1e-12);
    }
  }
  // linspace includes both ends: the outer moon reaches (1, 0) and (-1, 0).
  CHECK(outer_max_x == doctest::Approx(1.0));
  CHECK(outer_min_x == doctest::Approx(-1.0));
}

TEST_CASE("data: spirals: K arms of radii linspace(0, 1), balanced, one-hot for K > 2") {
  SUBCASE("three arms") {
    const Dataset d = make_spirals(301, 30, 3, 0.0, 5);
    CHECK(d.num_classes == 3);
    REQUIRE(d.Y_train.rows() == 3);
    REQUIRE(d.X_train.rows() == 2);
    CHECK(class_counts(d.Y_train, 3) == std::vector<Index>{101, 100, 100});
    CHECK(class_counts(d.Y_test, 3) == std::vector<Index>{10, 10, 10});
    // Without noise the radii of class k are exactly linspace(0, 1, N_k).
    const auto labels = classes_of(d.Y_train);
    for (Index k = 0; k < 3; ++k) {
      std::vector<double> radii;
      for (Index j = 0; j < d.X_train.cols(); ++j) {
        if (labels[static_cast<std::size_t>(j)] == k) radii.push_back(d.X_train.col(j).norm());
      }
      std::sort(radii.begin(), radii.end());
      const double n = static_cast<double>(radii.size() - 1);
      for (std::size_t j = 0; j < radii.size(); ++j) {
        CHECK(radii[j] == doctest::Approx(static_cast<double>(j) / n).epsilon(1e-12));
      }
    }
    // The outermost point of arm k sits at angle t = 4(k+1): (sin t, cos t).
    for (Index j = 0; j < d.X_train.cols(); ++j) {
      if (d.X_train.col(j).norm() > 1.0 - 1e-12) {
        const double t = 4.0 * static_cast<double>(labels[static_cast<std::size_t>(j)] + 1);
        CHECK(d.X_train(0, j) == doctest::Approx(std::sin(t)));
        CHECK(d.X_train(1, j) == doctest::Approx(std::cos(t)));
      }
    }
  }
  SUBCASE("two arms give one 0/1 row") {
    const Dataset d = make_spirals(200, 50, 2, 0.2, 5);
    CHECK(d.num_classes == 2);
    CHECK(d.Y_train.rows() == 1);
    CHECK(class_counts(d.Y_train, 2) == std::vector<Index>{100, 100});
  }
}

TEST_CASE("data: xor labels are sign(x) * sign(y) > 0 of the clean point") {
  const Dataset clean = make_xor(2000, 500, 0.0, 11);
  REQUIRE(clean.X_train.rows() == 2);
  REQUIRE(clean.Y_train.rows() == 1);
  CHECK(clean.num_classes == 2);
  for (Index j = 0; j < clean.X_train.cols(); ++j) {
    const double x = clean.X_train(0, j);
    const double y = clean.X_train(1, j);
    CHECK(std::abs(x) <= 1.0);
    CHECK(std::abs(y) <= 1.0);
    CHECK(clean.Y_train(0, j) == (x * y > 0 ? 1.0 : 0.0));
  }
  const double ones = clean.Y_train.sum() / 2000.0;
  CHECK(ones > 0.45);
  CHECK(ones < 0.55);
  // Noise moves the points but keeps their labels: same clean points, same labels.
  const Dataset noisy = make_xor(2000, 500, 0.1, 11);
  CHECK(same_bytes(noisy.Y_train, clean.Y_train));
  CHECK(same_bytes(noisy.Y_test, clean.Y_test));
  const double rms = std::sqrt((noisy.X_train - clean.X_train).squaredNorm() / 4000.0);
  CHECK(rms == doctest::Approx(0.1).epsilon(0.1));
}

TEST_CASE("data: checkerboard labels alternate over a 4 x 4 board of the clean point") {
  const Dataset clean = make_checkerboard(4000, 500, 0.0, 13);
  REQUIRE(clean.X_train.rows() == 2);
  REQUIRE(clean.Y_train.rows() == 1);
  CHECK(clean.num_classes == 2);
  std::vector<Index> per_cell(16, 0);
  for (Index j = 0; j < clean.X_train.cols(); ++j) {
    const double x = clean.X_train(0, j);
    const double y = clean.X_train(1, j);
    REQUIRE((x >= -1.0 && x < 1.0 && y >= -1.0 && y < 1.0));
    // the cell by comparisons, not by the generator's floor
    Index cx = 0, cy = 0;
    for (double edge : {-0.5, 0.0, 0.5}) {
      cx += x >= edge ? 1 : 0;
      cy += y >= edge ? 1 : 0;
    }
    ++per_cell[static_cast<std::size_t>(4 * cx + cy)];
    CHECK(clean.Y_train(0, j) == ((cx + cy) % 2 == 1 ? 1.0 : 0.0));
  }
  // every cell is populated, about 4000 / 16 = 250 each
  for (Index count : per_cell) CHECK((count > 180 && count < 320));
  // noise moves the points but keeps their labels
  const Dataset noisy = make_checkerboard(4000, 500, 0.1, 13);
  CHECK(same_bytes(noisy.Y_train, clean.Y_train));
  const double rms = std::sqrt((noisy.X_train - clean.X_train).squaredNorm() / 8000.0);
  CHECK(rms == doctest::Approx(0.1).epsilon(0.1));
}

TEST_CASE("data: blobs: K Gaussian clusters around centres shared by train and test") {
  const Index k_classes = 4;
  const Dataset d = make_blobs(400, 200, k_classes, 3, 0.5, 10.0, 2);
  REQUIRE(d.X_train.rows() == 3);
  REQUIRE(d.Y_train.rows() == k_classes);
  CHECK(d.num_classes == k_classes);
  CHECK(class_counts(d.Y_train, k_classes) == std::vector<Index>{100, 100, 100, 100});
  CHECK(class_counts(d.Y_test, k_classes) == std::vector<Index>{50, 50, 50, 50});
  // Class means of train and test agree (shared centres) and lie in the box; the spread is 0.5.
  const auto train_labels = classes_of(d.Y_train);
  const auto test_labels = classes_of(d.Y_test);
  for (Index k = 0; k < k_classes; ++k) {
    Eigen::Vector3d train_mean = Eigen::Vector3d::Zero();
    Eigen::Vector3d test_mean = Eigen::Vector3d::Zero();
    double spread = 0.0;
    for (Index j = 0; j < 400; ++j) {
      if (train_labels[static_cast<std::size_t>(j)] == k) train_mean += d.X_train.col(j) / 100.0;
    }
    for (Index j = 0; j < 200; ++j) {
      if (test_labels[static_cast<std::size_t>(j)] == k) test_mean += d.X_test.col(j) / 50.0;
    }
    for (Index j = 0; j < 400; ++j) {
      if (train_labels[static_cast<std::size_t>(j)] == k)
        spread += (d.X_train.col(j) - train_mean).squaredNorm();
    }
    CAPTURE(k);
    CHECK((train_mean - test_mean).norm() < 0.35);
    CHECK(train_mean.cwiseAbs().maxCoeff() < 10.5);
    CHECK(std::sqrt(spread / 300.0) == doctest::Approx(0.5).epsilon(0.15));
  }
  CHECK(make_blobs(100, 10, 2, 2, 1.0, 10.0, 2).Y_train.rows() == 1);
}

TEST_CASE("data: teacher: a fixed linear map, a tanh map, and argmax labels") {
  Teacher linear{6, 0, 3, false};
  SUBCASE("linear, no noise: train and test obey the same exact linear map") {
    const Dataset d = make_teacher(200, 50, linear, 0.0, 4);
    CHECK(d.num_classes == 0);
    REQUIRE(d.X_train.rows() == 6);
    REQUIRE(d.Y_train.rows() == 3);
    REQUIRE(d.X_test.cols() == 50);
    // Least squares on train recovers A; it predicts test to rounding error.
    const Eigen::MatrixXd A = d.X_train.transpose()
                                  .colPivHouseholderQr()
                                  .solve(d.Y_train.transpose())
                                  .transpose();  // (3, 6)
    CHECK((A * d.X_test - d.Y_test).cwiseAbs().maxCoeff() < 1e-10);
    // Inputs are N(0, 1); the 1/sqrt(d_in) scaling keeps outputs at unit scale.
    CHECK(d.X_train.squaredNorm() / 1200.0 == doctest::Approx(1.0).epsilon(0.15));
  }
  SUBCASE("output scale is about 1 for a wide linear teacher") {
    const Dataset d = make_teacher(2000, 0, Teacher{100, 0, 4, false}, 0.0, 9);
    CHECK(d.Y_train.squaredNorm() / 8000.0 == doctest::Approx(1.0).epsilon(0.4));
  }
  SUBCASE("tanh teacher is not linear") {
    const Dataset d = make_teacher(300, 10, Teacher{4, 16, 2, false}, 0.0, 4);
    REQUIRE(d.Y_train.rows() == 2);
    const Eigen::MatrixXd A =
        d.X_train.transpose().colPivHouseholderQr().solve(d.Y_train.transpose()).transpose();
    CHECK((A * d.X_train - d.Y_train).cwiseAbs().maxCoeff() > 1e-3);
  }
  SUBCASE("classification labels are the argmax of the regression teacher's outputs") {
    const Dataset reg = make_teacher(300, 100, linear, 0.0, 8);
    const Dataset cls = make_teacher(300, 100, Teacher{6, 0, 3, true}, 0.0, 8);
    CHECK(cls.num_classes == 3);
    REQUIRE(cls.Y_train.rows() == 3);
    const auto labels = classes_of(cls.Y_train);
    for (Index j = 0; j < 300; ++j) {
      Index best = 0;
      reg.Y_train.col(j).maxCoeff(&best);
      CHECK(labels[static_cast<std::size_t>(j)] == best);
    }
    for (const Index count : class_counts(cls.Y_train, 3)) CHECK(count > 30);
    const Dataset binary = make_teacher(100, 0, Teacher{6, 0, 2, true}, 0.0, 8);
    CHECK(binary.Y_train.rows() == 1);
    CHECK(binary.num_classes == 2);
  }
}

TEST_CASE("data: teacher with singular_values and whiten: the map's spectrum and white inputs") {
  const std::vector<double> s{3.0, 1.5, 0.5};
  Teacher teacher{6, 0, 4, false, s, true};
  const Dataset d = make_teacher(40, 10, teacher, 0.0, 3);
  const Eigen::MatrixXd& M = d.teacher_map;
  REQUIRE(M.rows() == 4);
  REQUIRE(M.cols() == 6);
  // the map's singular values are the given ones, the rest 0
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(M);
  const Eigen::VectorXd values = svd.singularValues();
  for (std::size_t k = 0; k < s.size(); ++k)
    CHECK(values(static_cast<Index>(k)) == doctest::Approx(s[k]).epsilon(1e-12));
  CHECK(values(3) < 1e-12);
  // the training inputs are exactly white: mean 0, (1/m) X X^T = I
  const Eigen::MatrixXd cov = d.X_train * d.X_train.transpose() / 40.0;
  CHECK((cov - Eigen::MatrixXd::Identity(6, 6)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(d.X_train.rowwise().mean().cwiseAbs().maxCoeff() < 1e-12);
  // train and test obey y = M x exactly (no noise), and without whiten the sample covariance of
  // 40 Gaussian inputs in 6 dimensions is visibly not I
  CHECK((M * d.X_train - d.Y_train).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((M * d.X_test - d.Y_test).cwiseAbs().maxCoeff() < 1e-12);
  teacher.whiten = false;
  const Dataset raw = make_teacher(40, 0, teacher, 0.0, 3);
  const Eigen::MatrixXd raw_cov = raw.X_train * raw.X_train.transpose() / 40.0;
  CHECK((raw_cov - Eigen::MatrixXd::Identity(6, 6)).cwiseAbs().maxCoeff() > 0.05);
  CHECK((raw.teacher_map - M).cwiseAbs().maxCoeff() == 0.0);  // the map is drawn first
  // the Gaussian linear teacher keeps its map too; a tanh teacher has none
  CHECK(make_teacher(20, 0, Teacher{6, 0, 3, false}, 0.0, 3).teacher_map.rows() == 3);
  CHECK(make_teacher(20, 0, Teacher{6, 4, 3, false}, 0.0, 3).teacher_map.size() == 0);
  // bad values
  CHECK_THROWS_WITH_AS(make_teacher(40, 0, Teacher{6, 0, 4, false, {3, 3}, false}, 0.0, 3),
                       doctest::Contains("strictly decreasing"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_teacher(40, 0, Teacher{6, 0, 4, false, {3, -1}, false}, 0.0, 3),
                       doctest::Contains("> 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_teacher(40, 0, Teacher{6, 0, 2, false, {3, 2, 1}, false}, 0.0, 3),
                       doctest::Contains("at most 2"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_teacher(40, 0, Teacher{6, 5, 2, false, {3}, false}, 0.0, 3),
                       doctest::Contains("linear teacher"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_teacher(6, 0, Teacher{6, 0, 2, false, {}, true}, 0.0, 3),
                       doctest::Contains("whiten needs more training samples"),
                       std::invalid_argument);
}

TEST_CASE("data: every synthetic kind: same seed same bytes, different seed different data") {
  for (const std::string kind : {"circles", "moons", "spirals", "xor", "blobs", "teacher"}) {
    CAPTURE(kind);
    DataSpec spec = spec_of(kind);
    const Dataset a = load_dataset(spec, 1);
    const Dataset b = load_dataset(spec, 1);
    const Dataset c = load_dataset(spec, 2);
    CHECK(a.name == kind);
    CHECK(a.X_train.cols() == 300);
    CHECK(a.X_test.cols() == 100);
    CHECK(same_dataset(a, b));
    CHECK_FALSE(same_bytes(a.X_train, c.X_train));
    CHECK_FALSE(same_bytes(a.X_test, c.X_test));
    CHECK(a.X_train.allFinite());
  }
  // The entry point passes the spec's fields on.
  DataSpec spec = spec_of("circles");
  spec.noise = 0.0;
  spec.factor = 0.3;
  CHECK(same_dataset(load_dataset(spec, 5), make_circles(300, 100, 0.0, 5, 0.3)));
  spec = spec_of("teacher");
  spec.features = 5;
  spec.hidden = 7;
  spec.classify = true;
  spec.classes = 4;
  CHECK(
      same_dataset(load_dataset(spec, 5), make_teacher(300, 100, Teacher{5, 7, 4, true}, 0.05, 5)));
}

TEST_CASE("data: bad parameters are std::invalid_argument naming the values") {
  DataSpec spec = spec_of("moon");
  CHECK(contains(error_of<std::invalid_argument>([&] { load_dataset(spec, 1); }),
                 "did you mean 'moons'"));
  spec = spec_of("circles");
  spec.classes = 3;
  CHECK(contains(error_of<std::invalid_argument>([&] { load_dataset(spec, 1); }), "got 3"));
  spec = spec_of("xor");
  spec.noise = -1;
  CHECK(contains(error_of<std::invalid_argument>([&] { load_dataset(spec, 1); }),
                 "xor: need noise >= 0; got -1"));
  spec = spec_of("spirals");
  spec.classes = 1;
  CHECK_THROWS_AS(load_dataset(spec, 1), std::invalid_argument);
  spec = spec_of("blobs");
  spec.cluster_std = -1;
  CHECK_THROWS_AS(load_dataset(spec, 1), std::invalid_argument);
  spec = spec_of("teacher");
  spec.features = 0;
  CHECK_THROWS_AS(load_dataset(spec, 1), std::invalid_argument);
  spec = spec_of("teacher");
  spec.classes = 3;  // without classify
  CHECK(contains(error_of<std::invalid_argument>([&] { load_dataset(spec, 1); }),
                 "needs classify = true"));
  CHECK(contains(error_of<std::invalid_argument>([] { make_circles(1, 0, 0.0, 1); }),
                 "got train 1, test 0"));
  CHECK_THROWS_AS(make_circles(10, 0, 0.0, 1, 1.5), std::invalid_argument);
  CHECK_THROWS_AS(make_moons(10, -1, 0.0, 1), std::invalid_argument);
  spec = spec_of("idx");
  CHECK_THROWS_AS(load_dataset(spec, 1), std::invalid_argument);  // no path
}

// ---------------------------------------------------------------------------------------------
// IDX files
// ---------------------------------------------------------------------------------------------

TEST_CASE("data: idx: raw and gzip files read back exactly") {
  const IdxFolder folder;
  SUBCASE("read_idx") {
    const IdxArray raw = read_idx(folder.train_images(), 3);
    CHECK(raw.dims == std::vector<std::uint32_t>{5, 3, 2});
    CHECK(raw.data == folder.train_pixels);
    const IdxArray gz = read_idx(folder.test_labels_path(), 1);
    CHECK(gz.dims == std::vector<std::uint32_t>{3});
    CHECK(gz.data == folder.test_labels);
  }
  SUBCASE("load_idx: pixels / 255 in row-major order, one-hot labels, classes from the data") {
    const Dataset d = folder.load();
    CHECK(d.num_classes == 4);  // largest label 3
    REQUIRE(d.X_train.rows() == 6);
    REQUIRE(d.X_train.cols() == 5);
    REQUIRE(d.X_test.cols() == 3);
    REQUIRE(d.Y_train.rows() == 4);
    for (Index j = 0; j < 5; ++j) {
      for (Index p = 0; p < 6; ++p) {
        CHECK(d.X_train(p, j) == folder.train_pixels[static_cast<std::size_t>(j * 6 + p)] / 255.0);
      }
    }
    for (Index j = 0; j < 3; ++j) {
      for (Index p = 0; p < 6; ++p) {
        CHECK(d.X_test(p, j) == folder.test_pixels[static_cast<std::size_t>(j * 6 + p)] / 255.0);
      }
    }
    CHECK(classes_of(d.Y_train) == std::vector<Index>{3, 0, 1, 2, 1});
    CHECK(classes_of(d.Y_test) == std::vector<Index>{2, 0, 3});
    CHECK(folder.load(10).Y_train.rows() == 10);
  }
  SUBCASE("limits keep the first N; classes still come from every label") {
    const Dataset d = load_idx(folder.dir.path(), 2, 1);
    CHECK(d.X_train.cols() == 2);
    CHECK(d.X_test.cols() == 1);
    CHECK(d.num_classes == 4);
    CHECK(classes_of(d.Y_train) == std::vector<Index>{3, 0});
    CHECK(d.X_train(5, 1) == folder.train_pixels[11] / 255.0);
    DataSpec spec = spec_of("idx");
    spec.path = folder.dir.path();
    spec.limit_train = 100;  // more than there are: all of them
    CHECK(load_dataset(spec, 1).X_train.cols() == 5);
  }
}

TEST_CASE("data: idx: every malformed file is a runtime_error naming the file") {
  IdxFolder folder;
  const auto train_images = folder.train_images();
  const auto train_labels = folder.train_labels_path();
  auto load_error = [&] { return error_of([&] { folder.load(); }); };
  auto expect = [&](const std::string& path, const std::string& what) {
    const std::string message = load_error();
    CAPTURE(message);
    CHECK(contains(message, path));
    CHECK(contains(message, what));
  };
  SUBCASE("missing file") {
    fs::remove(train_labels);
    expect(folder.dir.file("train-labels-idx1-ubyte.gz"),
           "no such file (also tried train-labels-idx1-ubyte,");
    CHECK(contains(error_of([&] { read_idx(train_labels, 1); }), train_labels + ": no such file"));
  }
  SUBCASE("missing folder") {
    CHECK(contains(error_of([&] { load_idx(folder.dir.file("nope"), 0, 0); }), "no such folder"));
  }
  SUBCASE("bad magic number") {
    Bytes bytes = idx_bytes({5, 3, 2}, folder.train_pixels);
    bytes[2] = 0x0D;  // float data
    write_raw(train_images, bytes);
    expect(train_images, "bad magic number 0x00000D03");
    write_raw(train_images, Bytes{'G', 'I', 'F', '8', '9', 'a'});
    expect(train_images, "bad magic number");
  }
  SUBCASE("wrong dimension count") {
    write_raw(train_images, idx_bytes({5, 6}, folder.train_pixels));
    expect(train_images, "wrong dimension count");
  }
  SUBCASE("truncated header") {
    write_raw(train_labels, Bytes{0, 0, 8});
    expect(train_labels, "truncated header");
    write_raw(train_images, Bytes{0, 0, 8, 3, 0, 0, 0, 5, 0, 0});
    expect(train_images, "truncated header");
  }
  SUBCASE("truncated data") {
    Bytes bytes = idx_bytes({5, 3, 2}, folder.train_pixels);
    bytes.pop_back();
    write_raw(train_images, bytes);
    expect(train_images, "truncated data");
  }
  SUBCASE("a header claiming 2^31 images is truncated, not a 16 GB allocation") {
    write_raw(train_images, idx_bytes({0x80000000U, 28, 28}, Bytes(100, 1)));
    const auto start = std::chrono::steady_clock::now();
    expect(train_images, "truncated data");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    write_raw(train_images, idx_bytes({0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU}, Bytes(10, 1)));
    expect(train_images, "overflow");
  }
  SUBCASE("bytes after the data") {
    Bytes bytes = idx_bytes({5, 3, 2}, folder.train_pixels);
    bytes.push_back(0);
    write_raw(train_images, bytes);
    expect(train_images, "after the");
  }
  SUBCASE("label count does not match image count") {
    write_raw(train_labels, idx_bytes({4}, Bytes{0, 1, 2, 3}));
    expect(train_labels, "4 labels, but");
  }
  SUBCASE("test images of another size") {
    write_gz(folder.test_images(), idx_bytes({3, 2, 3}, folder.test_pixels));
    expect(folder.test_images(), "training images are 3 x 2");
  }
  SUBCASE("cut gzip stream") {
    Bytes gz = read_raw(folder.test_images());
    gz.resize(gz.size() / 2);
    write_raw(folder.test_images(), gz);
    expect(folder.test_images(), "broken gzip stream");
  }
  SUBCASE("corrupt gzip stream") {
    // Enough compressible data that the deflate stream has a body to damage.
    const Bytes big = idx_bytes({400, 3, 2}, pixels(400, 3, 2, 11));
    write_gz(folder.test_images(), big);
    write_gz(folder.test_labels_path(), idx_bytes({400}, Bytes(400, 1)));
    Bytes gz = read_raw(folder.test_images());
    REQUIRE(gz.size() > 40);
    for (std::size_t i = 20; i < gz.size() - 10; i += 7)
      gz[i] = static_cast<std::uint8_t>(gz[i] ^ 0x5A);
    write_raw(folder.test_images(), gz);
    expect(folder.test_images(), "broken gzip stream");
  }
  SUBCASE("labels out of range for a fixed number of classes") {
    const std::string message = error_of([&] { folder.load(3); });
    CHECK(contains(message, train_labels));
    CHECK(contains(message, "label 3 of item 0 is out of range for classes = 3"));
  }
}

TEST_CASE("data: idx: the real Fashion-MNIST (when installed)") {
  const std::string folder = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(folder)) {
    MESSAGE("skipped: " << folder << " is missing (apt-get install dataset-fashion-mnist)");
    return;
  }
  DataSpec spec = spec_of("idx");
  spec.path = folder;
  spec.limit_train = 1000;
  spec.limit_test = 500;
  const Dataset d = load_dataset(spec, 1);
  CHECK(d.name == "fashion-mnist");
  CHECK(d.num_features() == 784);
  CHECK(d.num_classes == 10);
  CHECK(d.Y_train.rows() == 10);
  CHECK(d.X_train.cols() == 1000);
  CHECK(d.X_test.cols() == 500);
  CHECK(d.X_train.minCoeff() == 0.0);
  CHECK(d.X_train.maxCoeff() == 1.0);
  CHECK(d.X_test.minCoeff() >= 0.0);
  CHECK(d.X_test.maxCoeff() <= 1.0);
  for (const Index count : class_counts(d.Y_train, 10)) CHECK(count > 50);  // about 100 each
}

// ---------------------------------------------------------------------------------------------
// CSV files
// ---------------------------------------------------------------------------------------------

TEST_CASE("data: csv: features, labels, targets, test file and split") {
  TempDir dir;
  const std::string train = dir.file("iris_small.csv");
  const std::string test = dir.file("iris_small_test.csv");
  // A byte-order mark, quoted names, spaces, CRLF line ends and a blank line are all accepted.
  write_text(train,
             "\xEF\xBB\xBF\"a\", b ,label,y2\r\n"
             "1.5,2,0,10\r\n"
             "-3,4e-1,2,11\r\n"
             "\r\n"
             "5,6,1,12\r\n"
             "7,8,2,13\r\n");
  write_text(test, "label,b,a,y2\n1,20,10,14\n");  // the same columns in another order
  DataSpec spec = spec_of("csv");
  spec.path = train;
  spec.test_path = test;
  spec.label = "label";
  SUBCASE("classification with a test file") {
    const Dataset d = load_dataset(spec, 1);
    CHECK(d.name == "iris_small");
    CHECK(d.num_classes == 3);
    Matrix<double> X(3, 4);  // features a, b, y2 in file order
    X << 1.5, -3, 5, 7, 2, 0.4, 6, 8, 10, 11, 12, 13;
    CHECK(same_bytes(d.X_train, X));
    CHECK(classes_of(d.Y_train) == std::vector<Index>{0, 2, 1, 2});
    Matrix<double> X_test(3, 1);
    X_test << 10, 20, 14;
    CHECK(same_bytes(d.X_test, X_test));
    CHECK(classes_of(d.Y_test) == std::vector<Index>{1});
    spec.limit_train = 2;
    CHECK(load_dataset(spec, 1).X_train.cols() == 2);
  }
  SUBCASE("regression with two targets") {
    spec.label.clear();
    spec.targets = {"y2", "b"};
    const Dataset d = load_dataset(spec, 1);
    CHECK(d.num_classes == 0);
    REQUIRE(d.Y_train.rows() == 2);
    REQUIRE(d.X_train.rows() == 2);  // a, label
    CHECK(d.Y_train(0, 1) == 11.0);
    CHECK(d.Y_train(1, 1) == 0.4);
    CHECK(d.X_train(1, 2) == 1.0);
    CHECK(d.Y_test(0, 0) == 14.0);
  }
  SUBCASE("binary labels give one 0/1 row") {
    write_text(train, "x,label\n0.5,1\n0.25,0\n");
    write_text(test, "x,label\n0.75,1\n");
    const Dataset d = load_dataset(spec, 1);
    CHECK(d.num_classes == 2);
    CHECK(d.Y_train.rows() == 1);
    CHECK(classes_of(d.Y_train) == std::vector<Index>{1, 0});
  }
  SUBCASE("test_fraction split: deterministic, disjoint, everything used once") {
    std::string text = "id,x,label\n";
    for (int i = 0; i < 50; ++i)
      text +=
          std::to_string(i) + "," + std::to_string(i * 0.5) + "," + std::to_string(i % 3) + "\n";
    write_text(train, text);
    spec.test_path.clear();
    spec.test_fraction = 0.3;
    const Dataset a = load_dataset(spec, 4);
    CHECK(a.X_train.cols() == 35);
    CHECK(a.X_test.cols() == 15);
    CHECK(same_dataset(a, load_dataset(spec, 4)));
    CHECK_FALSE(same_bytes(a.X_test, load_dataset(spec, 5).X_test));
    std::vector<double> ids;
    for (const auto* X : {&a.X_train, &a.X_test}) {
      for (Index j = 0; j < X->cols(); ++j) ids.push_back((*X)(0, j));
    }
    std::sort(ids.begin(), ids.end());
    for (std::size_t i = 0; i < ids.size(); ++i) CHECK(ids[i] == static_cast<double>(i));
    // Each set keeps file order, and its labels follow their rows.
    for (Index j = 1; j < a.X_test.cols(); ++j) CHECK(a.X_test(0, j) > a.X_test(0, j - 1));
    const auto labels = classes_of(a.Y_test);
    for (Index j = 0; j < a.X_test.cols(); ++j) {
      CHECK(labels[static_cast<std::size_t>(j)] == static_cast<Index>(a.X_test(0, j)) % 3);
    }
  }
}

TEST_CASE("data: csv: every malformed file is an error naming file:line") {
  TempDir dir;
  const std::string path = dir.file("bad.csv");
  DataSpec spec = spec_of("csv");
  spec.path = path;
  spec.label = "label";
  spec.test_fraction = 0.0;
  auto expect = [&](const std::string& text, const std::string& where, const std::string& what,
                    const std::string& file = "") {
    write_text(path, text);
    const std::string message = error_of([&] { load_dataset(spec, 1); });
    CAPTURE(message);
    CHECK(contains(message, (file.empty() ? path : file) + where));
    CHECK(contains(message, what));
  };
  expect("", ":", "empty file");
  expect("\n  \n", ":", "empty file");
  expect("x,label\n", ":", "no data rows");
  expect("x,label\n1,0\n2,1,3\n", ":3:", "3 cells, but the header has 2 columns");
  expect("x,label\n1,0\n2\n", ":3:", "1 cells");
  expect("x,label\n1,0\n\nabc,1\n", ":4:", "column 'x': 'abc' is not a number");
  expect("x,label\n1,0\n,1\n", ":3:", "'' is not a number");
  expect("x,label\nnan,0\n", ":2:", "not finite");
  expect("x,label\n1,0\n-inf,1\n", ":3:", "not finite");
  expect("x,labels\n1,0\n",
         ":1:", "no label column 'label' (columns: x, labels) (did you mean 'labels'?)");
  expect("x,x,label\n1,2,0\n", ":1:", "duplicate column 'x'");
  expect("x,label\n1,0\n2,-1\n", ":3:", "-1 is not a class index");
  expect("x,label\n1,0\n2,1.5\n", ":3:", "1.5 is not a class index");
  expect("label\n1\n", ":1:", "no feature columns");
  spec.classes = 2;
  expect("x,label\n1,0\n2,2\n", ":3:", "2 is out of range for classes = 2");
  spec.classes = 0;
  spec.targets = {"y"};
  CHECK_THROWS_AS(load_dataset(spec, 1), std::invalid_argument);  // label and targets both set
  spec.label.clear();
  expect("x,y1\n1,2\n", ":1:", "no target column 'y'");
  spec.label = "label";
  spec.targets.clear();
  spec.test_path = dir.file("test.csv");
  write_text(spec.test_path, "x,label\n1,0\n");
  expect("x,label,z\n1,0,3\n", ":1:", "no column 'z', which the training file", spec.test_path);
  write_text(spec.test_path, "x,label,w\n1,0,5\n");
  expect("x,label\n1,0\n", ":1:", "column 'w' is not in the training file", spec.test_path);
  write_text(spec.test_path, "x,label\n1,0\n2,x\n");
  expect("x,label\n1,0\n", ":3:", "column 'label': 'x' is not a number", spec.test_path);
  spec.test_path = dir.file("absent.csv");
  CHECK(contains(error_of([&] { load_dataset(spec, 1); }), "absent.csv: no such file"));
}

// ---------------------------------------------------------------------------------------------
// Standardization
// ---------------------------------------------------------------------------------------------

TEST_CASE("data: standardize: training mean 0 and std 1, test uses the training statistics") {
  DataSpec spec = spec_of("blobs");
  spec.features = 3;
  const Dataset raw = load_dataset(spec, 3);
  spec.standardize = true;
  const Dataset d = load_dataset(spec, 3);
  const double m = static_cast<double>(raw.X_train.cols());
  for (Index i = 0; i < 3; ++i) {
    const double mean = raw.X_train.row(i).mean();
    const double stddev = std::sqrt((raw.X_train.row(i).array() - mean).square().sum() / m);
    CHECK(std::abs(d.X_train.row(i).mean()) < 1e-12);
    CHECK(std::sqrt(d.X_train.row(i).squaredNorm() / m) == doctest::Approx(1.0).epsilon(1e-12));
    for (Index j = 0; j < raw.X_test.cols(); ++j) {
      CHECK(d.X_test(i, j) == doctest::Approx((raw.X_test(i, j) - mean) / stddev).epsilon(1e-12));
    }
  }
  CHECK(same_bytes(d.Y_train, raw.Y_train));

  // A constant feature is centred, not divided by zero.
  Dataset constant;
  // 0.1 is the hard case: three 0.1s average to 0.10000000000000002, whose tiny "std" would
  // turn the rounding error into +-1.
  constant.X_train = Matrix<double>::Constant(2, 3, 0.1);
  constant.X_train.row(1) << 1, 2, 3;
  constant.X_test = Matrix<double>::Constant(2, 1, 5.0);
  standardize(constant);
  CHECK(constant.X_train.row(0).isZero(0.0));
  CHECK(constant.X_test(0, 0) == 5.0 - 0.1);
  CHECK(constant.X_test(1, 0) == doctest::Approx((5.0 - 2.0) / std::sqrt(2.0 / 3.0)));
}

TEST_CASE("data: input_scale multiplies train and test after standardize") {
  DataSpec spec = spec_of("blobs");
  spec.features = 3;
  spec.standardize = true;
  const Dataset standardized = load_dataset(spec, 3);
  spec.input_scale = 0.125;
  const Dataset scaled = load_dataset(spec, 3);
  // A power of 2: exact, so the scaled data are the standardized ones times 0.125, bit for bit.
  CHECK(same_bytes(Matrix<double>(standardized.X_train * 0.125), scaled.X_train));
  CHECK(same_bytes(Matrix<double>(standardized.X_test * 0.125), scaled.X_test));
  CHECK(same_bytes(standardized.Y_train, scaled.Y_train));
  const double m = static_cast<double>(scaled.X_train.cols());
  for (Index i = 0; i < 3; ++i)
    CHECK(scaled.X_train.row(i).squaredNorm() / m == doctest::Approx(0.125 * 0.125));
  DataSpec other;
  other.input_scale = 2.0;
  CHECK(other != DataSpec{});
}

// ---------------------------------------------------------------------------------------------
// Validation split
// ---------------------------------------------------------------------------------------------

TEST_CASE("data: validation holds out the last N training samples, disjoint from training") {
  SUBCASE("idx: the first m - N images train, the last N validate, test untouched") {
    const IdxFolder folder;
    DataSpec spec = spec_of("idx");
    spec.path = folder.dir.path();
    const Dataset all = load_dataset(spec, 1);
    REQUIRE(all.X_train.cols() == 5);
    CHECK(all.X_val.cols() == 0);  // no split by default
    spec.validation = 2;
    const Dataset d = load_dataset(spec, 1);
    REQUIRE(d.X_train.cols() == 3);
    REQUIRE(d.X_val.cols() == 2);
    REQUIRE(d.Y_val.cols() == 2);
    CHECK(same_bytes(d.X_train, all.X_train.leftCols(3)));
    CHECK(same_bytes(d.Y_train, all.Y_train.leftCols(3)));
    CHECK(same_bytes(d.X_val, all.X_train.rightCols(2)));
    CHECK(same_bytes(d.Y_val, all.Y_train.rightCols(2)));
    CHECK(same_bytes(d.X_test, all.X_test));
    CHECK(classes_of(d.Y_val) == std::vector<Index>{2, 1});  // labels 3, 0, 1 | 2, 1
    // Disjoint: no validation image is a training image (the fixture's images are distinct).
    for (Index v = 0; v < d.X_val.cols(); ++v) {
      for (Index t = 0; t < d.X_train.cols(); ++t) CHECK(d.X_val.col(v) != d.X_train.col(t));
    }
    // After limit_train: limit 4, validation 1 trains on images 0-2 and validates on image 3.
    spec.limit_train = 4;
    spec.validation = 1;
    const Dataset limited = load_dataset(spec, 1);
    CHECK(same_bytes(limited.X_train, all.X_train.leftCols(3)));
    CHECK(same_bytes(limited.X_val, all.X_train.middleCols(3, 1)));
  }
  SUBCASE("synthetic: the split does not change the generated samples") {
    DataSpec spec = spec_of("blobs");
    spec.train = 40;
    const Dataset all = load_dataset(spec, 9);
    spec.validation = 15;
    const Dataset d = load_dataset(spec, 9);
    CHECK(same_bytes(d.X_train, all.X_train.leftCols(25)));
    CHECK(same_bytes(d.X_val, all.X_train.rightCols(15)));
    CHECK(same_bytes(d.Y_val, all.Y_train.rightCols(15)));
    CHECK(same_bytes(d.X_test, all.X_test));
  }
  SUBCASE("standardize takes its statistics from the training part only") {
    DataSpec spec = spec_of("blobs");
    spec.train = 40;
    spec.validation = 15;
    const Dataset raw = load_dataset(spec, 9);
    spec.standardize = true;
    const Dataset d = load_dataset(spec, 9);
    for (Index i = 0; i < raw.X_train.rows(); ++i) {
      const double mean = raw.X_train.row(i).mean();
      const double stddev = std::sqrt((raw.X_train.row(i).array() - mean).square().sum() / 25.0);
      CHECK(std::abs(d.X_train.row(i).mean()) < 1e-12);
      for (Index j = 0; j < 15; ++j) {
        CHECK(d.X_val(i, j) == doctest::Approx((raw.X_val(i, j) - mean) / stddev).epsilon(1e-12));
      }
    }
  }
  SUBCASE("errors name data.validation, the count and what is allowed") {
    DataSpec spec = spec_of("circles");
    spec.train = 30;
    spec.validation = 30;
    auto check_error = [](const std::function<void()>& f, const std::string& part) {
      try {
        f();
        FAIL("no exception thrown");
      } catch (const RunCheckError& e) {
        CHECK(e.keys.front() == "data.validation");
        INFO(std::string(e.what()));
        INFO(part);
        CHECK(contains(e.what(), part));
      }
    };
    check_error([&] { check_data_spec(spec); },
                "data.validation = 30: data.train generates 30 training samples; hold out fewer, "
                "0 <= validation < 30");
    spec.validation = 29;
    check_data_spec(spec);  // one sample left: allowed
    CHECK(load_dataset(spec, 1).X_train.cols() == 1);
    const IdxFolder folder;
    DataSpec idx = spec_of("idx");
    idx.path = folder.dir.path();
    idx.validation = 5;
    check_data_spec(idx);  // file data: the count is known once the files are read
    check_error([&] { load_dataset(idx, 1); },
                "'" + fs::path(folder.dir.path()).filename().string() + "' has 5 training samples");
    idx.limit_train = 3;
    idx.validation = 3;
    check_error([&] { load_dataset(idx, 1); },
                "has 3 training samples; hold out fewer, 0 <= validation < 3");
    Dataset data = load_dataset(spec_of("circles"), 1);
    check_error([&] { split_validation(data, -1); }, "must be >= 0");
  }
}

TEST_CASE("DataSpec compares by value, every field, and says whether the seed matters") {
  const DataSpec base;
  CHECK(base == DataSpec{});
  DataSpec other = base;
  other.limit_test = 5;
  CHECK(other != base);
  other = base;
  other.targets = {"y"};
  CHECK(other != base);
  CHECK((other < base || base < other));
  other = base;
  other.standardize = true;
  CHECK(other != base);
  other = base;
  other.validation = 10;
  CHECK(other != base);
  CHECK(base.seeded());
  other = base;
  other.kind = "idx";
  CHECK(!other.seeded());
  other.kind = "csv";
  CHECK(other.seeded());  // split at random
  other.test_path = "test.csv";
  CHECK(!other.seeded());
}

TEST_CASE("every dataset kind's shape from the spec is the shape of the data it loads") {
  // The registry's shape and loader of a kind are two functions; for every synthetic kind and a
  // few class counts and sizes they must agree, or the spec checker would pass networks the
  // data cannot feed.
  for (const DatasetKind& kind : dataset_registry()) {
    CAPTURE(kind.name);
    CHECK(&dataset_kind(kind.name) == &kind);
    if (kind.shape == nullptr) continue;  // file data: known once loaded
    for (Index classes : {Index{0}, Index{2}, Index{4}}) {
      for (bool classify : {false, true}) {
        for (Index validation : {Index{0}, Index{5}}) {
          DataSpec spec;
          spec.kind = kind.name;
          spec.train = 12;
          spec.test = 5;
          spec.features = 3;
          spec.outputs = 2;
          spec.classify = classify;
          spec.classes = classes;
          spec.validation = validation;  // the shape's train is what is left: 12 or 7
          CAPTURE(classes);
          CAPTURE(classify);
          CAPTURE(validation);
          try {
            check_data_spec(spec);
          } catch (const RunCheckError&) {
            continue;  // a combination the kind refuses (e.g. 4 classes of circles)
          }
          const std::optional<DataShape> expected = synthetic_shape(spec);
          REQUIRE(expected.has_value());
          const Dataset data = load_dataset(spec, 7);
          const DataShape got = data_shape(spec, data);
          CHECK(got.inputs == expected->inputs);
          CHECK(got.outputs == expected->outputs);
          CHECK(got.classes == expected->classes);
          CHECK(got.train == expected->train);
          CHECK(got.train == 12 - validation);
          CHECK(data.X_val.cols() == validation);
          CHECK(spec.seeded());
        }
      }
    }
  }
  CHECK_THROWS_WITH_AS(dataset_kind("circle"), doctest::Contains("did you mean 'circles'"),
                       std::invalid_argument);
}
