// Parameters of the int8 kernels, already lowered from the IR to the integers TFLite's
// reference kernels work with (offsets, quantized multipliers, clamps).
//
// Shared by the reference kernels, the fast host kernels and (later) the Cortex-M kernels, so
// it stays freestanding C++17: no standard library beyond <cstdint>.
#pragma once

#include <cstdint>

namespace frugal::kernels {

// NHWC extent of an activation or filter tensor. Filters use it too:
//   CONV_2D           n = output channels, h/w = kernel, c = input channels   (OHWI)
//   DEPTHWISE_CONV_2D n = 1,               h/w = kernel, c = output channels  (1HWO)
// Lower-rank tensors are right-aligned into it (e.g. [B, C] -> n=1, h=1, w=B, c=C).
struct Dims4 {
  int32_t n, h, w, c;
  constexpr int64_t elements() const { return int64_t{n} * h * w * c; }
};

// A real multiplier M in [0, 2) represented as multiplier * 2^(shift - 31), multiplier in
// [2^30, 2^31) (or 0), as TFLite's QuantizeMultiplier produces it.
struct QuantizedMultiplier {
  int32_t multiplier;
  int32_t shift;  // positive = left shift
};

// CONV_2D and DEPTHWISE_CONV_2D. Requantization is per output channel; per-tensor models
// repeat the same multiplier for every channel (identical arithmetic).
struct ConvParams {
  int32_t input_offset;   // -input zero point
  int32_t output_offset;  // output zero point
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_h, pad_w;      // leading (top, left) padding; trailing padding is implied
  int32_t depth_multiplier;  // DEPTHWISE_CONV_2D only: output channels per input channel
  int32_t act_min, act_max;  // clamp of the int8 output (fused activation)
};

// FULLY_CONNECTED: output[b][o] over input[b][0..depth). Weights are [out_depth][depth].
struct FullyConnectedParams {
  int32_t input_offset;
  int32_t output_offset;
  int32_t act_min, act_max;
};

// ADD (int8), as TFLite's ArithmeticParams: both inputs are left-shifted by left_shift and
// rescaled to a common scale, summed, then rescaled to the output.
struct AddParams {
  int32_t input1_offset, input2_offset, output_offset;
  int32_t left_shift;
  QuantizedMultiplier input1, input2, output;
  int32_t act_min, act_max;
};

// MUL (int8).
struct MulParams {
  int32_t input1_offset, input2_offset, output_offset;
  QuantizedMultiplier output;
  int32_t act_min, act_max;
};

// AVERAGE_POOL_2D and MAX_POOL_2D (input and output share scale and zero point).
struct PoolParams {
  int32_t stride_h, stride_w;
  int32_t filter_h, filter_w;
  int32_t pad_h, pad_w;
  int32_t act_min, act_max;
};

// SOFTMAX int8 -> int8 (output scale 1/256, zero point -128), TFLite's fixed-point algorithm.
struct SoftmaxParams {
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t diff_min;
};

}  // namespace frugal::kernels
