// ADD, MUL (with 4-D broadcasting), QUANTIZE, DEQUANTIZE.

#include <cstdint>

#include "kernels/quantization.h"
#include "kernels/reference/index.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::reference {
namespace {

// TFLite's AddFunc: both inputs are centred, shifted left to gain precision, brought to a
// common scale, summed, then rescaled to the output.
int8_t add_one(const AddParams& p, int8_t a, int8_t b) {
  const int32_t shifted1 = wrapping_shift_left(p.input1_offset + a, p.left_shift);
  const int32_t shifted2 = wrapping_shift_left(p.input2_offset + b, p.left_shift);
  const int32_t scaled1 = multiply_by_quantized_multiplier_smaller_than_one_exp(shifted1, p.input1);
  const int32_t scaled2 = multiply_by_quantized_multiplier_smaller_than_one_exp(shifted2, p.input2);
  const int32_t sum = scaled1 + scaled2;
  const int32_t out =
      multiply_by_quantized_multiplier_smaller_than_one_exp(sum, p.output) + p.output_offset;
  return static_cast<int8_t>(clamp(out, p.act_min, p.act_max));
}

int8_t mul_one(const MulParams& p, int8_t a, int8_t b) {
  const int32_t product = (p.input1_offset + a) * (p.input2_offset + b);
  const int32_t out = p.output_offset + multiply_by_quantized_multiplier(product, p.output);
  return static_cast<int8_t>(clamp(out, p.act_min, p.act_max));
}

// Broadcasting changes only which elements meet; TFLite's elementwise and broadcast paths
// apply the same per-element function, so one loop nest serves both.
template <typename Params, typename Func>
void broadcast_binary(const Params& params, const Dims4& input1_dims, const int8_t* input1,
                      const Dims4& input2_dims, const int8_t* input2, const Dims4& output_dims,
                      int8_t* output, Func func) {
  for (int32_t n = 0; n < output_dims.n; ++n) {
    for (int32_t h = 0; h < output_dims.h; ++h) {
      for (int32_t w = 0; w < output_dims.w; ++w) {
        for (int32_t c = 0; c < output_dims.c; ++c) {
          output[offset(output_dims, n, h, w, c)] =
              func(params, input1[broadcast_offset(input1_dims, n, h, w, c)],
                   input2[broadcast_offset(input2_dims, n, h, w, c)]);
        }
      }
    }
  }
}

}  // namespace

void add(const AddParams& params, const Dims4& input1_dims, const int8_t* input1,
         const Dims4& input2_dims, const int8_t* input2, const Dims4& output_dims,
         int8_t* output) {
  broadcast_binary(params, input1_dims, input1, input2_dims, input2, output_dims, output, add_one);
}

void mul(const MulParams& params, const Dims4& input1_dims, const int8_t* input1,
         const Dims4& input2_dims, const int8_t* input2, const Dims4& output_dims,
         int8_t* output) {
  broadcast_binary(params, input1_dims, input1, input2_dims, input2, output_dims, output, mul_one);
}

void quantize_float_to_int8(float scale, int32_t zero_point, int64_t count, const float* input,
                            int8_t* output) {
  for (int64_t i = 0; i < count; ++i) {
    // Division (not multiplication by a reciprocal) and rounding both in float, as TFLite.
    const int32_t rounded = saturating_float_to_int32(round_half_away_from_zero(input[i] / scale));
    // Saturating add: a rounded value near the int32 limits must not overflow.
    const int64_t shifted = int64_t{rounded} + zero_point;
    output[i] = static_cast<int8_t>(shifted < -128 ? -128 : (shifted > 127 ? 127 : shifted));
  }
}

void dequantize_int8_to_float(float scale, int32_t zero_point, int64_t count,
                              const int8_t* input, float* output) {
  // TFLite keeps the scale as a double; the product is exact in double, so the result is the
  // correctly rounded float of scale * (q - zero_point).
  const double scale_d = static_cast<double>(scale);
  for (int64_t i = 0; i < count; ++i) {
    output[i] = static_cast<float>(scale_d * static_cast<double>(int32_t{input[i]} - zero_point));
  }
}

void requantize_int8(const RequantizeParams& params, int64_t count, const int8_t* input,
                     int8_t* output) {
  for (int64_t i = 0; i < count; ++i) {
    const int32_t centred = int32_t{input[i]} - params.input_zero_point;
    const int32_t out =
        multiply_by_quantized_multiplier(centred, params.multiplier) + params.output_zero_point;
    output[i] = static_cast<int8_t>(clamp(out, -128, 127));
  }
}

}  // namespace frugal::kernels::reference
