#include "pq/finetune.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <map>
#include <string>
#include <thread>

#include "data/metrics.h"
#include "pq/nearest_codewords.h"
#include "runtime/interpreter.h"

namespace frugal::pq {

using ir::Error;

namespace {

// --- small helpers ---------------------------------------------------------------------------

unsigned resolve_threads(unsigned threads) {
  if (threads != 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Index of the op that produces `tensor`, or -1 when nothing does (a graph input).
int32_t producer_of(const ir::Graph& graph, int32_t tensor) {
  for (size_t i = 0; i < graph.ops.size(); ++i)
    for (int32_t out : graph.ops[i].outputs)
      if (out == tensor) return static_cast<int32_t>(i);
  return -1;
}

// The float view and the interpreter both handle exactly one input and one output.
void expect_single_io(const ir::Graph& graph) {
  if (graph.inputs.size() != 1 || graph.outputs.size() != 1)
    throw Error(fmt::format("graph '{}' has {} inputs and {} outputs; fine-tuning needs exactly one of each",
                            graph.name, graph.inputs.size(), graph.outputs.size()));
}

void expect_input_bytes(const ir::Graph& graph, std::span<const uint8_t> inputs, size_t count) {
  const size_t record = graph.tensor(graph.inputs[0]).num_bytes();
  if (inputs.size() != count * record)
    throw Error(fmt::format("{} input bytes given for {} inputs of {} bytes (expected {})", inputs.size(), count,
                            record, count * record));
}

bool is_weight_op(ir::OpType type) {
  return type == ir::OpType::kConv2D || type == ir::OpType::kDepthwiseConv2D ||
         type == ir::OpType::kFullyConnected;
}

// Axis of the per-channel weight scales (the output channel) in the IR's weight layout.
int64_t channel_axis(ir::OpType type) { return type == ir::OpType::kDepthwiseConv2D ? 3 : 0; }

std::vector<int64_t> to_int64(const std::vector<int32_t>& shape) { return {shape.begin(), shape.end()}; }

// [batch, *shape]: every value of the float view carries a leading batch dimension in front of
// the IR's own shape (whose first dimension is the model's batch of 1), so that every op can
// treat the IR shape literally.
std::vector<int64_t> batched(int64_t batch, const std::vector<int32_t>& shape) {
  std::vector<int64_t> out{batch};
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

// The int8 values of a constant tensor as floats, in its IR shape.
torch::Tensor int8_values(const ir::Tensor& t) {
  std::vector<float> values(static_cast<size_t>(t.num_elements()));
  const auto* q = t.data_as<int8_t>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(q[i]);
  return torch::tensor(values).reshape(to_int64(t.shape));
}

// Per-channel weight scales shaped to broadcast against the IR weight layout.
torch::Tensor weight_scales(const ir::Tensor& w, int64_t axis) {
  torch::Tensor scales = torch::tensor(w.quant.scale);
  if (!w.quant.per_channel()) return scales;  // shape [1] broadcasts against any layout
  std::vector<int64_t> shape(w.shape.size(), 1);
  shape[static_cast<size_t>(axis)] = static_cast<int64_t>(w.quant.scale.size());
  return scales.reshape(shape);
}

// IR weight layout -> the layout torch's kernels take: conv OHWI -> OIHW, depthwise
// [1,kh,kw,C*M] -> [C*M,1,kh,kw] (grouped conv, groups = C); FC [OUT,IN] is already right.
torch::Tensor torch_layout(ir::OpType type, const torch::Tensor& w) {
  switch (type) {
    case ir::OpType::kConv2D: return w.permute({0, 3, 1, 2});
    case ir::OpType::kDepthwiseConv2D: return w.permute({3, 0, 1, 2});
    default: return w;
  }
}

// Real value of a constant operand (float32 as is, int8 as scale * (q - zero_point)), with a
// leading batch dimension of 1 so it broadcasts against batched activations.
torch::Tensor constant_value(const ir::Tensor& t) {
  return torch::tensor(data::dequantize(t, t.data)).reshape(batched(1, t.shape));
}

// Rounds to the int8 grid of a tensor in the forward pass and passes the gradient through
// unchanged (straight-through estimator), so training sees the deployed model's activations.
// Equivalent to x + (fq(x) - x).detach(), but one fused kernel instead of half a dozen
// elementwise passes: fake quantization runs after every op, a large share of the training time.
// (It rounds ties to even where TFLite rounds them away from zero; exact ties are rare in float.)
struct StraightThroughFakeQuant : torch::autograd::Function<StraightThroughFakeQuant> {
  static torch::Tensor forward(torch::autograd::AutogradContext* /*ctx*/, const torch::Tensor& x, double scale,
                               int64_t zero_point) {
    return torch::fake_quantize_per_tensor_affine(x, scale, zero_point, -128, 127);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* /*ctx*/,
                                               torch::autograd::tensor_list grad) {
    return {grad[0], torch::Tensor(), torch::Tensor()};
  }
};

torch::Tensor fake_quantize(const torch::Tensor& x, const ir::Tensor& t) {
  return StraightThroughFakeQuant::apply(x, static_cast<double>(t.quant.scale[0]), t.quant.zero_point[0]);
}

torch::Tensor apply_activation(const torch::Tensor& x, ir::Activation activation) {
  switch (activation) {
    case ir::Activation::kNone: return x;
    case ir::Activation::kRelu: return torch::relu(x);
    case ir::Activation::kRelu6: return torch::clamp(x, 0.0, 6.0);
    case ir::Activation::kReluN1To1: return torch::clamp(x, -1.0, 1.0);
  }
  return x;
}

// TFLite's SAME padding: the total padding of an axis is split with the odd element at the end,
// which torch's symmetric `padding` argument cannot express, hence explicit pads.
struct WindowPads {
  int64_t top, bottom, left, right;
};

WindowPads window_pads(const ir::OpAttributes& a, int32_t in_h, int32_t in_w, int32_t k_h, int32_t k_w) {
  const ir::WindowGeometry geo = ir::window_geometry(a.padding, in_h, in_w, k_h, k_w, a.stride_h, a.stride_w,
                                                     a.dilation_h, a.dilation_w);
  auto total = [](int64_t out, int64_t stride, int64_t k, int64_t dilation, int64_t in) {
    return std::max<int64_t>((out - 1) * stride + (k - 1) * dilation + 1 - in, 0);
  };
  const int64_t total_h = total(geo.out_h, a.stride_h, k_h, a.dilation_h, in_h);
  const int64_t total_w = total(geo.out_w, a.stride_w, k_w, a.dilation_w, in_w);
  return WindowPads{geo.pad_top, total_h - geo.pad_top, geo.pad_left, total_w - geo.pad_left};
}

// [B, N, H, W, C] (a batch of IR NHWC tensors) <-> [B*N, C, H, W] for torch's 2-D ops.
torch::Tensor to_nchw(const torch::Tensor& x) {
  const auto s = x.sizes();
  return x.reshape({s[0] * s[1], s[2], s[3], s[4]}).permute({0, 3, 1, 2});
}

torch::Tensor from_nchw(const torch::Tensor& y, int64_t batch, const std::vector<int32_t>& out_shape) {
  return y.permute({0, 2, 3, 1}).reshape(batched(batch, out_shape));
}

torch::Tensor pad_window(const torch::Tensor& nchw, const WindowPads& p, double value) {
  if (p.top == 0 && p.bottom == 0 && p.left == 0 && p.right == 0) return nchw;
  return torch::constant_pad_nd(nchw, {p.left, p.right, p.top, p.bottom}, value);
}

// Gives `x` (batched, IR shape of rank `rank`) the rank `target_rank` by inserting 1s after the
// batch dimension, so NumPy broadcasting of the IR shapes carries over with the batch in front.
torch::Tensor align_rank(const torch::Tensor& x, size_t rank, size_t target_rank) {
  std::vector<int64_t> shape{x.size(0)};
  shape.insert(shape.end(), target_rank - rank, 1);
  for (size_t k = 1; k < static_cast<size_t>(x.dim()); ++k) shape.push_back(x.size(static_cast<int64_t>(k)));
  return x.reshape(shape);
}

std::vector<int64_t> constant_ints(const ir::Tensor& t) {
  std::vector<int64_t> values(static_cast<size_t>(t.num_elements()));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = t.type == ir::DataType::kInt64 ? t.data_as<int64_t>()[i] : t.data_as<int32_t>()[i];
  return values;
}

// --- the float view --------------------------------------------------------------------------

// A differentiable float model of an int8 IR graph, evaluated up to its distillation target.
// Weights of the ops chosen for training are parameters in int8 units (real = scale * w per
// channel), so gradient steps are measured on the scale the codewords live on.
class FloatView {
 public:
  FloatView(const ir::Graph& graph, std::span<const int32_t> trained_ops, bool fake_quant, bool tune_biases,
            bool tune_scales)
      : graph_(graph), fake_quant_(fake_quant), tune_biases_(tune_biases) {
    target_ = distillation_target(graph);
    last_op_ = producer_of(graph, target_);
    for (int32_t index : trained_ops) {
      const ir::Op& op = graph.ops[static_cast<size_t>(index)];
      const int32_t w = op.inputs[1];
      if (!params_.contains(w)) params_.emplace(w, int8_values(graph.tensor(w)).set_requires_grad(true));
      if (tune_scales && !log_gains_.contains(w))
        log_gains_.emplace(w, torch::zeros_like(weight_scales(graph.tensor(w), channel_axis(op.type))).set_requires_grad(true));
    }
    ops_.resize(graph.ops.size());
    for (size_t i = 0; i < graph.ops.size(); ++i) prepare(i);
  }

  torch::Tensor parameter(int32_t op_index) const {
    return params_.at(graph_.ops[static_cast<size_t>(op_index)].inputs[1]);
  }
  // The trained bias in accumulator units; undefined when the op's bias is frozen.
  torch::Tensor bias_parameter(int32_t op_index) const {
    const torch::Tensor& b = ops_[static_cast<size_t>(op_index)].bias_param;
    return b.defined() ? b * kBiasUnit : b;
  }
  // Starts training from `start` instead of the graph's int8 values.
  void start_from(int32_t op_index, const TunedLayer& start) {
    torch::NoGradGuard no_grad;
    torch::Tensor w = parameter(op_index);
    if (static_cast<int64_t>(start.weights.size()) != w.numel())
      throw Error(fmt::format("start of layer {}: {} weights for a tensor of {}", op_index, start.weights.size(),
                              w.numel()));
    w.copy_(torch::tensor(start.weights).reshape(w.sizes()));
    torch::Tensor& b = ops_[static_cast<size_t>(op_index)].bias_param;
    if (b.defined() && !start.bias.empty()) {
      if (static_cast<int64_t>(start.bias.size()) != b.numel())
        throw Error(fmt::format("start of layer {}: {} biases for {} channels", op_index, start.bias.size(), b.numel()));
      b.copy_(torch::tensor(start.bias) / kBiasUnit);
    }
  }
  // Layers whose forward pass uses the nearest codewords of their weights (straight-through).
  void project(int32_t op_index, const CodewordProjection& projection) {
    if (projection.offsets.empty()) return;
    Projection p;
    const int64_t k = projection.codewords, d = projection.subvector;
    std::vector<float> words(static_cast<size_t>(k * d));
    for (size_t i = 0; i < words.size(); ++i) words[i] = projection.words[i];
    p.nearest = std::make_shared<NearestCodewords>(torch::tensor(words).reshape({k, d}));
    p.offsets = torch::tensor(projection.offsets, torch::kLong);
    p.d = d;
    projections_[graph_.ops[static_cast<size_t>(op_index)].inputs[1]] = std::move(p);
  }

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& [tensor, param] : params_) out.push_back(param);
    for (const PreparedOp& p : ops_)
      if (p.bias_param.defined()) out.push_back(p.bias_param);
    return out;
  }
  std::vector<torch::Tensor> scale_parameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& [tensor, gain] : log_gains_) out.push_back(gain);
    return out;
  }
  // The factor each scale entry of the op's weights is multiplied by; undefined when not tuned.
  torch::Tensor scale_gains(int32_t op_index) const {
    const auto it = log_gains_.find(graph_.ops[static_cast<size_t>(op_index)].inputs[1]);
    return it == log_gains_.end() ? torch::Tensor() : it->second.exp();
  }

