// CONV_2D / FULLY_CONNECTED with a per-layer GEMM emitted by emit_unrolled_gemm
// (sparse_pack.h): every kept weight pair is a constant operand of its SMLAD, skipped SMLADs
// are absent. The im2col / row expansion is conv.h's / fully_connected.h's, so `Gemm` reads the
// same interleaved scratch. Header-only, freestanding C++17.
//
// Gemm: the emitted struct (static two(cols, acc) and one(col, acc)). Scratch:
// unrolled_conv2d_scratch_bytes / unrolled_fully_connected_scratch_bytes, 4-byte aligned (the
// im2col columns, then 2 * out_c int32 accumulators).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cortexm/conv.h"
#include "kernels/cortexm/fully_connected.h"

namespace frugal::kernels::cortexm {

template <class Shape>
constexpr size_t unrolled_conv2d_scratch_bytes(const Shape& s) {
  return ((conv2d_scratch_bytes(s) + 3) & ~size_t{3}) + 8 * static_cast<size_t>(s.out_c);
}
template <class Shape>
constexpr size_t unrolled_fully_connected_scratch_bytes(const Shape& s) {
  return fully_connected_scratch_bytes(s) + 8 * static_cast<size_t>(s.out_depth);
}

namespace detail {

inline void init_acc(const ChannelQuant* quant, int32_t out_c, int32_t columns, int32_t* acc) {
  for (int32_t j = 0; j < columns; ++j) {
    for (int32_t c = 0; c < out_c; ++c) acc[j * out_c + c] = quant[c].bias;
  }
}

template <class Requant, class Shape>
inline void requant_acc(const Shape& s, const ChannelQuant* quant, int32_t out_c, int32_t columns,
                        const int32_t* acc, int8_t* out) {
  for (int32_t j = 0; j < columns; ++j) {
    for (int32_t c = 0; c < out_c; ++c) {
      out[j * out_c + c] = finish_output(s, Requant::apply(acc[j * out_c + c], quant[c]));
    }
  }
}

}  // namespace detail

template <class Requant, class Gemm, class Shape>
void unrolled_conv2d(const Shape& s, const int8_t* input, const ChannelQuant* quant,
                     int8_t* output, int16_t* scratch) {
  const int32_t pixels = s.out_h * s.out_w;
  int16_t* col0 = scratch;
  int16_t* col1 = scratch + 4;
  int32_t* acc = reinterpret_cast<int32_t*>(
      reinterpret_cast<char*>(scratch) + ((conv2d_scratch_bytes(s) + 3) & ~size_t{3}));
  int32_t oy = 0, ox = 0;
  int32_t p = 0;
  for (; p + 1 < pixels; p += 2) {
    detail::im2col_column(s, input, oy, ox, scratch, col0);
    if (++ox == s.out_w) ox = 0, ++oy;
    detail::im2col_column(s, input, oy, ox, scratch, col1);
    if (++ox == s.out_w) ox = 0, ++oy;
    detail::init_acc(quant, s.out_c, 2, acc);
    Gemm::two(col0, acc);
    detail::requant_acc<Requant>(s, quant, s.out_c, 2, acc, output + p * s.out_c);
  }
  if (p < pixels) {
    detail::im2col_column(s, input, oy, ox, scratch, col0);
    detail::init_acc(quant, s.out_c, 1, acc);
    Gemm::one(col0, acc);
    detail::requant_acc<Requant>(s, quant, s.out_c, 1, acc, output + p * s.out_c);
  }
}

template <class Requant, class Gemm, class Shape>
void unrolled_fully_connected(const Shape& s, const int8_t* input, const ChannelQuant* quant,
                              int8_t* output, int16_t* scratch) {
  int32_t* acc = reinterpret_cast<int32_t*>(reinterpret_cast<char*>(scratch) +
                                            fully_connected_scratch_bytes(s));
  int32_t b = 0;
  for (; b + 1 < s.batches; b += 2) {
    detail::expand_row(s, input + b * s.depth, scratch);
    detail::expand_row(s, input + (b + 1) * s.depth, scratch + 4);
    detail::init_acc(quant, s.out_depth, 2, acc);
    Gemm::two(scratch, acc);
    detail::requant_acc<Requant>(s, quant, s.out_depth, 2, acc, output + b * s.out_depth);
  }
  if (b < s.batches) {
    detail::expand_row(s, input + b * s.depth, scratch);
    detail::init_acc(quant, s.out_depth, 1, acc);
    Gemm::one(scratch, acc);
    detail::requant_acc<Requant>(s, quant, s.out_depth, 1, acc, output + b * s.out_depth);
  }
}

}  // namespace frugal::kernels::cortexm
