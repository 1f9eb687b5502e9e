#include "runtime/lowering.h"

#include <fmt/format.h>

namespace frugal::runtime {

using ir::Error;

Dims4 dims4(const std::vector<int32_t>& shape) {
  int32_t d[4] = {1, 1, 1, 1};
  const size_t rank = shape.size();
  if (rank > 4) throw Error(fmt::format("tensor of rank {} is not supported (at most 4)", rank));
  for (size_t i = 0; i < rank; ++i) d[4 - rank + i] = shape[i];
  return Dims4{d[0], d[1], d[2], d[3]};
}

namespace {

// Right-aligns per-dimension values (e.g. paddings) into NHWC; missing leading dims get 0.
Dims4 dims4_values(const std::vector<int32_t>& values) {
  int32_t d[4] = {0, 0, 0, 0};
  const size_t rank = values.size();
  for (size_t i = 0; i < rank; ++i) d[4 - rank + i] = values[i];
  return Dims4{d[0], d[1], d[2], d[3]};
}

float scale_of(const ir::Tensor& t) { return t.quant.empty() ? 1.0f : t.quant.scale[0]; }
int32_t zero_point_of(const ir::Tensor& t) {
  return t.quant.empty() ? 0 : static_cast<int32_t>(t.quant.zero_point[0]);
}

int activation_kind(ir::Activation a) {
  switch (a) {
    case ir::Activation::kNone: return kernels::kActivationNone;
    case ir::Activation::kRelu: return kernels::kActivationRelu;
    case ir::Activation::kRelu6: return kernels::kActivationRelu6;
    case ir::Activation::kReluN1To1: return kernels::kActivationReluN1To1;
  }
  return kernels::kActivationNone;
}

const ir::Tensor& required_input(const ir::Graph& graph, const ir::Op& op, size_t i) {
  const ir::Tensor* t = graph.input(op, i);
  if (t == nullptr) throw Error(fmt::format("input {} is missing", i));
  return *t;
}

const int32_t* bias_data(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor* bias = graph.input(op, 2);
  return bias ? bias->data_as<int32_t>() : nullptr;
}

// Per-output-channel multipliers, computed the way TFLite's Prepare does for the op type
// (per-tensor FULLY_CONNECTED multiplies the scales in float, conv in double).
std::vector<QuantizedMultiplier> channel_multipliers(const ir::Op& op, const ir::Tensor& input,
                                                     const ir::Tensor& weights,
                                                     const ir::Tensor& output, int32_t channels) {
  std::vector<QuantizedMultiplier> out(static_cast<size_t>(channels));
  const int32_t num_scales = static_cast<int32_t>(weights.quant.scale.size());
  if (op.type == ir::OpType::kFullyConnected) {
    kernels::fully_connected_multipliers(scale_of(input), weights.quant.scale.data(), num_scales,
                                         scale_of(output), channels, out.data());
  } else {
    kernels::conv_multipliers(scale_of(input), weights.quant.scale.data(), num_scales,
                              scale_of(output), channels, out.data());
  }
  return out;
}

// Reads a small constant integer tensor (int32 or int64), e.g. PAD paddings or MEAN axes.
std::vector<int64_t> constant_ints(const ir::Tensor& t) {
  std::vector<int64_t> values(static_cast<size_t>(t.num_elements()));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = t.type == ir::DataType::kInt64 ? t.data_as<int64_t>()[i] : t.data_as<int32_t>()[i];
  }
  return values;
}

// Axis of a rank-r tensor -> its dimension in the right-aligned Dims4 (0 = n .. 3 = c).
int32_t dims4_axis(int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) throw Error(fmt::format("axis {} out of range for rank {}", axis, rank));
  return static_cast<int32_t>(4 - r + axis);
}