  // `input`: [B, *input shape] real values. Returns [B, target elements].
  torch::Tensor forward(const torch::Tensor& input) const {
    const int64_t batch = input.size(0);
    std::vector<torch::Tensor> values(graph_.tensors.size());
    values[static_cast<size_t>(graph_.inputs[0])] = input;
    for (const auto& [tensor, value] : constants_) values[static_cast<size_t>(tensor)] = value;
    for (int32_t i = 0; i <= last_op_; ++i) {
      const ir::Op& op = graph_.ops[static_cast<size_t>(i)];
      torch::Tensor y = run(static_cast<size_t>(i), values, batch);
      y = apply_activation(y, op.attrs.activation);
      const ir::Tensor& out = graph_.output(op);
      if (fake_quant_ && out.type == ir::DataType::kInt8 && !out.quant.empty()) y = fake_quantize(y, out);
      values[static_cast<size_t>(op.outputs[0])] = y;
    }
    // A constant-only branch could leave the target with a batch dimension of 1.
    const torch::Tensor& result = values[static_cast<size_t>(target_)];
    return result.expand(batched(batch, graph_.tensor(target_).shape)).reshape({batch, -1});
  }

 private:
  // Per-op tensors computed once: real-valued frozen weights (torch layout) and biases, and the
  // per-channel scales of trained weights.
  struct Projection {
    torch::Tensor offsets;  // S * d element offsets
    int64_t d = 0;
    // Held by pointer: forward() is const, and the search state is a cache of what it computes.
    std::shared_ptr<NearestCodewords> nearest;
  };
  std::map<int32_t, Projection> projections_;  // by weight tensor
  std::map<int32_t, torch::Tensor> log_gains_;  // by weight tensor, shaped like its scales

