// AVX-512 (F/BW/VL) + VNNI kernels. Compiled with those target flags; only reached after the
// dispatcher has checked the CPU.
// GCC 12's AVX-512 headers initialise the "undefined" vector of some intrinsics from
// itself, which -W(maybe-)uninitialized reports at every use (a header false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>


#include "kernels/host/internal.h"

namespace frugal::kernels::host::detail::avx512 {
namespace {

constexpr int32_t kInt32Min = -2147483647 - 1;
constexpr int32_t kInt32Max = 2147483647;

// Local instead of std::min: a library template instantiated here could be emitted out of line
// with this file's target flags and picked by the linker for baseline code.
template <typename T>
T min_of(T a, T b) {
  return a < b ? a : b;
}

// Which optional steps of the requantization a layer needs, as template parameters so that
// the common case (right shifts only, no INT32_MIN multiplier) compiles without them.
template <bool kShift, bool kSaturate>
struct RequantMode {
  static constexpr bool shift = kShift;
  static constexpr bool saturate = kSaturate;
};

template <typename Fn>
void with_requant_mode(bool shift, bool saturate, Fn&& fn) {
  if (shift) {
    if (saturate) fn(RequantMode<true, true>{});
    else fn(RequantMode<true, false>{});
  } else {
    if (saturate) fn(RequantMode<false, true>{});
    else fn(RequantMode<false, false>{});
  }
}

// Per-lane constants of multiply_by_quantized_multiplier for 16 channels.
struct Requant16 {
  __m512i multiplier, left_shift, right_shift, remainder_mask, half_mask;
};

Requant16 load_requant(const RequantView& rq, size_t first) {
  return {_mm512_loadu_si512(rq.multiplier + first), _mm512_loadu_si512(rq.left_shift + first),
          _mm512_loadu_si512(rq.right_shift + first),
          _mm512_loadu_si512(rq.remainder_mask + first),
          _mm512_loadu_si512(rq.half_mask + first)};
}

Requant16 broadcast_requant(const QuantizedMultiplier& q) {
  const int32_t left = q.shift > 0 ? q.shift : 0;
  const int32_t right = q.shift > 0 ? 0 : -q.shift;
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  return {_mm512_set1_epi32(q.multiplier), _mm512_set1_epi32(left), _mm512_set1_epi32(right),
          _mm512_set1_epi32(mask), _mm512_set1_epi32(mask >> 1)};
}

// Bit-exact vector form of multiply_by_quantized_multiplier.
template <typename Mode>
inline __m512i requantize(__m512i x, const Requant16& q) {
  if constexpr (Mode::shift) x = _mm512_sllv_epi32(x, q.left_shift);
  // The nudged, truncating division of the high multiply equals floor((a*b + 2^30) / 2^31)
  // for either sign of a*b, so one 64-bit add and shift per half does it.
  const __m512i half = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, q.multiplier), half);
  const __m512i odd = _mm512_add_epi64(
      _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(q.multiplier, 32)), half);
  // Bits 31..62 of each product: the low dword of even >> 31, the high dword of odd << 1.
  __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31),
                                         _mm512_slli_epi64(odd, 1));
  if constexpr (Mode::saturate) {
    const __m512i int_min = _mm512_set1_epi32(kInt32Min);
    const __mmask16 saturate =
        _mm512_cmpeq_epi32_mask(x, int_min) & _mm512_cmpeq_epi32_mask(q.multiplier, int_min);
    high = _mm512_mask_mov_epi32(high, saturate, _mm512_set1_epi32(kInt32Max));
  }
  // Rounding divide by 2^right_shift: round half away from zero.
  const __m512i remainder = _mm512_and_si512(high, q.remainder_mask);
  const __m512i threshold = _mm512_sub_epi32(q.half_mask, _mm512_srai_epi32(high, 31));
  const __m512i quotient = _mm512_srav_epi32(high, q.right_shift);
  return _mm512_mask_add_epi32(quotient, _mm512_cmpgt_epi32_mask(remainder, threshold), quotient,
                               _mm512_set1_epi32(1));
}

