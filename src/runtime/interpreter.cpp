#include "runtime/interpreter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "kernels/host/host.h"
#include "kernels/quantization.h"
#include "kernels/reference/reference.h"

namespace frugal::runtime {

using ir::Error;
using kernels::Dims4;
using kernels::QuantizedMultiplier;

// Where an op finds one operand at run time: constant bytes in the graph, or an arena offset.
struct Operand {
  const uint8_t* constant = nullptr;
  size_t offset = 0;

  const uint8_t* get(const uint8_t* arena) const { return constant ? constant : arena + offset; }
  template <typename T>
  const T* as(const uint8_t* arena) const {
    return reinterpret_cast<const T*>(get(arena));
  }
};

struct PreparedOp {
  virtual ~PreparedOp() = default;
  virtual void run(uint8_t* arena, void* scratch) const = 0;
  virtual size_t scratch_bytes() const { return 0; }
};

namespace {

template <typename T>
T* arena_at(uint8_t* arena, size_t offset) {
  return reinterpret_cast<T*>(arena + offset);
}

// Right-aligns a shape of rank <= 4 into NHWC.
Dims4 dims4(const std::vector<int32_t>& shape) {
  int32_t d[4] = {1, 1, 1, 1};
  const size_t rank = shape.size();
  if (rank > 4) throw Error(fmt::format("tensor of rank {} is not supported (at most 4)", rank));
  for (size_t i = 0; i < rank; ++i) d[4 - rank + i] = shape[i];
  return Dims4{d[0], d[1], d[2], d[3]};
}

// Right-aligns per-dimension values (e.g. paddings) into NHWC, filling missing leading dims.
Dims4 dims4_padded(const std::vector<int32_t>& values, int32_t fill) {
  int32_t d[4] = {fill, fill, fill, fill};
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
    case ir::Activation::kNone: return 0;
    case ir::Activation::kRelu: return 1;
    case ir::Activation::kRelu6: return 2;
    case ir::Activation::kReluN1To1: return 3;
  }
  return 0;
}

std::pair<int32_t, int32_t> activation_range(ir::Activation a, const ir::Tensor& output) {
  int32_t lo = 0, hi = 0;
  kernels::activation_range(activation_kind(a), scale_of(output), zero_point_of(output), &lo, &hi);
  return {lo, hi};
}

// Per-output-channel requantization multipliers of a conv-like op, computed the way TFLite's
// Prepare does for that op type (FULLY_CONNECTED differs from conv in float vs double).
std::vector<QuantizedMultiplier> channel_multipliers(const ir::Op& op, const ir::Tensor& input,
                                                     const ir::Tensor& weights, const ir::Tensor& output,
                                                     int32_t channels) {
  std::vector<QuantizedMultiplier> out(static_cast<size_t>(channels));
  const int32_t num_scales = static_cast<int32_t>(weights.quant.scale.size());
  if (op.type == ir::OpType::kFullyConnected) {
    kernels::fully_connected_multipliers(scale_of(input), weights.quant.scale.data(), num_scales,
                                         scale_of(output), channels, out.data());
  } else {
    kernels::conv_multipliers(scale_of(input), weights.quant.scale.data(), num_scales, scale_of(output),
                              channels, out.data());
  }
  return out;
}

class Builder {
 public:
  Builder(const ir::Graph& graph, const std::vector<size_t>& offsets) : graph_(graph), offsets_(offsets) {}

  Operand operand(int32_t tensor) const {
    const ir::Tensor& t = graph_.tensor(tensor);
    if (t.is_constant) return Operand{t.data.data(), 0};
    return Operand{nullptr, offsets_.at(static_cast<size_t>(tensor))};
  }
  size_t out_offset(const ir::Op& op, size_t i = 0) const {
    return offsets_.at(static_cast<size_t>(op.outputs.at(i)));
  }
  const ir::Graph& graph() const { return graph_; }

