// Tiny hand-built graphs whose significance statistics are worked out by hand in the tests.
//
// Quantization of both: input scale 0.5, zero point -1 (input_offset +1, so x + offset = q + 1);
// output scale 0.125; per-channel weight scales 0.25 and 0.5, hence M = in * w / out = 1 for
// channel 0 and 2 for channel 1.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "runtime/interpreter.h"

namespace frugal::approx::testing {

inline ir::Tensor activation(std::string name, std::vector<int32_t> shape, float scale, int64_t zero_point) {
  ir::Tensor t;
  t.name = std::move(name);
  t.type = ir::DataType::kInt8;
  t.shape = std::move(shape);
  t.quant.scale = {scale};
  t.quant.zero_point = {zero_point};
  return t;
}

inline ir::Tensor weights(std::string name, std::vector<int32_t> shape, std::vector<int8_t> values, int32_t axis) {
  ir::Tensor t;
  t.name = std::move(name);
  t.type = ir::DataType::kInt8;
  t.shape = std::move(shape);
  t.is_constant = true;
  t.data.resize(values.size());
  std::memcpy(t.data.data(), values.data(), values.size());
  t.quant.scale = {0.25f, 0.5f};
  t.quant.zero_point = {0, 0};
  t.quant.axis = axis;
  return t;
}

inline ir::Tensor bias(std::string name, std::vector<int32_t> values) {
  ir::Tensor t;
  t.name = std::move(name);
  t.type = ir::DataType::kInt32;
  t.shape = {static_cast<int32_t>(values.size())};
  t.is_constant = true;
  t.data.resize(values.size() * sizeof(int32_t));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  t.quant.scale = {0.125f, 0.25f};  // input scale x weight scale
  t.quant.zero_point = {0, 0};
  return t;
}

inline int32_t add(ir::Graph& g, ir::Tensor t) {
  g.tensors.push_back(std::move(t));
  return static_cast<int32_t>(g.tensors.size() - 1);
}

// FC 3 -> 2, W = [[3, 2, -1], [0, 3, 1]], bias [2, -4].
inline ir::Graph fc_graph() {
  ir::Graph g;
  g.name = "fc";
  const int32_t in = add(g, activation("in", {1, 3}, 0.5f, -1));
  const int32_t w = add(g, weights("fc_w", {2, 3}, {3, 2, -1, 0, 3, 1}, 0));
  const int32_t b = add(g, bias("fc_b", {2, -4}));
  const int32_t out = add(g, activation("out", {1, 2}, 0.125f, 0));
  ir::Op op{ir::OpType::kFullyConnected, "fc", {in, w, b}, {out}, {}};
  g.ops.push_back(op);
  g.inputs = {in};
  g.outputs = {out};
  return g;
}

// CONV 3x3 SAME stride 1 on a 3x3x1 input, 2 output channels (OHWI [2,3,3,1]):
// channel 0 all ones, bias 0; channel 1 has 2 at tap (0,0), -3 at tap (2,2), 0 elsewhere, bias 1.
inline ir::Graph conv_graph() {
  ir::Graph g;
  g.name = "conv";
  const int32_t in = add(g, activation("in", {1, 3, 3, 1}, 0.5f, -1));
  std::vector<int8_t> w(18, 0);
  for (int k = 0; k < 9; ++k) w[static_cast<size_t>(k)] = 1;
  w[9 + 0] = 2;
  w[9 + 8] = -3;
  const int32_t wt = add(g, weights("conv_w", {2, 3, 3, 1}, w, 0));
  const int32_t b = add(g, bias("conv_b", {0, 1}));
  const int32_t out = add(g, activation("out", {1, 3, 3, 2}, 0.125f, 0));
  ir::Op op{ir::OpType::kConv2D, "conv", {in, wt, b}, {out}, {}};
  op.attrs.padding = ir::Padding::kSame;
  g.ops.push_back(op);
  g.inputs = {in};
  g.outputs = {out};
  return g;
}

// Raw output bytes of every input (inputs back to back).
inline std::vector<uint8_t> run_all(const ir::Graph& graph, const std::vector<int8_t>& inputs) {
  runtime::CompiledModel model(graph, runtime::KernelSet::kReference);
  runtime::Session session(model);
  const size_t in_bytes = model.input_bytes(0), out_bytes = model.output_bytes(0);
  std::vector<uint8_t> out;
  for (size_t i = 0; i + in_bytes <= inputs.size(); i += in_bytes) {
    std::memcpy(session.input(0), inputs.data() + i, in_bytes);
    session.invoke();
    out.insert(out.end(), session.output(0), session.output(0) + out_bytes);
  }
  return out;
}

inline std::span<const uint8_t> bytes_of(const std::vector<int8_t>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size()};
}

}  // namespace frugal::approx::testing
