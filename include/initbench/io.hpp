// io.hpp: files written whole or not at all, and NumPy .npy arrays.
//
// Every file initbench writes goes through write_file_atomic: the bytes go to a temporary file
// in the same folder, are flushed and checked, and only then renamed over the destination. A
// crash, a kill or a full disk leaves either the old file or the new one, never half of one.
#pragma once

#include <string>
#include <string_view>

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

// Reads a 1-D or 2-D .npy written by write_npy (tests; float32/float64, either order).
Matrix<double> read_npy(const std::string& path);

}  // namespace initbench