 private:
  const ir::Graph& graph_;
  const std::vector<size_t>& offsets_;
};

const int32_t* bias_data(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor* bias = graph.input(op, 2);
  return bias ? bias->data_as<int32_t>() : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Conv-like ops

struct ConvGeometry {
  kernels::ConvParams params;
  Dims4 input, filter, output;
  std::vector<QuantizedMultiplier> multipliers;
  const int8_t* filter_data;
  const int32_t* bias;
};

ConvGeometry conv_geometry(const ir::Graph& graph, const ir::Op& op) {
  const ir::Tensor& input = *graph.input(op, 0);
  const ir::Tensor& filter = *graph.input(op, 1);
  const ir::Tensor& output = graph.output(op);
  ConvGeometry g{};
  g.input = dims4(input.shape);
  g.filter = dims4(filter.shape);
  g.output = dims4(output.shape);
  const ir::OpAttributes& a = op.attrs;
  const ir::WindowGeometry w = ir::window_geometry(a.padding, g.input.h, g.input.w, g.filter.h, g.filter.w,
                                                   a.stride_h, a.stride_w, a.dilation_h, a.dilation_w);
  auto [act_min, act_max] = activation_range(a.activation, output);
  g.params = kernels::ConvParams{
      .input_offset = -zero_point_of(input),
      .output_offset = zero_point_of(output),
      .stride_h = a.stride_h,
      .stride_w = a.stride_w,
      .dilation_h = a.dilation_h,
      .dilation_w = a.dilation_w,
      .pad_h = w.pad_top,
      .pad_w = w.pad_left,
      .depth_multiplier = op.type == ir::OpType::kDepthwiseConv2D ? g.output.c / g.input.c : 1,
      .act_min = act_min,
      .act_max = act_max,
  };
  g.multipliers = channel_multipliers(op, input, filter, output, g.output.c);
  g.filter_data = filter.data_as<int8_t>();
  g.bias = bias_data(graph, op);
  return g;
}

struct ReferenceConv final : PreparedOp {
  ConvGeometry g;
  Operand in;
  size_t out;
  bool depthwise;
  void run(uint8_t* arena, void*) const override {
    if (depthwise) {
      kernels::reference::depthwise_conv2d(g.params, g.multipliers.data(), g.input, in.as<int8_t>(arena), g.filter,
                                           g.filter_data, g.bias, g.output, arena_at<int8_t>(arena, out));
    } else {
      kernels::reference::conv2d(g.params, g.multipliers.data(), g.input, in.as<int8_t>(arena), g.filter,
                                 g.filter_data, g.bias, g.output, arena_at<int8_t>(arena, out));
    }
  }
};

template <typename Kernel>
struct FastKernelOp final : PreparedOp {
  Kernel kernel;
  Operand in;
  size_t out;
  FastKernelOp(Kernel k, Operand i, size_t o) : kernel(std::move(k)), in(i), out(o) {}
  void run(uint8_t* arena, void* scratch) const override {
    kernel.run(in.as<int8_t>(arena), arena_at<int8_t>(arena, out), scratch);
  }
  size_t scratch_bytes() const override { return kernel.scratch_bytes(); }
};

std::unique_ptr<PreparedOp> prepare_conv(const Builder& b, const ir::Op& op, KernelSet set) {
  ConvGeometry g = conv_geometry(b.graph(), op);
  const bool depthwise = op.type == ir::OpType::kDepthwiseConv2D;
  const Operand in = b.operand(op.inputs[0]);
  if (set == KernelSet::kReference) {
    auto p = std::make_unique<ReferenceConv>();
    p->g = std::move(g);
    p->in = in;
    p->out = b.out_offset(op);
    p->depthwise = depthwise;
    return p;
  }
  if (depthwise) {
    kernels::host::DepthwiseConv2D k(g.params, g.multipliers.data(), g.input, g.filter, g.filter_data, g.bias,
                                     g.output);
    return std::make_unique<FastKernelOp<kernels::host::DepthwiseConv2D>>(std::move(k), in, b.out_offset(op));
  }
  kernels::host::Conv2D k(g.params, g.multipliers.data(), g.input, g.filter, g.filter_data, g.bias, g.output);
  return std::make_unique<FastKernelOp<kernels::host::Conv2D>>(std::move(k), in, b.out_offset(op));
}

struct FcGeometry {
  kernels::FullyConnectedParams params;
  std::vector<QuantizedMultiplier> multipliers;
  int32_t batches, depth, out_depth;
  const int8_t* weights;
  const int32_t* bias;
};

struct ReferenceFullyConnected final : PreparedOp {
  FcGeometry g;
  Operand in;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::fully_connected(g.params, g.multipliers.data(), g.batches, g.depth, in.as<int8_t>(arena),
                                        g.out_depth, g.weights, g.bias, arena_at<int8_t>(arena, out));
  }
};

std::unique_ptr<PreparedOp> prepare_fully_connected(const Builder& b, const ir::Op& op, KernelSet set) {
  const ir::Graph& graph = b.graph();
  const ir::Tensor& input = *graph.input(op, 0);
  const ir::Tensor& weights = *graph.input(op, 1);
  const ir::Tensor& output = graph.output(op);
  FcGeometry g{};
  g.out_depth = weights.shape.at(0);
  g.depth = weights.shape.at(1);
  g.batches = static_cast<int32_t>(input.num_elements() / g.depth);
  g.params = kernels::make_fully_connected_params(zero_point_of(input), scale_of(output), zero_point_of(output),
                                                 activation_kind(op.attrs.activation));
  g.multipliers = channel_multipliers(op, input, weights, output, g.out_depth);
  g.weights = weights.data_as<int8_t>();
  g.bias = bias_data(graph, op);
  const Operand in = b.operand(op.inputs[0]);
  if (set == KernelSet::kReference) {
    auto p = std::make_unique<ReferenceFullyConnected>();
    p->g = std::move(g);
    p->in = in;
    p->out = b.out_offset(op);
    return p;
  }
  kernels::host::FullyConnected k(g.params, g.multipliers.data(), g.batches, g.depth, g.out_depth, g.weights,
                                  g.bias);
  return std::make_unique<FastKernelOp<kernels::host::FullyConnected>>(std::move(k), in, b.out_offset(op));
}

// ---------------------------------------------------------------------------------------------
// Elementwise and pooling

struct BinaryShapes {
  Dims4 a, b, out;
};

BinaryShapes binary_shapes(const ir::Graph& graph, const ir::Op& op) {
  return {dims4(graph.input(op, 0)->shape), dims4(graph.input(op, 1)->shape), dims4(graph.output(op).shape)};
}

struct AddOp final : PreparedOp {
  kernels::AddParams params;
  BinaryShapes shapes;
  Operand a, b;
  size_t out;
  bool fast;
  void run(uint8_t* arena, void*) const override {
    if (fast) {
      kernels::host::add(params, shapes.a, a.as<int8_t>(arena), shapes.b, b.as<int8_t>(arena), shapes.out,
                         arena_at<int8_t>(arena, out));
    } else {
      kernels::reference::add(params, shapes.a, a.as<int8_t>(arena), shapes.b, b.as<int8_t>(arena), shapes.out,
                              arena_at<int8_t>(arena, out));
    }
  }
};

std::unique_ptr<PreparedOp> prepare_add(const Builder& b, const ir::Op& op, KernelSet set) {
  const ir::Graph& graph = b.graph();
  const ir::Tensor& in1 = *graph.input(op, 0);
  const ir::Tensor& in2 = *graph.input(op, 1);
  const ir::Tensor& output = graph.output(op);
  auto p = std::make_unique<AddOp>();
  p->params = kernels::make_add_params(scale_of(in1), zero_point_of(in1), scale_of(in2), zero_point_of(in2),
                                       scale_of(output), zero_point_of(output), activation_kind(op.attrs.activation));
  p->shapes = binary_shapes(graph, op);
  p->a = b.operand(op.inputs[0]);
  p->b = b.operand(op.inputs[1]);
  p->out = b.out_offset(op);
  p->fast = set == KernelSet::kFast;
  return p;
}

struct MulOp final : PreparedOp {
  kernels::MulParams params;
  BinaryShapes shapes;
  Operand a, b;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::mul(params, shapes.a, a.as<int8_t>(arena), shapes.b, b.as<int8_t>(arena), shapes.out,
                            arena_at<int8_t>(arena, out));
  }
};

