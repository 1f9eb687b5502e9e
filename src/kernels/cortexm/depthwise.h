// DEPTHWISE_CONV_2D (int8, per-channel requantization) for Cortex-M4/M7. Channels are taken four
// at a time from one input word: SXTAB16 / SXTAB16 ROR 8 give the offset-added int16 pairs of
// channels (0, 2) and (1, 3); the weights are stored pre-expanded to the same pairs, so one tap
// of four channels is LDR + 2 SXTAB16 + LDRD + 4 SMLA<x><y>. Interior pixels run the taps
// without bounds checks; border pixels skip the taps that fall into the padding (they
// contribute nothing, as in the reference). Header-only, freestanding C++17.
//
// Shape members (static constexpr or runtime, see conv.h):
//   in_h, in_w, in_c, out_h, out_w, out_c (= in_c * depth_multiplier), kh, kw,
//   stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, depth_multiplier,
//   input_offset, output_offset, act_min, act_max
//
// Packed weights (pack_depthwise_weights), int16, 4-byte aligned: output channels in groups of
// four (g), for each group every tap t = fy * kw + fx in order, per tap 4 int16:
//     w[4g][t] w[4g+2][t]   w[4g+1][t] w[4g+3][t]
// (channels >= out_c are 0). ceil(out_c / 4) * kh * kw * 8 bytes. depth_multiplier > 1 is
// supported by a plain per-channel path that reads the same layout. No scratch buffer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cortexm/dsp.h"
#include "kernels/cortexm/requant.h"

