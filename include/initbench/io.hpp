// io.hpp: files written whole or not at all, and NumPy .npy arrays.
//
// Every file initbench writes goes through write_file_atomic: the bytes go to a temporary file
// in the same folder, are flushed and checked, and only then renamed over the destination. A
// crash, a kill or a full disk leaves either the old file or the new one, never half of one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "initbench/types.hpp"

namespace initbench {

// Throws std::runtime_error naming the path and the system's reason (e.g. "No space left on
// device"); the temporary file is removed on failure.
void write_file_atomic(const std::string& path, std::string_view content);

// Removes the temporary files (<name>.tmp.<pid>) that write_file_atomic left under `dir`
// (recursively) when its process was killed mid-write (SIGKILL, a power cut): only those whose
// process no longer runs, so a live writer sharing the folder is left alone. Returns how many
// were removed; a missing folder is none.
int remove_stale_temporaries(const std::string& dir);

// The whole file; throws std::runtime_error naming the path if it cannot be read.
std::string read_file(const std::string& path);

// NumPy format 1.0, little-endian, shape (rows, cols) or (rows,) for a vector; float32 or
// float64. Written atomically.
template <typename T>
void write_npy(const std::string& path, const Matrix<T>& m);
template <typename T>
void write_npy(const std::string& path, const Vector<T>& v);

// A .npy file as read: float32 or float64, little-endian, C or Fortran order, format 1 to 3.
struct NpyArray {
  std::vector<Index> shape;  // as the header gives it; () for a scalar
  std::string dtype;         // the header's descr: "<f4" or "<f8"
  // (shape[0], shape[1]) for a 2-D array, (shape[0], 1) for a 1-D one; empty for other ranks
  Matrix<double> values;
};
// Throws std::runtime_error naming the path and what is wrong (not a .npy file, a dtype other
// than float32/float64, a data size that does not match the shape).
NpyArray read_npy_array(const std::string& path);
// NumPy's way of writing a shape: "(3, 4)", "(3,)", "()".
std::string npy_shape_text(const std::vector<Index>& shape);

// Reads a 1-D or 2-D .npy (read_npy_array; other ranks throw).
Matrix<double> read_npy(const std::string& path);

}  // namespace initbench
