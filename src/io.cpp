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

Matrix<double> read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  auto bad = [&](const char* what) {
    return std::runtime_error(fmt::format("{}: not a readable .npy file: {}", path, what));
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw bad("bad magic");
  const std::size_t header_len =
      static_cast<unsigned char>(bytes[8]) |
      (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  if (bytes.size() < 10 + header_len) throw bad("truncated header");
  const std::string header = bytes.substr(10, header_len);
  const bool f4 = header.find("'<f4'") != std::string::npos;
  const bool f8 = header.find("'<f8'") != std::string::npos;
  if (!f4 && !f8) throw bad("dtype is not <f4 or <f8");
  const bool fortran = header.find("'fortran_order': True") != std::string::npos;
  const auto open = header.find("'shape': (");
  if (open == std::string::npos) throw bad("no shape");
  const auto close = header.find(')', open);
  const std::string dims = header.substr(open + 10, close - open - 10);
  Index rows = 0;
  Index cols = 1;
  if (std::sscanf(dims.c_str(), "%ld, %ld", &rows, &cols) < 1) throw bad("bad shape");
  const std::size_t elem = f4 ? 4 : 8;
  const std::size_t offset = 10 + header_len;
  if (bytes.size() != offset + static_cast<std::size_t>(rows * cols) * elem)
    throw bad("data size does not match the shape");
  Matrix<double> out(rows, cols);
  for (Index k = 0; k < rows * cols; ++k) {
    double v = 0;
    if (f4) {
      float x = 0;
      std::memcpy(&x, bytes.data() + offset + static_cast<std::size_t>(k) * 4, 4);
      v = static_cast<double>(x);
    } else {
      std::memcpy(&v, bytes.data() + offset + static_cast<std::size_t>(k) * 8, 8);
    }
    if (fortran) {
      out(k % rows, k / rows) = v;
    } else {
      out(k / cols, k % cols) = v;
    }
  }
  return out;
}

}  // namespace initbench
