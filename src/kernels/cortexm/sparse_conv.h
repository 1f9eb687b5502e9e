// CONV_2D with a static skip set: the im2col of conv.h, then a skipping GEMM (Gemm: PairQuadGemm,
// sparse_gemm.h, or ChannelQuadGemm, sparse_channel_gemm.h). Bit-exact with reference::conv2d on
// the filter with the skipped weights set to 0.
// Header-only, freestanding C++17.
//
// Shape: the members of conv2d (conv.h). Buffers: `stream` and `table` from pack_sparse_conv
// (PairQuadGemm) or pack_channel_sparse_conv (ChannelQuadGemm), `quant` its ChannelQuant array, `scratch` of
// conv2d_scratch_bytes(shape) bytes; all 4-byte aligned. Input and output may not overlap.
#pragma once

#include <cstdint>

#include "kernels/cortexm/conv.h"
#include "kernels/cortexm/sparse_channel_gemm.h"
#include "kernels/cortexm/sparse_gemm.h"

namespace frugal::kernels::cortexm {

template <class Requant, class Gemm = PairQuadGemm, class Shape>
void sparse_conv2d(const Shape& s, const int8_t* input, const int32_t* stream,
                   const uint16_t* table, const ChannelQuant* quant, int8_t* output,
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
    Gemm::template two<Requant>(s, stream, table, quant, col0, output + p * s.out_c);
  }
  if (p < pixels) {
    detail::im2col_column(s, input, oy, ox, scratch, col0);
    Gemm::template one<Requant>(s, stream, table, quant, col0, output + p * s.out_c);
  }
}

}  // namespace frugal::kernels::cortexm
