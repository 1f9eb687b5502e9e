// FULLY_CONNECTED (int8) for Cortex-M4/M7: each input row is expanded once to quad-ordered
// int16 with the input offset added, then the 2-channel SMLAD GEMM of gemm.h runs over two
// batch rows at a time (one for the last odd row). Header-only, freestanding C++17.
//
// Shape members (static constexpr or runtime, see conv.h):
//   batches, depth, out_depth, input_offset, output_offset, act_min, act_max
// Buffers: `weights` from pack_fully_connected_weights (the conv layout of gemm.h with
// K = depth), `quant` from pack_channel_quant (out_depth entries), `scratch` of
// fully_connected_scratch_bytes(shape) bytes, 4-byte aligned.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cortexm/gemm.h"

namespace frugal::kernels::cortexm {

template <class Shape>
constexpr size_t fully_connected_scratch_bytes(const Shape& s) {
  // Two interleaved rows (gemm.h); a single row uses the same stride.
  return static_cast<size_t>(round_up4(s.depth)) * 2 * sizeof(int16_t);
}
template <class Shape>
constexpr size_t fully_connected_scratch_bytes() {
  return fully_connected_scratch_bytes(Shape{});
}

namespace detail {

template <class Shape>
inline void expand_row(const Shape& s, const int8_t* row, int16_t* dst) {
  const int32_t whole = s.depth & ~3;
  expand_quads(row, whole, offset_pair(s.input_offset), dst);
  if (whole != s.depth) {
    expand_elements(row + whole, s.depth - whole, s.input_offset, whole, dst);
    zero_elements(round_up4(s.depth) - s.depth, s.depth, dst);
  }
}

}  // namespace detail

// Weight is int8_t (the packed int8 layout) or int16_t (WeightFormat::kInt16), see gemm.h.
template <class Requant, class Shape, class Weight>
void fully_connected(const Shape& s, const int8_t* input, const Weight* weights,
                     const ChannelQuant* quant, int8_t* output, int16_t* scratch) {
  const int32_t k4 = round_up4(s.depth);
  int32_t b = 0;
  for (; b + 1 < s.batches; b += 2) {
    detail::expand_row(s, input + b * s.depth, scratch);
    detail::expand_row(s, input + (b + 1) * s.depth, scratch + 4);
    detail::gemm_two_columns<Requant>(s, weights, quant, scratch, output + b * s.out_depth);
  }
  if (b < s.batches) {
    detail::expand_row(s, input + b * s.depth, scratch);
    detail::gemm_one_column<Requant>(s, k4, s.out_depth, weights, quant, scratch,
                                     output + b * s.out_depth);
  }
}

}  // namespace frugal::kernels::cortexm