std::unique_ptr<PreparedOp> prepare_mul(const Builder& b, const ir::Op& op) {
  const ir::Graph& graph = b.graph();
  const ir::Tensor& in1 = *graph.input(op, 0);
  const ir::Tensor& in2 = *graph.input(op, 1);
  const ir::Tensor& output = graph.output(op);
  auto p = std::make_unique<MulOp>();
  p->params = kernels::make_mul_params(scale_of(in1), zero_point_of(in1), scale_of(in2), zero_point_of(in2),
                                       scale_of(output), zero_point_of(output), activation_kind(op.attrs.activation));
  p->shapes = binary_shapes(graph, op);
  p->a = b.operand(op.inputs[0]);
  p->b = b.operand(op.inputs[1]);
  p->out = b.out_offset(op);
  return p;
}

struct PoolOp final : PreparedOp {
  kernels::PoolParams params;
  Dims4 in_dims, out_dims;
  Operand in;
  size_t out;
  bool average, fast;
  void run(uint8_t* arena, void*) const override {
    const int8_t* x = in.as<int8_t>(arena);
    int8_t* y = arena_at<int8_t>(arena, out);
    if (average) {
      fast ? kernels::host::average_pool(params, in_dims, x, out_dims, y)
           : kernels::reference::average_pool(params, in_dims, x, out_dims, y);
    } else {
      fast ? kernels::host::max_pool(params, in_dims, x, out_dims, y)
           : kernels::reference::max_pool(params, in_dims, x, out_dims, y);
    }
  }
};

