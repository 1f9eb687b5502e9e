// Imports the shared int8 models and checks them against expectations derived by hand from the
// published architectures (layer shapes, strides) and against the MAC totals measured
// independently with CMSIS-NN (shared/DESIGN.md, "Whole models with CMSIS-NN").
#include <gtest/gtest.h>

#include <numeric>

#include "import/tflite/tflite_importer.h"
#include "model_files.h"
#include "synthetic_model.h"

namespace frugal::import {
namespace {

using frugal::testing::data_dir;
using ir::OpType;

ir::Graph load(const std::string& relative) {
  return import_tflite_file(data_dir() / relative);
}

#define LOAD_OR_SKIP(var, relative)                     \
  FRUGAL_REQUIRE_FILE(data_dir() / (relative));         \
  const ir::Graph var = load(relative)

std::vector<OpType> op_types(const ir::Graph& g) {
  std::vector<OpType> types;
  for (const ir::Op& op : g.ops) types.push_back(op.type);
  return types;
}

int64_t total_macs(const ir::Graph& g) {
  int64_t total = 0;
  for (const ir::Op& op : g.ops) total += ir::macs(g, op);
  return total;
}

const ir::Tensor& filter_of(const ir::Graph& g, size_t op) { return *g.input(g.ops[op], 1); }

constexpr OpType kConv = OpType::kConv2D;
constexpr OpType kDw = OpType::kDepthwiseConv2D;
constexpr OpType kFc = OpType::kFullyConnected;

TEST(ImportModels, ResNet8) {
  LOAD_OR_SKIP(g, "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite");
  const std::vector<OpType> expected = {
      kConv, kConv, kConv, OpType::kAdd,  kConv,           kConv, kConv, OpType::kAdd, kConv,
      kConv, kConv, OpType::kAdd, OpType::kAveragePool2D, OpType::kReshape, kFc,
      OpType::kSoftmax};
  EXPECT_EQ(op_types(g), expected);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.tensor(g.inputs[0]).shape, (std::vector<int32_t>{1, 32, 32, 3}));
  EXPECT_EQ(g.tensor(g.outputs[0]).shape, (std::vector<int32_t>{1, 10}));

  // Stem: 3x3x3 -> 16, SAME, stride 1, fused ReLU, weights per channel along axis 0.
  const ir::Op& stem = g.ops[0];
  EXPECT_EQ(stem.attrs.padding, ir::Padding::kSame);
  EXPECT_EQ(stem.attrs.stride_h, 1);
  EXPECT_EQ(stem.attrs.activation, ir::Activation::kRelu);
  EXPECT_EQ(filter_of(g, 0).shape, (std::vector<int32_t>{16, 3, 3, 3}));
  EXPECT_EQ(filter_of(g, 0).quant.scale.size(), 16u);
  EXPECT_EQ(filter_of(g, 0).quant.axis, 0);
  EXPECT_EQ(g.ops[2].attrs.activation, ir::Activation::kNone);  // second conv of the block
  EXPECT_EQ(g.ops[3].attrs.activation, ir::Activation::kRelu);  // the ADD carries the ReLU
  EXPECT_EQ(g.ops[4].attrs.stride_h, 2);
  EXPECT_EQ(g.output(g.ops[4]).shape, (std::vector<int32_t>{1, 16, 16, 32}));
  EXPECT_EQ(g.ops[12].attrs.filter_h, 8);
  EXPECT_EQ(g.output(g.ops[15]).quant.zero_point[0], -128);