LoweredConv lower_conv(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& input = required_input(graph, op, 0);
  const ir::Tensor& filter = required_input(graph, op, 1);
  const ir::Tensor& output = graph.output(op);
  LoweredConv l;
  l.depthwise = op.type == ir::OpType::kDepthwiseConv2D;
  l.input = dims4(input.shape);
  l.filter = dims4(filter.shape);
  l.output = dims4(output.shape);
  const ir::OpAttributes& a = op.attrs;
  const ir::WindowGeometry w = ir::window_geometry(a.padding, l.input.h, l.input.w, l.filter.h, l.filter.w,
                                                   a.stride_h, a.stride_w, a.dilation_h, a.dilation_w);
  l.params.input_offset = -zero_point_of(input);
  l.params.output_offset = zero_point_of(output);
  l.params.stride_h = a.stride_h;
  l.params.stride_w = a.stride_w;
  l.params.dilation_h = a.dilation_h;
  l.params.dilation_w = a.dilation_w;
  l.params.pad_h = w.pad_top;
  l.params.pad_w = w.pad_left;
  l.params.depth_multiplier = l.depthwise ? l.output.c / l.input.c : 1;
  kernels::activation_range(activation_kind(a.activation), scale_of(output), zero_point_of(output),
                            &l.params.act_min, &l.params.act_max);
  l.multipliers = channel_multipliers(op, input, filter, output, l.output.c);
  l.filter_data = filter.data_as<int8_t>();
  l.bias = bias_data(graph, op);
  return l;
}

LoweredFullyConnected lower_fully_connected(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& input = required_input(graph, op, 0);
  const ir::Tensor& weights = required_input(graph, op, 1);
  const ir::Tensor& output = graph.output(op);
  LoweredFullyConnected l;
  l.out_depth = weights.shape.at(0);
  l.depth = weights.shape.at(1);
  l.batches = static_cast<int32_t>(input.num_elements() / l.depth);
  l.params = kernels::make_fully_connected_params(zero_point_of(input), scale_of(output), zero_point_of(output),
                                                  activation_kind(op.attrs.activation));
  l.multipliers = channel_multipliers(op, input, weights, output, l.out_depth);
  l.weights = weights.data_as<int8_t>();
  l.bias = bias_data(graph, op);
  return l;
}

template <typename Lowered, typename MakeParams>
Lowered lower_binary(const ir::Graph& graph, const ir::Op& op, MakeParams make_params) {
  const ir::Tensor& in1 = required_input(graph, op, 0);
  const ir::Tensor& in2 = required_input(graph, op, 1);
  const ir::Tensor& output = graph.output(op);
  Lowered l;
  l.params = make_params(scale_of(in1), zero_point_of(in1), scale_of(in2), zero_point_of(in2), scale_of(output),
                         zero_point_of(output), activation_kind(op.attrs.activation));
  l.input1 = dims4(in1.shape);
  l.input2 = dims4(in2.shape);
  l.output = dims4(output.shape);
  return l;
}

LoweredPool lower_pool(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& output = graph.output(op);
  LoweredPool l;
  l.average = op.type == ir::OpType::kAveragePool2D;
  l.input = dims4(required_input(graph, op, 0).shape);
  l.output = dims4(output.shape);
  const ir::OpAttributes& a = op.attrs;
  const ir::WindowGeometry w =
      ir::window_geometry(a.padding, l.input.h, l.input.w, a.filter_h, a.filter_w, a.stride_h, a.stride_w, 1, 1);
  l.params.stride_h = a.stride_h;
  l.params.stride_w = a.stride_w;
  l.params.filter_h = a.filter_h;
  l.params.filter_w = a.filter_w;
  l.params.pad_h = w.pad_top;
  l.params.pad_w = w.pad_left;
  kernels::activation_range(activation_kind(a.activation), scale_of(output), zero_point_of(output),
                            &l.params.act_min, &l.params.act_max);
  return l;
}

LoweredSoftmax lower_softmax(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& input = required_input(graph, op, 0);
  LoweredSoftmax l;
  l.params = kernels::make_softmax_params(scale_of(input), op.attrs.beta);
  l.depth = input.shape.back();
  l.outer = static_cast<int32_t>(input.num_elements() / l.depth);
  return l;
}

