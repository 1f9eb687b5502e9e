// AVX2 kernels. Products use vpmaddwd on int16 operands (never vpmaddubsw, which saturates).
// Compiled with -mavx2 -mfma; only reached after the dispatcher has checked the CPU.
#include <immintrin.h>

#include <cstring>

#include "kernels/host/internal.h"

namespace frugal::kernels::host::detail::avx2 {
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

struct Requant8 {
  __m256i multiplier, left_shift, right_shift, remainder_mask, half_mask;
};

Requant8 load_requant(const RequantView& rq, size_t first) {
  auto load = [first](const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + first));
  };
  return {load(rq.multiplier), load(rq.left_shift), load(rq.right_shift),
          load(rq.remainder_mask), load(rq.half_mask)};
}

Requant8 broadcast_requant(const QuantizedMultiplier& q) {
  const int32_t left = q.shift > 0 ? q.shift : 0;
  const int32_t right = q.shift > 0 ? 0 : -q.shift;
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  return {_mm256_set1_epi32(q.multiplier), _mm256_set1_epi32(left), _mm256_set1_epi32(right),
          _mm256_set1_epi32(mask), _mm256_set1_epi32(mask >> 1)};
}

// Bit-exact vector form of multiply_by_quantized_multiplier (see the AVX-512 file for the
// derivation of the single add-and-shift rounding).
template <typename Mode>
inline __m256i requantize(__m256i x, const Requant8& q) {
  if constexpr (Mode::shift) x = _mm256_sllv_epi32(x, q.left_shift);
  const __m256i half = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, q.multiplier), half);
  const __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(q.multiplier, 32)), half);
  // Logical shifts suffice: only the low 32 bits of the shifted product are kept.
  __m256i high =
      _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  if constexpr (Mode::saturate) {
    const __m256i int_min = _mm256_set1_epi32(kInt32Min);
    const __m256i saturate = _mm256_and_si256(_mm256_cmpeq_epi32(x, int_min),
                                              _mm256_cmpeq_epi32(q.multiplier, int_min));
    high = _mm256_blendv_epi8(high, _mm256_set1_epi32(kInt32Max), saturate);
  }
  const __m256i remainder = _mm256_and_si256(high, q.remainder_mask);
  const __m256i threshold = _mm256_sub_epi32(q.half_mask, _mm256_srai_epi32(high, 31));
  const __m256i quotient = _mm256_srav_epi32(high, q.right_shift);
  // cmpgt yields -1 where the quotient rounds up.
  return _mm256_sub_epi32(quotient, _mm256_cmpgt_epi32(remainder, threshold));
}

// Requantizes, offsets and clamps 8 lanes, returning them as 8 bytes in the low half.
template <typename Mode>
inline __m128i finish(__m256i acc, const Requant8& q, __m256i out_offset, __m256i lo,
                      __m256i hi) {
  __m256i v = _mm256_add_epi32(requantize<Mode>(acc, q), out_offset);
  v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
  // Already within int8, so the saturating packs only narrow.
  const __m128i words =
      _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_packs_epi16(words, words);
}

inline void store_bytes(int8_t* dst, __m128i bytes, int32_t count) {
  if (count == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes);
  } else {
    alignas(16) int8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    std::memcpy(dst, tmp, size_t(count));
  }
}

inline __m256i load_bytes_as_int32(const int8_t* src, int32_t count) {
  if (count == 8) return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)));
  int8_t tmp[8] = {};
  std::memcpy(tmp, src, size_t(count));
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(tmp)));
}

