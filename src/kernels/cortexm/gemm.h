// The int8 x int16 GEMM core shared by conv2d and fully_connected: output channels in pairs
// times one or two im2col columns, SMLAD on int16 pairs.
//
// Packed weights (pack_conv_weights / pack_fully_connected_weights): output channels in pairs
// (a = 2p, b = 2p + 1; a missing b is all zeros), for each pair the K dimension (im2col order,
// zero-padded to K4 = round_up(K, 4)) in quads of 4; each quad is 8 bytes
//     a[k] b[k] a[k+2] b[k+2]   a[k+1] b[k+1] a[k+3] b[k+3]
// so SXTB16 of the first word is (a[k], a[k+2]), SXTB16 ROR 8 is (b[k], b[k+2]), and likewise
// (a[k+1], a[k+3]) / (b[k+1], b[k+3]) from the second. Total ceil(out_c / 2) * K4 * 2 bytes,
// 4-byte aligned.
//
// The im2col scratch holds two columns interleaved quad by quad: quad q of column j is the 4
// int16 at 8q + 4j, in the order x[k] x[k+2] x[k+1] x[k+3] (input + input_offset; 0 for padding
// and k >= K). That is what SXTAB16 and SXTAB16 ROR 8 of one input word produce, so a column
// never needs a PKHBT, and one LDM brings the quads of both columns.
#pragma once

#include <cstdint>

#include "kernels/cortexm/dsp.h"
#include "kernels/cortexm/requant.h"

// The asm loops need an optimising build (at -O0 GCC cannot find them 14 registers); an
// unoptimised firmware build gets the portable loops, which compile to the same instructions
// less tightly.
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__OPTIMIZE__)
#include "kernels/cortexm/gemm_micro_arm.h"
#else
#include "kernels/cortexm/gemm_micro_portable.h"
#endif

