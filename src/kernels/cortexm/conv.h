// CONV_2D (int8, per-channel requantization) for Cortex-M4/M7: im2col of two output pixels into
// int16 (input offset added there, padding stored as 0) followed by the 2-channel x 2-pixel
// SMLAD GEMM of gemm.h. Header-only, freestanding C++17.
//
// Shape: any type with these members, either `static constexpr` (the generator's per-layer
// struct, which lets the compiler fold every index and unroll the loops) or plain runtime
// members (the randomised host tests); the same source serves both:
//   in_h, in_w, in_c, out_h, out_w, out_c       NHWC extents of one image (batch 1)
//   kh, kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w
//   input_offset (= -input zero point), output_offset, act_min, act_max
// Grouped convolution (filter channels != in_c) is not supported.
//
// Buffers: `weights` from pack_conv_weights (layout in gemm.h), `quant` from
// pack_channel_quant (out_c entries), `scratch` of conv2d_scratch_bytes(shape) bytes, 4-byte
// aligned, `weights` 4-byte aligned. Input and output may not overlap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/cortexm/gemm.h"

namespace frugal::kernels::cortexm {

template <class Shape>
constexpr int32_t conv2d_k4(const Shape& s) {
  return round_up4(s.kh * s.kw * s.in_c);
}

// Two interleaved int16 im2col columns, plus (channel counts that are not multiples of 4) an
// int8 staging column of K4 bytes.
template <class Shape>
constexpr size_t conv2d_scratch_bytes(const Shape& s) {
  return static_cast<size_t>(conv2d_k4(s)) * (2 * sizeof(int16_t) + (s.in_c % 4 == 0 ? 0 : 1));
}
template <class Shape>
constexpr size_t conv2d_scratch_bytes() {
  return conv2d_scratch_bytes(Shape{});
}

namespace detail {

// im2col of output pixel (oy, ox) into one column slot of the interleaved scratch (gemm.h).
template <class Shape>
inline void im2col_column(const Shape& s, const int8_t* input, int32_t oy, int32_t ox,
                          int16_t* scratch_base, int16_t* col) {
  const int32_t offset = s.input_offset;
  const int32_t offset2 = offset_pair(offset);
  const int32_t y0 = oy * s.stride_h - s.pad_h;
  const int32_t x0 = ox * s.stride_w - s.pad_w;
  if (s.kh == 1 && s.kw == 1 && s.pad_h == 0 && s.pad_w == 0 && s.in_c % 4 == 0) {
    // Pointwise: the column is the input pixel.
    expand_quads(input + (y0 * s.in_w + x0) * s.in_c, s.in_c, offset2, col);
    return;
  }
  if (s.in_c % 4 == 0) {
    int16_t* dst = col;
    for (int32_t fy = 0; fy < s.kh; ++fy) {
      const int32_t iy = y0 + fy * s.dilation_h;
      const bool row_inside = iy >= 0 && iy < s.in_h;
      for (int32_t fx = 0; fx < s.kw; ++fx) {
        const int32_t ix = x0 + fx * s.dilation_w;
        if (row_inside && ix >= 0 && ix < s.in_w) {
          expand_quads(input + (iy * s.in_w + ix) * s.in_c, s.in_c, offset2, dst);
        } else {
          for (int32_t c = 0; c < s.in_c; c += 4) {
            store32(dst + 2 * c, 0);
            store32(dst + 2 * c + 2, 0);
          }
        }
        dst += 2 * s.in_c;
      }
    }
    return;
  }
  // Channel counts that are not multiples of 4 (the RGB stem): gather the int8 column in K
  // order into the staging bytes after the two int16 columns (padding and the tail of the last
  // quad hold the input zero point, which expands to 0), then expand whole quads.
  const int32_t k4 = conv2d_k4(s);
  int8_t* stage = reinterpret_cast<int8_t*>(scratch_base + 2 * k4);
  const int8_t zero_point = static_cast<int8_t>(-offset);
  int8_t* dst = stage;
  const bool whole_rows = s.dilation_w == 1 && x0 >= 0 && x0 + s.kw <= s.in_w;
  for (int32_t fy = 0; fy < s.kh; ++fy) {
    const int32_t iy = y0 + fy * s.dilation_h;
    if (iy < 0 || iy >= s.in_h) {
      std::memset(dst, zero_point, static_cast<size_t>(s.kw * s.in_c));
    } else if (whole_rows) {
      std::memcpy(dst, input + (iy * s.in_w + x0) * s.in_c, static_cast<size_t>(s.kw * s.in_c));
    } else {
      for (int32_t fx = 0; fx < s.kw; ++fx) {
        const int32_t ix = x0 + fx * s.dilation_w;
        int8_t* pixel = dst + fx * s.in_c;
        if (ix >= 0 && ix < s.in_w) {
          std::memcpy(pixel, input + (iy * s.in_w + ix) * s.in_c, static_cast<size_t>(s.in_c));
        } else {
          std::memset(pixel, zero_point, static_cast<size_t>(s.in_c));
        }
      }
    }
    dst += s.kw * s.in_c;
  }
  std::memset(dst, zero_point, static_cast<size_t>(k4 - s.kh * s.kw * s.in_c));
  expand_quads(stage, k4, offset2, col);
}

}  // namespace detail

// Weight is int8_t (the packed int8 layout) or int16_t (WeightFormat::kInt16), see gemm.h.
template <class Requant, class Shape, class Weight>
void conv2d(const Shape& s, const int8_t* input, const Weight* weights, const ChannelQuant* quant,
            int8_t* output, int16_t* scratch) {
  const int32_t k4 = conv2d_k4(s);
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
    detail::gemm_two_columns<Requant>(s, weights, quant, col0, output + p * s.out_c);
  }
  if (p < pixels) {
    detail::im2col_column(s, input, oy, ox, scratch, col0);
    detail::gemm_one_column<Requant>(s, k4, s.out_c, weights, quant, col0, output + p * s.out_c);
  }
}

}  // namespace frugal::kernels::cortexm
