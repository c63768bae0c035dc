#include "initbench/data.hpp"

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

#include "initbench/rng.hpp"
#include "initbench/text.hpp"

namespace initbench {

namespace {

using Labels = std::vector<Index>;  // one class index per sample

std::size_t to_size(Index i) { return static_cast<std::size_t>(i); }
Index to_index(std::size_t i) { return static_cast<Index>(i); }

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

// Fisher-Yates with the project's generator.
std::vector<Index> permutation(Index n, Rng& rng) {
  std::vector<Index> order(to_size(n));
  for (Index i = 0; i < n; ++i) order[to_size(i)] = i;
  for (Index i = n - 1; i > 0; --i) {
    const auto j = static_cast<Index>(rng.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(order[to_size(i)], order[to_size(j)]);
  }
  return order;
}

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

// Targets for labels in [0, classes): one 0/1 row for 2 classes, else one-hot rows.
Matrix<double> encode_labels(const Labels& labels, Index classes) {
  const Index m = to_index(labels.size());
  Matrix<double> Y = Matrix<double>::Zero(classes == 2 ? 1 : classes, m);  // (1 or K, m)
  for (Index j = 0; j < m; ++j) {
    const Index label = labels[to_size(j)];
    if (classes == 2) {
      Y(0, j) = static_cast<double>(label);
    } else {
      Y(label, j) = 1.0;
    }
  }
  return Y;
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
  Rng rng(seed, 0, stream::kData);
  TeacherWeights w;
  if (teacher.hidden == 0) {
    w.first = gaussian(teacher.outputs, teacher.inputs, teacher.inputs, rng);
  } else {
    w.first = gaussian(teacher.hidden, teacher.inputs, teacher.inputs, rng);
    w.second = gaussian(teacher.outputs, teacher.hidden, teacher.hidden, rng);
  }
  auto [X_train, Y_train] = teacher_set(train, w, noise, rng);
  auto [X_test, Y_test] = teacher_set(test, w, noise, rng);
  Dataset d;
  d.name = "teacher";
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

// ---------------------------------------------------------------------------------------------
// IDX files
// ---------------------------------------------------------------------------------------------

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;  // bytes per gzread call
constexpr std::uint8_t kIdxUnsignedByte = 0x08;

// Closes the gzFile on every path out.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw std::runtime_error(fmt::format("{}: no such file", path));
    }
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) throw std::runtime_error(fmt::format("{}: cannot open file", path));
    gzbuffer(file_, 1U << 17);
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes into out; fewer only at the end of the data. A raw file reads through
  // unchanged (zlib's transparent mode); a corrupt or cut gzip stream is an error.
  std::size_t read(std::uint8_t* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const auto want = static_cast<unsigned>(std::min(n - done, kChunk));
      const int got = gzread(file_, out + done, want);
      if (got <= 0) {
        check_stream();
        break;
      }
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

 private:
  // zlib reports a cut stream as Z_BUF_ERROR ("unexpected end of file"), after returning the
  // bytes it could decompress; a corrupt one as Z_DATA_ERROR.
  void check_stream() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code != Z_OK)
      throw std::runtime_error(fmt::format("{}: broken gzip stream ({})", path_, message));
  }

  std::string path_;
  gzFile file_ = nullptr;
};

std::uint32_t big_endian(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

std::string dims_text(const std::vector<std::uint32_t>& dims) {
  std::vector<std::string> parts;
  parts.reserve(dims.size());
  for (const auto d : dims) parts.push_back(std::to_string(d));
  return join(parts, " x ");
}

std::vector<std::uint32_t> read_idx_header(GzReader& in, const std::string& path,
                                           std::uint32_t expected_dims) {
  std::uint8_t magic[4] = {};
  const std::size_t got = in.read(magic, 4);
  if (got < 4) {
    throw std::runtime_error(
        fmt::format("{}: truncated header: {} bytes, an IDX file starts with a 4-byte magic number",
                    path, got));
  }
  const std::uint32_t value = big_endian(magic);
  const std::uint32_t expected = 0x800U | expected_dims;
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != kIdxUnsignedByte) {
    throw std::runtime_error(
        fmt::format("{}: bad magic number 0x{:08X} (expected 0x{:08X}: unsigned bytes, {} "
                    "dimensions); not an IDX file of bytes",
                    path, value, expected, expected_dims));
  }
  if (magic[3] != expected_dims) {
    throw std::runtime_error(
        fmt::format("{}: wrong dimension count: magic 0x{:08X} says {}, expected {} (0x{:08X})",
                    path, value, magic[3], expected_dims, expected));
  }
  std::vector<std::uint8_t> sizes(4 * std::size_t{expected_dims});
  const std::size_t got_sizes = in.read(sizes.data(), sizes.size());
  if (got_sizes < sizes.size()) {
    throw std::runtime_error(
        fmt::format("{}: truncated header: {} of the {} bytes of dimension sizes", path, got_sizes,
                    sizes.size()));
  }
  std::vector<std::uint32_t> dims(expected_dims);
  for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = big_endian(sizes.data() + 4 * i);
  return dims;
}

}  // namespace

