// Compact parameters (pq/compact.h): the 16-bit weight-scale codes, rounding scales to them, and
// the byte width of int32 constants. Every expected value is worked out by hand in the comments.
#include "pq/compact.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace frugal::pq {
namespace {

using ir::DataType;

TEST(ScaleCodes, HandWorkedCodes) {
  // Largest 1.5 in [2^0, 2^1): exponent 0. code = k << 11 | m, scale = (2048 + m) 2^(-k - 11).
  //   1.0  = 2048 * 2^-11           k 0, m 0     -> 0x0000
  //   0.5  = 2048 * 2^-12           k 1, m 0     -> 0x0800
  //   0.75 = 3072 * 2^-12           k 1, m 1024  -> 0x0C00
  //   1.5  = 3072 * 2^-11           k 0, m 1024  -> 0x0400
  const std::vector<float> scales = {1.0f, 0.5f, 0.75f, 1.5f};
  const std::optional<ScaleCodes> codes = scale_codes(scales);
  ASSERT_TRUE(codes.has_value());
  EXPECT_EQ(codes->exponent, 0);
  EXPECT_EQ(codes->codes, (std::vector<uint16_t>{0x0000, 0x0800, 0x0C00, 0x0400}));
  EXPECT_EQ(scales_from_codes(codes->exponent, codes->codes), scales);
}

TEST(ScaleCodes, TwelveSignificantBitsAndThirtyTwoBinades) {
  // 1 + 2^-11 has 12 significant bits (m = 1); 1 + 2^-12 has 13.
  EXPECT_TRUE(scale_codes(std::vector<float>{1.0f + 0x1p-11f}).has_value());
  EXPECT_FALSE(scale_codes(std::vector<float>{1.0f + 0x1p-12f}).has_value());
  EXPECT_FALSE(scale_codes(std::vector<float>{0.1f}).has_value());
  // 2^-31 below the largest is the last binade (k = 31, m = 0 -> 0xF800); 2^-32 is not.
  const std::optional<ScaleCodes> far = scale_codes(std::vector<float>{1.0f, 0x1p-31f});
  ASSERT_TRUE(far.has_value());
  EXPECT_EQ(far->codes, (std::vector<uint16_t>{0x0000, 0xF800}));
  EXPECT_FALSE(scale_codes(std::vector<float>{1.0f, 0x1p-32f}).has_value());
  // Not positive normal floats, or no scales at all.
  EXPECT_FALSE(scale_codes(std::vector<float>{}).has_value());
  EXPECT_FALSE(scale_codes(std::vector<float>{1.0f, 0.0f}).has_value());
  EXPECT_FALSE(scale_codes(std::vector<float>{-1.0f}).has_value());
  EXPECT_FALSE(scale_codes(std::vector<float>{std::numeric_limits<float>::infinity()}).has_value());
  EXPECT_FALSE(scale_codes(std::vector<float>{std::numeric_limits<float>::quiet_NaN()}).has_value());
  EXPECT_FALSE(scale_codes(std::vector<float>{std::numeric_limits<float>::denorm_min()}).has_value());
  // A largest scale under 2^-95 could decode to subnormals at k = 31: refused as a whole.
  EXPECT_FALSE(scale_codes(std::vector<float>{0x1p-96f}).has_value());
  EXPECT_TRUE(scale_codes(std::vector<float>{0x1p-95f}).has_value());
}

TEST(ScaleCodes, DecodeAtTheExponentLimits) {
  // Exponent 127, code 0x07FF: 4095 * 2^116, the largest value (under FLT_MAX = (2^24 - 1) 2^104).
  EXPECT_EQ(scales_from_codes(kMaxScaleExponent, std::vector<uint16_t>{0x07FF}),
            (std::vector<float>{4095.0f * 0x1p116f}));
  // Exponent -95, code 0xF800: 2^-126, the smallest normal float.
  EXPECT_EQ(scales_from_codes(kMinScaleExponent, std::vector<uint16_t>{0xF800}),
            (std::vector<float>{std::numeric_limits<float>::min()}));
}

TEST(RoundScale, ToTwelveSignificantBits) {
  // 0.1 = 0.8 * 2^-3; 0.8 * 4096 = 3276.8 -> 3277; 3277 * 2^-15 = 0.100006103515625 (exact).
  EXPECT_EQ(round_scale(0.1f), 0.100006103515625f);
  // 0.3 = 0.6 * 2^-1; 0.6 * 4096 = 2457.6 -> 2458; 2458 * 2^-13 = 0.300048828125.
  EXPECT_EQ(round_scale(0.3f), 0.300048828125f);
  EXPECT_EQ(round_scale(1.0f), 1.0f);
  // 4095.5 / 4096 rounds up into the next binade: 1.0.
  EXPECT_EQ(round_scale(4095.5f / 4096.0f), 1.0f);
  EXPECT_EQ(round_scale(0.0f), 0.0f);
}

ir::Tensor int8_activation(std::vector<int32_t> shape, float scale) {
  ir::Tensor t;
  t.type = DataType::kInt8;
  t.shape = std::move(shape);
  t.quant.scale = {scale};
  t.quant.zero_point = {0};
  return t;
}

// input [1,4] -> FULLY_CONNECTED 2 units (weights [2,4], per-channel or per-tensor scales,
// product-quantized unless `encoded` is false, int32 bias) -> [1,2].
ir::Graph fc_graph(std::vector<float> weight_scales, std::vector<int32_t> bias, bool encoded = true) {
  ir::Graph g;
  g.tensors.push_back(int8_activation({1, 4}, 0.5f));
  ir::Tensor w;
  w.name = "w";
  w.type = DataType::kInt8;
  w.shape = {2, 4};
  w.is_constant = true;
  w.data = {1, 2, 3, 4, 5, 6, 7, 8};
  w.quant.zero_point.assign(weight_scales.size(), 0);
  w.quant.scale = weight_scales;
  if (encoded) w.pq = ir::PqEncoding{0, ir::PqLayout::kRow, 4, {0, 0}};  // rounding reads only that it is set
  g.tensors.push_back(w);
  ir::Tensor b;
  b.name = "b";
  b.type = DataType::kInt32;
  b.shape = {2};
  b.is_constant = true;
  b.data.resize(8);
  std::memcpy(b.data.data(), bias.data(), 8);
  g.tensors.push_back(b);
  g.tensors.push_back(int8_activation({1, 2}, 0.25f));
  g.ops.push_back({ir::OpType::kFullyConnected, "fc", {0, 1, 2}, {3}, {}});
  g.inputs = {0};
  g.outputs = {3};
  return g;
}

std::vector<int32_t> bias_of(const ir::Graph& g) {
  std::vector<int32_t> out(2);
  std::memcpy(out.data(), g.tensors[2].data.data(), 8);
  return out;
}

TEST(RoundWeightScales, PerChannelScalesAndTheirBiases) {
  ir::Graph g = fc_graph({0.1f, 1e-12f}, {100000, 5});
  EXPECT_EQ(round_weight_scales(g), 2u);
  // 0.1f -> 0.100006103515625, binade -4; 1e-12 is under 2^(-4 - 31) = 2^-35: raised to it.
  EXPECT_EQ(g.tensors[1].quant.scale, (std::vector<float>{0.100006103515625f, 0x1p-35f}));
  // Each bias keeps its real value: 100000 * 0.1f / 0.100006103515625 = 99993.898 -> 99994;
  // 5 * 1e-12 / 2^-35 = 0.17 -> 0.
  EXPECT_EQ(bias_of(g), (std::vector<int32_t>{99994, 0}));
  // Now stored as codes: exponent -4; 0.100006103515625 = 3277 * 2^-15, k 0, m 1229 -> 0x04CD;
  // 2^-35: k 31, m 0 -> 0xF800.
  const std::optional<ScaleCodes> codes = stored_scale_codes(g.tensors[1]);
  ASSERT_TRUE(codes.has_value());
  EXPECT_EQ(codes->exponent, -4);
  EXPECT_EQ(codes->codes, (std::vector<uint16_t>{0x04CD, 0xF800}));
  // A second rounding moves nothing.
  EXPECT_EQ(round_weight_scales(g), 0u);
}

TEST(RoundWeightScales, PerTensorScaleStaysPerTensor) {
  ir::Graph g = fc_graph({0.3f}, {1000, -1000});
  EXPECT_EQ(round_weight_scales(g), 1u);
  EXPECT_EQ(g.tensors[1].quant.scale, (std::vector<float>{0.300048828125f}));
  // 1000 * 0.3f / 0.300048828125 = 999.84 -> 1000.
  EXPECT_EQ(bias_of(g), (std::vector<int32_t>{1000, -1000}));
}

TEST(RoundWeightScales, LeavesScalesItCannotRescale) {
  ir::Graph g = fc_graph({0.1f, 0.0f}, {1, 2});
  EXPECT_EQ(round_weight_scales(g), 0u);
  EXPECT_EQ(g.tensors[1].quant.scale, (std::vector<float>{0.1f, 0.0f}));
  EXPECT_FALSE(stored_scale_codes(g.tensors[1]).has_value());
}

TEST(RoundWeightScales, LeavesLayersLeftInt8Alone) {
  // Their integer arithmetic has exact rounding ties that any change of scale would break.
  ir::Graph g = fc_graph({0.1f, 0.2f}, {100000, 5}, false);
  EXPECT_EQ(round_weight_scales(g), 0u);
  EXPECT_EQ(g.tensors[1].quant.scale, (std::vector<float>{0.1f, 0.2f}));
  EXPECT_EQ(bias_of(g), (std::vector<int32_t>{100000, 5}));
}

TEST(StoredScaleCodes, OnlyConstantInt8TensorsWithZeroZeroPoints) {
  ir::Graph g = fc_graph({0.5f, 0.25f}, {0, 0});
  EXPECT_TRUE(stored_scale_codes(g.tensors[1]).has_value());
  ir::Tensor offset = g.tensors[1];
  offset.quant.zero_point = {0, 1};
  EXPECT_FALSE(stored_scale_codes(offset).has_value());
  ir::Tensor activation = int8_activation({1, 4}, 0.5f);
  EXPECT_FALSE(stored_scale_codes(activation).has_value());
}

TEST(Int32ElementBytes, FewestBytesThatHoldEveryValue) {
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{}), 1);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{0}), 1);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{127, -128}), 1);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{1, 128}), 2);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{-129}), 2);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{32767, -32768}), 2);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{32768}), 3);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{-8388608, 8388607}), 3);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{8388608}), 4);
  EXPECT_EQ(int32_element_bytes(std::vector<int32_t>{std::numeric_limits<int32_t>::min()}), 4);
}

}  // namespace
}  // namespace frugal::pq