std::unique_ptr<PreparedOp> prepare_pool(const Builder& b, const ir::Op& op, KernelSet set) {
  const ir::Graph& graph = b.graph();
  const ir::Tensor& output = graph.output(op);
  auto p = std::make_unique<PoolOp>();
  p->in_dims = dims4(graph.input(op, 0)->shape);
  p->out_dims = dims4(output.shape);
  const ir::OpAttributes& a = op.attrs;
  const ir::WindowGeometry w =
      ir::window_geometry(a.padding, p->in_dims.h, p->in_dims.w, a.filter_h, a.filter_w, a.stride_h, a.stride_w, 1, 1);
  auto [act_min, act_max] = activation_range(a.activation, output);
  p->params = kernels::PoolParams{a.stride_h, a.stride_w, a.filter_h, a.filter_w, w.pad_top, w.pad_left,
                                  act_min,    act_max};
  p->in = b.operand(op.inputs[0]);
  p->out = b.out_offset(op);
  p->average = op.type == ir::OpType::kAveragePool2D;
  p->fast = set == KernelSet::kFast;
  return p;
}

struct SoftmaxOp final : PreparedOp {
  kernels::SoftmaxParams params;
  int32_t outer, depth;
  Operand in;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::softmax(params, outer, depth, in.as<int8_t>(arena), arena_at<int8_t>(arena, out));
  }
};

std::unique_ptr<PreparedOp> prepare_softmax(const Builder& b, const ir::Op& op) {
  const ir::Tensor& input = *b.graph().input(op, 0);
  auto p = std::make_unique<SoftmaxOp>();
  p->params = kernels::make_softmax_params(scale_of(input), op.attrs.beta);
  p->depth = input.shape.back();
  p->outer = static_cast<int32_t>(input.num_elements() / p->depth);
  p->in = b.operand(op.inputs[0]);
  p->out = b.out_offset(op);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Data movement and type conversion

struct CopyOp final : PreparedOp {
  Operand in;
  size_t out, bytes;
  void run(uint8_t* arena, void*) const override {
    const uint8_t* src = in.get(arena);
    uint8_t* dst = arena + out;
    if (src != dst) std::memmove(dst, src, bytes);
  }
};

struct QuantizeOp final : PreparedOp {
  float scale;
  int32_t zero_point;
  Operand in;
  int64_t count;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::quantize_float_to_int8(scale, zero_point, count, in.as<float>(arena),
                                               arena_at<int8_t>(arena, out));
  }
};

struct RequantizeOp final : PreparedOp {
  kernels::RequantizeParams params;
  Operand in;
  int64_t count;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::requantize_int8(params, count, in.as<int8_t>(arena), arena_at<int8_t>(arena, out));
  }
};