IdxArray read_idx(const std::string& path, std::uint32_t expected_dims) {
  if (expected_dims < 1 || expected_dims > 8) {
    throw std::invalid_argument(
        fmt::format("read_idx: expected_dims must be in 1..8; got {}", expected_dims));
  }
  GzReader in(path);
  IdxArray array;
  array.dims = read_idx_header(in, path, expected_dims);
  std::size_t total = 1;
  for (const auto d : array.dims) {
    if (d != 0 && total > std::numeric_limits<std::size_t>::max() / d) {
      throw std::runtime_error(
          fmt::format("{}: dimensions {} overflow a byte count", path, dims_text(array.dims)));
    }
    total *= d;
  }
  // Grow with the bytes actually read rather than trusting the header: a file claiming 2^31
  // images fails as truncated after reading what it has, without a 16 GB allocation.
  while (array.data.size() < total) {
    const std::size_t before = array.data.size();
    const std::size_t want = std::min(total - before, kChunk);
    array.data.resize(before + want);
    const std::size_t got = in.read(array.data.data() + before, want);
    array.data.resize(before + got);
    if (got < want) {
      throw std::runtime_error(
          fmt::format("{}: truncated data: the header promises {} = {} bytes, the file has {}",
                      path, dims_text(array.dims), total, array.data.size()));
    }
  }
  std::uint8_t extra = 0;
  if (in.read(&extra, 1) != 0) {
    throw std::runtime_error(
        fmt::format("{}: unexpected bytes after the {} data bytes the header promises ({})", path,
                    total, dims_text(array.dims)));
  }
  return array;
}

namespace {

// The first existing spelling of an MNIST file in folder: name.gz, name, then the dotted
// spelling some mirrors use (train-images.idx3-ubyte).
std::string find_idx_file(const std::filesystem::path& folder, const std::string& stem,
                          const std::string& suffix) {
  const std::vector<std::string> names{stem + "-" + suffix + ".gz", stem + "-" + suffix,
                                       stem + "." + suffix + ".gz", stem + "." + suffix};
  for (const auto& name : names) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(folder / name, ec)) return (folder / name).string();
  }
  const std::vector<std::string> others(names.begin() + 1, names.end());
  throw std::runtime_error(fmt::format("{}: no such file (also tried {} in that folder)",
                                       (folder / names.front()).string(), join(others)));
}

struct IdxSet {
  std::string images_path;
  std::string labels_path;
  IdxArray images;  // (count, rows, cols)
  IdxArray labels;  // (count)
};

IdxSet read_idx_set(const std::filesystem::path& folder, const std::string& stem) {
  IdxSet set;
  set.images_path = find_idx_file(folder, stem + "-images", "idx3-ubyte");
  set.labels_path = find_idx_file(folder, stem + "-labels", "idx1-ubyte");
  set.images = read_idx(set.images_path, 3);
  set.labels = read_idx(set.labels_path, 1);
  if (set.images.dims[1] == 0 || set.images.dims[2] == 0) {
    throw std::runtime_error(fmt::format("{}: images of size {} x {} have no pixels",
                                         set.images_path, set.images.dims[1], set.images.dims[2]));
  }
  if (set.labels.dims[0] != set.images.dims[0]) {
    throw std::runtime_error(fmt::format("{}: {} labels, but {} holds {} images", set.labels_path,
                                         set.labels.dims[0], set.images_path, set.images.dims[0]));
  }
  return set;
}

