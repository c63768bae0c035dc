#include "initbench/io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace initbench {

static_assert(std::endian::native == std::endian::little,
              "the .npy writer assumes a little-endian machine");

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  auto fail = [&](int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  // fsync makes the data durable before the rename publishes it (and reports ENOSPC on
  // filesystems that allocate late).
  if (::fsync(fd) != 0 && errno != EINVAL) fail(errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
}

int remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    const auto mark = name.rfind(".tmp.");
    if (mark == std::string::npos || mark == 0) continue;
    const std::string digits = name.substr(mark + 5);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    // The writer is gone when no process has its id (ESRCH). A live one (EPERM: another user's)
    // or our own process keeps its file.
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH)
      stale.push_back(it->path());
  }
  int removed = 0;
  for (const auto& path : stale) removed += fs::remove(path, ec) ? 1 : 0;
  return removed;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw std::runtime_error(fmt::format("cannot read {}: read error", path));
  return out.str();
}

namespace {

template <typename T>
std::string npy(const T* data, Index rows, Index cols, bool vector) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  const char* descr = std::is_same_v<T, float> ? "<f4" : "<f8";
  const std::string shape =
      vector ? fmt::format("({},)", rows) : fmt::format("({}, {})", rows, cols);
  // Eigen stores columns contiguously: that is Fortran order.
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr,
                                   vector ? "False" : "True", shape);
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64,
  // ending in a newline.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(data),
             static_cast<std::size_t>(rows * cols) * sizeof(T));
  return out;
}

}  // namespace

template <typename T>
void write_npy(const std::string& path, const Matrix<T>& m) {
  write_file_atomic(path, npy(m.data(), m.rows(), m.cols(), false));
}

template <typename T>
void write_npy(const std::string& path, const Vector<T>& v) {
  write_file_atomic(path, npy(v.data(), v.size(), 1, true));
}

template void write_npy<float>(const std::string&, const Matrix<float>&);
template void write_npy<double>(const std::string&, const Matrix<double>&);
template void write_npy<float>(const std::string&, const Vector<float>&);
template void write_npy<double>(const std::string&, const Vector<double>&);

namespace {

// The value of `key` in a .npy header, a Python dict literal
// ({'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }): the text after "'key':" up to
// the next top-level comma, trimmed; "" when the key is missing.
std::string header_value(const std::string& header, const std::string& key) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) return "";
  auto pos = header.find(':', at);
  if (pos == std::string::npos) return "";
  ++pos;
  int depth = 0;
  std::size_t end = pos;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if ((c == ',' || c == '}') && depth <= 0) break;
  }
  std::string value = header.substr(pos, end - pos);
  const auto first = value.find_first_not_of(" \t");
  const auto last = value.find_last_not_of(" \t");
  return first == std::string::npos ? "" : value.substr(first, last - first + 1);
}

}  // namespace

NpyArray read_npy_array(const std::string& path) {
  const std::string bytes = read_file(path);
  auto bad = [&](const std::string& what) {
    return std::runtime_error(fmt::format("{}: not a readable .npy file: {}", path, what));
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw bad("it does not start with the .npy magic bytes");
  const auto major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3) throw bad(fmt::format("format version {} (1 to 3 are known)", major));
  // Version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one (little-endian).
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes) throw bad("truncated header");
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < len_bytes; ++i)
    header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  const std::size_t offset = 8 + len_bytes + header_len;
  if (bytes.size() < offset) throw bad("truncated header");
  const std::string header = bytes.substr(8 + len_bytes, header_len);

  NpyArray out;
  std::string descr = header_value(header, "descr");
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"') ||
      descr.back() != descr.front()) {
    throw bad(fmt::format("dtype {} is not float32 or float64 ('<f4' or '<f8')",
                          descr.empty() ? "(none)" : descr));
  }
  out.dtype = descr.substr(1, descr.size() - 2);
  if (out.dtype != "<f4" && out.dtype != "<f8") {
    throw std::runtime_error(fmt::format(
        "{}: dtype '{}' is not allowed; allowed: float32 or float64, little-endian ('<f4', '<f8')",
        path, out.dtype));
  }
  const std::string order = header_value(header, "fortran_order");
  if (order != "True" && order != "False") throw bad("no fortran_order True or False");
  const bool fortran = order == "True";
  const std::string shape = header_value(header, "shape");
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    throw bad(fmt::format("shape {} is not a tuple", shape.empty() ? "(none)" : shape));
  const std::size_t elem = out.dtype == "<f4" ? 4 : 8;
  const std::size_t available = (bytes.size() - offset) / elem;
  std::size_t count = 1;
  std::size_t start = 1;
  while (start < shape.size() - 1) {
    auto comma = shape.find(',', start);
    if (comma == std::string::npos) comma = shape.size() - 1;
    const std::string item = shape.substr(start, comma - start);
    start = comma + 1;
    if (item.find_first_not_of(" \t") == std::string::npos) continue;  // the trailing comma
    std::size_t used = 0;
    long long dim = -1;
    try {
      dim = std::stoll(item, &used);
    } catch (const std::exception&) {
      dim = -1;
    }
    if (dim < 0 || item.find_first_not_of(" \t", used) != std::string::npos)
      throw bad(fmt::format("shape {} is not a tuple of sizes", shape));
    const auto d = static_cast<std::size_t>(dim);
    if (d != 0 && count > available / d) throw bad("data size does not match the shape");
    count *= d;
    out.shape.push_back(static_cast<Index>(dim));
  }
  if (bytes.size() - offset != count * elem) throw bad("data size does not match the shape");
  if (out.shape.empty() || out.shape.size() > 2) return out;  // the caller names the shape
  const Index rows = out.shape[0];
  const Index cols = out.shape.size() == 2 ? out.shape[1] : 1;
  out.values.resize(rows, cols);
  for (Index k = 0; k < rows * cols; ++k) {
    double v = 0;
    const std::size_t at = offset + static_cast<std::size_t>(k) * elem;
    if (elem == 4) {
      float x = 0;
      std::memcpy(&x, bytes.data() + at, 4);
      v = static_cast<double>(x);
    } else {
      std::memcpy(&v, bytes.data() + at, 8);
    }
    if (fortran) {
      out.values(k % rows, k / rows) = v;
    } else {
      out.values(k / cols, k % cols) = v;
    }
  }
  return out;
}

std::string npy_shape_text(const std::vector<Index>& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

Matrix<double> read_npy(const std::string& path) {
  NpyArray a = read_npy_array(path);
  if (a.shape.empty() || a.shape.size() > 2) {
    throw std::runtime_error(
        fmt::format("{}: shape {} is not 1-D or 2-D", path, npy_shape_text(a.shape)));
  }
  return std::move(a.values);
}

}  // namespace initbench
