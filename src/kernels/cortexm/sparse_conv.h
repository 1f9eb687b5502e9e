// CONV_2D with a static skip set (sparse_gemm.h): the im2col of conv.h, then the quad-skipping
// GEMM. Bit-exact with reference::conv2d on the filter with the skipped weights set to 0.
// Header-only, freestanding C++17.
//
// Shape: the members of conv2d (conv.h). Buffers: `stream` and `pair_quads` from
// pack_sparse_conv (sparse_pack.h), `quant` its ChannelQuant array, `scratch` of
// conv2d_scratch_bytes(shape) bytes; all 4-byte aligned. Input and output may not overlap.
#pragma once

#include <cstdint>

#include "kernels/cortexm/conv.h"
#include "kernels/cortexm/sparse_gemm.h"

namespace frugal::kernels::cortexm {

template <class Requant, class Shape>
void sparse_conv2d(const Shape& s, const int8_t* input, const int32_t* stream,
                   const uint16_t* pair_quads, const ChannelQuant* quant, int8_t* output,
                   int16_t* scratch) {
  const int32_t pixels = s.out_h * s.out_w;
  int16_t* col0 = scratch;
  int16_t* col1 = scratch + 4;  // interleaved with column 0, quad by quad
  int32_t oy = 0, ox = 0;
  int32_t p = 0;
  for (; p + 1 < pixels; p += 2) {
    detail::im2col_column(s, input, oy, ox, scratch, col0);
    if (++ox == s.out_w) ox = 0, ++oy;
    detail::im2col_column(s, input, oy, ox, scratch, col1);
    if (++ox == s.out_w) ox = 0, ++oy;
    detail::sparse_gemm_two_columns<Requant>(s, stream, pair_quads, quant, col0,
                                             output + p * s.out_c);
  }
  if (p < pixels) {
    detail::im2col_column(s, input, oy, ox, scratch, col0);
    detail::sparse_gemm_one_column<Requant>(s, stream, pair_quads, quant, col0,
                                            output + p * s.out_c);
  }
}

}  // namespace frugal::kernels::cortexm