struct DequantizeOp final : PreparedOp {
  float scale;
  int32_t zero_point;
  Operand in;
  int64_t count;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::dequantize_int8_to_float(scale, zero_point, count, in.as<int8_t>(arena),
                                                 arena_at<float>(arena, out));
  }
};

std::unique_ptr<PreparedOp> prepare_quantize(const Builder& b, const ir::Op& op) {
  const ir::Tensor& input = *b.graph().input(op, 0);
  const ir::Tensor& output = b.graph().output(op);
  const int64_t count = output.num_elements();
  if (input.type == ir::DataType::kFloat32) {
    auto p = std::make_unique<QuantizeOp>();
    p->scale = scale_of(output);
    p->zero_point = zero_point_of(output);
    p->in = b.operand(op.inputs[0]);
    p->out = b.out_offset(op);
    p->count = count;
    return p;
  }
  auto p = std::make_unique<RequantizeOp>();
  p->params = kernels::make_requantize_params(scale_of(input), zero_point_of(input), scale_of(output),
                                              zero_point_of(output));
  p->in = b.operand(op.inputs[0]);
  p->out = b.out_offset(op);
  p->count = count;
  return p;
}

std::unique_ptr<PreparedOp> prepare_dequantize(const Builder& b, const ir::Op& op) {
  const ir::Tensor& input = *b.graph().input(op, 0);
  auto p = std::make_unique<DequantizeOp>();
  p->scale = scale_of(input);
  p->zero_point = zero_point_of(input);
  p->in = b.operand(op.inputs[0]);
  p->out = b.out_offset(op);
  p->count = input.num_elements();
  return p;
}

// Reads a small constant integer tensor (int32 or int64), e.g. PAD paddings or MEAN axes.
std::vector<int64_t> constant_ints(const ir::Tensor& t) {
  std::vector<int64_t> values(static_cast<size_t>(t.num_elements()));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = t.type == ir::DataType::kInt64 ? t.data_as<int64_t>()[i] : t.data_as<int32_t>()[i];
  }
  return values;
}

struct PadOp final : PreparedOp {
  Dims4 in_dims, before, after, out_dims;
  int8_t value;
  Operand in;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::pad(in_dims, in.as<int8_t>(arena), before, after, value, out_dims,
                            arena_at<int8_t>(arena, out));
  }
};

std::unique_ptr<PreparedOp> prepare_pad(const Builder& b, const ir::Op& op) {
  const ir::Tensor& input = *b.graph().input(op, 0);
  const std::vector<int64_t> paddings = constant_ints(*b.graph().input(op, 1));
  const size_t rank = input.shape.size();
  std::vector<int32_t> before(rank), after(rank);
  for (size_t d = 0; d < rank; ++d) {
    before[d] = static_cast<int32_t>(paddings.at(2 * d));
    after[d] = static_cast<int32_t>(paddings.at(2 * d + 1));
  }
  auto p = std::make_unique<PadOp>();
  p->in_dims = dims4(input.shape);
  p->before = dims4_padded(before, 0);
  p->after = dims4_padded(after, 0);
  p->out_dims = dims4(b.graph().output(op).shape);
  p->value = static_cast<int8_t>(zero_point_of(b.graph().output(op)));
  p->in = b.operand(op.inputs[0]);
  p->out = b.out_offset(op);
  return p;
}

// Maps axis a of a rank-r tensor to its dimension in the right-aligned Dims4 (0 = n .. 3 = c).
int32_t dims4_axis(int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) throw Error(fmt::format("axis {} out of range for rank {}", axis, rank));
  return static_cast<int32_t>(4 - r + axis);
}

struct MeanOp final : PreparedOp {
  kernels::MeanParams params;
  Dims4 in_dims;
  uint32_t mask;
  Operand in;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    kernels::reference::mean(params, in_dims, in.as<int8_t>(arena), mask, arena_at<int8_t>(arena, out));
  }
};