namespace frugal::kernels::cortexm::detail {

// Position of element k of a column inside the interleaved scratch (quads 8 int16 apart, the
// column's 4 values in the order 0 2 1 3).
constexpr int32_t quad_position(int32_t k) {
  return ((k & ~3) << 1) | ((k & 1) << 1) | ((k >> 1) & 1);
}

// K4 and the number of output channels of a conv (in_c, out_c) or FC (depth, out_depth)
// shape, constants for the generator's static shapes.
template <class Shape>
constexpr auto gemm_k4(const Shape& s) -> decltype(s.in_c, int32_t{}) {
  return round_up4(s.kh * s.kw * s.in_c);
}
template <class Shape>
constexpr auto gemm_k4(const Shape& s) -> decltype(s.depth, int32_t{}) {
  return round_up4(s.depth);
}
template <class Shape>
constexpr auto gemm_out_c(const Shape& s) -> decltype(s.out_c, int32_t{}) {
  return s.out_c;
}
template <class Shape>
constexpr auto gemm_out_c(const Shape& s) -> decltype(s.out_depth, int32_t{}) {
  return s.out_depth;
}

// All output channels of the two interleaved columns in `cols`; their outputs are
// out[0, out_c) and out[out_c, 2 out_c). Out of line: one call per column pair, and the asm
// loop inlined into it sees a small, fixed register context.
template <class Requant, class Shape, class Weight>
__attribute__((noinline)) void gemm_two_columns(const Shape& s, const Weight* weights,
                                                const ChannelQuant* quant, const int16_t* cols,
                                                int8_t* out) {
  const int32_t k4 = gemm_k4(s);
  const int32_t out_c = gemm_out_c(s);
  const int32_t quads = k4 >> 2;
  const int32_t pair_stride = 2 * k4;  // elements of either weight type
  const int32_t full_pairs = out_c >> 1;
  for (int32_t p = 0; p < full_pairs; ++p) {
    const ChannelQuant& qa = quant[2 * p];
    const ChannelQuant& qb = quant[2 * p + 1];
    int32_t acc[4] = {qa.bias, qa.bias, qb.bias, qb.bias};
    mac_2x2_quads(weights + p * pair_stride, cols, quads, acc);
    out[2 * p] = finish_output(s, Requant::apply(acc[0], qa));
    out[2 * p + 1] = finish_output(s, Requant::apply(acc[2], qb));
    out[out_c + 2 * p] = finish_output(s, Requant::apply(acc[1], qa));
    out[out_c + 2 * p + 1] = finish_output(s, Requant::apply(acc[3], qb));
  }
  if (out_c & 1) {
    const ChannelQuant& qa = quant[out_c - 1];
    int32_t acc[4] = {qa.bias, qa.bias, 0, 0};
    mac_2x2_quads(weights + full_pairs * pair_stride, cols, quads, acc);
    out[out_c - 1] = finish_output(s, Requant::apply(acc[0], qa));
    out[2 * out_c - 1] = finish_output(s, Requant::apply(acc[1], qa));
  }
}

// Four channels of one column at a time where the weight format has a 4-channel loop (int8);
// int16 weights take the pairs one by one.
inline bool mac_4x1(const int8_t* weights_p, const int8_t* weights_q, const int16_t* col,
                    int32_t quads, int32_t* acc) {
  mac_4x1_quads(weights_p, weights_q, col, quads, acc);
  return true;
}
inline bool mac_4x1(const int16_t*, const int16_t*, const int16_t*, int32_t, int32_t*) {
  return false;
}

// All output channels of one column (the first slot of an interleaved scratch).
template <class Requant, class Shape, class Weight>
inline void gemm_one_column(const Shape& s, int32_t k4, int32_t out_c, const Weight* weights,
                            const ChannelQuant* quant, const int16_t* col, int8_t* out) {
  const int32_t quads = k4 >> 2;
  const int32_t pair_stride = 2 * k4;  // elements of either weight type
  int32_t c = 0;
  for (; c + 4 <= out_c; c += 4) {
    int32_t acc[4] = {quant[c].bias, quant[c + 1].bias, quant[c + 2].bias, quant[c + 3].bias};
    const Weight* wp = weights + (c / 2) * pair_stride;
    if (!mac_4x1(wp, wp + pair_stride, col, quads, acc)) break;
    for (int32_t i = 0; i < 4; ++i) out[c + i] = finish_output(s, Requant::apply(acc[i], quant[c + i]));
  }
  for (; c < out_c; c += 2) {
    const ChannelQuant& qa = quant[c];
    const bool has_b = c + 1 < out_c;
    int32_t acc[2] = {qa.bias, has_b ? quant[c + 1].bias : 0};
    mac_2x1_quads(weights + (c / 2) * pair_stride, col, quads, acc);
    out[c] = finish_output(s, Requant::apply(acc[0], qa));
    if (has_b) out[c + 1] = finish_output(s, Requant::apply(acc[1], quant[c + 1]));
  }
}

// Expands `count` int8 values (count a multiple of 4, src any alignment) into whole quads of
// one interleaved column starting at `dst` (quad i at dst + 8i), input offset added.
inline void expand_quads(const int8_t* src, int32_t count, int32_t offset2, int16_t* dst) {
#pragma GCC unroll 4
  for (int32_t i = 0; i < count; i += 4) {
    const int32_t x = load32(src + i);
    store32(dst + 2 * i, sxtab16(offset2, x));
    store32(dst + 2 * i + 2, sxtab16_ror8(offset2, x));
  }
}

// Expands `count` int8 values (any count) starting at logical position `k` of a column; the
// element-wise path for channel counts that are not multiples of 4.
inline void expand_elements(const int8_t* src, int32_t count, int32_t offset, int32_t k,
                            int16_t* row) {
  for (int32_t i = 0; i < count; ++i) {
    row[quad_position(k + i)] = static_cast<int16_t>(src[i] + offset);
  }
}

inline void zero_elements(int32_t count, int32_t k, int16_t* row) {
  for (int32_t i = 0; i < count; ++i) row[quad_position(k + i)] = 0;
}

}  // namespace frugal::kernels::cortexm::detail
