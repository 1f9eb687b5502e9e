// SOFTMAX int8 -> int8 (output scale 1/256, zero point -128): TFLite's fixed-point algorithm.
// Differences to the row maximum are rescaled to Q5.26, exponentiated in fixed point (Q0.31),
// summed in Q12.19, and each exponential is multiplied by the reciprocal of the sum.

#include <cstdint>

#include "kernels/quantization.h"
#include "kernels/reference/fixed_point.h"
#include "kernels/reference/index.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::reference {
namespace {

constexpr int kScaledDiffIntegerBits = kSoftmaxScaledDiffIntegerBits;  // Q5.26 differences
constexpr int kAccumulationIntegerBits = 12;                            // Q12.19 sum

// exp(beta * scale * diff) in Q0.31 for an input difference diff <= 0 with diff >= diff_min.
int32_t exp_of_difference(const SoftmaxParams& params, int32_t diff) {
  const int32_t rescaled = multiply_by_quantized_multiplier_greater_than_one(
      diff, QuantizedMultiplier{params.input_multiplier, params.input_left_shift});
  return fixed_point::exp_on_negative_values(rescaled, kScaledDiffIntegerBits);
}

}  // namespace

void softmax(const SoftmaxParams& params, int32_t outer, int32_t depth, const int8_t* input,
             int8_t* output) {
  for (int32_t row = 0; row < outer; ++row) {
    const int8_t* in = input + int64_t{row} * depth;
    int8_t* out = output + int64_t{row} * depth;

    int32_t max_in_row = -128;
    for (int32_t i = 0; i < depth; ++i) {
      if (in[i] > max_in_row) max_in_row = in[i];
    }

    // Differences below diff_min are treated as exp() == 0.
    int32_t sum_of_exps = 0;
    for (int32_t i = 0; i < depth; ++i) {
      const int32_t diff = in[i] - max_in_row;
      if (diff >= params.diff_min) {
        sum_of_exps += fixed_point::rescale(exp_of_difference(params, diff), 0,
                                            kAccumulationIntegerBits);
      }
    }

    int num_bits_over_unit = 0;
    const int32_t shifted_scale =
        fixed_point::reciprocal(sum_of_exps, kAccumulationIntegerBits, &num_bits_over_unit);
    // For an 8-bit output: scale the Q0.31 probability to [0, 256).
    const int exponent = num_bits_over_unit + 31 - 8;

    for (int32_t i = 0; i < depth; ++i) {
      const int32_t diff = in[i] - max_in_row;
      if (diff >= params.diff_min) {
        const int32_t exp_q0 = exp_of_difference(params, diff);
        const int32_t unsaturated = rounding_divide_by_pot(
            saturating_rounding_doubling_high_mul(shifted_scale, exp_q0), exponent);
        out[i] = static_cast<int8_t>(clamp(unsaturated - 128, -128, 127));
      } else {
        out[i] = -128;
      }
    }
  }
}

}  // namespace frugal::kernels::reference