LoweredParams lower_quantize(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& input = required_input(graph, op, 0);
  const ir::Tensor& output = graph.output(op);
  if (input.type == ir::DataType::kFloat32) {
    return LoweredQuantize{scale_of(output), zero_point_of(output), output.num_elements()};
  }
  return LoweredRequantize{kernels::make_requantize_params(scale_of(input), zero_point_of(input), scale_of(output),
                                                           zero_point_of(output)),
                           output.num_elements()};
}

LoweredPad lower_pad(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& input = required_input(graph, op, 0);
  const std::vector<int64_t> paddings = constant_ints(required_input(graph, op, 1));
  const size_t rank = input.shape.size();
  std::vector<int32_t> before(rank), after(rank);
  for (size_t d = 0; d < rank; ++d) {
    before[d] = static_cast<int32_t>(paddings.at(2 * d));
    after[d] = static_cast<int32_t>(paddings.at(2 * d + 1));
  }
  LoweredPad l;
  l.input = dims4(input.shape);
  l.before = dims4_values(before);
  l.after = dims4_values(after);
  l.output = dims4(graph.output(op).shape);
  l.value = static_cast<int8_t>(zero_point_of(graph.output(op)));
  return l;
}

LoweredMean lower_mean(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& input = required_input(graph, op, 0);
  const ir::Tensor& output = graph.output(op);
  LoweredMean l;
  l.params = kernels::make_mean_params(scale_of(input), zero_point_of(input), scale_of(output), zero_point_of(output));
  l.input = dims4(input.shape);
  for (int64_t axis : constant_ints(required_input(graph, op, 1))) {
    l.reduce_mask |= 1u << dims4_axis(axis, input.shape.size());
  }
  return l;
}

LoweredConcatenation lower_concatenation(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& output = graph.output(op);
  LoweredConcatenation l;
  for (int32_t t : op.inputs) l.inputs.push_back(dims4(graph.tensor(t).shape));
  l.axis = dims4_axis(op.attrs.axis, output.shape.size());
  l.output = dims4(output.shape);
  return l;
}

LoweredParams lower_params(const ir::Graph& graph, const ir::Op& op) {
  switch (op.type) {
    case ir::OpType::kConv2D:
    case ir::OpType::kDepthwiseConv2D: return lower_conv(graph, op);
    case ir::OpType::kFullyConnected: return lower_fully_connected(graph, op);
    case ir::OpType::kAdd: return lower_binary<LoweredAdd>(graph, op, kernels::make_add_params);
    case ir::OpType::kMul: return lower_binary<LoweredMul>(graph, op, kernels::make_mul_params);
    case ir::OpType::kAveragePool2D:
    case ir::OpType::kMaxPool2D: return lower_pool(graph, op);
    case ir::OpType::kReshape: return LoweredCopy{graph.output(op).num_bytes()};
    case ir::OpType::kSoftmax: return lower_softmax(graph, op);
    case ir::OpType::kQuantize: return lower_quantize(graph, op);
    case ir::OpType::kDequantize: {
      const ir::Tensor& input = required_input(graph, op, 0);
      return LoweredDequantize{scale_of(input), zero_point_of(input), input.num_elements()};
    }
    case ir::OpType::kPad: return lower_pad(graph, op);
    case ir::OpType::kMean: return lower_mean(graph, op);
    case ir::OpType::kConcatenation: return lower_concatenation(graph, op);
  }
  throw Error(fmt::format("no kernel for {}", ir::to_string(op.type)));
}

// The operands a kernel reads at run time: weights, biases and shape/axis operands are folded
// into the lowered parameters; everything else is data.
std::vector<int32_t> data_inputs(const ir::Op& op) {
  switch (op.type) {
    case ir::OpType::kConv2D:
    case ir::OpType::kDepthwiseConv2D:
    case ir::OpType::kFullyConnected:
    case ir::OpType::kReshape:
    case ir::OpType::kPad:
    case ir::OpType::kMean: return {op.inputs.at(0)};
    default: return op.inputs;
  }
}

}  // namespace

LoweredOp lower_op(const ir::Graph& graph, const ir::Op& op) {
  LoweredOp lowered{lower_params(graph, op), data_inputs(op), op.outputs.at(0)};
  return lowered;
}

}  // namespace frugal::runtime