  struct PreparedOp {
    torch::Tensor weight;  // frozen ops only
    torch::Tensor scales;  // trained ops: multiply the int8-unit parameter
    torch::Tensor bias;    // undefined when the op has none
    // Trained bias in units of kBiasUnit accumulator steps, and the real value of one step per
    // channel; undefined when the bias is frozen.
    torch::Tensor bias_param, accumulator_scale;
  };
  // Adam moves every parameter by about the learning rate per step; in plain accumulator units
  // (steps of input scale x weight scale, biases of thousands) a bias would barely move.
  static constexpr double kBiasUnit = 64.0;

  void prepare(size_t index) {
    const ir::Op& op = graph_.ops[index];
    PreparedOp& p = ops_[index];
    if (is_weight_op(op.type)) {
      const ir::Tensor& w = graph_.tensor(op.inputs[1]);
      p.scales = weight_scales(w, channel_axis(op.type));
      if (!params_.contains(op.inputs[1])) p.weight = torch_layout(op.type, p.scales * int8_values(w)).contiguous();
      if (const ir::Tensor* b = graph_.input(op, 2)) {
        // The kernels use the bias in accumulator units, input scale x weight scale, whatever
        // scale the bias tensor itself records.
        const auto in_scale = static_cast<double>(graph_.tensor(op.inputs[0]).quant.scale[0]);
        std::vector<float> real(static_cast<size_t>(b->num_elements())), step(real.size()), units(real.size());
        for (size_t c = 0; c < real.size(); ++c) {
          const double w_scale = w.quant.scale[w.quant.per_channel() ? c : 0];
          step[c] = static_cast<float>(in_scale * w_scale);
          units[c] = static_cast<float>(static_cast<double>(b->data_as<int32_t>()[c]) / kBiasUnit);
          real[c] = static_cast<float>(static_cast<double>(b->data_as<int32_t>()[c]) * in_scale * w_scale);
        }
        p.bias = torch::tensor(real);
        if (tune_biases_ && params_.contains(op.inputs[1])) {
          p.bias_param = torch::tensor(units).set_requires_grad(true);
          p.accumulator_scale = torch::tensor(step);
        }
      }
      return;
    }
    // Constant operands of other ops (e.g. an int8 constant added to an activation); PAD's and
    // MEAN's int32 operands are read directly from the IR.
    for (int32_t t : op.inputs) {
      if (t < 0) continue;
      const ir::Tensor& tensor = graph_.tensor(t);
      const bool numeric = tensor.type == ir::DataType::kFloat32 ||
                           (tensor.type == ir::DataType::kInt8 && !tensor.quant.empty());
      if (tensor.is_constant && numeric && !constants_.contains(t)) constants_.emplace(t, constant_value(tensor));
    }
  }