std::unique_ptr<PreparedOp> prepare_mean(const Builder& b, const ir::Op& op) {
  const ir::Tensor& input = *b.graph().input(op, 0);
  const ir::Tensor& output = b.graph().output(op);
  auto p = std::make_unique<MeanOp>();
  p->params = kernels::make_mean_params(scale_of(input), zero_point_of(input), scale_of(output),
                                        zero_point_of(output));
  p->in_dims = dims4(input.shape);
  p->mask = 0;
  for (int64_t axis : constant_ints(*b.graph().input(op, 1))) {
    p->mask |= 1u << dims4_axis(axis, input.shape.size());
  }
  p->in = b.operand(op.inputs[0]);
  p->out = b.out_offset(op);
  return p;
}

struct ConcatenationOp final : PreparedOp {
  std::vector<Dims4> in_dims;
  std::vector<Operand> in;
  int32_t axis;
  Dims4 out_dims;
  size_t out;
  void run(uint8_t* arena, void*) const override {
    const int8_t* inputs[16];
    for (size_t i = 0; i < in.size(); ++i) inputs[i] = in[i].as<int8_t>(arena);
    kernels::reference::concatenation(static_cast<int32_t>(in.size()), in_dims.data(), inputs, axis, out_dims,
                                      arena_at<int8_t>(arena, out));
  }
};

std::unique_ptr<PreparedOp> prepare_concatenation(const Builder& b, const ir::Op& op) {
  const ir::Tensor& output = b.graph().output(op);
  if (op.inputs.size() > 16) throw Error(fmt::format("{} inputs (at most 16 supported)", op.inputs.size()));
  auto p = std::make_unique<ConcatenationOp>();
  for (int32_t t : op.inputs) {
    p->in_dims.push_back(dims4(b.graph().tensor(t).shape));
    p->in.push_back(b.operand(t));
  }
  p->axis = dims4_axis(op.attrs.axis, output.shape.size());
  p->out_dims = dims4(output.shape);
  p->out = b.out_offset(op);
  return p;
}

std::unique_ptr<PreparedOp> prepare_copy(const Builder& b, const ir::Op& op) {
  auto p = std::make_unique<CopyOp>();
  p->in = b.operand(op.inputs[0]);
  p->out = b.out_offset(op);
  p->bytes = b.graph().output(op).num_bytes();
  return p;
}