// Number of classes: `classes` if positive (every label must be below it), else the largest
// label + 1, at least 2.
Index idx_classes(const IdxSet& train, const IdxSet& test, Index classes) {
  Index largest = 0;
  for (const IdxSet* set : {&train, &test}) {
    const auto& labels = set->labels.data;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (classes > 0 && labels[i] >= classes) {
        throw std::runtime_error(
            fmt::format("{}: label {} of item {} is out of range for classes = {}",
                        set->labels_path, labels[i], i, classes));
      }
      largest = std::max<Index>(largest, labels[i]);
    }
  }
  return classes > 0 ? classes : std::max<Index>(2, largest + 1);
}

// Pixels x / 255 of the first `count` images, one column each.
Matrix<double> idx_pixels(const IdxArray& images, Index count) {
  const Index pixels = Index{images.dims[1]} * Index{images.dims[2]};
  Matrix<double> X(pixels, count);  // (rows * cols, count)
  for (Index j = 0; j < count; ++j) {
    const std::uint8_t* image = images.data.data() + to_size(j) * to_size(pixels);
    for (Index p = 0; p < pixels; ++p) X(p, j) = static_cast<double>(image[p]) / 255.0;
  }
  return X;
}

Index limited(Index count, Index limit) { return limit > 0 ? std::min(count, limit) : count; }

}  // namespace

Dataset load_idx(const std::string& folder, Index limit_train, Index limit_test, Index classes) {
  if (limit_train < 0 || limit_test < 0 || classes < 0) {
    throw std::invalid_argument(
        fmt::format("idx: need limit_train, limit_test, classes >= 0; got {}, {}, {}", limit_train,
                    limit_test, classes));
  }
  const std::filesystem::path dir(folder);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw std::runtime_error(
        fmt::format("{}: no such folder (idx expects a folder of MNIST-format files)", folder));
  }
  const IdxSet train = read_idx_set(dir, "train");
  const IdxSet test = read_idx_set(dir, "t10k");
  if (train.images.dims[0] == 0)
    throw std::runtime_error(fmt::format("{}: no images", train.images_path));
  if (test.images.dims[1] != train.images.dims[1] || test.images.dims[2] != train.images.dims[2]) {
    throw std::runtime_error(fmt::format(
        "{}: images are {} x {}, but the training images are {} x {}", test.images_path,
        test.images.dims[1], test.images.dims[2], train.images.dims[1], train.images.dims[2]));
  }
  const Index num_classes = idx_classes(train, test, classes);
  auto labels_of = [](const IdxArray& a, Index count) {
    return Labels(a.data.begin(), a.data.begin() + count);
  };
  const Index m_train = limited(Index{train.images.dims[0]}, limit_train);
  const Index m_test = limited(Index{test.images.dims[0]}, limit_test);
  Dataset d;
  d.name = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
  d.num_classes = num_classes;
  d.X_train = idx_pixels(train.images, m_train);
  d.Y_train = encode_labels(labels_of(train.labels, m_train), num_classes);
  d.X_test = idx_pixels(test.images, m_test);
  d.Y_test = encode_labels(labels_of(test.labels, m_test), num_classes);
  return d;
}

// ---------------------------------------------------------------------------------------------
// CSV files
// ---------------------------------------------------------------------------------------------

namespace {

// Larger labels are almost surely a wrong column, and would make a huge one-hot matrix.
constexpr double kMaxLabel = 65535.0;

struct CsvTable {
  std::string path;
  std::vector<std::string> columns;
  std::vector<double> cells;       // row-major: rows() x columns.size()
  std::vector<std::size_t> lines;  // the file line of each row, 1-based

