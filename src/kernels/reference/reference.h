// Reference int8 kernels: the definition of correct for frugal. Each is a plain loop nest
// that reproduces TFLite's reference int8 arithmetic (tensorflow/lite/kernels/internal/
// reference/integer_ops) bit for bit; fast kernels (host/, later cortexm/) are tested
// against these. Freestanding C++17: no allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/params.h"

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

}  // namespace frugal::kernels::reference