std::unique_ptr<PreparedOp> prepare(const Builder& b, const ir::Op& op, KernelSet set) {
  switch (op.type) {
    case ir::OpType::kConv2D:
    case ir::OpType::kDepthwiseConv2D: return prepare_conv(b, op, set);
    case ir::OpType::kFullyConnected: return prepare_fully_connected(b, op, set);
    case ir::OpType::kAdd: return prepare_add(b, op, set);
    case ir::OpType::kMul: return prepare_mul(b, op);
    case ir::OpType::kAveragePool2D:
    case ir::OpType::kMaxPool2D: return prepare_pool(b, op, set);
    case ir::OpType::kReshape: return prepare_copy(b, op);
    case ir::OpType::kSoftmax: return prepare_softmax(b, op);
    case ir::OpType::kQuantize: return prepare_quantize(b, op);
    case ir::OpType::kDequantize: return prepare_dequantize(b, op);
    case ir::OpType::kPad: return prepare_pad(b, op);
    case ir::OpType::kMean: return prepare_mean(b, op);
    case ir::OpType::kConcatenation: return prepare_concatenation(b, op);
  }
  throw Error(fmt::format("op '{}': no kernel for {}", op.name, ir::to_string(op.type)));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

CompiledModel::CompiledModel(ir::Graph graph, KernelSet kernels) : graph_(std::move(graph)), kernels_(kernels) {
  ir::validate(graph_);
  const size_t num_tensors = graph_.tensors.size();
  const int32_t num_ops = static_cast<int32_t>(graph_.ops.size());

  // RESHAPE only relabels bytes, so its output shares its input's buffer (union-find roots).
  std::vector<int32_t> root(num_tensors);
  std::iota(root.begin(), root.end(), 0);
  auto find = [&](int32_t t) {
    while (root[static_cast<size_t>(t)] != t) t = root[static_cast<size_t>(t)];
    return t;
  };
  for (const ir::Op& op : graph_.ops) {
    if (op.type == ir::OpType::kReshape && !graph_.tensor(op.inputs[0]).is_constant) {
      root[static_cast<size_t>(find(op.outputs[0]))] = find(op.inputs[0]);
    }
  }

  // Lifetime of each buffer: from the op that writes it (graph inputs: before op 0) to the
  // last op that reads it (graph outputs: to the end).
  constexpr int32_t kUnused = std::numeric_limits<int32_t>::max();
  std::vector<int32_t> first(num_tensors, kUnused), last(num_tensors, -1);
  std::vector<size_t> bytes(num_tensors, 0);
  auto touch = [&](int32_t tensor, int32_t op_index) {
    if (tensor < 0 || graph_.tensor(tensor).is_constant) return;
    const size_t r = static_cast<size_t>(find(tensor));
    first[r] = std::min(first[r], op_index);
    last[r] = std::max(last[r], op_index);
    bytes[r] = std::max(bytes[r], graph_.tensor(tensor).num_bytes());
  };
  for (int32_t t : graph_.inputs) touch(t, 0);
  for (int32_t i = 0; i < num_ops; ++i) {
    const ir::Op& op = graph_.ops[static_cast<size_t>(i)];
    for (int32_t t : op.inputs) touch(t, i);
    for (int32_t t : op.outputs) touch(t, i);
  }
  for (int32_t t : graph_.outputs) touch(t, std::max(num_ops - 1, 0));

  std::vector<BufferRequest> requests;
  std::vector<int32_t> request_root;
  for (size_t t = 0; t < num_tensors; ++t) {
    if (first[t] == kUnused) continue;
    requests.push_back(BufferRequest{bytes[t], first[t], last[t]});
    request_root.push_back(static_cast<int32_t>(t));
  }
  plan_ = plan_memory(requests);

  std::vector<size_t> root_offset(num_tensors, SIZE_MAX);
  for (size_t i = 0; i < requests.size(); ++i) {
    root_offset[static_cast<size_t>(request_root[i])] = plan_.offsets[i];
  }
  tensor_offsets_.assign(num_tensors, SIZE_MAX);
  for (size_t t = 0; t < num_tensors; ++t) {
    if (!graph_.tensors[t].is_constant) tensor_offsets_[t] = root_offset[static_cast<size_t>(find(static_cast<int32_t>(t)))];
  }

  const Builder builder(graph_, tensor_offsets_);
  for (size_t i = 0; i < graph_.ops.size(); ++i) {
    const ir::Op& op = graph_.ops[i];
    try {
      prepared_.push_back(prepare(builder, op, kernels));
    } catch (const std::exception& e) {
      throw Error(fmt::format("op {} '{}' ({}): {}", i, op.name, ir::to_string(op.type), e.what()));
    }
    scratch_bytes_ = std::max(scratch_bytes_, prepared_.back()->scratch_bytes());
  }
}

CompiledModel::~CompiledModel() = default;
CompiledModel::CompiledModel(CompiledModel&&) noexcept = default;
CompiledModel& CompiledModel::operator=(CompiledModel&&) noexcept = default;

size_t CompiledModel::input_bytes(size_t i) const { return graph_.tensor(graph_.inputs.at(i)).num_bytes(); }
size_t CompiledModel::output_bytes(size_t i) const { return graph_.tensor(graph_.outputs.at(i)).num_bytes(); }

Session::Session(const CompiledModel& model)
    : model_(&model), arena_(model.arena_bytes()), scratch_(model.scratch_bytes()) {}

uint8_t* Session::input(size_t i) { return arena_.data() + model_->tensor_offset(model_->graph().inputs.at(i)); }

const uint8_t* Session::output(size_t i) const {
  return arena_.data() + model_->tensor_offset(model_->graph().outputs.at(i));
}

const uint8_t* Session::tensor_data(int32_t tensor) const {
  const size_t offset = model_->tensor_offset(tensor);
  if (offset == SIZE_MAX) return model_->graph().tensor(tensor).data.data();
  return arena_.data() + offset;
}

void Session::invoke(const std::function<void(size_t)>& after_op) {
  for (size_t i = 0; i < model_->prepared_.size(); ++i) {
    model_->prepared_[i]->run(arena_.data(), scratch_.data());
    if (after_op) after_op(i);
  }
}

}  // namespace frugal::runtime
