// Every IR op type in one generated firmware, built with arm-none-eabi-g++ and run under QEMU,
// bit-exact with the host interpreter: QUANTIZE (float -> int8 and int8 -> int8), CONV_2D,
// DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, PAD, ADD (same shape and broadcast), MUL,
// CONCATENATION, MEAN, RESHAPE, FULLY_CONNECTED, SOFTMAX, DEQUANTIZE.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "codegen/boards.h"
#include "codegen/firmware_project.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"
#include "runtime/interpreter.h"

namespace fs = std::filesystem;

namespace frugal::codegen {
namespace {

using ir::DataType;
using ir::OpType;

class ChainBuilder {
 public:
  explicit ChainBuilder(uint32_t seed) : rng_(seed) {}

  int32_t activation(std::vector<int32_t> shape, float scale, int64_t zero_point,
                     DataType type = DataType::kInt8) {
    ir::Tensor t;
    t.name = "t" + std::to_string(graph_.tensors.size());
    t.type = type;
    t.shape = std::move(shape);
    if (type != DataType::kFloat32) t.quant = {{scale}, {zero_point}, 0};
    return add(std::move(t));
  }

  int32_t int8_constant(std::vector<int32_t> shape, std::vector<float> scales, int32_t axis, int64_t zero_point = 0) {
    ir::Tensor t;
    t.name = "c" + std::to_string(graph_.tensors.size());
    t.type = DataType::kInt8;
    t.shape = std::move(shape);
    t.quant = {std::move(scales), std::vector<int64_t>(t.quant.scale.size(), zero_point), axis};
    t.quant.zero_point.assign(t.quant.scale.size(), zero_point);
    t.is_constant = true;
    t.data.resize(t.num_bytes());
    for (uint8_t& b : t.data) b = static_cast<uint8_t>(static_cast<int8_t>(rng_() % 255 - 127));
    return add(std::move(t));
  }

  int32_t int32_constant(std::vector<int32_t> values, std::vector<int32_t> shape, std::vector<float> scales = {}) {
    ir::Tensor t;
    t.name = "c" + std::to_string(graph_.tensors.size());
    t.type = DataType::kInt32;
    t.shape = std::move(shape);
    if (!scales.empty()) t.quant = {scales, std::vector<int64_t>(scales.size(), 0), 0};
    t.is_constant = true;
    t.data.resize(values.size() * 4);
    std::memcpy(t.data.data(), values.data(), t.data.size());
    return add(std::move(t));
  }

  // A bias whose scale is input_scale * weight_scale[c], as the validator requires.
  int32_t bias(int32_t input, int32_t weights, int32_t channels) {
    std::vector<float> scales;
    std::vector<int32_t> values;
    const ir::Tensor& w = graph_.tensor(weights);
    for (int32_t c = 0; c < channels; ++c) {
      scales.push_back(graph_.tensor(input).quant.scale[0] * w.quant.scale[w.quant.per_channel() ? c : 0]);
      values.push_back(static_cast<int32_t>(rng_() % 2001) - 1000);
    }
    return int32_constant(values, {channels}, scales);
  }