inline int32_t load_u32(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Requantizes rows x tiles accumulator vectors (row-major in `sums`) into the output rows.
template <typename Mode>
void store_outputs_impl(const ConvPlan& plan, const int32_t* sums, int rows, int tiles,
                        int32_t first_tile, int8_t* const* outs) {
  const ConvParams& p = plan.params;
  const __m256i out_offset = _mm256_set1_epi32(p.output_offset);
  const __m256i lo = _mm256_set1_epi32(p.act_min), hi = _mm256_set1_epi32(p.act_max);
  for (int t = 0; t < tiles; ++t) {
    const int32_t tile = first_tile + t;
    const Requant8 q = load_requant(plan.rq, size_t(tile) * 8);
    const int32_t valid = min_of<int32_t>(8, plan.n - tile * 8);
    for (int m = 0; m < rows; ++m) {
      const __m256i acc =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + (m * tiles + t) * 8));
      store_bytes(outs[m] + tile * 8, finish<Mode>(acc, q, out_offset, lo, hi), valid);
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

// MR output pixels x NT tiles of 8 output channels; each step consumes 2 k values.
template <int MR, int NT>
void micro_kernel(const ConvPlan& plan, const int16_t* const* rows, int32_t first_tile,
                  int8_t* const* outs) {
  const size_t groups = size_t(plan.taps) * plan.groups_per_tap;
  const int16_t* w = plan.w16 + size_t(first_tile) * groups * 16;
  const size_t tile_stride = groups * 16;
  __m256i acc[MR][NT];
  #pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) {
    const __m256i b =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plan.bias_data + (first_tile + t) * 8));
    #pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) acc[m][t] = b;
  }
  const int32_t* group_offset = plan.group_offset_data;
  for (size_t g = 0; g < groups; ++g, w += 16) {
    const int32_t offset = group_offset[g];
    __m256i wv[NT];
    #pragma GCC unroll 16
    for (int t = 0; t < NT; ++t)
      wv[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + t * tile_stride));
    #pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m256i av = _mm256_set1_epi32(load_u32(rows[m] + offset));
      #pragma GCC unroll 16
      for (int t = 0; t < NT; ++t)
        acc[m][t] = _mm256_add_epi32(acc[m][t], _mm256_madd_epi16(av, wv[t]));
    }
  }
  // Handing the sums over through memory keeps the requantization's constants from competing
  // with the accumulators for registers (GCC would otherwise spill inside the loop).
  alignas(32) int32_t sums[MR * NT * 8];
  #pragma GCC unroll 16
  for (int m = 0; m < MR; ++m)
    #pragma GCC unroll 16
    for (int t = 0; t < NT; ++t)
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums + (m * NT + t) * 8), acc[m][t]);
  store_outputs(plan, sums, MR, NT, first_tile, outs);
}

template <int MR>
void gemm_rows(const ConvPlan& plan, const int16_t* act, int8_t* output) {
  const ConvParams& p = plan.params;
  const int32_t cs = plan.channel_stride;
  const size_t step_x = size_t(p.stride_w) * cs;
  const size_t step_y = size_t(p.stride_h) * plan.prep_w * cs;
  const int32_t pixels = plan.output.h * plan.output.w;
  const int16_t* rows[MR];
  int8_t* outs[MR];
  for (int32_t m0 = 0; m0 < pixels; m0 += MR) {
    const int32_t valid = min_of<int32_t>(MR, pixels - m0);
    for (int m = 0; m < MR; ++m) {
      const int32_t pix = m0 + min_of<int32_t>(m, valid - 1);
      const int32_t oy = pix / plan.output.w, ox = pix % plan.output.w;
      rows[m] = act + oy * step_y + ox * step_x;
      outs[m] = output + size_t(pix) * plan.n;
    }
    int32_t t = 0;
    for (; t + 2 <= plan.tiles; t += 2) micro_kernel<MR, 2>(plan, rows, t, outs);
    if (t < plan.tiles) micro_kernel<MR, 1>(plan, rows, t, outs);
  }
}

}  // namespace

