#include "ir/graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace frugal::ir {

std::string_view to_string(DataType type) {
  switch (type) {
    case DataType::kInt8: return "int8";
    case DataType::kUInt8: return "uint8";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kFloat32: return "float32";
  }
  return "unknown";
}

size_t element_size(DataType type) {
  switch (type) {
    case DataType::kInt8:
    case DataType::kUInt8: return 1;
    case DataType::kInt16: return 2;
    case DataType::kInt32:
    case DataType::kFloat32: return 4;
    case DataType::kInt64: return 8;
  }
  return 0;
}

std::string_view to_string(OpType type) {
  // TFLite's spelling, so that messages and reports match what users see in Netron etc.
  switch (type) {
    case OpType::kConv2D: return "CONV_2D";
    case OpType::kDepthwiseConv2D: return "DEPTHWISE_CONV_2D";
    case OpType::kFullyConnected: return "FULLY_CONNECTED";
    case OpType::kAdd: return "ADD";
    case OpType::kMul: return "MUL";
    case OpType::kAveragePool2D: return "AVERAGE_POOL_2D";
    case OpType::kMaxPool2D: return "MAX_POOL_2D";
    case OpType::kReshape: return "RESHAPE";
    case OpType::kSoftmax: return "SOFTMAX";
    case OpType::kQuantize: return "QUANTIZE";
    case OpType::kDequantize: return "DEQUANTIZE";
    case OpType::kPad: return "PAD";
    case OpType::kMean: return "MEAN";
    case OpType::kConcatenation: return "CONCATENATION";
  }
  return "UNKNOWN";
}

