// FULLY_CONNECTED with a static skip set: rows expanded as in fully_connected.h, then a skipping
// GEMM (Gemm: PairQuadGemm or ChannelQuadGemm, as sparse_conv.h) over two batch rows at a time. Bit-exact with
// reference::fully_connected on the weights with the skipped ones set to 0. Header-only,
// freestanding C++17.
//
// Shape: the members of fully_connected. Buffers: `stream` and `table` from
// pack_sparse_fully_connected or pack_channel_sparse_fully_connected (sparse_pack.h), `quant`, `scratch` of
// fully_connected_scratch_bytes(shape) bytes; all 4-byte aligned.
#pragma once

#include <cstdint>

#include "kernels/cortexm/fully_connected.h"
#include "kernels/cortexm/sparse_channel_gemm.h"
#include "kernels/cortexm/sparse_gemm.h"

namespace frugal::kernels::cortexm {

template <class Requant, class Gemm = PairQuadGemm, class Shape>
void sparse_fully_connected(const Shape& s, const int8_t* input, const int32_t* stream,
                            const uint16_t* table, const ChannelQuant* quant,
                            int8_t* output, int16_t* scratch) {
  int32_t b = 0;
  for (; b + 1 < s.batches; b += 2) {
    detail::expand_row(s, input + b * s.depth, scratch);
    detail::expand_row(s, input + (b + 1) * s.depth, scratch + 4);
    Gemm::template two<Requant>(s, stream, table, quant, scratch, output + b * s.out_depth);
  }
  if (b < s.batches) {
    detail::expand_row(s, input + b * s.depth, scratch);
    Gemm::template one<Requant>(s, stream, table, quant, scratch, output + b * s.out_depth);
  }
}

}  // namespace frugal::kernels::cortexm