  torch::Tensor weight_of(size_t index) const {
    const ir::Op& op = graph_.ops[index];
    const PreparedOp& p = ops_[index];
    if (const auto it = params_.find(op.inputs[1]); it != params_.end()) {
      torch::Tensor w = it->second;
      if (const auto pr = projections_.find(op.inputs[1]); pr != projections_.end()) {
        // Nearest codeword of every sub-vector forward, identity backward.
        const torch::Tensor flat = w.reshape({-1});
        const torch::Tensor sub = flat.detach().index_select(0, pr->second.offsets).reshape({-1, pr->second.d});
        NearestCodewords& nearest = *pr->second.nearest;
        const torch::Tensor chosen = nearest.codebook().index_select(0, nearest.update(sub)).reshape({-1});
        const torch::Tensor projected = torch::zeros_like(flat).index_put({pr->second.offsets}, chosen);
        w = (flat + (projected - flat.detach())).reshape(w.sizes());
      }
      if (const auto g = log_gains_.find(op.inputs[1]); g != log_gains_.end())
        return torch_layout(op.type, p.scales * g->second.exp() * w);
      return torch_layout(op.type, p.scales * w);
    }
    return p.weight;
  }

  torch::Tensor bias_of(size_t index) const {
    const PreparedOp& p = ops_[index];
    return p.bias_param.defined() ? p.bias_param * (kBiasUnit * p.accumulator_scale) : p.bias;
  }