std::string printable(std::string_view name) {
  std::string out;
  for (const char c : name) {
    const auto byte = static_cast<uint8_t>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view to_string(PqLayout layout) {
  return layout == PqLayout::kKernel ? "kernel" : "row";
}

std::string_view to_string(Padding padding) {
  return padding == Padding::kSame ? "SAME" : "VALID";
}

std::string_view to_string(Activation activation) {
  switch (activation) {
    case Activation::kNone: return "NONE";
    case Activation::kRelu: return "RELU";
    case Activation::kRelu6: return "RELU6";
    case Activation::kReluN1To1: return "RELU_N1_TO_1";
  }
  return "UNKNOWN";
}

int64_t Tensor::num_elements() const {
  // Shapes come from untrusted files: a product that overflows must not wrap into a small,
  // plausible size that later sizes a buffer.
  constexpr int64_t kLimit = int64_t{1} << 40;
  int64_t count = 1;
  for (int32_t dim : shape) {
    if (dim < 0) throw Error(fmt::format("tensor '{}' has a negative dimension {}", name, dim));
    // Checked before multiplying: count <= 2^40 times a dimension up to 2^31 overflows int64.
    if (dim > 0 && count > kLimit / dim)
      throw Error(fmt::format("tensor '{}' has too many elements (shape [{}])", name,
                              fmt::join(shape, ",")));
    count *= dim;
  }
  return count;
}

const Tensor* Graph::input(const Op& op, size_t i) const {
  if (i >= op.inputs.size() || op.inputs[i] < 0) return nullptr;
  return &tensor(op.inputs[i]);
}

const Tensor& Graph::output(const Op& op, size_t i) const { return tensor(op.outputs.at(i)); }

WindowGeometry window_geometry(Padding padding, int32_t in_h, int32_t in_w, int32_t filter_h,
                               int32_t filter_w, int32_t stride_h, int32_t stride_w,
                               int32_t dilation_h, int32_t dilation_w) {
  // 64-bit intermediates: attributes come from files and may be absurd before validation.
  auto one_axis = [padding](int64_t in, int64_t filter, int64_t stride, int64_t dilation,
                            int32_t& out, int32_t& pad) {
    if (stride < 1) stride = 1;
    if (dilation < 1) dilation = 1;
    const int64_t effective = (filter - 1) * dilation + 1;
    int64_t size = 0;
    if (padding == Padding::kSame) {
      size = (in + stride - 1) / stride;
    } else {
      const int64_t span = in - effective + 1;
      size = span <= 0 ? 0 : (span + stride - 1) / stride;
    }
    const int64_t total = std::max<int64_t>(0, (size - 1) * stride + effective - in);
    out = static_cast<int32_t>(std::clamp<int64_t>(size, 0, std::numeric_limits<int32_t>::max()));
    pad = static_cast<int32_t>(
        std::clamp<int64_t>(total / 2, 0, std::numeric_limits<int32_t>::max()));
  };
  WindowGeometry g{};
  one_axis(in_h, filter_h, stride_h, dilation_h, g.out_h, g.pad_top);
  one_axis(in_w, filter_w, stride_w, dilation_w, g.out_w, g.pad_left);
  return g;
}

namespace {

std::string shape_str(const std::vector<int32_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

int64_t dim(const Tensor& t, size_t i) { return t.shape.at(i); }

class Validator {
 public:
  explicit Validator(const Graph& graph) : g_(graph) {}

  void run() {
    check_tensors();
    check_graph_io();
    std::set<std::string_view> names;
    std::vector<bool> available(g_.tensors.size(), false);
    for (size_t i = 0; i < g_.tensors.size(); ++i) available[i] = g_.tensors[i].is_constant;
    for (int32_t in : g_.inputs) available[static_cast<size_t>(in)] = true;
    std::vector<bool> written(g_.tensors.size(), false);

    for (size_t index = 0; index < g_.ops.size(); ++index) {
      op_index_ = index;
      const Op& op = g_.ops[index];
      op_ = &op;
      if (!names.insert(op.name).second) fail("op name is not unique in the graph");
      for (size_t k = 0; k < op.inputs.size(); ++k) {
        const int32_t t = op.inputs[k];
        if (t == -1) continue;
        if (t < 0 || static_cast<size_t>(t) >= g_.tensors.size())
          fail(fmt::format("input {} refers to tensor {}, out of range (graph has {} tensors)", k,
                           t, g_.tensors.size()));
        if (!available[static_cast<size_t>(t)])
          fail(fmt::format("input {} '{}' is not a constant, not a graph input and not produced "
                           "by an earlier op",
                           k, g_.tensor(t).name));
      }
      for (size_t k = 0; k < op.outputs.size(); ++k) {
        const int32_t t = op.outputs[k];
        if (t < 0 || static_cast<size_t>(t) >= g_.tensors.size())
          fail(fmt::format("output {} refers to tensor {}, out of range (graph has {} tensors)",
                           k, t, g_.tensors.size()));
        const Tensor& out = g_.tensor(t);
        if (out.is_constant) fail(fmt::format("output {} '{}' is a constant tensor", k, out.name));
        if (std::find(g_.inputs.begin(), g_.inputs.end(), t) != g_.inputs.end())
          fail(fmt::format("output {} '{}' is a graph input", k, out.name));
        if (written[static_cast<size_t>(t)])
          fail(fmt::format("output {} '{}' is already produced by an earlier op", k, out.name));
      }
      check_op(op);
      for (int32_t t : op.outputs) {
        available[static_cast<size_t>(t)] = true;
        written[static_cast<size_t>(t)] = true;
      }
    }
    op_ = nullptr;
    for (int32_t out : g_.outputs)
      if (!available[static_cast<size_t>(out)])
        throw Error(fmt::format("graph output '{}' is never produced", g_.tensor(out).name));
  }

 private:
  [[noreturn]] void fail(const std::string& rule) const {
    throw Error(fmt::format("op {} '{}' ({}): {}", op_index_, op_->name, to_string(op_->type),
                            rule));
  }

  void check_tensors() const {
    for (size_t i = 0; i < g_.tensors.size(); ++i) {
      const Tensor& t = g_.tensors[i];
      auto bad = [&](const std::string& rule) {
        throw Error(fmt::format("tensor {} '{}': {}", i, t.name, rule));
      };
      for (int32_t d : t.shape)
        if (d < 1) bad(fmt::format("dimension {} in shape {} must be positive", d, shape_str(t.shape)));
      const int64_t elements = t.num_elements();
      // Kernels address tensors with 32-bit offsets (on the MCU and on the host).
      if (elements > std::numeric_limits<int32_t>::max())
        bad(fmt::format("shape {} has {} elements, more than 32-bit offsets can address",
                        shape_str(t.shape), elements));
      if (t.is_constant && t.data.size() != static_cast<size_t>(elements) * element_size(t.type))
        bad(fmt::format("holds {} bytes of data, shape {} of {} needs {}", t.data.size(),
                        shape_str(t.shape), to_string(t.type),
                        static_cast<size_t>(elements) * element_size(t.type)));
      if (!t.is_constant && !t.data.empty()) bad("has data but is not marked constant");
      const Quantization& q = t.quant;
      if (q.empty()) {
        if (!q.zero_point.empty()) bad("has zero points but no scales");
        continue;
      }
      if (q.zero_point.size() != q.scale.size())
        bad(fmt::format("has {} quantization scales but {} zero points", q.scale.size(),
                        q.zero_point.size()));
      for (float s : q.scale)
        if (!(std::isfinite(s) && s > 0.0f))
          bad(fmt::format("quantization scale {} must be positive and finite", s));
      if (q.per_channel()) {
        if (q.axis < 0 || static_cast<size_t>(q.axis) >= t.shape.size())
          bad(fmt::format("quantization axis {} out of range for shape {}", q.axis,
                          shape_str(t.shape)));
        if (static_cast<size_t>(dim(t, static_cast<size_t>(q.axis))) != q.scale.size())
          bad(fmt::format("has {} quantization scales but dimension {} has size {}",
                          q.scale.size(), q.axis, dim(t, static_cast<size_t>(q.axis))));
      }
    }
  }

  void check_graph_io() const {
    auto check = [&](const std::vector<int32_t>& list, std::string_view what) {
      for (size_t k = 0; k < list.size(); ++k) {
        const int32_t t = list[k];
        if (t < 0 || static_cast<size_t>(t) >= g_.tensors.size())
          throw Error(fmt::format("graph {} {} refers to tensor {}, out of range (graph has {} "
                                  "tensors)",
                                  what, k, t, g_.tensors.size()));
      }
    };
    check(g_.inputs, "input");
    check(g_.outputs, "output");
    for (int32_t t : g_.inputs)
      if (g_.tensor(t).is_constant)
        throw Error(fmt::format("graph input '{}' is a constant tensor", g_.tensor(t).name));
  }

  // --- operand helpers ---------------------------------------------------------------------

  void expect_counts(size_t min_in, size_t max_in, size_t outs) const {
    const Op& op = *op_;
    if (op.inputs.size() < min_in || op.inputs.size() > max_in) {
      if (min_in == max_in)
        fail(fmt::format("expects {} inputs, got {}", min_in, op.inputs.size()));
      fail(fmt::format("expects {} to {} inputs, got {}", min_in,
                       max_in == SIZE_MAX ? std::string("any number of")
                                          : std::to_string(max_in),
                       op.inputs.size()));
    }
    if (op.outputs.size() != outs)
      fail(fmt::format("expects {} output{}, got {}", outs, outs == 1 ? "" : "s",
                       op.outputs.size()));
    // Only trailing optional operands (bias) may be omitted; the validator relies on the rest.
    for (size_t k = 0; k < min_in; ++k)
      if (op.inputs[k] < 0) fail(fmt::format("required input {} is missing", k));
  }

  const Tensor& in(size_t k) const { return g_.tensor(op_->inputs[k]); }
  const Tensor& out() const { return g_.tensor(op_->outputs[0]); }

  static std::string operand(std::string_view role, const Tensor& t) {
    return fmt::format("{} '{}'", role, t.name);
  }

  void expect_type(std::string_view role, const Tensor& t, DataType type) const {
    if (t.type != type)
      fail(fmt::format("{} must be {}, got {}", operand(role, t), to_string(type),
                       to_string(t.type)));
  }

  // int8 activation with a single scale and zero point.
  void expect_activation(std::string_view role, const Tensor& t) const {
    expect_type(role, t, DataType::kInt8);
    if (t.quant.empty()) fail(fmt::format("{} has no quantization parameters", operand(role, t)));
    if (t.quant.per_channel())
      fail(fmt::format("{} must have per-tensor quantization, got {} scales", operand(role, t),
                       t.quant.scale.size()));
    const int64_t zp = t.quant.zero_point[0];
    if (zp < -128 || zp > 127)
      fail(fmt::format("{} zero point {} is outside int8 range", operand(role, t), zp));
  }

  void expect_rank(std::string_view role, const Tensor& t, size_t rank) const {
    if (t.shape.size() != rank)
      fail(fmt::format("{} must have rank {}, got shape {}", operand(role, t), rank,
                       shape_str(t.shape)));
  }

  void expect_constant(std::string_view role, const Tensor& t) const {
    if (!t.is_constant) fail(fmt::format("{} must be a constant tensor", operand(role, t)));
  }

  void expect_same_shape(std::string_view role_a, const Tensor& a, std::string_view role_b,
                         const Tensor& b) const {
    if (a.shape != b.shape)
      fail(fmt::format("{} shape {} differs from {} shape {}", operand(role_a, a),
                       shape_str(a.shape), operand(role_b, b), shape_str(b.shape)));
  }

  static bool close(double a, double b, double relative) {
    return std::abs(a - b) <= relative * std::max(std::abs(a), std::abs(b));
  }

  // Ops that move int8 values without rescaling them need identical quantization.
  void expect_same_quant(const Tensor& a, const Tensor& b) const {
    if (a.quant.zero_point[0] != b.quant.zero_point[0] ||
        !close(a.quant.scale[0], b.quant.scale[0], 1e-6))
      fail(fmt::format("input '{}' (scale {}, zero point {}) and output '{}' (scale {}, zero "
                       "point {}) must share quantization",
                       a.name, a.quant.scale[0], a.quant.zero_point[0], b.name, b.quant.scale[0],
                       b.quant.zero_point[0]));
  }

  // int8 weights, symmetric, per-tensor or per-channel along `channel_axis`.
  void expect_weights(const Tensor& w, int32_t channel_axis) const {
    expect_type("filter", w, DataType::kInt8);
    expect_constant("filter", w);
    if (w.quant.empty()) fail(fmt::format("filter '{}' has no quantization parameters", w.name));
    for (int64_t zp : w.quant.zero_point)
      if (zp != 0) fail(fmt::format("filter zero point must be 0, got {}", zp));
    if (w.quant.per_channel()) {
      if (w.quant.axis != channel_axis)
        fail(fmt::format("filter '{}' is quantized per channel along axis {}, expected axis {}",
                         w.name, w.quant.axis, channel_axis));
    }
  }

  void expect_bias(const Tensor& input, const Tensor& weights, int64_t channels) const {
    const Tensor* bias = g_.input(*op_, 2);
    if (bias == nullptr) return;
    expect_type("bias", *bias, DataType::kInt32);
    expect_constant("bias", *bias);
    if (bias->num_elements() != channels || bias->shape.size() != 1)
      fail(fmt::format("bias '{}' must have shape [{}], got {}", bias->name, channels,
                       shape_str(bias->shape)));
    // The kernels never read the bias scale, but a mismatch means the bias is in other units
    // than the accumulator and the results would be silently wrong.
    const Quantization& q = bias->quant;
    if (q.empty()) return;
    for (int64_t zp : q.zero_point)
      if (zp != 0) fail(fmt::format("bias zero point must be 0, got {}", zp));
    if (q.scale.size() != 1 && static_cast<int64_t>(q.scale.size()) != channels)
      fail(fmt::format("bias '{}' has {} scales for {} channels", bias->name, q.scale.size(),
                       channels));
    for (size_t c = 0; c < static_cast<size_t>(channels); ++c) {
      const double w_scale = weights.quant.scale[weights.quant.per_channel() ? c : 0];
      const double expected = double{input.quant.scale[0]} * w_scale;
      const double actual = q.scale[q.per_channel() ? c : 0];
      if (!close(actual, expected, 1e-4))
        fail(fmt::format("bias scale {} of channel {} must equal input scale x filter scale = {}",
                         static_cast<float>(actual), c, static_cast<float>(expected)));
    }
  }

  void expect_window_output(const Tensor& input, int32_t filter_h, int32_t filter_w,
                            int64_t channels) const {
    const OpAttributes& a = op_->attrs;
    if (a.stride_h < 1 || a.stride_w < 1)
      fail(fmt::format("strides must be positive, got {}x{}", a.stride_h, a.stride_w));
    if (a.dilation_h < 1 || a.dilation_w < 1)
      fail(fmt::format("dilations must be positive, got {}x{}", a.dilation_h, a.dilation_w));
    const WindowGeometry geo =
        window_geometry(a.padding, static_cast<int32_t>(dim(input, 1)),
                        static_cast<int32_t>(dim(input, 2)), filter_h, filter_w, a.stride_h,
                        a.stride_w, a.dilation_h, a.dilation_w);
    if (geo.out_h < 1 || geo.out_w < 1)
      fail(fmt::format("{}x{} window (dilation {}x{}) does not fit the {}x{} input with {} "
                       "padding",
                       filter_h, filter_w, a.dilation_h, a.dilation_w, dim(input, 1),
                       dim(input, 2), to_string(a.padding)));
    const std::vector<int32_t> expected = {static_cast<int32_t>(dim(input, 0)), geo.out_h,
                                           geo.out_w, static_cast<int32_t>(channels)};
    if (out().shape != expected)
      fail(fmt::format("output shape {} does not match the expected {} ({} padding, stride "
                       "{}x{})",
                       shape_str(out().shape), shape_str(expected), to_string(a.padding),
                       a.stride_h, a.stride_w));
  }

  void expect_constant_int32_vector(std::string_view role, const Tensor& t) const {
    expect_type(role, t, DataType::kInt32);
    expect_constant(role, t);
  }

  // --- ops ---------------------------------------------------------------------------------

  void check_op(const Op& op) const {
    switch (op.type) {
      case OpType::kConv2D: return check_conv();
      case OpType::kDepthwiseConv2D: return check_depthwise();
      case OpType::kFullyConnected: return check_fully_connected();
      case OpType::kAdd:
      case OpType::kMul: return check_elementwise();
      case OpType::kAveragePool2D:
      case OpType::kMaxPool2D: return check_pool();
      case OpType::kReshape: return check_reshape();
      case OpType::kSoftmax: return check_softmax();
      case OpType::kQuantize: return check_quantize();
      case OpType::kDequantize: return check_dequantize();
      case OpType::kPad: return check_pad();
      case OpType::kMean: return check_mean();
      case OpType::kConcatenation: return check_concatenation();
    }
    fail("unknown op type");
  }

  void check_conv() const {
    expect_counts(2, 3, 1);
    const Tensor& input = in(0);
    const Tensor& filter = in(1);
    expect_activation("input", input);
    expect_activation("output", out());
    expect_rank("input", input, 4);
    expect_rank("filter", filter, 4);
    expect_rank("output", out(), 4);
    expect_weights(filter, 0);
    if (dim(filter, 3) != dim(input, 3))
      fail(fmt::format("filter '{}' has {} input channels but input '{}' has {}", filter.name,
                       dim(filter, 3), input.name, dim(input, 3)));
    expect_window_output(input, filter.shape[1], filter.shape[2], dim(filter, 0));
    expect_bias(input, filter, dim(filter, 0));
  }

  void check_depthwise() const {
    expect_counts(2, 3, 1);
    const Tensor& input = in(0);
    const Tensor& filter = in(1);
    expect_activation("input", input);
    expect_activation("output", out());
    expect_rank("input", input, 4);
    expect_rank("filter", filter, 4);
    expect_rank("output", out(), 4);
    expect_weights(filter, 3);
    if (dim(filter, 0) != 1)
      fail(fmt::format("filter '{}' must have shape [1,H,W,C], got {}", filter.name,
                       shape_str(filter.shape)));
    const int64_t multiplier = op_->attrs.depth_multiplier;
    if (multiplier < 1) fail(fmt::format("depth multiplier must be positive, got {}", multiplier));
    if (dim(filter, 3) != dim(input, 3) * multiplier)
      fail(fmt::format("filter '{}' has {} channels, expected input channels {} x depth "
                       "multiplier {}",
                       filter.name, dim(filter, 3), dim(input, 3), multiplier));
    expect_window_output(input, filter.shape[1], filter.shape[2], dim(filter, 3));
    expect_bias(input, filter, dim(filter, 3));
  }

  void check_fully_connected() const {
    expect_counts(2, 3, 1);
    const Tensor& input = in(0);
    const Tensor& weights = in(1);
    expect_activation("input", input);
    expect_activation("output", out());
    expect_rank("filter", weights, 2);
    expect_weights(weights, 0);
    const int64_t units = dim(weights, 0);
    const int64_t depth = dim(weights, 1);
    if (input.shape.empty() || input.num_elements() % depth != 0)
      fail(fmt::format("input '{}' shape {} is not a whole number of rows of depth {}",
                       input.name, shape_str(input.shape), depth));
    std::vector<int32_t> expected;
    if (op_->attrs.keep_num_dims) {
      if (input.shape.back() != depth)
        fail(fmt::format("input '{}' last dimension {} must equal filter depth {} with "
                         "keep_num_dims",
                         input.name, input.shape.back(), depth));
      expected = input.shape;
      expected.back() = static_cast<int32_t>(units);
    } else {
      expected = {static_cast<int32_t>(input.num_elements() / depth),
                  static_cast<int32_t>(units)};
    }
    if (out().shape != expected)
      fail(fmt::format("output shape {} does not match the expected {}", shape_str(out().shape),
                       shape_str(expected)));
    expect_bias(input, weights, units);
  }

  void check_elementwise() const {
    expect_counts(2, 2, 1);
    const Tensor& a = in(0);
    const Tensor& b = in(1);
    expect_activation("input", a);
    expect_activation("input", b);
    expect_activation("output", out());
    // NumPy broadcasting: align shapes on the right; each pair of dims equal or one of them 1.
    const size_t rank = std::max(a.shape.size(), b.shape.size());
    std::vector<int32_t> expected(rank, 1);
    for (size_t k = 0; k < rank; ++k) {
      const int32_t da = k < a.shape.size() ? a.shape[a.shape.size() - 1 - k] : 1;
      const int32_t db = k < b.shape.size() ? b.shape[b.shape.size() - 1 - k] : 1;
      if (da != db && da != 1 && db != 1)
        fail(fmt::format("input shapes {} and {} are not broadcastable", shape_str(a.shape),
                         shape_str(b.shape)));
      expected[rank - 1 - k] = std::max(da, db);
    }
    if (out().shape != expected)
      fail(fmt::format("output shape {} does not match the broadcast shape {}",
                       shape_str(out().shape), shape_str(expected)));
  }

  void check_pool() const {
    expect_counts(1, 1, 1);
    const Tensor& input = in(0);
    expect_activation("input", input);
    expect_activation("output", out());
    expect_rank("input", input, 4);
    expect_rank("output", out(), 4);
    const OpAttributes& a = op_->attrs;
    if (a.filter_h < 1 || a.filter_w < 1)
      fail(fmt::format("filter size must be positive, got {}x{}", a.filter_h, a.filter_w));
    if (a.dilation_h != 1 || a.dilation_w != 1) fail("pools take no dilation");
    expect_window_output(input, a.filter_h, a.filter_w, dim(input, 3));
    expect_same_quant(input, out());
  }

  void check_reshape() const {
    expect_counts(1, 2, 1);
    const Tensor& input = in(0);
    expect_activation("input", input);
    expect_activation("output", out());
    if (const Tensor* shape = g_.input(*op_, 1)) {
      if (shape->type != DataType::kInt32 && shape->type != DataType::kInt64)
        fail(fmt::format("shape operand '{}' must be int32 or int64, got {}", shape->name,
                         to_string(shape->type)));
    }
    if (input.num_elements() != out().num_elements())
      fail(fmt::format("input shape {} and output shape {} have different element counts",
                       shape_str(input.shape), shape_str(out().shape)));
    expect_same_quant(input, out());
  }

  void check_softmax() const {
    expect_counts(1, 1, 1);
    const Tensor& input = in(0);
    expect_activation("input", input);
    expect_activation("output", out());
    if (input.shape.empty()) fail("input must have at least one dimension");
    expect_same_shape("input", input, "output", out());
    if (!(op_->attrs.beta > 0.0f) || !std::isfinite(op_->attrs.beta))
      fail(fmt::format("beta must be positive, got {}", op_->attrs.beta));
    const Quantization& q = out().quant;
    if (!close(q.scale[0], 1.0 / 256.0, 1e-3))
      fail(fmt::format("int8 output must have scale 1/256, got {}", q.scale[0]));
    if (q.zero_point[0] != -128)
      fail(fmt::format("int8 output must have zero point -128, got {}", q.zero_point[0]));
  }

  void check_quantize() const {
    expect_counts(1, 1, 1);
    const Tensor& input = in(0);
    if (input.type == DataType::kInt8)
      expect_activation("input", input);
    else if (input.type != DataType::kFloat32)
      fail(fmt::format("input '{}' must be float32 or int8, got {}", input.name,
                       to_string(input.type)));
    expect_activation("output", out());
    expect_same_shape("input", input, "output", out());
  }

  void check_dequantize() const {
    expect_counts(1, 1, 1);
    const Tensor& input = in(0);
    expect_activation("input", input);
    expect_type("output", out(), DataType::kFloat32);
    expect_same_shape("input", input, "output", out());
  }

  void check_pad() const {
    expect_counts(2, 2, 1);
    const Tensor& input = in(0);
    const Tensor& paddings = in(1);
    expect_activation("input", input);
    expect_activation("output", out());
    expect_constant_int32_vector("paddings", paddings);
    const size_t rank = input.shape.size();
    if (paddings.shape != std::vector<int32_t>{static_cast<int32_t>(rank), 2})
      fail(fmt::format("paddings '{}' must have shape [{},2], got {}", paddings.name, rank,
                       shape_str(paddings.shape)));
    std::vector<int32_t> expected = input.shape;
    for (size_t k = 0; k < rank; ++k) {
      const int32_t before = paddings.data_as<int32_t>()[2 * k];
      const int32_t after = paddings.data_as<int32_t>()[2 * k + 1];
      if (before < 0 || after < 0)
        fail(fmt::format("paddings must be non-negative, got {} and {} on axis {}", before,
                         after, k));
      expected[k] = static_cast<int32_t>(
          std::min<int64_t>(int64_t{expected[k]} + before + after,
                            std::numeric_limits<int32_t>::max()));
    }
    if (out().shape != expected)
      fail(fmt::format("output shape {} does not match the padded shape {}",
                       shape_str(out().shape), shape_str(expected)));
    expect_same_quant(input, out());
  }

  void check_mean() const {
    expect_counts(2, 2, 1);
    const Tensor& input = in(0);
    const Tensor& axes = in(1);
    expect_activation("input", input);
    expect_activation("output", out());
    expect_constant_int32_vector("axes", axes);
    if (axes.shape.size() > 1)
      fail(fmt::format("axes '{}' must be a scalar or a vector, got shape {}", axes.name,
                       shape_str(axes.shape)));
    const auto rank = static_cast<int64_t>(input.shape.size());
    std::vector<bool> reduced(input.shape.size(), false);
    for (int64_t k = 0; k < axes.num_elements(); ++k) {
      int64_t axis = axes.data_as<int32_t>()[k];
      if (axis < -rank || axis >= rank)
        fail(fmt::format("axis {} out of range for input shape {}", axis,
                         shape_str(input.shape)));
      if (axis < 0) axis += rank;
      reduced[static_cast<size_t>(axis)] = true;
    }
    std::vector<int32_t> expected;
    for (size_t k = 0; k < input.shape.size(); ++k) {
      if (!reduced[k])
        expected.push_back(input.shape[k]);
      else if (op_->attrs.keep_dims)
        expected.push_back(1);
    }
    if (out().shape != expected)
      fail(fmt::format("output shape {} does not match the reduced shape {}",
                       shape_str(out().shape), shape_str(expected)));
  }

  void check_concatenation() const {
    expect_counts(1, SIZE_MAX, 1);
    const Tensor& output = out();
    expect_activation("output", output);
    // TFLite Micro's int8 CONCATENATION is a plain copy and refuses fused activations.
    if (op_->attrs.activation != Activation::kNone)
      fail(fmt::format("fused activation {} is not supported (only NONE)",
                       to_string(op_->attrs.activation)));
    const auto rank = static_cast<int32_t>(output.shape.size());
    int32_t axis = op_->attrs.axis;
    if (axis < -rank || axis >= rank)
      fail(fmt::format("axis {} out of range for output shape {}", axis,
                       shape_str(output.shape)));
    if (axis < 0) axis += rank;
    int64_t total = 0;
    for (size_t k = 0; k < op_->inputs.size(); ++k) {
      if (op_->inputs[k] < 0) fail(fmt::format("input {} is missing", k));
      const Tensor& input = in(k);
      expect_activation("input", input);
      if (input.shape.size() != output.shape.size())
        fail(fmt::format("input '{}' shape {} and output shape {} differ in rank", input.name,
                         shape_str(input.shape), shape_str(output.shape)));
      for (int32_t d = 0; d < rank; ++d)
        if (d != axis && input.shape[static_cast<size_t>(d)] != output.shape[static_cast<size_t>(d)])
          fail(fmt::format("input '{}' shape {} differs from output shape {} outside axis {}",
                           input.name, shape_str(input.shape), shape_str(output.shape), axis));
      // int8 concatenation copies bytes (TFLite's quantization spec requires one scale and
      // zero point for all operands).
      expect_same_quant(input, output);
      total += input.shape[static_cast<size_t>(axis)];
    }
    if (total != output.shape[static_cast<size_t>(axis)])
      fail(fmt::format("inputs sum to {} along axis {} but the output has {}", total, axis,
                       output.shape[static_cast<size_t>(axis)]));
  }

  const Graph& g_;
  size_t op_index_ = 0;
  const Op* op_ = nullptr;
};

}  // namespace

void validate(const Graph& graph) { Validator(graph).run(); }

int64_t macs(const Graph& graph, const Op& op) {
  auto required = [&](size_t i) -> const Tensor& {
    const Tensor* t = graph.input(op, i);
    if (t == nullptr)
      throw Error(fmt::format("op '{}' ({}): input {} is missing", op.name, to_string(op.type), i));
    return *t;
  };
  switch (op.type) {
    case OpType::kConv2D: {
      const Tensor& filter = required(1);
      // Each output element sums over one filter window (kh * kw * in_c).
      return graph.output(op).num_elements() * filter.num_elements() / filter.shape.at(0);
    }
    case OpType::kDepthwiseConv2D: {
      const Tensor& filter = required(1);
      return graph.output(op).num_elements() * filter.shape.at(1) * filter.shape.at(2);
    }
    case OpType::kFullyConnected: {
      const Tensor& weights = required(1);
      // Output elements = batches * units; each sums over `depth` products.
      return graph.output(op).num_elements() * weights.shape.at(1);
    }
    default:
      return 0;
  }
}

}  // namespace frugal::ir
