// How an ir::PqLayout cuts a weight tensor into sub-vectors, and how indices are packed on disk.
// Private to frugal_pq: decode/check_encodings (bundle.cpp) and the reader (bundle_io.cpp) must
// agree on both, and the reader needs the index count before any ir::Tensor exists.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace frugal::pq::detail {

// An encoded tensor's indices form rows x cols (row-major); each index stands for `d` weights.
struct SubvectorGrid {
  int64_t rows = 0;  // O, the output channels
  int64_t cols = 0;  // I (kKernel) or L/d (kRow)
  int64_t count() const { return rows * cols; }
};

// The grid of `shape` under `layout` with sub-vectors of `d`, or nullopt with `why` set to the
// rule the shape breaks (for a message). Dimensions must already be known to be positive.
std::optional<SubvectorGrid> subvector_grid(const std::vector<int32_t>& shape, ir::PqLayout layout,
                                            int32_t d, std::string& why);

// Bytes of `count` indices packed at `index_bits` (4 or 8).
inline size_t packed_index_bytes(size_t count, int32_t index_bits) {
  return index_bits == 4 ? (count + 1) / 2 : count;
}

// Bytes of a bitmap with one bit per row (the zero-row bitmap of bundle version 3).
inline size_t row_bitmap_bytes(size_t rows) { return (rows + 7) / 8; }

// Which rows of `values` (rows x cols, row-major) are `value` throughout.
template <class T>
std::vector<bool> rows_all_equal(const std::vector<T>& values, size_t rows, T value) {
  const size_t cols = rows == 0 ? 0 : values.size() / rows;
  std::vector<bool> out(rows);
  for (size_t r = 0; r < rows; ++r) {
    const auto row = values.begin() + static_cast<std::ptrdiff_t>(r * cols);
    out[r] = std::all_of(row, row + static_cast<std::ptrdiff_t>(cols), [value](T v) { return v == value; });
  }
  return out;
}

}  // namespace frugal::pq::detail
