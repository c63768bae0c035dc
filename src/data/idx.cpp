// idx.cpp: IDX files (MNIST's format, gzipped or not) and load_idx.
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

// The entry names only the fields it sets; the rest keep DatasetKind's defaults. GCC 12 warns
// about exactly that (-Wmissing-field-initializers), which is the point of designated
// initializers here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
DatasetKind data_internal::idx_kind() {
  return {.name = "idx",
          .check = [](const DataSpec& d, Index) { need_path(d, "the folder of the IDX files"); },
          .load =
              [](const DataSpec& d, Index, std::uint64_t) {
                if (d.path.empty())
                  throw std::invalid_argument("idx: path (the folder of IDX files) is empty");
                return load_idx(d.path, d.limit_train, d.limit_test, d.classes);
              },
          .seeded = [](const DataSpec&) { return false; }};
}
#pragma GCC diagnostic pop

}  // namespace initbench
