// npy.cpp: a network's weights read from a folder of .npy files (the npy(path) scheme, and
// `initbench check-init`), and the checks that they fit a network.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "initbench/init.hpp"
#include "initbench/io.hpp"
#include "internal.hpp"

namespace initbench {

namespace fs = std::filesystem;

namespace {

// The first entry that is not finite, as "a NaN at (2, 5)"; "" when every entry is finite.
std::string first_non_finite(const Matrix<double>& m, bool vector) {
  for (Index i = 0; i < m.rows(); ++i) {
    for (Index j = 0; j < m.cols(); ++j) {
      const double x = m(i, j);
      if (std::isfinite(x)) continue;
      const char* what = std::isnan(x) ? "a NaN" : (x > 0 ? "+inf" : "-inf");
      return vector ? fmt::format("{} at [{}]", what, i)
                    : fmt::format("{} at [{}, {}]", what, i, j);
    }
  }
  return "";
}

}  // namespace

std::vector<LayerWeights> load_weights_folder(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    throw std::runtime_error(fmt::format(
        "{}: no such folder (expected W1.npy, W2.npy, ... and optionally b1.npy, b2.npy, ...)",
        folder));
  }
  auto file = [&](char kind, Index l) {
    return (fs::path(folder) / fmt::format("{}{}.npy", kind, l)).string();
  };
  std::vector<LayerWeights> layers;
  Index count = 0;
  while (fs::exists(file('W', count + 1), ec)) ++count;
  if (count == 0) throw std::runtime_error(fmt::format("{}: no W1.npy", file('W', 1)));
  // Files past the layers found: a gap in the numbering, or biases of layers that do not exist.
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 6 || (name[0] != 'W' && name[0] != 'b') || !name.ends_with(".npy")) continue;
    const std::string digits = name.substr(1, name.size() - 5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long l = digits.size() > 9 ? count + 1 : std::stol(digits);  // 10 digits: absurd
    if (l > count || l < 1) {
      throw std::runtime_error(fmt::format(
          "{}: layer {} but the folder's layers are W1.npy to W{}.npy ({} is missing){}",
          entry.path().string(), l, count, file('W', count + 1),
          name[0] == 'b' ? "" : "; layers are numbered from 1 without gaps"));
    }
  }
  // A FIFO or a device would block or never end: only regular files are read.
  auto read = [&](const std::string& path) {
    if (!fs::is_regular_file(path, ec))
      throw std::runtime_error(fmt::format("{}: not a regular file", path));
    return read_npy_array(path);
  };
  Index with_bias = 0;
  for (Index l = 1; l <= count; ++l) {
    LayerWeights layer;
    const std::string w_path = file('W', l);
    const NpyArray w = read(w_path);
    if (w.shape.size() != 2) {
      throw std::runtime_error(
          fmt::format("{}: shape {} is not 2-D; W<l>.npy is (fan_out, fan_in), as PyTorch's weight",
                      w_path, npy_shape_text(w.shape)));
    }
    if (w.values.size() == 0)
      throw std::runtime_error(
          fmt::format("{}: shape {} is empty", w_path, npy_shape_text(w.shape)));
    if (l > 1 && w.values.cols() != layers.back().W.rows()) {
      throw std::runtime_error(fmt::format(
          "{}: shape {}: its fan_in {} is not W{}.npy's fan_out {} (W<l>.npy is (fan_out, "
          "fan_in); a Keras kernel (fan_in, fan_out) needs a transpose)",
          w_path, npy_shape_text(w.shape), w.values.cols(), l - 1, layers.back().W.rows()));
    }
    if (const std::string bad = first_non_finite(w.values, false); !bad.empty())
      throw std::runtime_error(fmt::format("{}: {}", w_path, bad));
    layer.W = w.values;
    const std::string b_path = file('b', l);
    if (fs::exists(b_path, ec)) {
      const NpyArray b = read(b_path);
      if (b.shape.size() != 1 || b.shape[0] != layer.W.rows()) {
        throw std::runtime_error(fmt::format("{}: shape {}; expected ({},), the fan_out of {}",
                                             b_path, npy_shape_text(b.shape), layer.W.rows(),
                                             w_path));
      }
      if (const std::string bad = first_non_finite(b.values, true); !bad.empty())
        throw std::runtime_error(fmt::format("{}: {}", b_path, bad));
      layer.b = b.values.col(0);
      ++with_bias;
    }
    layers.push_back(std::move(layer));
  }
  if (with_bias != 0 && with_bias != count) {
    for (Index l = 1; l <= count; ++l) {
      if (!layers[static_cast<std::size_t>(l - 1)].b) {
        throw std::runtime_error(fmt::format(
            "{}: missing, but {} of the {} layers have a b<l>.npy; give every layer's bias or "
            "none (none: init.bias applies, zeros by default)",
            file('b', l), with_bias, count));
      }
    }
  }
  return layers;
}

std::string InitConfig::weights_folder() const {
  const fs::path path = weights.choice("path");
  if (path.is_absolute() || base_dir.empty()) return path.string();
  return (fs::path(base_dir) / path).string();
}

// The folder's weights, checked against the network. Throws std::invalid_argument (the file
// errors too, so that the spec checker reports them as it reports a scheme that does not fit).
std::vector<LayerWeights> init_internal::network_weights(const InitConfig& init,
                                                         const MlpConfig& net) {
  std::vector<LayerWeights> layers;
  try {
    layers = load_weights_folder(init.weights_folder());
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
  const Index count = static_cast<Index>(layers.size());
  if (count != net.num_layers()) {
    throw std::invalid_argument(fmt::format(
        "{}: {} layers (W1.npy to W{}.npy), but the network has {} ({})", init.weights_folder(),
        count, count, net.num_layers(), fmt::join(net.sizes, " -> ")));
  }
  for (Index l = 1; l <= count; ++l) {
    const Matrix<double>& W = layers[static_cast<std::size_t>(l - 1)].W;
    if (W.rows() != net.fan_out(l) || W.cols() != net.fan_in(l)) {
      throw std::invalid_argument(fmt::format(
          "{}/W{}.npy: shape ({}, {}), but layer {} is {} -> {}: expected ({}, {}) (fan_out, "
          "fan_in)",
          init.weights_folder(), l, W.rows(), W.cols(), l, net.fan_in(l), net.fan_out(l),
          net.fan_out(l), net.fan_in(l)));
    }
  }
  const bool biases = layers.front().b.has_value();
  if (biases && !init.bias_text.empty() && init.bias_text != "default") {
    throw std::invalid_argument(fmt::format(
        "{} has b1.npy ... b{}.npy, and init.bias = '{}' would replace them; remove init.bias, "
        "or the b<l>.npy files",
        init.weights_folder(), count, init.bias_text));
  }
  return layers;
}

}  // namespace initbench