  std::size_t rows() const { return lines.size(); }
  double at(std::size_t row, std::size_t column) const {
    return cells[row * columns.size() + column];
  }
};

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    cells.push_back(trim(std::string_view(line).substr(
        start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) return cells;
    start = comma + 1;
  }
}

std::string strip_quotes(std::string name) {
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    return name.substr(1, name.size() - 2);
  return name;
}

void read_csv_header(CsvTable& table, const std::string& line, std::size_t line_number) {
  for (auto& cell : split_cells(line)) {
    std::string name = strip_quotes(std::move(cell));
    if (name.empty()) {
      throw std::runtime_error(fmt::format("{}:{}: column {} of the header has no name", table.path,
                                           line_number, table.columns.size() + 1));
    }
    if (std::find(table.columns.begin(), table.columns.end(), name) != table.columns.end()) {
      throw std::runtime_error(
          fmt::format("{}:{}: duplicate column '{}'", table.path, line_number, name));
    }
    table.columns.push_back(std::move(name));
  }
}

void read_csv_row(CsvTable& table, const std::string& line, std::size_t line_number) {
  const auto cells = split_cells(line);
  if (cells.size() != table.columns.size()) {
    throw std::runtime_error(fmt::format("{}:{}: {} cells, but the header has {} columns",
                                         table.path, line_number, cells.size(),
                                         table.columns.size()));
  }
  for (std::size_t c = 0; c < cells.size(); ++c) {
    const auto value = parse_double(cells[c]);
    if (!value) {
      throw std::runtime_error(fmt::format("{}:{}: column '{}': '{}' is not a number", table.path,
                                           line_number, table.columns[c], cells[c]));
    }
    if (!std::isfinite(*value)) {
      throw std::runtime_error(
          fmt::format("{}:{}: column '{}': '{}' is not finite (NaN and infinities are not allowed)",
                      table.path, line_number, table.columns[c], cells[c]));
    }
    table.cells.push_back(*value);
  }
  table.lines.push_back(line_number);
}

CsvTable read_csv_table(const std::string& path) {
  CsvTable table;
  table.path = path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error(fmt::format("{}: no such file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open file", path));
  std::string line;
  std::size_t line_number = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_number;
    // Excel and PowerShell begin UTF-8 files with a byte-order mark; it is not part of a name.
    if (line_number == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (trim(line).empty()) continue;
    if (have_header) {
      read_csv_row(table, line, line_number);
    } else {
      read_csv_header(table, line, line_number);
      have_header = true;
    }
  }
  if (!have_header)
    throw std::runtime_error(fmt::format("{}: empty file (expected a header row)", path));
  if (table.rows() == 0)
    throw std::runtime_error(fmt::format("{}: no data rows after the header", path));
  return table;
}

std::size_t column_index(const CsvTable& table, const std::string& name, std::string_view role) {
  const auto it = std::find(table.columns.begin(), table.columns.end(), name);
  if (it == table.columns.end()) {
    throw std::runtime_error(fmt::format("{}:1: no {} column '{}' (columns: {}){}", table.path,
                                         role, name, join(table.columns),
                                         did_you_mean(name, table.columns)));
  }
  return static_cast<std::size_t>(it - table.columns.begin());
}

// Which columns are features and which are targets, by name.
struct CsvLayout {
  std::vector<std::string> features;
  std::vector<std::string> targets;  // the label column alone for classification
  bool classify = false;
};

CsvLayout csv_layout(const DataSpec& spec, const CsvTable& table) {
  CsvLayout layout;
  layout.classify = !spec.label.empty();
  layout.targets = layout.classify ? std::vector<std::string>{spec.label} : spec.targets;
  for (const auto& name : layout.targets)
    column_index(table, name, layout.classify ? "label" : "target");
  for (const auto& name : table.columns) {
    if (std::find(layout.targets.begin(), layout.targets.end(), name) == layout.targets.end()) {
      layout.features.push_back(name);
    }
  }
  if (layout.features.empty()) {
    throw std::runtime_error(
        fmt::format("{}:1: no feature columns (every column is a label or target)", table.path));
  }
  return layout;
}

// The test file must have exactly the training file's columns, in any order.
void check_same_columns(const CsvTable& train, const CsvTable& test) {
  for (const auto& name : train.columns) {
    if (std::find(test.columns.begin(), test.columns.end(), name) == test.columns.end()) {
      throw std::runtime_error(fmt::format("{}:1: no column '{}', which the training file {} has",
                                           test.path, name, train.path));
    }
  }
  for (const auto& name : test.columns) {
    if (std::find(train.columns.begin(), train.columns.end(), name) == train.columns.end()) {
      throw std::runtime_error(fmt::format("{}:1: column '{}' is not in the training file {}",
                                           test.path, name, train.path));
    }
  }
}

// Rows of a table that form one set, in file order.
struct CsvRows {
  const CsvTable* table;
  std::vector<std::size_t> rows;
};

Matrix<double> csv_matrix(const CsvRows& set, const std::vector<std::string>& names) {
  Matrix<double> M(to_index(names.size()), to_index(set.rows.size()));  // (columns, rows)
  for (std::size_t c = 0; c < names.size(); ++c) {
    const std::size_t column = column_index(*set.table, names[c], "");
    for (std::size_t j = 0; j < set.rows.size(); ++j) {
      M(to_index(c), to_index(j)) = set.table->at(set.rows[j], column);
    }
  }
  return M;
}

// Checks every label of the set (also those a limit drops later) and returns the largest.
Index csv_check_labels(const CsvRows& set, const std::string& label, Index classes) {
  const std::size_t column = column_index(*set.table, label, "label");
  Index largest = 0;
  for (const std::size_t row : set.rows) {
    const double value = set.table->at(row, column);
    const std::size_t line = set.table->lines[row];
    if (value < 0 || value != std::floor(value) || value > kMaxLabel) {
      throw std::runtime_error(
          fmt::format("{}:{}: label column '{}': {} is not a class index (an integer in 0..{})",
                      set.table->path, line, label, format_number(value), kMaxLabel));
    }
    const auto k = static_cast<Index>(value);
    if (classes > 0 && k >= classes) {
      throw std::runtime_error(
          fmt::format("{}:{}: label column '{}': {} is out of range for classes = {}",
                      set.table->path, line, label, k, classes));
    }
    largest = std::max(largest, k);
  }
  return largest;
}

Labels csv_labels(const CsvRows& set, const std::string& label) {
  const std::size_t column = column_index(*set.table, label, "label");
  Labels labels;
  for (const std::size_t row : set.rows)
    labels.push_back(static_cast<Index>(set.table->at(row, column)));
  return labels;
}

std::vector<std::size_t> all_rows(const CsvTable& table) {
  std::vector<std::size_t> rows(table.rows());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

// Splits the rows of one file: round(m * fraction) random rows go to test; both keep file order.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split_rows(const CsvTable& table,
                                                                         double fraction,
                                                                         std::uint64_t seed) {
  const Index m = to_index(table.rows());
  const auto n_test = static_cast<Index>(std::llround(static_cast<double>(m) * fraction));
  if (m - n_test < 1) {
    throw std::runtime_error(fmt::format(
        "{}: {} rows leave no training rows with test_fraction = {}", table.path, m, fraction));
  }
  Rng rng(seed, 0, stream::kData);
  const auto order = permutation(m, rng);
  std::vector<bool> is_test(to_size(m), false);
  for (Index i = 0; i < n_test; ++i) is_test[to_size(order[to_size(i)])] = true;
  std::vector<std::size_t> train;
  std::vector<std::size_t> test;
  for (std::size_t row = 0; row < table.rows(); ++row) (is_test[row] ? test : train).push_back(row);
  return {std::move(train), std::move(test)};
}

void keep_first(std::vector<std::size_t>& rows, Index limit) {
  if (limit > 0 && to_size(limit) < rows.size()) rows.resize(to_size(limit));
}

}  // namespace

