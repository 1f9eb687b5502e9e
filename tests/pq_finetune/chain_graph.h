// A small hand-built int8 graph that runs every IR op type, with the attributes the real models
// leave out (asymmetric SAME padding, dilation, depth multiplier 2, padded average pooling,
// broadcasting, negative concatenation axis, int8 -> int8 and float -> int8 QUANTIZE, every fused
// activation), ending in FULLY_CONNECTED -> SOFTMAX so its distillation target is the logits.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace frugal::pq::testing {

class GraphBuilder {
 public:
  explicit GraphBuilder(uint32_t seed) : rng_(seed) {}

  int32_t activation(std::vector<int32_t> shape, float scale, int64_t zero_point,
                     ir::DataType type = ir::DataType::kInt8) {
    ir::Tensor t;
    t.name = "t" + std::to_string(graph_.tensors.size());
    t.type = type;
    t.shape = std::move(shape);
    if (type != ir::DataType::kFloat32) t.quant = {{scale}, {zero_point}, 0};
    return add(std::move(t));
  }

  // Uniformly random int8 values in [-127, 127].
  int32_t int8_constant(std::vector<int32_t> shape, std::vector<float> scales, int32_t axis, int64_t zero_point = 0) {
    ir::Tensor t;
    t.name = "c" + std::to_string(graph_.tensors.size());
    t.type = ir::DataType::kInt8;
    t.shape = std::move(shape);
    t.quant.zero_point.assign(scales.size(), zero_point);
    t.quant.scale = std::move(scales);
    t.quant.axis = axis;
    t.is_constant = true;
    t.data.resize(t.num_bytes());
    for (uint8_t& b : t.data) b = static_cast<uint8_t>(static_cast<int8_t>(rng_() % 255 - 127));
    return add(std::move(t));
  }

  int32_t int32_constant(const std::vector<int32_t>& values, std::vector<int32_t> shape,
                         std::vector<float> scales = {}) {
    ir::Tensor t;
    t.name = "c" + std::to_string(graph_.tensors.size());
    t.type = ir::DataType::kInt32;
    t.shape = std::move(shape);
    if (!scales.empty()) t.quant = {scales, std::vector<int64_t>(scales.size(), 0), 0};
    t.is_constant = true;
    t.data.resize(values.size() * sizeof(int32_t));
    std::memcpy(t.data.data(), values.data(), t.data.size());
    return add(std::move(t));
  }

  // Random bias in [-range, range] accumulator units, scale input_scale * weight_scale[c].
  int32_t bias(int32_t input, int32_t weights, int32_t channels, int32_t range) {
    std::vector<float> scales;
    std::vector<int32_t> values;
    const ir::Tensor& w = graph_.tensor(weights);
    for (int32_t c = 0; c < channels; ++c) {
      scales.push_back(graph_.tensor(input).quant.scale[0] * w.quant.scale[w.quant.per_channel() ? c : 0]);
      values.push_back(static_cast<int32_t>(rng_() % static_cast<uint32_t>(2 * range + 1)) - range);
    }
    return int32_constant(values, {channels}, scales);
  }

  void op(ir::OpType type, std::vector<int32_t> inputs, int32_t output, ir::OpAttributes attrs = {}) {
    graph_.ops.push_back({type, "op" + std::to_string(graph_.ops.size()), std::move(inputs), {output}, attrs});
  }

  ir::Graph& graph() { return graph_; }

 private:
  int32_t add(ir::Tensor t) {
    graph_.tensors.push_back(std::move(t));
    return static_cast<int32_t>(graph_.tensors.size() - 1);
  }
  ir::Graph graph_;
  std::mt19937 rng_;
};

