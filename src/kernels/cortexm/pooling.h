// MAX_POOL_2D and AVERAGE_POOL_2D (int8) for Cortex-M4/M7, four channels per 32-bit word:
// maximum with SSUB8 + SEL, sums with SXTAB16 into int16 pairs (exact while the window has at
// most 256 elements; larger windows use int32 sums). The window is clipped to the input as in
// the reference, and the average rounds half away from zero. Header-only, freestanding C++17.
//
// Shape members (static constexpr or runtime, see conv.h):
//   in_h, in_w, channels, out_h, out_w, filter_h, filter_w, stride_h, stride_w, pad_h, pad_w,
//   act_min, act_max
// No packed data, no scratch.
#pragma once

#include <cstdint>

#include "kernels/cortexm/dsp.h"

namespace frugal::kernels::cortexm {

namespace detail {

struct PoolWindow {
  int32_t y_begin, y_end, x_begin, x_end;  // input rows/columns, [begin, end)
};

template <class Shape>
inline PoolWindow pool_window(const Shape& s, int32_t oy, int32_t ox) {
  const int32_t y0 = oy * s.stride_h - s.pad_h;
  const int32_t x0 = ox * s.stride_w - s.pad_w;
  PoolWindow w{};
  w.y_begin = y0 < 0 ? 0 : y0;
  w.x_begin = x0 < 0 ? 0 : x0;
  w.y_end = y0 + s.filter_h < s.in_h ? y0 + s.filter_h : s.in_h;
  w.x_end = x0 + s.filter_w < s.in_w ? x0 + s.filter_w : s.in_w;
  return w;
}

constexpr int32_t bytes4(int32_t v) {
  return static_cast<int32_t>((static_cast<uint32_t>(v) & 0xFFu) * 0x01010101u);
}

// Division rounding half away from zero, as the reference average.
inline int32_t rounded_average(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

}  // namespace detail

template <class Shape>
void max_pool(const Shape& s, const int8_t* input, int8_t* output) {
  const int32_t c4 = s.channels & ~3;
  const int32_t lo4 = detail::bytes4(s.act_min), hi4 = detail::bytes4(s.act_max);
  for (int32_t oy = 0; oy < s.out_h; ++oy) {
    for (int32_t ox = 0; ox < s.out_w; ++ox) {
      const detail::PoolWindow w = detail::pool_window(s, oy, ox);
      int8_t* out = output + (oy * s.out_w + ox) * s.channels;
      for (int32_t c = 0; c < c4; c += 4) {
        int32_t m = detail::bytes4(-128);
        for (int32_t y = w.y_begin; y < w.y_end; ++y) {
          for (int32_t x = w.x_begin; x < w.x_end; ++x) {
            m = max_s8x4(m, load32(input + (y * s.in_w + x) * s.channels + c));
          }
        }
        // The clamp costs nothing when the activation range is the whole int8 range.
        if (s.act_min > -128) m = max_s8x4(m, lo4);
        if (s.act_max < 127) m = min_s8x4(m, hi4);
        store32(out + c, m);
      }
      for (int32_t c = c4; c < s.channels; ++c) {
        int32_t m = -128;
        for (int32_t y = w.y_begin; y < w.y_end; ++y) {
          for (int32_t x = w.x_begin; x < w.x_end; ++x) {
            const int32_t v = input[(y * s.in_w + x) * s.channels + c];
            m = v > m ? v : m;
          }
        }
        m = m < s.act_min ? s.act_min : m;
        out[c] = static_cast<int8_t>(m > s.act_max ? s.act_max : m);
      }
    }
  }
}

template <class Shape>
void average_pool(const Shape& s, const int8_t* input, int8_t* output) {
  // int16 pair sums hold any window of up to 256 int8 values (-128 * 256 = INT16_MIN).
  const int32_t c4 = s.filter_h * s.filter_w <= 256 ? s.channels & ~3 : 0;
  for (int32_t oy = 0; oy < s.out_h; ++oy) {
    for (int32_t ox = 0; ox < s.out_w; ++ox) {
      const detail::PoolWindow w = detail::pool_window(s, oy, ox);
      const int32_t count = (w.y_end - w.y_begin) * (w.x_end - w.x_begin);
      int8_t* out = output + (oy * s.out_w + ox) * s.channels;
      for (int32_t c = 0; c < c4; c += 4) {
        int32_t sum02 = 0, sum13 = 0;
        for (int32_t y = w.y_begin; y < w.y_end; ++y) {
          for (int32_t x = w.x_begin; x < w.x_end; ++x) {
            const int32_t v = load32(input + (y * s.in_w + x) * s.channels + c);
            sum02 = sxtab16(sum02, v);
            sum13 = sxtab16_ror8(sum13, v);
          }
        }
        const int32_t sums[4] = {static_cast<int16_t>(sum02 & 0xFFFF),
                                 static_cast<int16_t>(sum13 & 0xFFFF),
                                 static_cast<int16_t>(static_cast<uint32_t>(sum02) >> 16),
                                 static_cast<int16_t>(static_cast<uint32_t>(sum13) >> 16)};
        for (int32_t i = 0; i < 4; ++i) {
          int32_t avg = count > 0 ? detail::rounded_average(sums[i], count) : 0;
          avg = avg < s.act_min ? s.act_min : avg;
          out[c + i] = static_cast<int8_t>(avg > s.act_max ? s.act_max : avg);
        }
      }
      for (int32_t c = c4; c < s.channels; ++c) {
        int32_t sum = 0;
        for (int32_t y = w.y_begin; y < w.y_end; ++y) {
          for (int32_t x = w.x_begin; x < w.x_end; ++x) {
            sum += input[(y * s.in_w + x) * s.channels + c];
          }
        }
        int32_t avg = count > 0 ? detail::rounded_average(sum, count) : 0;
        avg = avg < s.act_min ? s.act_min : avg;
        out[c] = static_cast<int8_t>(avg > s.act_max ? s.act_max : avg);
      }
    }
  }
}

}  // namespace frugal::kernels::cortexm
