// Integer requantization arithmetic and the Prepare-time parameter builders of the int8
// kernels, reproducing TensorFlow Lite (Micro) bit for bit:
//   - the multiply-by-quantized-multiplier family is TFLite's default double-rounding variant
//     (a saturating rounding doubling high multiply, then a rounding right shift), not the
//     TFLITE_SINGLE_ROUNDING one;
//   - the builders take float scales and integer zero points (as stored in a .tflite file) and
//     widen to double or stay in float exactly where TFLite Micro's Prepare functions do, so
//     that the integer parameters, and therefore every output, are identical.
//
// Header-only and freestanding C++17 (no <cmath>: the few floating-point helpers are written
// out so they are exact and usable on a bare MCU).
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace frugal::kernels {

// ---------------------------------------------------------------------------------------------
// Small exact helpers
// ---------------------------------------------------------------------------------------------

// Round half away from zero (std::round), exact for every finite input. Written out because
// <cmath> is not freestanding; x - trunc(x) is exact in binary floating point when |x| is below
// the first power of two whose ulp is 1, and every larger value is already an integer.
constexpr double round_half_away_from_zero(double x) {
  if (!(x == x) || x >= 4503599627370496.0 || x <= -4503599627370496.0) return x;  // 2^52
  const double truncated = static_cast<double>(static_cast<int64_t>(x));
  const double fraction = x - truncated;
  if (fraction >= 0.5) return truncated + 1.0;
  if (fraction <= -0.5) return truncated - 1.0;
  return truncated;
}

constexpr float round_half_away_from_zero(float x) {
  if (!(x == x) || x >= 8388608.0f || x <= -8388608.0f) return x;  // 2^23
  const float truncated = static_cast<float>(static_cast<int32_t>(x));
  const float fraction = x - truncated;
  if (fraction >= 0.5f) return truncated + 1.0f;
  if (fraction <= -0.5f) return truncated - 1.0f;
  return truncated;
}

// float -> int32 that saturates instead of being undefined for out-of-range values (TFLite
// rejects such models at Prepare time; we only need to stay defined). NaN maps to 0.
constexpr int32_t saturating_float_to_int32(float x) {
  if (!(x == x)) return 0;
  if (x >= 2147483648.0f) return INT32_MAX;
  if (x <= -2147483648.0f) return INT32_MIN;
  return static_cast<int32_t>(x);
}

// a * 2^left_shift on int32 with two's-complement wrap-around. TFLite writes `x * (1 << s)`,
// which is undefined on overflow in C++ but wraps on every target it runs on; the inputs of
// real models never get there.
constexpr int32_t wrapping_shift_left(int32_t a, int left_shift) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) << left_shift);
}

// ---------------------------------------------------------------------------------------------
// Fixed-point primitives (gemmlowp's scalar definitions)
// ---------------------------------------------------------------------------------------------

// round(a * b / 2^31) with ties rounded up (toward +infinity); the single overflowing case
// INT32_MIN * INT32_MIN saturates to INT32_MAX (ARM's VQRDMULH).
constexpr int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t product = int64_t{a} * int64_t{b};
  const int64_t nudge = product >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  // Division truncates toward zero; with the sign-dependent nudge (2^30 for a positive product,
  // 1 - 2^30 for a negative one) this is floor(product / 2^31 + 1/2).
  return static_cast<int32_t>((product + nudge) / (int64_t{1} << 31));
}

// round(x / 2^exponent), ties away from zero, exponent in [0, 31].
constexpr int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  // Negative values round away from zero too, so their threshold is one higher.
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Quantized multipliers
// ---------------------------------------------------------------------------------------------

