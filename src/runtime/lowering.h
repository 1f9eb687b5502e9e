// Lowering of IR ops to kernel parameters: TFLite's Prepare-time arithmetic (offsets,
// quantized multipliers, clamps, padding, 4-D extents), done in one place so that the host
// interpreter and the firmware generator feed their kernels exactly the same integers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "ir/graph.h"
#include "kernels/params.h"
#include "kernels/quantization.h"

namespace frugal::runtime {

using kernels::Dims4;
using kernels::QuantizedMultiplier;

// CONV_2D and DEPTHWISE_CONV_2D.
struct LoweredConv {
  bool depthwise = false;
  kernels::ConvParams params{};
  Dims4 input{}, filter{}, output{};
  std::vector<QuantizedMultiplier> multipliers;  // one per output channel
  const int8_t* filter_data = nullptr;           // in the graph's constant tensor
  const int32_t* bias = nullptr;                 // nullptr when the op has no bias
};

struct LoweredFullyConnected {
  kernels::FullyConnectedParams params{};
  int32_t batches = 0, depth = 0, out_depth = 0;
  std::vector<QuantizedMultiplier> multipliers;  // one per output
  const int8_t* weights = nullptr;
  const int32_t* bias = nullptr;
};

struct LoweredAdd {
  kernels::AddParams params{};
  Dims4 input1{}, input2{}, output{};
};

struct LoweredMul {
  kernels::MulParams params{};
  Dims4 input1{}, input2{}, output{};
};

struct LoweredPool {
  bool average = false;
  kernels::PoolParams params{};
  Dims4 input{}, output{};
};

struct LoweredSoftmax {
  kernels::SoftmaxParams params{};
  int32_t outer = 0, depth = 0;
};

struct LoweredQuantize {  // float32 -> int8
  float scale = 1.0f;
  int32_t zero_point = 0;
  int64_t count = 0;
};

struct LoweredRequantize {  // int8 -> int8
  kernels::RequantizeParams params{};
  int64_t count = 0;
};

struct LoweredDequantize {  // int8 -> float32
  float scale = 1.0f;
  int32_t zero_point = 0;
  int64_t count = 0;
};

struct LoweredPad {
  Dims4 input{}, before{}, after{}, output{};
  int8_t value = 0;
};

struct LoweredMean {
  kernels::MeanParams params{};
  Dims4 input{};
  uint32_t reduce_mask = 0;  // bit 0 = n .. bit 3 = c of the right-aligned Dims4
};

struct LoweredConcatenation {
  std::vector<Dims4> inputs;
  int32_t axis = 0;  // 0 = n .. 3 = c of the right-aligned Dims4
  Dims4 output{};
};

// RESHAPE: the bytes do not change (the planner usually makes this a no-op by aliasing).
struct LoweredCopy {
  size_t bytes = 0;
};

using LoweredParams =
    std::variant<LoweredConv, LoweredFullyConnected, LoweredAdd, LoweredMul, LoweredPool,
                 LoweredSoftmax, LoweredQuantize, LoweredRequantize, LoweredDequantize, LoweredPad,
                 LoweredMean, LoweredConcatenation, LoweredCopy>;

struct LoweredOp {
  LoweredParams params;
  // Tensor indices of the operands the kernel reads at run time (activations, or constants
  // used as data such as a constant ADD operand), in kernel argument order; and the output.
  std::vector<int32_t> inputs;
  int32_t output = -1;
};

// Lowers one op of a validated graph. Pointers in the result point into the graph's constant
// tensors, so the graph must outlive it. Throws ir::Error for ops the kernels cannot run.
LoweredOp lower_op(const ir::Graph& graph, const ir::Op& op);

// Right-aligns a shape of rank <= 4 into NHWC.
Dims4 dims4(const std::vector<int32_t>& shape);

}  // namespace frugal::runtime