template <typename Mode>
inline __m128i finish(__m512i acc, const Requant16& q, __m512i out_offset, __m512i lo,
                      __m512i hi) {
  __m512i v = _mm512_add_epi32(requantize<Mode>(acc, q), out_offset);
  v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
  return _mm512_cvtepi32_epi8(v);
}

inline int32_t load_u32(const uint8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// Requantizes rows x tiles accumulator vectors (row-major in `sums`) into the output rows.
template <typename Mode>
void store_outputs_impl(const ConvPlan& plan, const int32_t* sums, int rows, int tiles,
                        int32_t first_tile, int8_t* const* outs) {
  const ConvParams& p = plan.params;
  const __m512i out_offset = _mm512_set1_epi32(p.output_offset);
  const __m512i lo = _mm512_set1_epi32(p.act_min), hi = _mm512_set1_epi32(p.act_max);
  for (int t = 0; t < tiles; ++t) {
    const int32_t tile = first_tile + t;
    const Requant16 q = load_requant(plan.rq, size_t(tile) * 16);
    const int32_t valid = min_of<int32_t>(16, plan.n - tile * 16);
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
    for (int m = 0; m < rows; ++m) {
      const __m512i acc = _mm512_load_si512(sums + (m * tiles + t) * 16);
      _mm_mask_storeu_epi8(outs[m] + tile * 16, mask, finish<Mode>(acc, q, out_offset, lo, hi));
    }
  }
}

__attribute__((noinline)) void store_outputs(const ConvPlan& plan, const int32_t* sums,
                                             int rows, int tiles, int32_t first_tile,
                                             int8_t* const* outs) {
  with_requant_mode(plan.rq.any_left_shift, plan.rq.any_saturation, [&](auto mode) {
    store_outputs_impl<decltype(mode)>(plan, sums, rows, tiles, first_tile, outs);
  });
}

// MR output pixels x NT tiles of 16 output channels.
template <int MR, int NT>
void micro_kernel(const ConvPlan& plan, const uint8_t* const* rows, int32_t first_tile,
                  int8_t* const* outs) {
  const size_t groups = size_t(plan.taps) * plan.groups_per_tap;
  const int8_t* w = plan.w8 + size_t(first_tile) * groups * 64;
  const size_t tile_stride = groups * 64;
  __m512i acc[MR][NT];
  #pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) {
    const __m512i b = _mm512_loadu_si512(plan.bias_data + (first_tile + t) * 16);
    #pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) acc[m][t] = b;
  }
  const int32_t* group_offset = plan.group_offset_data;
  for (size_t g = 0; g < groups; ++g, w += 64) {
    const int32_t offset = group_offset[g];
    __m512i wv[NT];
    #pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) wv[t] = _mm512_loadu_si512(w + t * tile_stride);
    #pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512i av = _mm512_set1_epi32(load_u32(rows[m] + offset));
      #pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) acc[m][t] = _mm512_dpbusd_epi32(acc[m][t], av, wv[t]);
    }
  }
  // Handing the sums over through memory keeps the requantization's many constants from
  // competing with the accumulators for registers (GCC would otherwise spill inside the loop).
  alignas(64) int32_t sums[MR * NT * 16];
  #pragma GCC unroll 16
  for (int m = 0; m < MR; ++m)
    #pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) _mm512_store_si512(sums + (m * NT + t) * 16, acc[m][t]);
  store_outputs(plan, sums, MR, NT, first_tile, outs);
}