// Input: float32 [1,10,10,3] in about [0, 1]. Op indices of the weight ops: 2 (CONV_2D),
// 3 (DEPTHWISE_CONV_2D), 15 and 16 (FULLY_CONNECTED).
inline ir::Graph all_ops_graph() {
  using ir::OpType;
  GraphBuilder b(7);
  const int32_t input = b.activation({1, 10, 10, 3}, 0, 0, ir::DataType::kFloat32);
  const int32_t q = b.activation({1, 10, 10, 3}, 1.0f / 255, -128);
  b.op(OpType::kQuantize, {input}, q);  // 0
  const int32_t rq = b.activation({1, 10, 10, 3}, 0.0045f, -100);
  b.op(OpType::kQuantize, {q}, rq);  // 1: int8 -> int8

  // 10x10 -> 5x5 with stride 2: one row/column of padding, at the end.
  ir::OpAttributes conv_attrs;
  conv_attrs.padding = ir::Padding::kSame;
  conv_attrs.stride_h = conv_attrs.stride_w = 2;
  conv_attrs.activation = ir::Activation::kRelu;
  const int32_t conv_w =
      b.int8_constant({8, 3, 3, 3}, {0.010f, 0.012f, 0.008f, 0.011f, 0.009f, 0.013f, 0.010f, 0.007f}, 0);
  const int32_t conv = b.activation({1, 5, 5, 8}, 0.04f, -128);
  b.op(OpType::kConv2D, {rq, conv_w, b.bias(rq, conv_w, 8, 3000)}, conv, conv_attrs);  // 2

  ir::OpAttributes dw_attrs;
  dw_attrs.padding = ir::Padding::kSame;
  dw_attrs.dilation_h = dw_attrs.dilation_w = 2;
  dw_attrs.depth_multiplier = 2;
  dw_attrs.activation = ir::Activation::kRelu6;
  std::vector<float> dw_scales;
  for (int c = 0; c < 16; ++c) dw_scales.push_back(0.004f + 0.0005f * static_cast<float>(c % 5));
  const int32_t dw_w = b.int8_constant({1, 3, 3, 16}, dw_scales, 3);
  const int32_t dw = b.activation({1, 5, 5, 16}, 0.025f, -128);
  b.op(OpType::kDepthwiseConv2D, {conv, dw_w, b.bias(conv, dw_w, 16, 2000)}, dw, dw_attrs);  // 3

  // 5x5 -> 3x3: padding only at the end.
  ir::OpAttributes max_pool;
  max_pool.padding = ir::Padding::kSame;
  max_pool.filter_h = max_pool.filter_w = 2;
  max_pool.stride_h = max_pool.stride_w = 2;
  const int32_t mp = b.activation({1, 3, 3, 16}, 0.025f, -128);
  b.op(OpType::kMaxPool2D, {dw}, mp, max_pool);  // 4

  // Border windows cover padding, which TFLite leaves out of the average.
  ir::OpAttributes avg_pool;
  avg_pool.padding = ir::Padding::kSame;
  avg_pool.filter_h = avg_pool.filter_w = 3;
  const int32_t ap = b.activation({1, 3, 3, 16}, 0.025f, -128);
  b.op(OpType::kAveragePool2D, {mp}, ap, avg_pool);  // 5

  const int32_t pads = b.int32_constant({0, 0, 1, 0, 0, 1, 0, 0}, {4, 2});
  const int32_t padded = b.activation({1, 4, 4, 16}, 0.025f, -128);
  b.op(OpType::kPad, {ap, pads}, padded);  // 6

  const int32_t addend = b.int8_constant({1, 4, 4, 16}, {0.01f}, 0, 5);
  const int32_t sum = b.activation({1, 4, 4, 16}, 0.03f, -20);
  ir::OpAttributes relu;
  relu.activation = ir::Activation::kRelu;
  b.op(OpType::kAdd, {padded, addend}, sum, relu);  // 7
  const int32_t factor = b.int8_constant({1, 4, 4, 16}, {0.008f}, 0, -60);
  const int32_t product = b.activation({1, 4, 4, 16}, 0.04f, 0);
  b.op(OpType::kMul, {sum, factor}, product);  // 8

  const int32_t extra = b.int8_constant({1, 4, 4, 2}, {0.04f}, 0, 0);
  const int32_t cat = b.activation({1, 4, 4, 18}, 0.04f, 0);
  ir::OpAttributes concat;
  concat.axis = -1;
  b.op(OpType::kConcatenation, {product, extra}, cat, concat);  // 9

  const int32_t axes = b.int32_constant({1, 2}, {2});
  const int32_t mean = b.activation({1, 1, 1, 18}, 0.02f, 0);
  ir::OpAttributes keep;
  keep.keep_dims = true;
  b.op(OpType::kMean, {cat, axes}, mean, keep);  // 10

  const int32_t centred = b.activation({1, 4, 4, 18}, 0.05f, 0);
  b.op(OpType::kAdd, {cat, mean}, centred);  // 11: broadcast over the map

  const int32_t real = b.activation({1, 4, 4, 18}, 0, 0, ir::DataType::kFloat32);
  b.op(OpType::kDequantize, {centred}, real);  // 12
  const int32_t requantized = b.activation({1, 4, 4, 18}, 0.06f, 2);
  b.op(OpType::kQuantize, {real}, requantized);  // 13

  const int32_t flat = b.activation({1, 288}, 0.06f, 2);
  b.op(OpType::kReshape, {requantized}, flat);  // 14

  ir::OpAttributes clamp;
  clamp.activation = ir::Activation::kReluN1To1;
  const int32_t fc1_w = b.int8_constant({16, 288}, {0.0002f}, 0);
  const int32_t fc1 = b.activation({1, 16}, 1.0f / 128, 0);
  b.op(OpType::kFullyConnected, {flat, fc1_w, b.bias(flat, fc1_w, 16, 2000)}, fc1, clamp);  // 15

  const int32_t fc2_w =
      b.int8_constant({10, 16}, {0.02f, 0.03f, 0.025f, 0.02f, 0.02f, 0.03f, 0.02f, 0.025f, 0.02f, 0.03f}, 0);
  const int32_t logits = b.activation({1, 10}, 0.08f, 0);
  b.op(OpType::kFullyConnected, {fc1, fc2_w, b.bias(fc1, fc2_w, 10, 1000)}, logits);  // 16

  const int32_t prob = b.activation({1, 10}, 1.0f / 256, -128);
  b.op(OpType::kSoftmax, {logits}, prob);  // 17

  ir::Graph& g = b.graph();
  g.name = "all_ops";
  g.inputs = {input};
  g.outputs = {prob};
  return g;
}

}  // namespace frugal::pq::testing