  // Layer by layer (out_h*out_w*out_c * kh*kw*in_c):
  //   stem 32*32*16*27 = 442,368; four 3x3 16->16 / 32->32 / 64->64 at full size 2,359,296 each
  //   (stage 1 twice, stage 2 and 3 once); strided 3x3 16->32 at 16x16 and 32->64 at 8x8:
  //   1,179,648 each; 1x1 shortcuts 16*16*32*16 = 8*8*64*32 = 131,072 each; dense 64*10 = 640.
  const int64_t by_hand = 442368 + 4 * 2359296 + 2 * 1179648 + 2 * 131072 + 640;
  EXPECT_EQ(by_hand, 12501632);
  EXPECT_EQ(total_macs(g), by_hand);
}

TEST(ImportModels, DsCnnKeywordSpotting) {
  LOAD_OR_SKIP(g, "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite");
  const std::vector<OpType> expected = {kConv, kDw, kConv, kDw, kConv, kDw, kConv, kDw, kConv,
                                        OpType::kAveragePool2D, OpType::kReshape, kFc,
                                        OpType::kSoftmax};
  EXPECT_EQ(op_types(g), expected);
  EXPECT_EQ(g.tensor(g.inputs[0]).shape, (std::vector<int32_t>{1, 49, 10, 1}));
  // Stem 10x4, stride 2, SAME on 49x10 -> 25x5.
  EXPECT_EQ(filter_of(g, 0).shape, (std::vector<int32_t>{64, 10, 4, 1}));
  EXPECT_EQ(g.output(g.ops[0]).shape, (std::vector<int32_t>{1, 25, 5, 64}));
  // Depthwise: [1,3,3,64], per channel along axis 3, multiplier 1.
  const ir::Tensor& dw = filter_of(g, 1);
  EXPECT_EQ(dw.shape, (std::vector<int32_t>{1, 3, 3, 64}));
  EXPECT_EQ(dw.quant.scale.size(), 64u);
  EXPECT_EQ(dw.quant.axis, 3);
  EXPECT_EQ(g.ops[1].attrs.depth_multiplier, 1);
  for (int64_t zp : dw.quant.zero_point) EXPECT_EQ(zp, 0);

  // stem 25*5*64*(10*4*1) = 320,000; 4 x depthwise 25*5*64*9 = 72,000; 4 x pointwise
  // 25*5*64*64 = 512,000; dense 64*12 = 768.
  const int64_t by_hand = 320000 + 4 * 72000 + 4 * 512000 + 768;
  EXPECT_EQ(by_hand, 2656768);
  EXPECT_EQ(total_macs(g), by_hand);
}

TEST(ImportModels, MobileNetV1VisualWakeWords) {
  LOAD_OR_SKIP(g, "mlperf_tiny/visual_wake_words/vww_96_int8.tflite");
  // MobileNetV1 x0.25 on 96x96x3: 3x3 s2 stem to 8 channels, then 13 depthwise/pointwise
  // pairs (depthwise stride, pointwise output channels).
  struct Pair {
    int stride, channels;
  };
  const std::vector<Pair> pairs = {{1, 16},  {2, 32},  {1, 32},  {2, 64},  {1, 64},
                                   {2, 128}, {1, 128}, {1, 128}, {1, 128}, {1, 128},
                                   {1, 128}, {2, 256}, {1, 256}};
  std::vector<OpType> expected = {kConv};
  int64_t by_hand = 48 * 48 * 8 * 27;
  int64_t size = 48, channels = 8;
  for (const Pair& p : pairs) {
    expected.push_back(kDw);
    expected.push_back(kConv);
    size /= p.stride;
    by_hand += size * size * channels * 9;           // depthwise
    by_hand += size * size * p.channels * channels;  // pointwise
    channels = p.channels;
  }
  by_hand += 256 * 2;  // dense
  expected.insert(expected.end(),
                  {OpType::kAveragePool2D, OpType::kReshape, kFc, OpType::kSoftmax});
  EXPECT_EQ(op_types(g), expected);
  EXPECT_EQ(by_hand, 7489664);
  EXPECT_EQ(total_macs(g), by_hand);
  EXPECT_EQ(g.output(g.ops[26]).shape, (std::vector<int32_t>{1, 3, 3, 256}));
  for (size_t k = 1; k < 27; k += 2) {
    EXPECT_EQ(filter_of(g, k).quant.axis, 3) << "op " << k;
    EXPECT_EQ(static_cast<int64_t>(filter_of(g, k).quant.scale.size()), filter_of(g, k).shape[3]);
  }
}

TEST(ImportModels, LeNetCifar10) {
  LOAD_OR_SKIP(g, "seed_ataman/LeNet_Cifar10_INT8.tflite");
  const std::vector<OpType> expected = {OpType::kQuantize, kConv, OpType::kMaxPool2D, kConv,
                                        OpType::kMaxPool2D, kConv, OpType::kReshape, kFc, kFc,
                                        OpType::kDequantize};
  EXPECT_EQ(op_types(g), expected);
  EXPECT_EQ(g.tensor(g.inputs[0]).type, ir::DataType::kFloat32);
  EXPECT_EQ(g.tensor(g.outputs[0]).type, ir::DataType::kFloat32);
  EXPECT_EQ(g.ops[1].attrs.padding, ir::Padding::kValid);
  // conv 3x3x3->32 VALID: 30x30; pool 15x15; conv 32->64: 13x13; pool 6x6; conv 64->64: 4x4.
  EXPECT_EQ(g.output(g.ops[1]).shape, (std::vector<int32_t>{1, 30, 30, 32}));
  EXPECT_EQ(g.output(g.ops[4]).shape, (std::vector<int32_t>{1, 6, 6, 64}));
  EXPECT_EQ(g.output(g.ops[5]).shape, (std::vector<int32_t>{1, 4, 4, 64}));
  // 30*30*32*27 + 13*13*64*288 + 4*4*64*576 + 1024*64 + 64*10
  const int64_t by_hand = 777600 + 3115008 + 589824 + 65536 + 640;
  EXPECT_EQ(by_hand, 4548608);
  EXPECT_EQ(total_macs(g), by_hand);
  EXPECT_EQ(filter_of(g, 7).quant.scale.size(), 1u);  // dense layers are per-tensor here
}

TEST(ImportModels, AnomalyDetectionAutoencoder) {
  LOAD_OR_SKIP(g, "mlperf_tiny/anomaly_detection/ad01_int8.tflite");
  EXPECT_EQ(op_types(g), std::vector<OpType>(10, kFc));
  // 640-128-128-128-128-8-128-128-128-128-640
  const std::vector<int64_t> widths = {640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640};
  int64_t by_hand = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i) by_hand += widths[i] * widths[i + 1];
  EXPECT_EQ(by_hand, 264192);
  EXPECT_EQ(total_macs(g), by_hand);
  EXPECT_EQ(g.ops[0].attrs.activation, ir::Activation::kRelu);
  EXPECT_EQ(g.ops[9].attrs.activation, ir::Activation::kNone);
}