template <int MR>
void row_block(const ConvPlan& plan, const uint8_t* const* rows, int8_t* const* outs) {
  int32_t t = 0;
  // Wide tiles reuse each broadcast activation across more channels.
  for (; t + 4 <= plan.tiles; t += 4) micro_kernel<MR, 4>(plan, rows, t, outs);
  switch (plan.tiles - t) {
    case 3: micro_kernel<MR, 3>(plan, rows, t, outs); break;
    case 2: micro_kernel<MR, 2>(plan, rows, t, outs); break;
    case 1: micro_kernel<MR, 1>(plan, rows, t, outs); break;
    default: break;
  }
}

template <int MR>
void gemm_rows(const ConvPlan& plan, const uint8_t* act, int8_t* output) {
  const ConvParams& p = plan.params;
  const int32_t cs = plan.channel_stride;
  const size_t step_x = size_t(p.stride_w) * cs;
  const size_t step_y = size_t(p.stride_h) * plan.prep_w * cs;
  const int32_t pixels = plan.output.h * plan.output.w;
  const uint8_t* rows[MR];
  int8_t* outs[MR];
  for (int32_t m0 = 0; m0 < pixels; m0 += MR) {
    const int32_t valid = min_of<int32_t>(MR, pixels - m0);
    for (int m = 0; m < MR; ++m) {
      // Rows past the end repeat the last pixel: they store the same bytes again.
      const int32_t pix = m0 + min_of<int32_t>(m, valid - 1);
      const int32_t oy = pix / plan.output.w, ox = pix % plan.output.w;
      rows[m] = act + oy * step_y + ox * step_x;
      outs[m] = output + size_t(pix) * plan.n;
    }
    row_block<MR>(plan, rows, outs);
  }
}

}  // namespace

void conv_gemm(const ConvPlan& plan, const void* prepared, int8_t* output) {
  const auto* act = static_cast<const uint8_t*>(prepared);
  // A fully connected layer (one or a few rows) would only repeat rows in a tall block.
  if (plan.output.h * plan.output.w < 4)
    gemm_rows<1>(plan, act, output);
  else if (plan.tiles >= 3)
    gemm_rows<6>(plan, act, output);
  else if (plan.tiles == 2)
    gemm_rows<12>(plan, act, output);
  else
    gemm_rows<16>(plan, act, output);
}

namespace {

// kKh/kKw > 0 fix the kernel size at compile time (fully unrolled taps); 0 reads it from the
// plan.
template <typename Mode, int kKh, int kKw>
void depthwise_impl(const DepthwisePlan& plan, const int8_t* padded, int8_t* output) {
  const ConvParams& p = plan.params;
  const Dims4& out = plan.output;
  const int32_t kh = kKh > 0 ? kKh : plan.filter.h, kw = kKw > 0 ? kKw : plan.filter.w;
  const int32_t channels = out.c;
  const size_t pc = size_t(plan.padded_channels);
  const size_t row_stride = size_t(plan.prep_w) * channels;
  const __m512i in_offset = _mm512_set1_epi32(p.input_offset);
  const __m512i out_offset = _mm512_set1_epi32(p.output_offset);
  const __m512i lo = _mm512_set1_epi32(p.act_min), hi = _mm512_set1_epi32(p.act_max);
  // Channel tiles outermost: the tile's requantization constants and bias stay in registers
  // for the whole image.
  for (int32_t c0 = 0; c0 < channels; c0 += 16) {
    const int32_t valid = min_of<int32_t>(16, channels - c0);
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1u);
    const Requant16 q = load_requant(plan.rq, size_t(c0));
    const __m512i bias = _mm512_loadu_si512(plan.bias_data + c0);
    const int32_t* w_tile = plan.w32 + c0;
    for (int32_t oy = 0; oy < out.h; ++oy) {
      const int8_t* src_y = padded + size_t(oy) * p.stride_h * row_stride + c0;
      int8_t* dst = output + size_t(oy) * out.w * channels + c0;
      for (int32_t ox = 0; ox < out.w; ++ox, dst += channels) {
        const int8_t* src = src_y + size_t(ox) * p.stride_w * channels;
        // Two accumulators halve the dependency chain through the multiply-adds.
        __m512i acc0 = bias, acc1 = _mm512_setzero_si512();
        const int32_t* w = w_tile;
        int32_t tap = 0;
        for (int32_t ky = 0; ky < kh; ++ky) {
          const int8_t* s_row = src + size_t(ky) * p.dilation_h * row_stride;
          for (int32_t kx = 0; kx < kw; ++kx, ++tap, w += pc) {
            // Padding holds -input_offset, so x is 0 there, as the reference's skipped tap.
            const __m512i x = _mm512_add_epi32(
                _mm512_cvtepi8_epi32(
                    _mm_maskz_loadu_epi8(mask, s_row + size_t(kx) * p.dilation_w * channels)),
                in_offset);
            // x fits int16 and w's high half is zero: the pairwise 16-bit dot product is
            // exactly x * w.
            if (tap & 1)
              acc1 = _mm512_dpwssd_epi32(acc1, x, _mm512_loadu_si512(w));
            else
              acc0 = _mm512_dpwssd_epi32(acc0, x, _mm512_loadu_si512(w));
          }
        }
        const __m512i acc = _mm512_add_epi32(acc0, acc1);
        _mm_mask_storeu_epi8(dst, mask, finish<Mode>(acc, q, out_offset, lo, hi));
      }
    }
  }
}