Dataset load_csv(const DataSpec& spec, std::uint64_t seed) {
  if (spec.path.empty()) throw std::invalid_argument("csv: path is empty");
  if (spec.label.empty() == spec.targets.empty()) {
    throw std::invalid_argument(
        fmt::format("csv {}: set exactly one of label (classification) and targets (regression); "
                    "got label '{}', targets [{}]",
                    spec.path, spec.label, join(spec.targets)));
  }
  if (!spec.targets.empty() && spec.classes != 0) {
    throw std::invalid_argument(
        fmt::format("csv {}: classes = {} applies to a label column, not to regression targets",
                    spec.path, spec.classes));
  }
  if (spec.limit_train < 0 || spec.limit_test < 0 || spec.classes < 0) {
    throw std::invalid_argument(
        fmt::format("csv: need limit_train, limit_test, classes >= 0; got {}, {}, {}",
                    spec.limit_train, spec.limit_test, spec.classes));
  }
  const bool split = spec.test_path.empty();
  if (split && !(spec.test_fraction >= 0.0 && spec.test_fraction < 1.0)) {
    throw std::invalid_argument(
        fmt::format("csv: need 0 <= test_fraction < 1; got {}", spec.test_fraction));
  }
  const CsvTable train_table = read_csv_table(spec.path);
  const CsvLayout layout = csv_layout(spec, train_table);
  std::optional<CsvTable> test_table;
  CsvRows train{&train_table, {}};
  CsvRows test{&train_table, {}};
  if (split) {
    std::tie(train.rows, test.rows) = split_rows(train_table, spec.test_fraction, seed);
  } else {
    test_table = read_csv_table(spec.test_path);
    check_same_columns(train_table, *test_table);
    train.rows = all_rows(train_table);
    test = CsvRows{&*test_table, all_rows(*test_table)};
  }
  Dataset d;
  d.name = std::filesystem::path(spec.path).stem().string();
  if (layout.classify) {
    const Index largest =
        std::max(csv_check_labels(train, spec.label, spec.classes),
                 test.rows.empty() ? 0 : csv_check_labels(test, spec.label, spec.classes));
    d.num_classes = spec.classes > 0 ? spec.classes : std::max<Index>(2, largest + 1);
  }
  keep_first(train.rows, spec.limit_train);
  keep_first(test.rows, spec.limit_test);
  d.X_train = csv_matrix(train, layout.features);
  d.X_test = csv_matrix(test, layout.features);
  if (layout.classify) {
    d.Y_train = encode_labels(csv_labels(train, spec.label), d.num_classes);
    d.Y_test = encode_labels(csv_labels(test, spec.label), d.num_classes);
  } else {
    d.Y_train = csv_matrix(train, layout.targets);
    d.Y_test = csv_matrix(test, layout.targets);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// Standardization
// ---------------------------------------------------------------------------------------------

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

const std::vector<std::string>& dataset_kinds() {
  static const std::vector<std::string> kinds{"circles", "moons",   "spirals", "xor",
                                              "blobs",   "teacher", "idx",     "csv"};
  return kinds;
}

namespace {

// classes for a kind whose natural number of classes is `natural`; binary kinds accept only 2.
Index resolve_classes(const DataSpec& spec, Index natural, bool fixed) {
  if (spec.classes == 0) return natural;
  if (fixed && spec.classes != natural) {
    throw std::invalid_argument(fmt::format("{}: has {} classes; classes must be 0 or {}, got {}",
                                            spec.kind, natural, natural, spec.classes));
  }
  return spec.classes;
}

Dataset generate(const DataSpec& spec, std::uint64_t seed) {
  const std::string& kind = spec.kind;
  if (uses_numpy(spec.generator)) {
    if (kind != "circles") {
      throw std::invalid_argument(fmt::format(
          "generator 'numpy' (scikit-learn's make_circles) exists for kind 'circles' only; got "
          "'{}'",
          kind));
    }
    resolve_classes(spec, 2, true);
    return make_circles_numpy(spec.train, spec.test, spec.noise, spec.factor,
                              numpy_seed(spec.numpy_seed, "numpy_seed"),
                              numpy_seed(spec.numpy_test_seed, "numpy_test_seed"));
  }
  if (kind == "circles") {
    resolve_classes(spec, 2, true);
    return make_circles(spec.train, spec.test, spec.noise, seed, spec.factor);
  }
  if (kind == "moons") {
    resolve_classes(spec, 2, true);
    return make_moons(spec.train, spec.test, spec.noise, seed);
  }
  if (kind == "xor") {
    resolve_classes(spec, 2, true);
    return make_xor(spec.train, spec.test, spec.noise, seed);
  }
  if (kind == "spirals")
    return make_spirals(spec.train, spec.test, resolve_classes(spec, 2, false), spec.noise, seed);
  if (kind == "blobs") {
    return make_blobs(spec.train, spec.test, resolve_classes(spec, 3, false), spec.features,
                      spec.cluster_std, spec.center_box, seed);
  }
  if (kind == "teacher") {
    if (!spec.classify && spec.classes != 0) {
      throw std::invalid_argument(fmt::format(
          "teacher: classes = {} needs classify = true (regression uses outputs)", spec.classes));
    }
    const Teacher teacher{spec.features, spec.hidden,
                          spec.classify ? resolve_classes(spec, 2, false) : spec.outputs,
                          spec.classify};
    return make_teacher(spec.train, spec.test, teacher, spec.noise, seed);
  }
  if (kind == "idx") {
    if (spec.path.empty())
      throw std::invalid_argument("idx: path (the folder of IDX files) is empty");
    return load_idx(spec.path, spec.limit_train, spec.limit_test, spec.classes);
  }
  if (kind == "csv") return load_csv(spec, seed);
  throw std::invalid_argument(fmt::format("unknown dataset kind '{}' (expected one of: {}){}", kind,
                                          join(dataset_kinds()),
                                          did_you_mean(kind, dataset_kinds())));
}

}  // namespace

Dataset load_dataset(const DataSpec& spec, std::uint64_t seed) {
  Dataset data = generate(spec, seed);
  if (spec.standardize) standardize(data);
  return data;
}

}  // namespace initbench