void conv_gemm(const ConvPlan& plan, const void* prepared, int8_t* output) {
  const auto* act = static_cast<const int16_t*>(prepared);
  // A fully connected layer (one or a few rows) would only repeat rows in a tall block.
  if (plan.output.h * plan.output.w < 4)
    gemm_rows<1>(plan, act, output);
  else if (plan.tiles >= 2)
    gemm_rows<6>(plan, act, output);
  else
    gemm_rows<12>(plan, act, output);
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
  const __m256i in_offset = _mm256_set1_epi32(p.input_offset);
  const __m256i out_offset = _mm256_set1_epi32(p.output_offset);
  const __m256i lo = _mm256_set1_epi32(p.act_min), hi = _mm256_set1_epi32(p.act_max);
  for (int32_t c0 = 0; c0 < channels; c0 += 8) {
    const int32_t valid = min_of<int32_t>(8, channels - c0);
    const Requant8 q = load_requant(plan.rq, size_t(c0));
    const __m256i bias = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plan.bias_data + c0));
    for (int32_t oy = 0; oy < out.h; ++oy) {
      const int8_t* src_y = padded + size_t(oy) * p.stride_h * row_stride + c0;
      int8_t* dst = output + size_t(oy) * out.w * channels + c0;
      for (int32_t ox = 0; ox < out.w; ++ox, dst += channels) {
        const int8_t* src = src_y + size_t(ox) * p.stride_w * channels;
        __m256i acc0 = bias, acc1 = _mm256_setzero_si256();
        const int32_t* w = plan.w32 + c0;
        int32_t tap = 0;
        for (int32_t ky = 0; ky < kh; ++ky) {
          const int8_t* s_row = src + size_t(ky) * p.dilation_h * row_stride;
          for (int32_t kx = 0; kx < kw; ++kx, ++tap, w += pc) {
            // Lanes past the last channel read the scratch slack or the next pixel; their
            // weights are zero and their results are not stored.
            const __m256i x = _mm256_add_epi32(
                _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(
                    s_row + size_t(kx) * p.dilation_w * channels))),
                in_offset);
            // x fits int16 and w's high half is zero: the pairwise product is exactly x * w.
            const __m256i prod =
                _mm256_madd_epi16(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
            if (tap & 1)
              acc1 = _mm256_add_epi32(acc1, prod);
            else
              acc0 = _mm256_add_epi32(acc0, prod);
          }
        }
        store_bytes(dst, finish<Mode>(_mm256_add_epi32(acc0, acc1), q, out_offset, lo, hi),
                    valid);
      }
    }
  }
}

template <typename Mode>
void add_impl(const AddParams& params, int64_t count, const int8_t* input1, const int8_t* input2,
              int8_t* output) {
  const Requant8 q1 = broadcast_requant(params.input1);
  const Requant8 q2 = broadcast_requant(params.input2);
  const Requant8 qo = broadcast_requant(params.output);
  const __m256i off1 = _mm256_set1_epi32(params.input1_offset);
  const __m256i off2 = _mm256_set1_epi32(params.input2_offset);
  const __m256i out_offset = _mm256_set1_epi32(params.output_offset);
  const __m256i lo = _mm256_set1_epi32(params.act_min), hi = _mm256_set1_epi32(params.act_max);
  const __m256i left = _mm256_set1_epi32(params.left_shift);
  for (int64_t i = 0; i < count; i += 8) {
    const int32_t n = static_cast<int32_t>(min_of<int64_t>(8, count - i));
    const __m256i a1 =
        _mm256_sllv_epi32(_mm256_add_epi32(load_bytes_as_int32(input1 + i, n), off1), left);
    const __m256i a2 =
        _mm256_sllv_epi32(_mm256_add_epi32(load_bytes_as_int32(input2 + i, n), off2), left);
    const __m256i sum = _mm256_add_epi32(requantize<Mode>(a1, q1), requantize<Mode>(a2, q2));
    store_bytes(output + i, finish<Mode>(sum, qo, out_offset, lo, hi), n);
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

}  // namespace frugal::kernels::host::detail::avx2
