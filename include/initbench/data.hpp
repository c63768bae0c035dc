// data.hpp: datasets as matrices with samples as columns.
//
// Every dataset is held in double; a run converts it once to its network's precision.
// Targets: a (k, m) matrix. Labels of a problem with 2 classes are ONE row of 0/1 (a sigmoid
// output, num_classes = 2); K > 2 classes are K one-hot rows (a softmax output, num_classes = K);
// regression targets are real rows and num_classes = 0.
//
// Randomness: every synthetic generator (and the CSV train/test split) draws from
// Rng(seed, 0, stream::kData) only, the training set first and then the test set, so a dataset
// is a pure function of (spec, seed). The generators use libm's sin, cos and tanh, whose last bit
// may differ between C libraries; everything else is bit-identical everywhere.
//
// Sections: the dataset, the single entry point (DataSpec, load_dataset), the synthetic
// generators, the file readers (IDX, CSV), standardization.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "initbench/types.hpp"

namespace initbench {

// ---------------------------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------------------------

struct Dataset {
  std::string name;
  Matrix<double> X_train;  // (n_features, m_train)
  Matrix<double> Y_train;  // (n_targets, m_train)
  Matrix<double> X_test;   // (n_features, m_test)
  Matrix<double> Y_test;   // (n_targets, m_test)
  // Held out of the training samples (DataSpec::validation), never trained on; empty (0 columns)
  // without a split.
  Matrix<double> X_val;   // (n_features, m_val)
  Matrix<double> Y_val;   // (n_targets, m_val)
  Index num_classes = 0;  // 0 for regression; 2 for binary (one sigmoid target row)
  // A linear teacher's map, y = teacher_map x + noise (d_out, d_in), in the coordinates of
  // X_train before standardize(); empty for every other dataset (the modes probe reads it).
  Matrix<double> teacher_map;

  Index num_features() const { return X_train.rows(); }
  Index num_targets() const { return Y_train.rows(); }
};

// ---------------------------------------------------------------------------------------------
// The single entry point
// ---------------------------------------------------------------------------------------------

// What to load. Fields a kind does not use are ignored, except `classes` (see there). The
// defaults are the course's circles.
struct DataSpec {
  // circles | moons | spirals | xor | blobs | teacher | checkerboard (synthetic), idx | csv
  // (files).
  std::string kind = "circles";
  // synthetic: number of training samples to generate (>= 1; circles and moons >= 2; spirals and
  // blobs >= classes, so that every class is in the training set).
  Index train = 300;
  Index test = 100;  // synthetic: number of test samples to generate (>= 0)
  // Synthetic noise (>= 0): circles, moons, xor: stddev of N(0, noise^2) added to each
  // coordinate; spirals: stddev of the angle noise; teacher: stddev of N(0, noise^2) added to
  // each teacher output (before the argmax when classifying). Unused by blobs (see cluster_std).
  double noise = 0.05;
  // Number of classes; 0 means the kind's natural value. circles, moons, xor: must be 0 or 2.
  // spirals: 0 -> 2. blobs: 0 -> 3 (sklearn's default). teacher with classify: 0 -> 2.
  // idx, csv: 0 -> max label + 1 over the train and test files (at least 2); a positive value
  // fixes it, and any label >= classes is an error. teacher regression, csv targets: must be 0.
  Index classes = 0;
  double factor = 0.8;       // circles: radius of the inner circle, in [0, 1)
  Index features = 2;        // blobs, teacher: input dimension d_in (>= 1)
  double cluster_std = 1.0;  // blobs: stddev of each blob (sklearn's cluster_std)
  double center_box = 10.0;  // blobs: centres are uniform in [-center_box, center_box]^features
  Index hidden = 0;          // teacher: 0 for a linear teacher, else one tanh hidden layer's width
  Index outputs = 1;         // teacher regression: output dimension d_out (>= 1)
  bool classify = false;     // teacher: labels = argmax of `classes` teacher outputs
  // Linear teacher regression: the singular values s_1 > ... > s_r > 0 of its map, r <=
  // min(features, outputs) (empty: A / sqrt(d_in) with Gaussian A); see make_teacher.
  std::vector<double> singular_values;
  // Teacher: make the training inputs exactly white, (1/m) X X^T = I and zero mean (needs
  // train > features); see make_teacher.
  bool whiten = false;
  // Files. idx: the folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
  // csv: the training file (a header row, then one sample per row).
  std::string path;
  std::string test_path;             // csv: the test file, with the same columns; empty to split
  double test_fraction = 0.2;        // csv without test_path: round(m * fraction) rows go to test
  std::string label;                 // csv classification: the integer label column (>= 0)
  std::vector<std::string> targets;  // csv regression: the target columns (set this or label)
  Index limit_train = 0;             // idx, csv: keep at most the first N training samples; 0 = all
  Index limit_test = 0;              // idx, csv: keep at most the first N test samples; 0 = all
  // Every kind: the last N of the training samples (after limit_train) become the validation set
  // (Dataset::X_val), never trained on; 0 = no split. Must leave at least one sample to train on.
  Index validation = 0;
  // Rescale each feature by the training set's mean and (population) stddev, applied to train
  // and test alike; see standardize().
  bool standardize = false;
  // Multiply every input, train, validation and test, by this factor (after standardize): sets the
  // inputs' mean square q_0 (a standardized input with scale a has q_0 = a^2), e.g. to start a
  // network at its mean-field fixed point q*.
  double input_scale = 1.0;
  // Synthetic data's generator: "initbench" (the project's own, keyed by the run's seed) or
  // "numpy" (circles only): NumPy's legacy RandomState, seeded as np.random.seed(numpy_seed)
  // before the training set and np.random.seed(numpy_test_seed) before the test set, each drawn
  // as scikit-learn's make_circles draws it, so that published NumPy code is reproduced bit for
  // bit. The data then do not depend on the run's seed.
  std::string generator = "initbench";
  std::int64_t numpy_seed = -1;  // -1: not set (required with generator = "numpy")
  std::int64_t numpy_test_seed = -1;

