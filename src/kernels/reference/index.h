// Row-major NHWC addressing shared by the reference kernels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/params.h"

namespace frugal::kernels::reference {

constexpr size_t offset(const Dims4& d, int32_t n, int32_t h, int32_t w, int32_t c) {
  return static_cast<size_t>(((int64_t{n} * d.h + h) * d.w + w) * d.c + c);
}

// Index of the element an input with extent `in` contributes to output coordinate
// (n, h, w, c): a dimension of 1 is broadcast.
constexpr size_t broadcast_offset(const Dims4& in, int32_t n, int32_t h, int32_t w, int32_t c) {
  return offset(in, in.n == 1 ? 0 : n, in.h == 1 ? 0 : h, in.w == 1 ? 0 : w, in.c == 1 ? 0 : c);
}

constexpr int32_t clamp(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

}  // namespace frugal::kernels::reference