// TFLite's QuantizeMultiplier: real = q * 2^shift with q in [0.5, 1) (frexp), the mantissa
// rounded to 31 bits (half away from zero); a mantissa that rounds up to 2^31 becomes 2^30 with
// shift + 1; multipliers below 2^-31 (shift < -31) flush to zero; zero gives {0, 0}.
// Non-finite inputs (which TFLite rejects) give {0, 0}.
constexpr QuantizedMultiplier quantize_multiplier(double real) {
  if (real == 0.0 || !(real == real) || real > 1.7976931348623157e308 ||
      real < -1.7976931348623157e308) {
    return {0, 0};
  }
  // frexp by exact scaling with powers of two.
  const bool negative = real < 0;
  double mantissa = negative ? -real : real;
  int32_t exponent = 0;
  while (mantissa >= 1.0) {
    mantissa *= 0.5;
    ++exponent;
  }
  while (mantissa < 0.5) {
    mantissa *= 2.0;
    --exponent;
  }
  if (negative) mantissa = -mantissa;
  int64_t q_fixed = static_cast<int64_t>(round_half_away_from_zero(mantissa * 2147483648.0));
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++exponent;
  }
  if (exponent < -31) return {0, 0};
  return {static_cast<int32_t>(q_fixed), exponent};
}

// x * multiplier * 2^(shift - 31), TFLite's default (double-rounding) MultiplyByQuantizedMultiplier:
// a left shift (for shift > 0) before the rounding doubling high multiply, a rounding right
// shift (for shift < 0) after it.
constexpr int32_t multiply_by_quantized_multiplier(int32_t x, QuantizedMultiplier m) {
  const int left_shift = m.shift > 0 ? m.shift : 0;
  const int right_shift = m.shift > 0 ? 0 : -m.shift;
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(wrapping_shift_left(x, left_shift), m.multiplier),
      right_shift);
}

// TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp, used by int8 ADD. For the shifts it
// admits (shift <= 0, guaranteed by QuantizeMultiplierSmallerThanOneExp at Prepare time) it is
// the same computation as multiply_by_quantized_multiplier; kept separate to mirror TFLite.
constexpr int32_t multiply_by_quantized_multiplier_smaller_than_one_exp(int32_t x,
                                                                        QuantizedMultiplier m) {
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, m.multiplier), -m.shift);
}

// TFLite's MultiplyByQuantizedMultiplierGreaterThanOne (shift >= 0), used by int8 SOFTMAX.
constexpr int32_t multiply_by_quantized_multiplier_greater_than_one(int32_t x,
                                                                    QuantizedMultiplier m) {
  return saturating_rounding_doubling_high_mul(wrapping_shift_left(x, m.shift), m.multiplier);
}

// No int64 variant: none of frugal's int8 ops uses TFLite's int64 MultiplyByQuantizedMultiplier
// (it serves int16 activations).

// ---------------------------------------------------------------------------------------------
// Fused activation clamps
// ---------------------------------------------------------------------------------------------

// Matches ir::Activation's numbering.
enum ActivationKind : int { kActivationNone = 0, kActivationRelu = 1, kActivationRelu6 = 2,
                            kActivationReluN1To1 = 3 };

// TFLite's Quantize() helper of CalculateActivationRangeQuantized: the real value is divided by
// the scale and rounded in float.
constexpr int32_t quantize_activation_bound(float real, float scale, int32_t zero_point) {
  return zero_point + saturating_float_to_int32(round_half_away_from_zero(real / scale));
}

// TFLite's CalculateActivationRangeQuantized for an int8 output.
constexpr void activation_range(int kind, float scale, int32_t zero_point, int32_t* act_min,
                                int32_t* act_max) {
  constexpr int32_t kMin = -128, kMax = 127;
  int32_t lo = kMin, hi = kMax;
  if (kind == kActivationRelu) {
    const int32_t zero = quantize_activation_bound(0.0f, scale, zero_point);
    lo = zero > kMin ? zero : kMin;
  } else if (kind == kActivationRelu6) {
    const int32_t zero = quantize_activation_bound(0.0f, scale, zero_point);
    const int32_t six = quantize_activation_bound(6.0f, scale, zero_point);
    lo = zero > kMin ? zero : kMin;
    hi = six < kMax ? six : kMax;
  } else if (kind == kActivationReluN1To1) {
    const int32_t minus_one = quantize_activation_bound(-1.0f, scale, zero_point);
    const int32_t one = quantize_activation_bound(1.0f, scale, zero_point);
    lo = minus_one > kMin ? minus_one : kMin;
    hi = one < kMax ? one : kMax;
  }
  *act_min = lo;
  *act_max = hi;
}