namespace frugal::kernels::cortexm {

template <class Shape>
constexpr size_t depthwise_conv2d_scratch_bytes(const Shape&) {
  return 0;
}
template <class Shape>
constexpr size_t depthwise_conv2d_scratch_bytes() {
  return 0;
}

namespace detail {

// One tap of four channels: LDR, SXTAB16 x2, LDRD, SMLABB/SMLATT x2 each.
inline void depthwise_tap(const int8_t* in, const int16_t* w, int32_t offset2, int32_t& c0,
                          int32_t& c1, int32_t& c2, int32_t& c3) {
  const int32_t x = load32(in);
  const int32_t x02 = sxtab16(offset2, x);
  const int32_t x13 = sxtab16_ror8(offset2, x);
  const int32_t w02 = load32_aligned(w);
  const int32_t w13 = load32_aligned(w + 2);
  c0 = smlabb(x02, w02, c0);
  c2 = smlatt(x02, w02, c2);
  c1 = smlabb(x13, w13, c1);
  c3 = smlatt(x13, w13, c3);
}

// Weight of output channel oc at tap t in the packed layout.
inline int32_t depthwise_weight(const int16_t* weights, int32_t taps, int32_t oc, int32_t t) {
  const int32_t lane = oc & 3;
  return weights[((oc >> 2) * taps + t) * 4 + (lane & 1) * 2 + (lane >> 1)];
}

// One output channel the plain way (channel tails, depth_multiplier > 1).
template <class Requant, class Shape>
inline int8_t depthwise_one_channel(const Shape& s, const int8_t* input, const int16_t* weights,
                                    const ChannelQuant& q, int32_t y0, int32_t x0, int32_t oc) {
  const int32_t ic = oc / s.depth_multiplier;
  const int32_t taps = s.kh * s.kw;
  int32_t acc = q.bias;
  for (int32_t fy = 0; fy < s.kh; ++fy) {
    const int32_t iy = y0 + fy * s.dilation_h;
    if (iy < 0 || iy >= s.in_h) continue;
    for (int32_t fx = 0; fx < s.kw; ++fx) {
      const int32_t ix = x0 + fx * s.dilation_w;
      if (ix < 0 || ix >= s.in_w) continue;
      const int32_t x = input[(iy * s.in_w + ix) * s.in_c + ic] + s.input_offset;
      acc += x * depthwise_weight(weights, taps, oc, fy * s.kw + fx);
    }
  }
  return finish_output(s, Requant::apply(acc, q));
}

}  // namespace detail

template <class Requant, class Shape>
void depthwise_conv2d(const Shape& s, const int8_t* input, const int16_t* weights,
                      const ChannelQuant* quant, int8_t* output) {
  const int32_t taps = s.kh * s.kw;
  const int32_t offset2 = offset_pair(s.input_offset);
  const int32_t quads = s.depth_multiplier == 1 ? s.out_c >> 2 : 0;
  const int32_t channels = s.out_c;
  for (int32_t oy = 0; oy < s.out_h; ++oy) {
    const int32_t y0 = oy * s.stride_h - s.pad_h;
    const bool rows_inside = y0 >= 0 && y0 + (s.kh - 1) * s.dilation_h < s.in_h;
    for (int32_t ox = 0; ox < s.out_w; ++ox) {
      const int32_t x0 = ox * s.stride_w - s.pad_w;
      const bool inside = rows_inside && x0 >= 0 && x0 + (s.kw - 1) * s.dilation_w < s.in_w;
      int8_t* out = output + (oy * s.out_w + ox) * channels;
      if (inside) {
        // All taps inside the input: fixed offsets, fully unrolled for constant shapes.
        const int8_t* in = input + (y0 * s.in_w + x0) * s.in_c;
        for (int32_t g = 0; g < quads; ++g, in += 4) {
          const ChannelQuant* q = quant + 4 * g;
          const int16_t* wg = weights + g * taps * 4;
          int32_t c0 = q[0].bias, c1 = q[1].bias, c2 = q[2].bias, c3 = q[3].bias;
#pragma GCC unroll 16
          for (int32_t fy = 0; fy < s.kh; ++fy) {
#pragma GCC unroll 16
            for (int32_t fx = 0; fx < s.kw; ++fx) {
              detail::depthwise_tap(
                  in + (fy * s.dilation_h * s.in_w + fx * s.dilation_w) * s.in_c,
                  wg + (fy * s.kw + fx) * 4, offset2, c0, c1, c2, c3);
              schedule_barrier();
            }
          }
          out[4 * g] = finish_output(s, Requant::apply(c0, q[0]));
          out[4 * g + 1] = finish_output(s, Requant::apply(c1, q[1]));
          out[4 * g + 2] = finish_output(s, Requant::apply(c2, q[2]));
          out[4 * g + 3] = finish_output(s, Requant::apply(c3, q[3]));
        }
      } else {
        // Border: the taps in the padding contribute nothing; the window is clipped once per
        // pixel so the tap loops need no checks.
        const int32_t fy_begin = y0 < 0 ? (-y0 + s.dilation_h - 1) / s.dilation_h : 0;
        const int32_t fx_begin = x0 < 0 ? (-x0 + s.dilation_w - 1) / s.dilation_w : 0;
        const int32_t fy_limit = (s.in_h - y0 + s.dilation_h - 1) / s.dilation_h;
        const int32_t fx_limit = (s.in_w - x0 + s.dilation_w - 1) / s.dilation_w;
        const int32_t fy_end = fy_limit < s.kh ? fy_limit : s.kh;
        const int32_t fx_end = fx_limit < s.kw ? fx_limit : s.kw;
        for (int32_t g = 0; g < quads; ++g) {
          const ChannelQuant* q = quant + 4 * g;
          const int16_t* wg = weights + g * taps * 4;
          int32_t c0 = q[0].bias, c1 = q[1].bias, c2 = q[2].bias, c3 = q[3].bias;
#pragma GCC unroll 16
          for (int32_t fy = 0; fy < s.kh; ++fy) {
            if (fy < fy_begin || fy >= fy_end) continue;
            // Integer offset: the row's origin may lie left of the input (x0 < 0).
            const int32_t row = ((y0 + fy * s.dilation_h) * s.in_w + x0) * s.in_c + 4 * g;
#pragma GCC unroll 16
            for (int32_t fx = 0; fx < s.kw; ++fx) {
              if (fx >= fx_begin && fx < fx_end) {
                detail::depthwise_tap(input + row + fx * s.dilation_w * s.in_c,
                                      wg + (fy * s.kw + fx) * 4, offset2, c0, c1, c2, c3);
              }
              schedule_barrier();
            }
          }
          out[4 * g] = finish_output(s, Requant::apply(c0, q[0]));
          out[4 * g + 1] = finish_output(s, Requant::apply(c1, q[1]));
          out[4 * g + 2] = finish_output(s, Requant::apply(c2, q[2]));
          out[4 * g + 3] = finish_output(s, Requant::apply(c3, q[3]));
        }
      }
      for (int32_t oc = 4 * quads; oc < channels; ++oc) {
        out[oc] = detail::depthwise_one_channel<Requant>(s, input, weights, quant[oc], y0, x0, oc);
      }
    }
  }
}

}  // namespace frugal::kernels::cortexm