template <typename Mode>
void add_impl(const AddParams& params, int64_t count, const int8_t* input1, const int8_t* input2,
              int8_t* output) {
  const Requant16 q1 = broadcast_requant(params.input1);
  const Requant16 q2 = broadcast_requant(params.input2);
  const Requant16 qo = broadcast_requant(params.output);
  const __m512i off1 = _mm512_set1_epi32(params.input1_offset);
  const __m512i off2 = _mm512_set1_epi32(params.input2_offset);
  const __m512i out_offset = _mm512_set1_epi32(params.output_offset);
  const __m512i lo = _mm512_set1_epi32(params.act_min), hi = _mm512_set1_epi32(params.act_max);
  const __m512i left = _mm512_set1_epi32(params.left_shift);
  for (int64_t i = 0; i < count; i += 16) {
    const int64_t rest = count - i;
    const __mmask16 mask =
        rest >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << rest) - 1u);
    const __m512i a1 = _mm512_sllv_epi32(
        _mm512_add_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, input1 + i)), off1),
        left);
    const __m512i a2 = _mm512_sllv_epi32(
        _mm512_add_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, input2 + i)), off2),
        left);
    const __m512i sum = _mm512_add_epi32(requantize<Mode>(a1, q1), requantize<Mode>(a2, q2));
    _mm_mask_storeu_epi8(output + i, mask, finish<Mode>(sum, qo, out_offset, lo, hi));
  }
}

}  // namespace

void depthwise(const DepthwisePlan& plan, const int8_t* padded, int8_t* output) {
  with_requant_mode(plan.rq.any_left_shift, plan.rq.any_saturation, [&](auto mode) {
    if (plan.filter.h == 3 && plan.filter.w == 3)
      depthwise_impl<decltype(mode), 3, 3>(plan, padded, output);
    else
      depthwise_impl<decltype(mode), 0, 0>(plan, padded, output);
  });
}

void add_same_shape(const AddParams& params, int64_t count, const int8_t* input1,
                    const int8_t* input2, int8_t* output) {
  const QuantizedMultiplier* all[] = {&params.input1, &params.input2, &params.output};
  bool shift = false, saturate = false;
  for (const QuantizedMultiplier* m : all) {
    shift = shift || m->shift > 0;
    saturate = saturate || m->multiplier == kInt32Min;
  }
  with_requant_mode(shift, saturate, [&](auto mode) {
    add_impl<decltype(mode)>(params, count, input1, input2, output);
  });
}

}  // namespace frugal::kernels::host::detail::avx512