// ---------------------------------------------------------------------------------------------
// Parameters of the ops that params.h does not cover
// ---------------------------------------------------------------------------------------------

// QUANTIZE int8 -> int8 (TFLite Micro's Requantize): out = in_zp-centred input times
// input_scale / output_scale, plus the output zero point, saturated to int8.
struct RequantizeParams {
  int32_t input_zero_point;
  int32_t output_zero_point;
  QuantizedMultiplier multiplier;
};

// MEAN int8 (TFLite's QuantizedMeanOrSum): `multiplier` is input_scale / output_scale; the
// kernel folds 1 / (number of averaged elements) into it as TFLite does.
struct MeanParams {
  int32_t input_zero_point;
  int32_t output_zero_point;
  QuantizedMultiplier multiplier;
};

// ---------------------------------------------------------------------------------------------
// Prepare-time builders (TFLite Micro's *_common.cc Prepare code)
// ---------------------------------------------------------------------------------------------

// CONV_2D and DEPTHWISE_CONV_2D (PopulateConvolutionQuantizationParams): every output channel
// gets double(input_scale) * double(filter_scale) / double(output_scale); a per-tensor filter
// scale (num_filter_scales == 1) is repeated for every channel.
constexpr void conv_multipliers(float input_scale, const float* filter_scales,
                                int32_t num_filter_scales, float output_scale,
                                int32_t num_channels, QuantizedMultiplier* multipliers) {
  for (int32_t c = 0; c < num_channels; ++c) {
    const float filter_scale = num_filter_scales > 1 ? filter_scales[c] : filter_scales[0];
    const double effective = static_cast<double>(input_scale) *
                             static_cast<double>(filter_scale) /
                             static_cast<double>(output_scale);
    multipliers[c] = quantize_multiplier(effective);
  }
}

// FULLY_CONNECTED (CalculateOpDataFullyConnected): per-channel filters are handled like conv,
// but a per-tensor filter goes through GetQuantizedConvolutionMultipler, which multiplies the
// two scales in FLOAT before widening: double(input_scale * filter_scale) / double(output_scale).
// The single multiplier is repeated for every output channel.
constexpr void fully_connected_multipliers(float input_scale, const float* filter_scales,
                                           int32_t num_filter_scales, float output_scale,
                                           int32_t num_channels,
                                           QuantizedMultiplier* multipliers) {
  if (num_filter_scales > 1) {
    conv_multipliers(input_scale, filter_scales, num_filter_scales, output_scale, num_channels,
                     multipliers);
    return;
  }
  const float product = input_scale * filter_scales[0];
  const QuantizedMultiplier m =
      quantize_multiplier(static_cast<double>(product) / static_cast<double>(output_scale));
  for (int32_t c = 0; c < num_channels; ++c) multipliers[c] = m;
}

constexpr FullyConnectedParams make_fully_connected_params(int32_t input_zero_point,
                                                           float output_scale,
                                                           int32_t output_zero_point,
                                                           int activation) {
  FullyConnectedParams p{};
  p.input_offset = -input_zero_point;
  p.output_offset = output_zero_point;
  activation_range(activation, output_scale, output_zero_point, &p.act_min, &p.act_max);
  return p;
}