  torch::Tensor run(size_t index, const std::vector<torch::Tensor>& values, int64_t batch) const {
    const ir::Op& op = graph_.ops[index];
    const ir::OpAttributes& a = op.attrs;
    auto value = [&](size_t k) -> const torch::Tensor& {
      const torch::Tensor& v = values[static_cast<size_t>(op.inputs[k])];
      if (!v.defined()) throw Error(fmt::format("op {} '{}': input {} has no value", index, op.name, k));
      return v;
    };
    const ir::Tensor& in = graph_.tensor(op.inputs[0]);
    const ir::Tensor& out = graph_.output(op);

    switch (op.type) {
      case ir::OpType::kConv2D:
      case ir::OpType::kDepthwiseConv2D: {
        const ir::Tensor& w = graph_.tensor(op.inputs[1]);
        const WindowPads pads = window_pads(a, in.shape[1], in.shape[2], w.shape[1], w.shape[2]);
        const torch::Tensor x = pad_window(to_nchw(value(0)), pads, 0.0);
        const int64_t groups = op.type == ir::OpType::kDepthwiseConv2D ? in.shape[3] : 1;
        const std::vector<int64_t> stride{a.stride_h, a.stride_w}, no_padding{0, 0};
        const std::vector<int64_t> dilation{a.dilation_h, a.dilation_w};
        const torch::Tensor y =
            torch::conv2d(x, weight_of(index), bias_of(index), stride, no_padding, dilation, groups);
        return from_nchw(y, batch, out.shape);
      }
      case ir::OpType::kFullyConnected: {
        const int64_t depth = graph_.tensor(op.inputs[1]).shape[1];
        const torch::Tensor x = value(0).reshape({batch, -1, depth});
        return torch::linear(x, weight_of(index), bias_of(index)).reshape(batched(batch, out.shape));
      }
      case ir::OpType::kAdd:
      case ir::OpType::kMul: {
        const size_t rank = out.shape.size();
        const torch::Tensor x = align_rank(value(0), in.shape.size(), rank);
        const torch::Tensor y = align_rank(value(1), graph_.tensor(op.inputs[1]).shape.size(), rank);
        return op.type == ir::OpType::kAdd ? x + y : x * y;
      }
      case ir::OpType::kAveragePool2D: {
        // TFLite divides by the number of valid (unpadded) elements under the window: sum the
        // zero-padded input and divide by the same window sum over ones.
        const WindowPads pads = window_pads(a, in.shape[1], in.shape[2], a.filter_h, a.filter_w);
        auto window_sum = [&](const torch::Tensor& nchw) {
          return torch::avg_pool2d(pad_window(nchw, pads, 0.0), {a.filter_h, a.filter_w}, {a.stride_h, a.stride_w},
                                   {0, 0}, false, true, 1);
        };
        const torch::Tensor sum = window_sum(to_nchw(value(0)));
        const torch::Tensor count = window_sum(torch::ones({1, 1, in.shape[1], in.shape[2]}));
        return from_nchw(sum / count, batch, out.shape);
      }
      case ir::OpType::kMaxPool2D: {
        const WindowPads pads = window_pads(a, in.shape[1], in.shape[2], a.filter_h, a.filter_w);
        const torch::Tensor x = pad_window(to_nchw(value(0)), pads, -std::numeric_limits<double>::infinity());
        const torch::Tensor y = torch::max_pool2d(x, {a.filter_h, a.filter_w}, {a.stride_h, a.stride_w});
        return from_nchw(y, batch, out.shape);
      }
      case ir::OpType::kReshape: return value(0).reshape(batched(value(0).size(0), out.shape));
      case ir::OpType::kSoftmax: return torch::softmax(value(0) * static_cast<double>(a.beta), -1);
      case ir::OpType::kQuantize:    // the rounding to the output's grid is the fake quantization
      case ir::OpType::kDequantize:  // real values are real values
        return value(0);
      case ir::OpType::kPad: {
        // int8 PAD fills with the zero point, i.e. real 0. constant_pad_nd lists the last
        // dimension's (before, after) first.
        const std::vector<int64_t> paddings = constant_ints(graph_.tensor(op.inputs[1]));
        std::vector<int64_t> pad;
        for (size_t k = in.shape.size(); k-- > 0;) {
          pad.push_back(paddings[2 * k]);
          pad.push_back(paddings[2 * k + 1]);
        }
        return torch::constant_pad_nd(value(0), pad, 0.0);
      }
      case ir::OpType::kMean: {
        const auto rank = static_cast<int64_t>(in.shape.size());
        std::vector<int64_t> dims;
        for (int64_t axis : constant_ints(graph_.tensor(op.inputs[1])))
          dims.push_back((axis < 0 ? axis + rank : axis) + 1);  // + 1: the batch dimension
        std::sort(dims.begin(), dims.end());
        dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
        if (dims.empty()) return value(0);  // torch would reduce every dimension
        return torch::mean(value(0), dims, a.keep_dims);
      }
      case ir::OpType::kConcatenation: {
        const auto rank = static_cast<int64_t>(out.shape.size());
        const int64_t axis = (a.axis < 0 ? a.axis + rank : a.axis) + 1;
        std::vector<torch::Tensor> parts;
        for (size_t k = 0; k < op.inputs.size(); ++k)
          parts.push_back(value(k).expand(batched(batch, graph_.tensor(op.inputs[k]).shape)));
        return torch::cat(parts, axis);
      }
    }
    throw Error(fmt::format("op {} '{}': {} is not supported by the float view", index, op.name,
                            ir::to_string(op.type)));
  }