  void op(OpType type, std::vector<int32_t> inputs, int32_t output, ir::OpAttributes attrs = {}) {
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

ir::Graph all_ops_chain() {
  ChainBuilder b(11);
  const int32_t input = b.activation({1, 9, 9, 3}, 0, 0, DataType::kFloat32);
  const int32_t q = b.activation({1, 9, 9, 3}, 1.0f / 255, -128);
  b.op(OpType::kQuantize, {input}, q);
  const int32_t rq = b.activation({1, 9, 9, 3}, 0.006f, -3);
  b.op(OpType::kQuantize, {q}, rq);  // int8 -> int8 requantization

  ir::OpAttributes same;
  same.padding = ir::Padding::kSame;
  same.activation = ir::Activation::kRelu;
  const int32_t conv_w = b.int8_constant({6, 3, 3, 3}, {0.01f, 0.02f, 0.015f, 0.03f, 0.012f, 0.02f}, 0);
  const int32_t conv = b.activation({1, 9, 9, 6}, 0.05f, -128);
  b.op(OpType::kConv2D, {rq, conv_w, b.bias(rq, conv_w, 6)}, conv, same);

  ir::OpAttributes dw;
  dw.padding = ir::Padding::kValid;
  dw.stride_h = dw.stride_w = 2;
  dw.activation = ir::Activation::kRelu6;
  const int32_t dw_w = b.int8_constant({1, 3, 3, 6}, {0.02f, 0.01f, 0.03f, 0.02f, 0.025f, 0.015f}, 3);
  const int32_t dwo = b.activation({1, 4, 4, 6}, 0.03f, -100);
  b.op(OpType::kDepthwiseConv2D, {conv, dw_w, b.bias(conv, dw_w, 6)}, dwo, dw);

  ir::OpAttributes max_pool;
  max_pool.padding = ir::Padding::kSame;
  max_pool.filter_h = max_pool.filter_w = 3;
  const int32_t mp = b.activation({1, 4, 4, 6}, 0.03f, -100);
  b.op(OpType::kMaxPool2D, {dwo}, mp, max_pool);

  ir::OpAttributes avg_pool;
  avg_pool.filter_h = avg_pool.filter_w = 2;
  avg_pool.stride_h = avg_pool.stride_w = 1;
  const int32_t ap = b.activation({1, 3, 3, 6}, 0.03f, -100);
  b.op(OpType::kAveragePool2D, {mp}, ap, avg_pool);

  const int32_t pads = b.int32_constant({0, 0, 1, 0, 0, 1, 0, 0}, {4, 2});
  const int32_t padded = b.activation({1, 4, 4, 6}, 0.03f, -100);
  b.op(OpType::kPad, {ap, pads}, padded);

  const int32_t addend = b.int8_constant({1, 4, 4, 6}, {0.02f}, 0, 5);
  const int32_t sum = b.activation({1, 4, 4, 6}, 0.04f, -20);
  b.op(OpType::kAdd, {padded, addend}, sum);
  const int32_t factor = b.int8_constant({1, 4, 4, 6}, {0.01f}, 0, 2);
  const int32_t product = b.activation({1, 4, 4, 6}, 0.004f, 1);
  b.op(OpType::kMul, {sum, factor}, product);

  const int32_t extra = b.int8_constant({1, 4, 4, 2}, {0.004f}, 0, 1);
  const int32_t cat = b.activation({1, 4, 4, 8}, 0.004f, 1);
  ir::OpAttributes concat;
  concat.axis = 3;
  b.op(OpType::kConcatenation, {product, extra}, cat, concat);

  const int32_t axes = b.int32_constant({1, 2}, {2});
  const int32_t mean = b.activation({1, 1, 1, 8}, 0.003f, -4);
  ir::OpAttributes keep;
  keep.keep_dims = true;
  b.op(OpType::kMean, {cat, axes}, mean, keep);

  // The per-channel mean broadcast back over the map (ADD with broadcasting), so it reaches the
  // output.
  const int32_t centred = b.activation({1, 4, 4, 8}, 0.006f, 0);
  b.op(OpType::kAdd, {cat, mean}, centred);

  const int32_t flat = b.activation({1, 128}, 0.006f, 0);
  b.op(OpType::kReshape, {centred}, flat);
  const int32_t fc_w = b.int8_constant({10, 128}, {0.01f}, 0);
  const int32_t fc = b.activation({1, 10}, 0.1f, 0);
  b.op(OpType::kFullyConnected, {flat, fc_w, b.bias(flat, fc_w, 10)}, fc);

  const int32_t prob = b.activation({1, 10}, 1.0f / 256, -128);
  b.op(OpType::kSoftmax, {fc}, prob);
  const int32_t out = b.activation({1, 10}, 0, 0, DataType::kFloat32);
  b.op(OpType::kDequantize, {prob}, out);

  ir::Graph& g = b.graph();
  g.name = "all_ops";
  g.inputs = {input};
  g.outputs = {out};
  return g;
}

class AllOps : public testing::TestWithParam<KernelFlavor> {};

TEST_P(AllOps, OneFirmwareUnderQemuMatchesInterpreter) {
  if (!mcu::arm_toolchain_available() || !mcu::qemu_available()) GTEST_SKIP() << "toolchain or QEMU missing";
  const ir::Graph graph = all_ops_chain();
  ASSERT_NO_THROW(ir::validate(graph));

  const Board& board = find_board("nucleo-f446re");
  const fs::path dir = fs::temp_directory_path() /
                       ("frugal_all_ops_" + std::to_string(::getpid()) + "_" + std::to_string(static_cast<int>(GetParam())));
  fs::remove_all(dir);
  GenerateOptions options;
  options.flavor = GetParam();
  const GeneratedFirmware firmware = generate_firmware(graph, board, dir, options);
  const fs::path elf = mcu::build_firmware(dir, mcu::FirmwareTarget::kQemu);

  constexpr int kRecords = 6;
  const runtime::CompiledModel host(graph, runtime::KernelSet::kReference);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(-0.2f, 1.2f);  // also exercises QUANTIZE saturation
  std::vector<float> inputs(kRecords * 9 * 9 * 3);
  for (float& v : inputs) v = unit(rng);
  {
    std::ofstream in(dir / "input.bin", std::ios::binary);
    in.write(reinterpret_cast<const char*>(inputs.data()), static_cast<std::streamsize>(inputs.size() * 4));
  }
  mcu::RunOptions run;
  run.working_directory = dir;
  const mcu::RunResult result = mcu::run_firmware(board, elf, run);
  ASSERT_EQ(result.exit_code, 0) << result.guest_stderr;
  // Regions: setup, then per record one per layer plus the harness.
  EXPECT_EQ(result.regions.size(), kRecords * (graph.ops.size() + 1));

  std::ifstream out(dir / "output.bin", std::ios::binary);
  const std::vector<char> got((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  ASSERT_EQ(got.size(), kRecords * host.output_bytes(0));
  runtime::Session session(host);
  for (int r = 0; r < kRecords; ++r) {
    std::memcpy(session.input(0), inputs.data() + r * 243, 243 * 4);
    session.invoke();
    EXPECT_EQ(std::memcmp(session.output(0), got.data() + r * host.output_bytes(0), host.output_bytes(0)), 0)
        << "record " << r;
  }
  // A chain that saturated to a constant would compare equal trivially.
  EXPECT_NE(std::memcmp(got.data(), got.data() + host.output_bytes(0), host.output_bytes(0)), 0)
      << "records 0 and 1 give the same output";
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Flavors, AllOps, testing::Values(KernelFlavor::kReference, KernelFlavor::kCortexM),
                         [](const testing::TestParamInfo<KernelFlavor>& param) {
                           return param.param == KernelFlavor::kCortexM ? std::string("cortexm")
                                                                        : std::string("reference");
                         });

}  // namespace
}  // namespace frugal::codegen
