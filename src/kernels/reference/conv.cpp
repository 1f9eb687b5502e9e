// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: TFLite's reference_integer_ops loops.
//
// Accumulators are int64 and truncated to int32 before requantization. TFLite accumulates in
// int32, which wraps (formally undefined) on overflow; the truncated int64 sum is the same value
// modulo 2^32, so results agree bit for bit even in that case, without undefined behaviour.

#include <cstdint>

#include "kernels/quantization.h"
#include "kernels/reference/index.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::reference {
namespace {

int8_t requantize_accumulator(int64_t acc, const QuantizedMultiplier& m, int32_t output_offset,
                              int32_t act_min, int32_t act_max) {
  int32_t out = multiply_by_quantized_multiplier(static_cast<int32_t>(acc), m);
  out += output_offset;
  return static_cast<int8_t>(clamp(out, act_min, act_max));
}

}  // namespace

void conv2d(const ConvParams& params, const QuantizedMultiplier* multiplier,
            const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
            const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
            int8_t* output) {
  // Grouped convolution, as TFLite: the filter sees filter_dims.c input channels; output
  // channel o reads the input channels of group o / filters_per_group.
  const int32_t groups = input_dims.c / filter_dims.c;
  const int32_t filters_per_group = output_dims.c / groups;
  for (int32_t b = 0; b < output_dims.n; ++b) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      const int32_t in_y_origin = out_y * params.stride_h - params.pad_h;
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const int32_t in_x_origin = out_x * params.stride_w - params.pad_w;
        for (int32_t oc = 0; oc < output_dims.c; ++oc) {
          const int32_t group = oc / filters_per_group;
          int64_t acc = 0;
          for (int32_t fy = 0; fy < filter_dims.h; ++fy) {
            const int32_t in_y = in_y_origin + params.dilation_h * fy;
            for (int32_t fx = 0; fx < filter_dims.w; ++fx) {
              const int32_t in_x = in_x_origin + params.dilation_w * fx;
              // Padding contributes nothing (it stands for the input zero point).
              if (in_y < 0 || in_y >= input_dims.h || in_x < 0 || in_x >= input_dims.w) continue;
              for (int32_t ic = 0; ic < filter_dims.c; ++ic) {
                const int32_t in_val =
                    input[offset(input_dims, b, in_y, in_x, ic + group * filter_dims.c)];
                const int32_t filter_val = filter[offset(filter_dims, oc, fy, fx, ic)];
                acc += filter_val * (in_val + params.input_offset);
              }
            }
          }
          if (bias != nullptr) acc += bias[oc];
          output[offset(output_dims, b, out_y, out_x, oc)] = requantize_accumulator(
              acc, multiplier[oc], params.output_offset, params.act_min, params.act_max);
        }
      }
    }
  }
}

void depthwise_conv2d(const ConvParams& params, const QuantizedMultiplier* multiplier,
                      const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                      const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                      int8_t* output) {
  for (int32_t b = 0; b < output_dims.n; ++b) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      const int32_t in_y_origin = out_y * params.stride_h - params.pad_h;
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const int32_t in_x_origin = out_x * params.stride_w - params.pad_w;
        for (int32_t ic = 0; ic < input_dims.c; ++ic) {
          for (int32_t m = 0; m < params.depth_multiplier; ++m) {
            const int32_t oc = ic * params.depth_multiplier + m;
            int64_t acc = 0;
            for (int32_t fy = 0; fy < filter_dims.h; ++fy) {
              const int32_t in_y = in_y_origin + params.dilation_h * fy;
              for (int32_t fx = 0; fx < filter_dims.w; ++fx) {
                const int32_t in_x = in_x_origin + params.dilation_w * fx;
                if (in_y < 0 || in_y >= input_dims.h || in_x < 0 || in_x >= input_dims.w) {
                  continue;
                }
                const int32_t in_val = input[offset(input_dims, b, in_y, in_x, ic)];
                const int32_t filter_val = filter[offset(filter_dims, 0, fy, fx, oc)];
                acc += filter_val * (in_val + params.input_offset);
              }
            }
            if (bias != nullptr) acc += bias[oc];
            output[offset(output_dims, b, out_y, out_x, oc)] = requantize_accumulator(
                acc, multiplier[oc], params.output_offset, params.act_min, params.act_max);
          }
        }
      }
    }
  }
}

void fully_connected(const FullyConnectedParams& params, const QuantizedMultiplier* multiplier,
                     int32_t batches, int32_t depth, const int8_t* input, int32_t out_depth,
                     const int8_t* weights, const int32_t* bias, int8_t* output) {
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t o = 0; o < out_depth; ++o) {
      int64_t acc = 0;
      for (int32_t d = 0; d < depth; ++d) {
        const int32_t in_val = input[int64_t{b} * depth + d];
        const int32_t weight = weights[int64_t{o} * depth + d];
        acc += weight * (in_val + params.input_offset);
      }
      if (bias != nullptr) acc += bias[o];
      output[int64_t{b} * out_depth + o] = requantize_accumulator(
          acc, multiplier[o], params.output_offset, params.act_min, params.act_max);
    }
  }
}

}  // namespace frugal::kernels::reference