  const ir::Graph& graph_;
  bool fake_quant_, tune_biases_;
  int32_t target_ = -1;
  int32_t last_op_ = -1;
  std::map<int32_t, torch::Tensor> params_;  // weight tensor index -> int8-unit parameter
  std::map<int32_t, torch::Tensor> constants_;  // numeric constants that are not weights
  std::vector<PreparedOp> ops_;
};

// Real values of `count` raw input records, [count, *input shape].
torch::Tensor real_inputs(const ir::Graph& graph, std::span<const uint8_t> inputs, size_t count) {
  const ir::Tensor& desc = graph.tensor(graph.inputs[0]);
  const size_t record = desc.num_bytes();
  const auto elements = static_cast<size_t>(desc.num_elements());
  std::vector<float> real(count * elements);
  for (size_t i = 0; i < count; ++i) {
    const std::vector<float> one = data::dequantize(desc, inputs.subspan(i * record, record));
    std::copy(one.begin(), one.end(), real.begin() + static_cast<std::ptrdiff_t>(i * elements));
  }
  return torch::tensor(real).reshape(batched(static_cast<int64_t>(count), desc.shape));
}

// torch reports errors with a multi-line message and backtrace; the CLI wants one line.
[[noreturn]] void rethrow_torch(const c10::Error& e) {
  std::string message = e.what_without_backtrace();
  message = message.substr(0, message.find('\n'));
  throw Error(fmt::format("libtorch: {}", message));
}

std::vector<TunedLayer> distill(const ir::Graph& graph, std::span<const int32_t> layers,
                                std::span<const uint8_t> inputs, size_t count, std::span<const float> targets,
                                const FineTuneOptions& options, std::span<const CodewordProjection> projections,
                                std::span<const TunedLayer> start) {
  ir::validate(graph);
  if (!projections.empty() && projections.size() != layers.size())
    throw Error(fmt::format("{} codeword projections for {} layers", projections.size(), layers.size()));
  if (!start.empty() && start.size() != layers.size())
    throw Error(fmt::format("{} starting points for {} layers", start.size(), layers.size()));
  expect_single_io(graph);
  for (int32_t layer : layers) {
    if (layer < 0 || static_cast<size_t>(layer) >= graph.ops.size())
      throw Error(fmt::format("layer {} is out of range (graph '{}' has {} ops)", layer, graph.name,
                              graph.ops.size()));
    const ir::Op& op = graph.ops[static_cast<size_t>(layer)];
    if (!is_weight_op(op.type))
      throw Error(fmt::format("layer {} '{}' is a {}, not a CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED op", layer,
                              op.name, ir::to_string(op.type)));
  }
  expect_input_bytes(graph, inputs, count);
  const auto target_elements = static_cast<size_t>(graph.tensor(distillation_target(graph)).num_elements());
  if (targets.size() != count * target_elements)
    throw Error(fmt::format("{} target values given for {} inputs of {} target elements (expected {})", targets.size(),
                            count, target_elements, count * target_elements));
  if (options.epochs < 0) throw Error(fmt::format("epochs must not be negative, got {}", options.epochs));
  if (options.batch < 1) throw Error(fmt::format("batch must be positive, got {}", options.batch));
  if (!(options.learning_rate > 0.0f) || !std::isfinite(options.learning_rate))
    throw Error(fmt::format("learning rate must be positive, got {}", options.learning_rate));

  torch::set_num_threads(static_cast<int>(resolve_threads(options.threads)));
  FloatView view(graph, layers, options.fake_quant_activations, options.tune_biases, options.tune_scales);
  for (size_t k = 0; k < start.size(); ++k) view.start_from(layers[k], start[k]);
  for (size_t k = 0; k < projections.size(); ++k) {
    const CodewordProjection& pr = projections[k];
    const auto elements = graph.tensor(graph.ops[static_cast<size_t>(layers[k])].inputs[1]).num_elements();
    for (const int64_t offset : pr.offsets)
      if (offset < 0 || offset >= elements)
        throw Error(fmt::format("codeword projection of layer {}: offset {} outside its {} weights", layers[k], offset,
                                elements));
    if (!pr.offsets.empty() && (pr.subvector < 1 || pr.codewords < 1 || pr.words == nullptr ||
                                pr.offsets.size() % static_cast<size_t>(pr.subvector) != 0))
      throw Error(fmt::format("codeword projection of layer {} is malformed", layers[k]));
    view.project(layers[k], pr);
  }

  if (!layers.empty() && count > 0 && options.epochs > 0) {
    const torch::Tensor x_all = real_inputs(graph, inputs, count);
    const auto n = static_cast<int64_t>(count);
    const torch::Tensor y_all = torch::tensor(std::vector<float>(targets.begin(), targets.end()))
                                    .reshape({n, static_cast<int64_t>(target_elements)});
    const double scale_rate = kScaleRateFactor * options.learning_rate;
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(view.parameters(), std::make_unique<torch::optim::AdamOptions>(static_cast<double>(options.learning_rate)));
    if (const std::vector<torch::Tensor> gains = view.scale_parameters(); !gains.empty())
      groups.emplace_back(gains, std::make_unique<torch::optim::AdamOptions>(scale_rate));
    std::vector<double> base_rates{static_cast<double>(options.learning_rate), scale_rate};
    torch::optim::Adam adam(std::move(groups), torch::optim::AdamOptions(static_cast<double>(options.learning_rate)));
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    const int64_t steps_per_epoch = (n + options.batch - 1) / options.batch;
    const double total_steps = static_cast<double>(steps_per_epoch) * options.epochs;
    int64_t step = 0;
    for (int32_t epoch = 0; epoch < options.epochs; ++epoch) {
      const torch::Tensor order = torch::randperm(n, generator, torch::kLong);
      for (int64_t first = 0; first < n; first += options.batch, ++step) {
        const torch::Tensor rows = order.slice(0, first, std::min<int64_t>(first + options.batch, n));
        if (options.cosine_schedule) {
          const double factor = 0.5 * (1.0 + std::cos(std::acos(-1.0) * static_cast<double>(step) / total_steps));
          for (size_t g = 0; g < adam.param_groups().size(); ++g)
            static_cast<torch::optim::AdamOptions&>(adam.param_groups()[g].options()).lr(factor * base_rates[g]);
        }
        adam.zero_grad();
        const torch::Tensor student = view.forward(x_all.index_select(0, rows));
        const torch::Tensor loss = torch::mse_loss(student, y_all.index_select(0, rows));
        loss.backward();
        adam.step();
      }
    }
  }

  std::vector<TunedLayer> tuned;
  for (int32_t layer : layers) {
    TunedLayer t;
    const torch::Tensor w = view.parameter(layer).detach().contiguous();
    t.weights.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    if (const torch::Tensor b = view.bias_parameter(layer); b.defined()) {
      const torch::Tensor bc = b.detach().contiguous();
      t.bias.assign(bc.data_ptr<float>(), bc.data_ptr<float>() + bc.numel());
    }
    if (const torch::Tensor g = view.scale_gains(layer); g.defined()) {
      const torch::Tensor gc = g.detach().contiguous();
      t.scale_gains.assign(gc.data_ptr<float>(), gc.data_ptr<float>() + gc.numel());
    }
    tuned.push_back(std::move(t));
  }
  return tuned;
}

}  // namespace

