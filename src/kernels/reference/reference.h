// Reference int8 kernels: the definition of correct for frugal. Each is a plain loop nest
// that reproduces TFLite's reference int8 arithmetic (tensorflow/lite/kernels/internal/
// reference/integer_ops) bit for bit; fast kernels (host/, later cortexm/) are tested
// against these. Freestanding C++17: no allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/params.h"
#include "kernels/quantization.h"

namespace frugal::kernels::reference {

// bias may be nullptr (treated as zeros). multiplier[c] applies to output channel c.
void conv2d(const ConvParams& params, const QuantizedMultiplier* multiplier, const Dims4& input_dims,
            const int8_t* input, const Dims4& filter_dims, const int8_t* filter,
            const int32_t* bias, const Dims4& output_dims, int8_t* output);

void depthwise_conv2d(const ConvParams& params, const QuantizedMultiplier* multiplier,
                      const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                      const int8_t* filter, const int32_t* bias, const Dims4& output_dims,
                      int8_t* output);

// input [batches][depth], weights [out_depth][depth], output [batches][out_depth].
void fully_connected(const FullyConnectedParams& params, const QuantizedMultiplier* multiplier,
                     int32_t batches, int32_t depth, const int8_t* input, int32_t out_depth,
                     const int8_t* weights, const int32_t* bias, int8_t* output);

// Elementwise with 4-D broadcasting: an input dimension of 1 is broadcast to the output's.
void add(const AddParams& params, const Dims4& input1_dims, const int8_t* input1,
         const Dims4& input2_dims, const int8_t* input2, const Dims4& output_dims,
         int8_t* output);
void mul(const MulParams& params, const Dims4& input1_dims, const int8_t* input1,
         const Dims4& input2_dims, const int8_t* input2, const Dims4& output_dims,
         int8_t* output);

void average_pool(const PoolParams& params, const Dims4& input_dims, const int8_t* input,
                  const Dims4& output_dims, int8_t* output);
void max_pool(const PoolParams& params, const Dims4& input_dims, const int8_t* input,
              const Dims4& output_dims, int8_t* output);

// Softmax over the innermost `depth` values of each of `outer` rows.
void softmax(const SoftmaxParams& params, int32_t outer, int32_t depth, const int8_t* input,
             int8_t* output);

// QUANTIZE float -> int8 (TFLite's AffineQuantize): round(value / scale) in float, ties away
// from zero, plus the zero point, saturated to int8.
void quantize_float_to_int8(float scale, int32_t zero_point, int64_t count, const float* input,
                            int8_t* output);

// DEQUANTIZE int8 -> float: float(double(scale) * (q - zero_point)), as TFLite computes it.
void dequantize_int8_to_float(float scale, int32_t zero_point, int64_t count,
                              const int8_t* input, float* output);

// QUANTIZE int8 -> int8 (TFLite Micro's Requantize).
void requantize_int8(const RequantizeParams& params, int64_t count, const int8_t* input,
                     int8_t* output);

// PAD (4-D, constant): output = input surrounded by pad_before / pad_after elements of
// pad_value along each dimension (TFLite uses the output zero point when no constant is given).
// output_dims must equal input_dims + pad_before + pad_after.
void pad(const Dims4& input_dims, const int8_t* input, const Dims4& pad_before,
         const Dims4& pad_after, int8_t pad_value, const Dims4& output_dims, int8_t* output);

// MEAN (int8) over the dimensions whose bit is set in reduce_mask (bit 0 = n, 1 = h, 2 = w,
// 3 = c of the right-aligned Dims4). Output is row-major over the kept dimensions (the same
// bytes with or without keep_dims). Always TFLite's QuantizedMeanOrSum arithmetic, which is the
// only int8 MEAN path in TFLite Micro (no same-quantization shortcut).
void mean(const MeanParams& params, const Dims4& input_dims, const int8_t* input,
          uint32_t reduce_mask, int8_t* output);

// CONCATENATION (int8) of num_inputs tensors along `axis` (0 = n .. 3 = c of the right-aligned
// Dims4). A plain copy: TFLite and TFLite Micro require every int8 input to share the output's
// scale and zero point and the activation to be NONE, so no requantization exists to mirror.
void concatenation(int32_t num_inputs, const Dims4* input_dims, const int8_t* const* inputs,
                   int32_t axis, const Dims4& output_dims, int8_t* output);

}  // namespace frugal::kernels::reference
