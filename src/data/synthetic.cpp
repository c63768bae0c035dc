// synthetic.cpp: the generated datasets (circles, moons, spirals, xor, blobs, teacher) and
// make_circles_numpy, each drawn from the project's generator keyed by the run's seed.
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

namespace {

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

// numpy.linspace(low, high, count)[j]: both ends included; a single point sits at `low`.
double linspace(double low, double high, Index count, Index j) {
  if (count < 2) return low;
  if (j == count - 1) return high;
  return low + (high - low) * static_cast<double>(j) / static_cast<double>(count - 1);
}

// Class sizes of n samples over k classes: n / k each, the first n % k classes one more
// (sklearn's make_blobs split).
std::vector<Index> class_sizes(Index n, Index k) {
  std::vector<Index> sizes(to_size(k), n / k);
  for (Index c = 0; c < n % k; ++c) ++sizes[to_size(c)];
  return sizes;
}

// A set of points with labels, before it becomes (X, Y).
struct Points {
  Matrix<double> X;  // (d, n)
  Labels labels;     // n
};

// Reorders the samples by a permutation drawn from rng.
void shuffle(Points& p, Rng& rng) {
  const auto order = permutation(p.X.cols(), rng);
  Points out{Matrix<double>(p.X.rows(), p.X.cols()), Labels(p.labels.size())};
  for (std::size_t i = 0; i < order.size(); ++i) {
    out.X.col(to_index(i)) = p.X.col(order[i]);
    out.labels[i] = p.labels[to_size(order[i])];
  }
  p = std::move(out);
}

// Adds N(0, noise^2) to every coordinate, sample by sample.
void add_noise(Matrix<double>& X, double noise, Rng& rng) {
  for (Index j = 0; j < X.cols(); ++j) {
    for (Index i = 0; i < X.rows(); ++i) X(i, j) += rng.normal(0.0, noise);
  }
}

bool valid_noise(double noise) { return std::isfinite(noise) && noise >= 0.0; }

void check_counts(std::string_view kind, Index train, Index test, Index min_train) {
  if (train < min_train || test < 0) {
    throw std::invalid_argument(fmt::format(
        "{}: need train >= {} and test >= 0; got train {}, test {}", kind, min_train, train, test));
  }
}

void check_noise(std::string_view kind, double noise) {
  if (!valid_noise(noise))
    throw std::invalid_argument(fmt::format("{}: need noise >= 0; got {}", kind, noise));
}

// The dataset of a training and a test set of points, with the labels encoded.
Dataset labelled(std::string name, Index classes, Points tr, Points te) {
  Dataset d;
  d.name = std::move(name);
  d.num_classes = classes;
  d.X_train = std::move(tr.X);
  d.Y_train = encode_labels(tr.labels, classes);
  d.X_test = std::move(te.X);
  d.Y_test = encode_labels(te.labels, classes);
  return d;
}

// Builds both sets with `make(n, rng)` (train first), encodes the labels.
template <typename Make>
Dataset make_labelled(std::string name, Index train, Index test, Index classes, Rng& rng,
                      Make make) {
  Points tr = make(train, rng);
  Points te = make(test, rng);
  return labelled(std::move(name), classes, std::move(tr), std::move(te));
}

// ---------------------------------------------------------------------------------------------
// Synthetic generators: one set each
// ---------------------------------------------------------------------------------------------

// numpy_angles: the angles as NumPy's linspace computes them, k * (2 pi / count), for the
// "numpy" generator (bit for bit); otherwise 2 pi k / count, as initbench always has.
Points circles(Index n, double noise, double factor, Rng& rng, bool numpy_angles = false) {
  const Index n_out = n / 2;
  const Index n_in = n - n_out;
  Points p{Matrix<double>(2, n), Labels(to_size(n))};
  for (Index i = 0; i < n; ++i) {
    const bool inner = i >= n_out;
    const Index k = inner ? i - n_out : i;
    const auto count = static_cast<double>(inner ? n_in : n_out);
    // Evenly spaced without the end point (sklearn: linspace(0, 2 pi, n, endpoint=False)).
    const double angle = numpy_angles ? static_cast<double>(k) * (2.0 * std::numbers::pi / count)
                                      : 2.0 * std::numbers::pi * static_cast<double>(k) / count;
    const double radius = inner ? factor : 1.0;
    p.X(0, i) = radius * std::cos(angle);
    p.X(1, i) = radius * std::sin(angle);
    p.labels[to_size(i)] = inner ? 1 : 0;
  }
  shuffle(p, rng);
  add_noise(p.X, noise, rng);
  return p;
}

Points moons(Index n, double noise, Rng& rng) {
  const Index n_out = n / 2;
  const Index n_in = n - n_out;
  Points p{Matrix<double>(2, n), Labels(to_size(n))};
  for (Index i = 0; i < n; ++i) {
    const bool inner = i >= n_out;
    const double t = inner ? linspace(0.0, std::numbers::pi, n_in, i - n_out)
                           : linspace(0.0, std::numbers::pi, n_out, i);
    p.X(0, i) = inner ? 1.0 - std::cos(t) : std::cos(t);
    p.X(1, i) = inner ? 0.5 - std::sin(t) : std::sin(t);
    p.labels[to_size(i)] = inner ? 1 : 0;
  }
  shuffle(p, rng);
  add_noise(p.X, noise, rng);
  return p;
}

Points spirals(Index n, Index classes, double noise, Rng& rng) {
  Points p{Matrix<double>(2, n), Labels(to_size(n))};
  const auto sizes = class_sizes(n, classes);
  Index i = 0;
  for (Index k = 0; k < classes; ++k) {
    const Index size = sizes[to_size(k)];
    const double t_low = 4.0 * static_cast<double>(k);
    for (Index j = 0; j < size; ++j, ++i) {
      const double r = linspace(0.0, 1.0, size, j);
      const double t = linspace(t_low, t_low + 4.0, size, j) + noise * rng.normal();
      p.X(0, i) = r * std::sin(t);
      p.X(1, i) = r * std::cos(t);
      p.labels[to_size(i)] = k;
    }
  }
  shuffle(p, rng);
  return p;
}

int sign(double v) { return (v > 0.0) - (v < 0.0); }

Points xor_points(Index n, double noise, Rng& rng) {
  Points p{Matrix<double>(2, n), Labels(to_size(n))};
  for (Index i = 0; i < n; ++i) {
    const double x = rng.uniform(-1.0, 1.0);
    const double y = rng.uniform(-1.0, 1.0);
    p.X(0, i) = x;
    p.X(1, i) = y;
    p.labels[to_size(i)] = sign(x) * sign(y) > 0 ? 1 : 0;
  }
  add_noise(p.X, noise, rng);
  return p;
}

Points checkerboard_points(Index n, double noise, Rng& rng) {
  Points p{Matrix<double>(2, n), Labels(to_size(n))};
  for (Index i = 0; i < n; ++i) {
    const double x = rng.uniform(-1.0, 1.0);
    const double y = rng.uniform(-1.0, 1.0);
    p.X(0, i) = x;
    p.X(1, i) = y;
    const auto cell = static_cast<Index>(std::floor(2.0 * (x + 1.0))) +
                      static_cast<Index>(std::floor(2.0 * (y + 1.0)));
    p.labels[to_size(i)] = cell % 2;
  }
  add_noise(p.X, noise, rng);
  return p;
}

// centers: (d, K)
Points blobs(Index n, const Matrix<double>& centers, double cluster_std, Rng& rng) {
  const Index classes = centers.cols();
  Points p{Matrix<double>(centers.rows(), n), Labels(to_size(n))};
  const auto sizes = class_sizes(n, classes);
  Index i = 0;
  for (Index k = 0; k < classes; ++k) {
    for (Index j = 0; j < sizes[to_size(k)]; ++j, ++i) p.labels[to_size(i)] = k;
  }
  // Shuffle the labels, then draw each point around its centre in the shuffled order: the same
  // distribution as drawing in class order and shuffling, with one pass.
  shuffle(p, rng);
  for (Index s = 0; s < n; ++s) {
    const Index k = p.labels[to_size(s)];
    for (Index f = 0; f < centers.rows(); ++f)
      p.X(f, s) = centers(f, k) + rng.normal(0.0, cluster_std);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// The teacher network
// ---------------------------------------------------------------------------------------------

// A (rows, cols) matrix of N(0, 1) / sqrt(fan), drawn in column-major order.
Matrix<double> gaussian(Index rows, Index cols, Index fan, Rng& rng) {
  Matrix<double> W(rows, cols);
  const double scale = std::sqrt(static_cast<double>(fan));
  for (Index j = 0; j < cols; ++j) {
    for (Index i = 0; i < rows; ++i) W(i, j) = rng.normal() / scale;
  }
  return W;
}

// out = W x, summed in index order. Scalar loops rather than Eigen's product: its SIMD kernels
// change the summation order with the instruction set, and data must be the same bits
// everywhere.
Vector<double> times(const Matrix<double>& W, const Vector<double>& x) {
  Vector<double> out = Vector<double>::Zero(W.rows());
  for (Index j = 0; j < W.cols(); ++j) {
    for (Index i = 0; i < W.rows(); ++i) out(i) += W(i, j) * x(j);
  }
  return out;
}

// <row a, row b> of M, summed in column order.
double row_dot(const Matrix<double>& M, Index a, Index b) {
  double sum = 0.0;
  for (Index j = 0; j < M.cols(); ++j) sum += M(a, j) * M(b, j);
  return sum;
}

struct TeacherWeights {
  Matrix<double> first;   // (h, d_in), or (d_out, d_in) for a linear teacher
  Matrix<double> second;  // (d_out, h); empty for a linear teacher
};

Vector<double> teacher_output(const TeacherWeights& w, const Vector<double>& x) {
  if (w.second.size() == 0) return times(w.first, x);
  Vector<double> h = times(w.first, x);
  for (Index i = 0; i < h.size(); ++i) h(i) = std::tanh(h(i));
  return times(w.second, h);
}

// One set: X (d_in, n), raw outputs (d_out, n).
std::pair<Matrix<double>, Matrix<double>> teacher_set(Index n, const TeacherWeights& w,
                                                      double noise, Rng& rng) {
  const Index d_in = w.first.cols();
  const Index d_out = w.second.size() == 0 ? w.first.rows() : w.second.rows();
  Matrix<double> X(d_in, n);
  Matrix<double> Y(d_out, n);
  Vector<double> x(d_in);
  for (Index s = 0; s < n; ++s) {
    for (Index i = 0; i < d_in; ++i) x(i) = rng.normal();
    const Vector<double> y = teacher_output(w, x);
    for (Index k = 0; k < d_out; ++k) Y(k, s) = y(k) + rng.normal(0.0, noise);
    X.col(s) = x;
  }
  return {std::move(X), std::move(Y)};
}

// Modified Gram-Schmidt on the rows of M, in index order with scalar loops (the same bits on
// every instruction set): row i loses its projections on the rows before it, one at a time, and
// is then scaled to unit length. Throws if a row becomes (numerically) dependent.
void orthonormalize_rows(Matrix<double>& M, const char* what) {
  const Index rows = M.rows();
  const Index cols = M.cols();
  for (Index i = 0; i < rows; ++i) {
    const double before = std::sqrt(row_dot(M, i, i));
    for (Index k = 0; k < i; ++k) {
      const double r = row_dot(M, i, k);
      for (Index j = 0; j < cols; ++j) M(i, j) -= r * M(k, j);
    }
    const double norm = std::sqrt(row_dot(M, i, i));
    if (!(norm > 1e-8 * before)) {
      throw std::invalid_argument(
          fmt::format("teacher: {}: row {} is linearly dependent on the rows before it", what, i));
    }
    for (Index j = 0; j < cols; ++j) M(i, j) /= norm;
  }
}

// M = U diag(s) V^T with orthonormal columns U (d_out, r), V (d_in, r); see make_teacher.
Matrix<double> teacher_with_spectrum(const std::vector<double>& s, Index d_in, Index d_out,
                                     Rng& rng) {
  const auto r = to_index(s.size());
  auto draw = [&](Index cols) {
    Matrix<double> G(r, cols);  // (r, cols), drawn row by row
    for (Index i = 0; i < r; ++i) {
      for (Index j = 0; j < cols; ++j) G(i, j) = rng.normal();
    }
    orthonormalize_rows(G, "singular vectors");
    return G;
  };
  const Matrix<double> U_t = draw(d_out);  // (r, d_out): U^T
  const Matrix<double> V_t = draw(d_in);   // (r, d_in): V^T
  Matrix<double> M = Matrix<double>::Zero(d_out, d_in);
  for (Index j = 0; j < d_in; ++j) {
    for (Index i = 0; i < d_out; ++i) {
      double sum = 0.0;
      for (Index k = 0; k < r; ++k) sum += U_t(k, i) * s[to_size(k)] * V_t(k, j);
      M(i, j) = sum;
    }
  }
  return M;
}

// n exactly white inputs (d_in, n), drawn sample by sample; see make_teacher.
Matrix<double> white_inputs(Index d_in, Index n, Rng& rng) {
  Matrix<double> X(d_in, n);
  for (Index s = 0; s < n; ++s) {
    for (Index i = 0; i < d_in; ++i) X(i, s) = rng.normal();
  }
  for (Index i = 0; i < d_in; ++i) {
    double mean = 0.0;
    for (Index s = 0; s < n; ++s) mean += X(i, s);
    mean /= static_cast<double>(n);
    for (Index s = 0; s < n; ++s) X(i, s) -= mean;
  }
  orthonormalize_rows(X, "whiten");
  const double scale = std::sqrt(static_cast<double>(n));
  for (Index s = 0; s < n; ++s) {
    for (Index i = 0; i < d_in; ++i) X(i, s) *= scale;
  }
  return X;
}

// Outputs of given inputs X (d_in, n): the teacher's, plus noise, sample by sample.
Matrix<double> teacher_outputs(const Matrix<double>& X, const TeacherWeights& w, double noise,
                               Rng& rng) {
  const Index d_out = w.second.size() == 0 ? w.first.rows() : w.second.rows();
  Matrix<double> Y(d_out, X.cols());
  for (Index s = 0; s < X.cols(); ++s) {
    const Vector<double> y = teacher_output(w, X.col(s));
    for (Index k = 0; k < d_out; ++k) Y(k, s) = y(k) + rng.normal(0.0, noise);
  }
  return Y;
}

Labels argmax_labels(const Matrix<double>& Y) {
  Labels labels(to_size(Y.cols()));
  for (Index s = 0; s < Y.cols(); ++s) {
    Index best = 0;
    for (Index k = 1; k < Y.rows(); ++k) {
      if (Y(k, s) > Y(best, s)) best = k;
    }
    labels[to_size(s)] = best;
  }
  return labels;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Synthetic generators: public entry points
// ---------------------------------------------------------------------------------------------

namespace {
void check_circles(Index train, Index test, double noise, double factor) {
  check_counts("circles", train, test, 2);
  check_noise("circles", noise);
  if (!(factor >= 0.0 && factor < 1.0)) {
    throw std::invalid_argument(fmt::format("circles: need 0 <= factor < 1; got {}", factor));
  }
}
}  // namespace

Dataset make_circles(Index train, Index test, double noise, std::uint64_t seed, double factor) {
  check_circles(train, test, noise, factor);
  Rng rng(seed, 0, stream::kData);
  return make_labelled("circles", train, test, 2, rng,
                       [&](Index n, Rng& r) { return circles(n, noise, factor, r); });
}

Dataset make_circles_numpy(Index train, Index test, double noise, double factor,
                           std::uint32_t train_seed, std::uint32_t test_seed) {
  check_circles(train, test, noise, factor);
  // make_circles(n, noise=noise, factor=factor) after np.random.seed(s): the points in order
  // (outer circle, then inner), shuffled by RandomState.shuffle of arange(n), then
  // normal(scale=noise, size=(n, 2)) added sample by sample: the order circles() draws in.
  Rng train_rng = Rng::numpy_legacy(train_seed);
  Rng test_rng = Rng::numpy_legacy(test_seed);
  return labelled("circles", 2, circles(train, noise, factor, train_rng, true),
                  circles(test, noise, factor, test_rng, true));
}

Dataset make_moons(Index train, Index test, double noise, std::uint64_t seed) {
  check_counts("moons", train, test, 2);
  check_noise("moons", noise);
  Rng rng(seed, 0, stream::kData);
  return make_labelled("moons", train, test, 2, rng,
                       [&](Index n, Rng& r) { return moons(n, noise, r); });
}

Dataset make_spirals(Index train, Index test, Index classes, double noise, std::uint64_t seed) {
  if (classes < 2)
    throw std::invalid_argument(fmt::format("spirals: need classes >= 2; got {}", classes));
  check_counts("spirals", train, test, classes);
  check_noise("spirals", noise);
  Rng rng(seed, 0, stream::kData);
  return make_labelled("spirals", train, test, classes, rng,
                       [&](Index n, Rng& r) { return spirals(n, classes, noise, r); });
}

Dataset make_xor(Index train, Index test, double noise, std::uint64_t seed) {
  check_counts("xor", train, test, 1);
  check_noise("xor", noise);
  Rng rng(seed, 0, stream::kData);
  return make_labelled("xor", train, test, 2, rng,
                       [&](Index n, Rng& r) { return xor_points(n, noise, r); });
}

Dataset make_checkerboard(Index train, Index test, double noise, std::uint64_t seed) {
  check_counts("checkerboard", train, test, 1);
  check_noise("checkerboard", noise);
  Rng rng(seed, 0, stream::kData);
  return make_labelled("checkerboard", train, test, 2, rng,
                       [&](Index n, Rng& r) { return checkerboard_points(n, noise, r); });
}

Dataset make_blobs(Index train, Index test, Index classes, Index features, double cluster_std,
                   double center_box, std::uint64_t seed) {
  if (classes < 2 || features < 1 || !valid_noise(cluster_std) || !std::isfinite(center_box) ||
      center_box <= 0) {
    throw std::invalid_argument(
        fmt::format("blobs: need classes >= 2, features >= 1, cluster_std >= 0, center_box > 0; "
                    "got {}, {}, {}, {}",
                    classes, features, cluster_std, center_box));
  }
  check_counts("blobs", train, test, classes);
  Rng rng(seed, 0, stream::kData);
  Matrix<double> centers(features, classes);  // (d, K), column-major draw order
  for (Index k = 0; k < classes; ++k) {
    for (Index f = 0; f < features; ++f) centers(f, k) = rng.uniform(-center_box, center_box);
  }
  return make_labelled("blobs", train, test, classes, rng,
                       [&](Index n, Rng& r) { return blobs(n, centers, cluster_std, r); });
}

Dataset make_teacher(Index train, Index test, const Teacher& teacher, double noise,
                     std::uint64_t seed) {
  const Index min_outputs = teacher.classify ? 2 : 1;
  if (teacher.inputs < 1 || teacher.hidden < 0 || teacher.outputs < min_outputs) {
    throw std::invalid_argument(
        fmt::format("teacher: need inputs >= 1, hidden >= 0, outputs >= {}; got {}, {}, {}",
                    min_outputs, teacher.inputs, teacher.hidden, teacher.outputs));
  }
  check_counts("teacher", train, test, 1);
  check_noise("teacher", noise);
  const std::vector<double>& s = teacher.singular_values;
  if (!s.empty()) {
    if (teacher.hidden != 0 || teacher.classify) {
      throw std::invalid_argument(
          "teacher: singular_values are for a linear teacher's regression (hidden = 0, "
          "classify = false)");
    }
    const Index rank = std::min(teacher.inputs, teacher.outputs);
    if (to_index(s.size()) > rank) {
      throw std::invalid_argument(
          fmt::format("teacher: {} singular values, but a {} x {} map has at most {}", s.size(),
                      teacher.outputs, teacher.inputs, rank));
    }
    for (std::size_t k = 0; k < s.size(); ++k) {
      if (!(std::isfinite(s[k]) && s[k] > 0 && (k == 0 || s[k] < s[k - 1]))) {
        throw std::invalid_argument(
            "teacher: singular_values must be finite, > 0 and strictly decreasing");
      }
    }
  }
  if (teacher.whiten && train <= teacher.inputs) {
    throw std::invalid_argument(fmt::format(
        "teacher: whiten needs more training samples than features; got train = {}, features = "
        "{}",
        train, teacher.inputs));
  }
  Rng rng(seed, 0, stream::kData);
  TeacherWeights w;
  if (!s.empty()) {
    w.first = teacher_with_spectrum(s, teacher.inputs, teacher.outputs, rng);
  } else if (teacher.hidden == 0) {
    w.first = gaussian(teacher.outputs, teacher.inputs, teacher.inputs, rng);
  } else {
    w.first = gaussian(teacher.hidden, teacher.inputs, teacher.inputs, rng);
    w.second = gaussian(teacher.outputs, teacher.hidden, teacher.hidden, rng);
  }
  Matrix<double> X_train, Y_train;
  if (teacher.whiten) {
    X_train = white_inputs(teacher.inputs, train, rng);
    Y_train = teacher_outputs(X_train, w, noise, rng);
  } else {
    std::tie(X_train, Y_train) = teacher_set(train, w, noise, rng);
  }
  auto [X_test, Y_test] = teacher_set(test, w, noise, rng);
  Dataset d;
  d.name = "teacher";
  if (teacher.hidden == 0) d.teacher_map = w.first;
  d.X_train = std::move(X_train);
  d.X_test = std::move(X_test);
  if (teacher.classify) {
    d.num_classes = teacher.outputs;
    d.Y_train = encode_labels(argmax_labels(Y_train), teacher.outputs);
    d.Y_test = encode_labels(argmax_labels(Y_test), teacher.outputs);
  } else {
    d.Y_train = std::move(Y_train);
    d.Y_test = std::move(Y_test);
  }
  return d;
}

// Each entry names only the fields it sets; the rest keep DatasetKind's defaults. GCC 12 warns
// about exactly that (-Wmissing-field-initializers), which is the point of designated
// initializers here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<DatasetKind> data_internal::synthetic_kinds() {
  return {
      {.name = "circles",
       .natural_classes = 2,
       .fixed_classes = true,
       .numpy = true,
       .shape = plane_labels,
       .check = [](const DataSpec& d, Index) { need_train(d, 2, " (one per class)"); },
       .load =
           [](const DataSpec& d, Index, std::uint64_t seed) {
             if (uses_numpy(d.generator)) {
               return make_circles_numpy(d.train, d.test, d.noise, d.factor,
                                         numpy_seed(d.numpy_seed, "numpy_seed"),
                                         numpy_seed(d.numpy_test_seed, "numpy_test_seed"));
             }
             return make_circles(d.train, d.test, d.noise, seed, d.factor);
           }},
      {.name = "moons",
       .natural_classes = 2,
       .fixed_classes = true,
       .shape = plane_labels,
       .check = [](const DataSpec& d, Index) { need_train(d, 2, " (one per class)"); },
       .load = [](const DataSpec& d, Index,
                  std::uint64_t seed) { return make_moons(d.train, d.test, d.noise, seed); }},
      {.name = "spirals",
       .natural_classes = 2,
       .shape = plane_labels,
       .check = one_per_class,
       .load = [](const DataSpec& d, Index k,
                  std::uint64_t seed) { return make_spirals(d.train, d.test, k, d.noise, seed); }},
      {.name = "xor",
       .natural_classes = 2,
       .fixed_classes = true,
       .shape = plane_labels,
       .load = [](const DataSpec& d, Index,
                  std::uint64_t seed) { return make_xor(d.train, d.test, d.noise, seed); }},
      {.name = "blobs",
       .natural_classes = 3,  // sklearn's default
       .shape = [](const DataSpec& d, Index k) { return labels(d, d.features, k); },
       .check = one_per_class,
       .load =
           [](const DataSpec& d, Index k, std::uint64_t seed) {
             return make_blobs(d.train, d.test, k, d.features, d.cluster_std, d.center_box, seed);
           }},
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
             const auto values = d.singular_values.size();
             if (values > 0 && (d.hidden != 0 || d.classify)) {
               throw RunCheckError({"data.singular_values", "data.hidden", "data.classify"},
                                   "data.singular_values sets a linear teacher's map: it needs "
                                   "hidden = 0 and classify = false");
             }
             if (values > to_size(std::min(d.features, d.outputs))) {
               throw RunCheckError(
                   {"data.singular_values", "data.features", "data.outputs"},
                   fmt::format("data.singular_values has {} values, but a {} x {} map has at most "
                               "{} (min of outputs and features)",
                               values, d.outputs, d.features, std::min(d.features, d.outputs)));
             }
             if (d.whiten && d.train <= d.features) {
               throw RunCheckError({"data.whiten", "data.train"},
                                   fmt::format("data.whiten needs more training samples than "
                                               "features; got train = {}, features = {}",
                                               d.train, d.features));
             }
           },
       .load =
           [](const DataSpec& d, Index k, std::uint64_t seed) {
             if (!d.classify && d.classes != 0) {
               throw std::invalid_argument(fmt::format(
                   "teacher: classes = {} needs classify = true (regression uses outputs)",
                   d.classes));
             }
             const Teacher teacher{d.features, d.hidden,          d.classify ? k : d.outputs,
                                   d.classify, d.singular_values, d.whiten};
             return make_teacher(d.train, d.test, teacher, d.noise, seed);
           }},
      {.name = "checkerboard",
       .natural_classes = 2,
       .fixed_classes = true,
       .shape = plane_labels,
       .load =
           [](const DataSpec& d, Index, std::uint64_t seed) {
             return make_checkerboard(d.train, d.test, d.noise, seed);
           }},
  };
}
#pragma GCC diagnostic pop

}  // namespace initbench