  // Whether the data depend on the run's seed: every synthetic kind, and a CSV file split at
  // random (no test_path); an IDX folder or CSV files with their own test set do not.
  bool seeded() const;
  // By value, every field: runs share a loaded dataset exactly when their specs are equal.
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted comparison
  friend auto operator<=>(const DataSpec&, const DataSpec&) = default;
};

// What a run can know of its data before loading them: the network's ends and the targets.
struct DataShape {
  Index inputs = 0;
  Index outputs = 0;  // target rows: 1 for binary labels (one 0/1 row), K for K > 2 classes
  Index classes = 0;  // 0: regression
  Index train = 0;    // training samples
  std::string kind;   // for messages
};
DataShape data_shape(const DataSpec& spec, const Dataset& data);

// A run that cannot work on its data; `keys` are the spec keys to blame, most specific first.
struct RunCheckError : std::invalid_argument {
  RunCheckError(std::vector<std::string> k, const std::string& what)
      : std::invalid_argument(what), keys(std::move(k)) {}
  std::vector<std::string> keys;
};

// One dataset kind, declared once (src/data/datasets.cpp): everything the spec checker, the
// runner and load_dataset know of it. `classes` below is the spec's data.classes, or the kind's
// natural count when that is 0.
struct DatasetKind {
  const char* name = "";
  Index natural_classes = 0;   // classes when data.classes = 0; 0: read from the files
  bool fixed_classes = false;  // only natural_classes is allowed (circles, moons, xor)
  bool numpy = false;          // data.generator = "numpy" exists for it
  // The shape from the spec alone; null for file data (known once loaded).
  DataShape (*shape)(const DataSpec&, Index classes) = nullptr;
  // The spec's fields against this kind beyond single values (class counts, sample minimums,
  // required keys); throws RunCheckError naming the keys to blame. Null: nothing to check.
  void (*check)(const DataSpec&, Index classes) = nullptr;
  // Generates or loads the data (before standardization).
  Dataset (*load)(const DataSpec&, Index classes, std::uint64_t seed) = nullptr;
  // Whether the data depend on the run's seed (generator "initbench"); null: they always do.
  bool (*seeded)(const DataSpec&) = nullptr;
};

// Every kind, in the order above; the entry of one (std::invalid_argument naming the closest
// kind for an unknown name); the names alone.
const std::vector<DatasetKind>& dataset_registry();
const DatasetKind& dataset_kind(std::string_view name);
const std::vector<std::string>& dataset_kinds();

// The shape of a dataset whose kind generates it from the spec alone; nullopt for file data.
std::optional<DataShape> synthetic_shape(const DataSpec& spec);

// The kind's checks of `spec` (DatasetKind::check, with the fixed class count's); throws
// RunCheckError.
void check_data_spec(const DataSpec& spec);

// Loads or generates the dataset `spec` describes, then holds out the validation samples
// (split_validation) and standardizes. Throws std::invalid_argument for bad fields (an unknown
// kind names the closest one; a validation count that leaves no training sample is a
// RunCheckError blaming data.validation) and std::runtime_error for bad files (the message names
// the file, and for CSV the line).
Dataset load_dataset(const DataSpec& spec, std::uint64_t seed);

// Moves the last `count` training samples, in their order, into X_val / Y_val: the training set
// keeps its first m - count samples, untouched. count = 0 leaves the data as they are. Throws
// RunCheckError({"data.validation", ...}) unless 0 <= count < m.
void split_validation(Dataset& data, Index count);

// ---------------------------------------------------------------------------------------------
// Synthetic generators (all binary ones give one 0/1 target row)
// ---------------------------------------------------------------------------------------------
// Circles, moons, spirals and blobs build their points in class order and shuffle them with a
// Fisher-Yates permutation drawn from the generator; circles, moons and xor then add the
// coordinate noise in sample order, x before y. Noise is drawn even when it is 0, so the clean
// points of a seed never depend on the noise level.

// sklearn.datasets.make_circles: half the points (rounded down) on the unit circle (label 0),
// the rest on a circle of radius `factor` (label 1), at evenly spaced angles, shuffled, plus
// N(0, noise^2) on each coordinate. Train and test sets are drawn one after the other from
// Rng(seed, 0, stream::kData). The course uses 300 train and 100 test points, noise 0.05.
Dataset make_circles(Index train, Index test, double noise, std::uint64_t seed,
                     double factor = 0.8);

// The same, drawn as the course notebook draws it: np.random.seed(train_seed) then
// sklearn.datasets.make_circles(train, noise=noise, factor=factor), and again with test_seed for
// the test set, from NumPy's legacy generator (Rng::numpy_legacy), bit for bit (the angles as
// NumPy's linspace computes them; cos and sin from the C library, as NumPy without SIMD).
Dataset make_circles_numpy(Index train, Index test, double noise, double factor,
                           std::uint32_t train_seed, std::uint32_t test_seed);

// sklearn.datasets.make_moons: two interleaving half circles. n_out = n / 2 points (label 0) at
// t = linspace(0, pi, n_out): (cos t, sin t); n_in = n - n_out points (label 1) at
// t = linspace(0, pi, n_in): (1 - cos t, 0.5 - sin t). Shuffled, plus N(0, noise^2) per
// coordinate. linspace includes both ends (unlike circles' angles).
Dataset make_moons(Index train, Index test, double noise, std::uint64_t seed);

// cs231n's spiral data, K = classes arms. Class k gets n / K points (the first n % K classes one
// more); its j-th of N points has r = linspace(0, 1, N)[j], t = linspace(4k, 4(k+1), N)[j] +
// noise * N(0, 1), and sits at (r sin t, r cos t). cs231n uses K = 3, noise 0.2.
Dataset make_spirals(Index train, Index test, Index classes, double noise, std::uint64_t seed);

// XOR: (x, y) uniform in [-1, 1)^2, label 1 when sign(x) * sign(y) > 0 (same quadrant sign),
// else 0; then N(0, noise^2) on each coordinate. Labels come from the clean point, so noise
// blurs the boundary; the clean points do not depend on `noise`.
Dataset make_xor(Index train, Index test, double noise, std::uint64_t seed);

// A 4 x 4 checkerboard, XOR's harder sibling (more boundaries for the same two classes): (x, y)
// uniform in [-1, 1)^2, label (floor(2 (x + 1)) + floor(2 (y + 1))) mod 2, then N(0, noise^2) on
// each coordinate; labels from the clean point, as for xor.
Dataset make_checkerboard(Index train, Index test, double noise, std::uint64_t seed);

// sklearn.datasets.make_blobs: K = classes centres c_k uniform in [-center_box, center_box)^d,
// drawn first and shared by train and test; class k gets n / K points (the first n % K one
// more), x = c_k + cluster_std * N(0, I_d).
Dataset make_blobs(Index train, Index test, Index classes, Index features, double cluster_std,
                   double center_box, std::uint64_t seed);

// A random teacher network; see make_teacher.
struct Teacher {
  Index inputs = 10;      // d_in
  Index hidden = 0;       // 0: linear teacher; h > 0: one tanh hidden layer of width h
  Index outputs = 1;      // d_out (regression), or the number of classes (classify)
  bool classify = false;  // labels = argmax of the outputs instead of the outputs themselves
  std::vector<double> singular_values = {};  // linear regression only; empty: a Gaussian map
  bool whiten = false;                       // exactly white training inputs
};

// Student-teacher data. The teacher's weights are drawn first (shared by train and test), all
// N(0, 1) entries in column-major order, no biases:
//   linear:  y = A x / sqrt(d_in),                  A (d_out, d_in)
//   tanh:    y = B tanh(W x / sqrt(d_in)) / sqrt(h), W (h, d_in), B (d_out, h)
// Then per sample: x ~ N(0, I_{d_in}), then y += noise * N(0, I_{d_out}). Regression targets are
// y (num_classes = 0); with classify the label is argmax_k y_k (num_classes = d_out >= 2).
// The 1/sqrt(d_in) scaling keeps E[y_k^2] = 1 for the linear teacher (Saxe et al.'s deep linear
// experiments learn such a map).
// With singular_values (s_1 > s_2 > ... > s_r > 0, r <= min(d_in, d_out); linear regression
// only) the map is M = U diag(s) V^T instead of A / sqrt(d_in): U (d_out, r) and V (d_in, r)
// have orthonormal columns, drawn as r x d_out and then r x d_in N(0, 1) matrices (row by row)
// whose rows are orthonormalized by modified Gram-Schmidt in index order.
// With whiten, all training inputs are drawn first (sample by sample), each feature's row is
// centred and the rows are orthonormalized by Gram-Schmidt and scaled by sqrt(m): the training
// inputs then have mean 0 and second moment (1/m) X X^T = I exactly (up to rounding), the
// setting of Saxe et al.'s analysis, where gradient descent on a linear network decouples along
// the singular modes of the input-output correlation (1/m) Y X^T = M. Their outputs follow
// (y = M x + noise, sample by sample); the test set is drawn as without whiten.
// The result's teacher_map holds M for a linear teacher.
Dataset make_teacher(Index train, Index test, const Teacher& teacher, double noise,
                     std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// File readers
// ---------------------------------------------------------------------------------------------

// One IDX array (http://yann.lecun.com/exdb/mnist/): a big-endian magic 0x000008NN (0x08 is
// unsigned byte, NN the number of dimensions), NN big-endian uint32 sizes, then the bytes in
// row-major order.
struct IdxArray {
  std::vector<std::uint32_t> dims;  // e.g. {60000, 28, 28}
  std::vector<std::uint8_t> data;   // product(dims) bytes, row-major
};

// Reads an IDX file of unsigned bytes with `expected_dims` dimensions (3 for images, 1 for
// labels), gzip-compressed or raw (zlib reads either). Throws std::runtime_error naming the
// file for: a missing file, a bad magic number, a wrong dimension count, a truncated header or
// body, bytes after the body, or a broken gzip stream. Memory grows only with the bytes really
// read, so a header that lies about its size cannot trigger a huge allocation.
IdxArray read_idx(const std::string& path, std::uint32_t expected_dims);

// Loads MNIST-format train and test sets from `folder`: for each of train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte it takes the first of
// name.gz, name, and the dotted spelling (train-images.idx3-ubyte[.gz]) that exists. Pixels are
// x / 255 in [0, 1], one feature per pixel in row-major order; labels are encoded as above with
// `classes` as in DataSpec. Keeps at most the first limit_train / limit_test samples (0 = all);
// the whole files are still read and checked. Name: the folder's last component.
Dataset load_idx(const std::string& folder, Index limit_train, Index limit_test, Index classes = 0);

// CSV files: see DataSpec (path, test_path, test_fraction, label, targets, limit_*, classes).
// Format: comma-separated, the first line names the columns, one sample per following line;
// cells are trimmed; blank lines are skipped; quoting as RFC 4180 says (report.hpp's
// CsvReader, the project's one CSV tokenizer: "1.5" is 1.5, "a,b" one name). Every column that is
// neither the label nor a target is a feature. Errors name "file:line" for: an empty file, no data
// rows, duplicate or missing columns, ragged rows, non-numeric cells, NaN or infinite cells, and
// labels that are negative or not integers.
Dataset load_csv(const DataSpec& spec, std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Standardization
// ---------------------------------------------------------------------------------------------

// x_i <- (x_i - mean_i) / std_i with mean_i and the population std_i of feature i over the
// TRAINING set (without the validation samples), applied to train, validation and test. A constant
// feature (every training value equal, std_i == 0) is only centred: its training values become
// exact zeros.
void standardize(Dataset& data);

}  // namespace initbench