// ADD (CalculateOpDataAdd, int8): both inputs are shifted left by 20 bits and brought to the
// scale 2 * max(s1, s2); all three multipliers are below one (QuantizeMultiplierSmallerThanOneExp,
// which is QuantizeMultiplier plus checks).
constexpr AddParams make_add_params(float input1_scale, int32_t input1_zero_point,
                                    float input2_scale, int32_t input2_zero_point,
                                    float output_scale, int32_t output_zero_point,
                                    int activation) {
  AddParams p{};
  p.input1_offset = -input1_zero_point;
  p.input2_offset = -input2_zero_point;
  p.output_offset = output_zero_point;
  p.left_shift = 20;
  const float max_input_scale = input1_scale > input2_scale ? input1_scale : input2_scale;
  const double twice_max_input_scale = 2 * static_cast<double>(max_input_scale);
  const double real_input1 = static_cast<double>(input1_scale) / twice_max_input_scale;
  const double real_input2 = static_cast<double>(input2_scale) / twice_max_input_scale;
  const double real_output =
      twice_max_input_scale / ((1 << p.left_shift) * static_cast<double>(output_scale));
  p.input1 = quantize_multiplier(real_input1);
  p.input2 = quantize_multiplier(real_input2);
  p.output = quantize_multiplier(real_output);
  activation_range(activation, output_scale, output_zero_point, &p.act_min, &p.act_max);
  return p;
}

// MUL (CalculateOpDataMul, int8): double(s1) * double(s2) / double(s_out).
constexpr MulParams make_mul_params(float input1_scale, int32_t input1_zero_point,
                                    float input2_scale, int32_t input2_zero_point,
                                    float output_scale, int32_t output_zero_point,
                                    int activation) {
  MulParams p{};
  p.input1_offset = -input1_zero_point;
  p.input2_offset = -input2_zero_point;
  p.output_offset = output_zero_point;
  p.output = quantize_multiplier(static_cast<double>(input1_scale) *
                                 static_cast<double>(input2_scale) /
                                 static_cast<double>(output_scale));
  activation_range(activation, output_scale, output_zero_point, &p.act_min, &p.act_max);
  return p;
}

// SOFTMAX int8 -> int8 (CalculateSoftmaxParams with PreprocessSoftmaxScaling and
// CalculateInputRadius): input differences are scaled to Q5.26 (5 integer bits).
inline constexpr int kSoftmaxScaledDiffIntegerBits = 5;

constexpr SoftmaxParams make_softmax_params(float input_scale, float beta) {
  constexpr int kIntegerBits = kSoftmaxScaledDiffIntegerBits;
  // The multiplier is capped where exp() of a difference of one step already rounds to zero.
  const double max_real_multiplier = static_cast<double>((int64_t{1} << 31) - 1);
  double real = static_cast<double>(beta) * static_cast<double>(input_scale) *
                static_cast<double>(int64_t{1} << (31 - kIntegerBits));
  if (real > max_real_multiplier) real = max_real_multiplier;
  const QuantizedMultiplier m = quantize_multiplier(real);
  SoftmaxParams p{};
  p.input_multiplier = m.multiplier;
  p.input_left_shift = m.shift;
  // Largest input difference whose rescaled value still fits Q5.26, floored:
  // (2^5 - 1) * 2^(31 - 5) / 2^left_shift. Both factors are powers of two times a small
  // integer, so the double quotient is exact and flooring it is an integer floor division.
  const int64_t radius_numerator = ((int64_t{1} << kIntegerBits) - 1)
                                   << (31 - kIntegerBits);
  const int64_t radius = m.shift >= 0 ? radius_numerator >> m.shift
                                      : radius_numerator << -m.shift;
  p.diff_min = -static_cast<int32_t>(radius);
  return p;
}

// QUANTIZE int8 -> int8 (PrepareQuantizeReference): double(s_in) / double(s_out).
constexpr RequantizeParams make_requantize_params(float input_scale, int32_t input_zero_point,
                                                  float output_scale,
                                                  int32_t output_zero_point) {
  return {input_zero_point, output_zero_point,
          quantize_multiplier(static_cast<double>(input_scale) /
                              static_cast<double>(output_scale))};
}

// MEAN int8 (PrepareMeanOrSumHelper): double(s_in) / double(s_out).
constexpr MeanParams make_mean_params(float input_scale, int32_t input_zero_point,
                                      float output_scale, int32_t output_zero_point) {
  return {input_zero_point, output_zero_point,
          quantize_multiplier(static_cast<double>(input_scale) /
                              static_cast<double>(output_scale))};
}

}  // namespace frugal::kernels