TEST(ImportModels, HelloWorld) {
  LOAD_OR_SKIP(g, "tflite_micro/hello_world_int8.tflite");
  EXPECT_EQ(op_types(g), std::vector<OpType>(3, kFc));
  EXPECT_EQ(total_macs(g), 1 * 16 + 16 * 16 + 16 * 1);
  EXPECT_EQ(g.tensor(g.inputs[0]).shape, (std::vector<int32_t>{1, 1}));
}

// Every constant tensor holds exactly its buffer's bytes; tensor indices match the file.
TEST(ImportModels, ConstantsAreTheFileBuffers) {
  for (const std::string& relative : frugal::testing::int8_models()) {
    const auto path = data_dir() / relative;
    FRUGAL_REQUIRE_FILE(path);
    const std::vector<uint8_t> bytes = frugal::testing::read_bytes(path);
    const ir::Graph g = import_tflite_buffer(bytes, relative);
    const auto* model = frugal::testing::fb::GetModel(bytes.data());
    const auto* tensors = model->subgraphs()->Get(0)->tensors();
    ASSERT_EQ(g.tensors.size(), tensors->size()) << relative;
    size_t constants = 0;
    for (uint32_t i = 0; i < tensors->size(); ++i) {
      const auto* data = model->buffers()->Get(tensors->Get(i)->buffer())->data();
      const ir::Tensor& t = g.tensors[i];
      EXPECT_EQ(t.name, tensors->Get(i)->name()->str());
      if (data == nullptr || data->size() == 0) {
        EXPECT_FALSE(t.is_constant) << relative << " tensor " << i;
        continue;
      }
      ++constants;
      EXPECT_TRUE(t.is_constant) << relative << " tensor " << i;
      EXPECT_EQ(t.data, std::vector<uint8_t>(data->begin(), data->end()))
          << relative << " tensor " << i;
    }
    EXPECT_GT(constants, 0u) << relative;
    EXPECT_EQ(g.name, relative);
  }
}

// Op names are the first output tensor's name and unique.
TEST(ImportModels, OpNamesComeFromOutputs) {
  const std::string relative = "seed_ataman/LeNet_Cifar10_INT8.tflite";
  LOAD_OR_SKIP(g, relative);
  for (const ir::Op& op : g.ops) EXPECT_EQ(op.name, g.output(op).name);
}

TEST(ImportModels, MisalignedSpanImportsTheSame) {
  const auto path = data_dir() / "tflite_micro/hello_world_int8.tflite";
  FRUGAL_REQUIRE_FILE(path);
  const std::vector<uint8_t> bytes = frugal::testing::read_bytes(path);
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
  const ir::Graph a = import_tflite_buffer(bytes, "a");
  const ir::Graph b = import_tflite_buffer(std::span(shifted).subspan(1), "b");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) EXPECT_EQ(a.tensors[i].data, b.tensors[i].data);
}

}  // namespace
}  // namespace frugal::import