int32_t distillation_target(const ir::Graph& graph) {
  expect_single_io(graph);
  const int32_t output = graph.outputs[0];
  const int32_t producer = producer_of(graph, output);
  if (producer >= 0) {
    const ir::Op& op = graph.ops[static_cast<size_t>(producer)];
    if (op.type == ir::OpType::kSoftmax && !op.inputs.empty()) return op.inputs[0];
  }
  return output;
}

std::vector<float> teacher_targets(const ir::Graph& teacher, std::span<const uint8_t> inputs, size_t count,
                                   unsigned threads) {
  ir::validate(teacher);
  expect_single_io(teacher);
  expect_input_bytes(teacher, inputs, count);
  const runtime::CompiledModel model(teacher, runtime::KernelSet::kFast);
  const int32_t target = distillation_target(teacher);
  const ir::Tensor& desc = teacher.tensor(target);
  const size_t target_bytes = desc.num_bytes();
  const auto elements = static_cast<size_t>(desc.num_elements());
  const size_t record = model.input_bytes(0);
  // The arena reuses memory, so the target is copied right after the op that produces it.
  const int32_t producer = producer_of(teacher, target);

  std::vector<float> out(count * elements);
  const auto workers = static_cast<size_t>(std::min<size_t>(resolve_threads(threads), std::max<size_t>(count, 1)));
  std::vector<std::exception_ptr> errors(workers);
  auto work = [&](size_t worker) {
    try {
      runtime::Session session(model);
      std::vector<uint8_t> captured(target_bytes);
      for (size_t i = worker; i < count; i += workers) {
        std::memcpy(session.input(0), inputs.data() + i * record, record);
        if (producer < 0) std::memcpy(captured.data(), session.tensor_data(target), target_bytes);
        session.invoke([&](size_t op_index) {
          if (static_cast<int32_t>(op_index) == producer)
            std::memcpy(captured.data(), session.tensor_data(target), target_bytes);
        });
        const std::vector<float> real = data::dequantize(desc, captured);
        std::copy(real.begin(), real.end(), out.begin() + static_cast<std::ptrdiff_t>(i * elements));
      }
    } catch (...) {
      errors[worker] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (std::thread& t : pool) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

std::vector<std::vector<float>> distill_layers(const ir::Graph& graph, std::span<const int32_t> layers,
                                               std::span<const uint8_t> inputs, size_t count,
                                               std::span<const float> targets, const FineTuneOptions& options,
                                               std::span<const CodewordProjection> projections) {
  std::vector<std::vector<float>> weights;
  for (TunedLayer& t : fine_tune_layers(graph, layers, inputs, count, targets, options, projections))
    weights.push_back(std::move(t.weights));
  return weights;
}

std::vector<TunedLayer> fine_tune_layers(const ir::Graph& graph, std::span<const int32_t> layers,
                                         std::span<const uint8_t> inputs, size_t count, std::span<const float> targets,
                                         const FineTuneOptions& options, std::span<const CodewordProjection> projections,
                                         std::span<const TunedLayer> start) {
  try {
    return distill(graph, layers, inputs, count, targets, options, projections, start);
  } catch (const c10::Error& e) {
    rethrow_torch(e);
  }
}

}  // namespace frugal::pq
