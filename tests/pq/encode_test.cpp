// Codebook learning and layer encoding on cases small enough to work out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "approx/test_graphs.h"
#include "pq/codebook.h"
#include "pq/encode.h"

namespace frugal::pq {
namespace {

using approx::testing::bytes_of;
using approx::testing::conv_graph;
using approx::testing::fc_graph;
using approx::testing::run_all;

std::set<std::vector<int8_t>> words_of(const Codebook& cb) {
  std::set<std::vector<int8_t>> out;
  for (size_t k = 0; k < static_cast<size_t>(cb.codewords); ++k) {
    const auto w = cb.word(k);
    out.emplace(w.begin(), w.end());
  }
  return out;
}

TEST(Codebook, KMeansFindsTwoSeparatedClusters) {
  // Means (0, 1) and (10, 11).
  const std::vector<float> v{0, 0, 0, 2, 10, 10, 10, 12};
  const Codebook cb = learn_codebook(CodebookKind::kRow, 2, 2, v);
  EXPECT_EQ(cb.codewords, 2);
  EXPECT_EQ(cb.subvector, 2);
  EXPECT_EQ(words_of(cb), (std::set<std::vector<int8_t>>{{0, 1}, {10, 11}}));
}

TEST(Codebook, EnoughCodewordsRepresentEveryVectorExactly) {
  const std::vector<float> v{1, 2, 3, 4, 1, 2, -5, 7};
  const Codebook cb = learn_codebook(CodebookKind::kRow, 2, 3, v);
  EXPECT_EQ(words_of(cb), (std::set<std::vector<int8_t>>{{1, 2}, {3, 4}, {-5, 7}}));
}

TEST(Codebook, CentroidsAreRoundedAndClampedToInt8) {
  const std::vector<float> v{200, -300, 200, -300};
  const Codebook cb = learn_codebook(CodebookKind::kRow, 2, 1, v);
  EXPECT_EQ(cb.word(0)[0], 127);
  EXPECT_EQ(cb.word(0)[1], -128);
}

TEST(Codebook, NearestCodewordTiesGoToTheLowestIndex) {
  Codebook cb;
  cb.subvector = 2;
  cb.codewords = 2;
  cb.words = {0, 0, 2, 0};
  const std::vector<float> v{1, 0};
  EXPECT_EQ(nearest_codeword(cb, v), 0);
  const std::vector<float> w{1.5f, 0};
  EXPECT_EQ(nearest_codeword(cb, w), 1);
}

TEST(Codebook, IndexWidth) {
  Codebook cb;
  cb.codewords = 16;
  EXPECT_EQ(cb.index_bits(), 4);
  cb.codewords = 17;
  EXPECT_EQ(cb.index_bits(), 8);
}

TEST(Codebook, BadArgumentsAreErrors) {
  const std::vector<float> v{1, 2, 3};
  EXPECT_THROW(learn_codebook(CodebookKind::kRow, 2, 2, v), ir::Error);  // 3 values, d = 2
  EXPECT_THROW(learn_codebook(CodebookKind::kRow, 1, 0, v), ir::Error);
  EXPECT_THROW(learn_codebook(CodebookKind::kRow, 1, 257, v), ir::Error);
  EXPECT_THROW(learn_codebook(CodebookKind::kRow, 0, 2, v), ir::Error);
}

TEST(Encode, WeightLayerPolicy) {
  const std::vector<WeightLayer> conv = weight_layers(conv_graph(), 8);
  ASSERT_EQ(conv.size(), 1u);
  EXPECT_TRUE(conv[0].encodable);
  EXPECT_EQ(conv[0].kind, CodebookKind::kKernel3x3);
  EXPECT_EQ(conv[0].layout, ir::PqLayout::kKernel);
  EXPECT_EQ(conv[0].subvector, 9);
  EXPECT_TRUE(conv[0].first);
  EXPECT_TRUE(conv[0].last);

  // --kernel-subvector other than 9: the filter [2,3,3,1] as rows of 9 cut into d = 3 (row
  // layout, still the 3x3 codebook); d = 4 does not divide 9.
  const WeightLayer rows = weight_layers(conv_graph(), 8, 3)[0];
  EXPECT_TRUE(rows.encodable);
  EXPECT_EQ(rows.kind, CodebookKind::kKernel3x3);
  EXPECT_EQ(rows.layout, ir::PqLayout::kRow);
  EXPECT_EQ(rows.subvector, 3);
  const WeightLayer uneven = weight_layers(conv_graph(), 8, 4)[0];
  EXPECT_FALSE(uneven.encodable);
  EXPECT_NE(uneven.reason.find("multiple of the kernel sub-vector length 4"), std::string::npos) << uneven.reason;

  const std::vector<WeightLayer> fc = weight_layers(fc_graph(), 2);  // rows of 3
  ASSERT_EQ(fc.size(), 1u);
  EXPECT_FALSE(fc[0].encodable);
  EXPECT_NE(fc[0].reason.find("multiple"), std::string::npos) << fc[0].reason;
  EXPECT_TRUE(weight_layers(fc_graph(), 3)[0].encodable);
}

TEST(Encode, KernelLayoutGathersTheTapsOfOneInputChannel) {
  // OHWI [2,3,3,2] holding its own element offsets: sub-vector (o, i) = taps t at o*18 + t*2 + i.
  ir::Tensor w;
  w.shape = {2, 3, 3, 2};
  w.data.resize(36);
  for (size_t i = 0; i < 36; ++i) w.data[i] = static_cast<uint8_t>(i);
  const std::vector<float> s = subvectors(w, ir::PqLayout::kKernel, 9);
  ASSERT_EQ(s.size(), 36u);
  const std::vector<float> second(s.begin() + 9, s.begin() + 18);  // (o = 0, i = 1)
  EXPECT_EQ(second, (std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17}));
  const std::vector<float> third(s.begin() + 18, s.begin() + 27);  // (o = 1, i = 0)
  EXPECT_EQ(third, (std::vector<float>{18, 20, 22, 24, 26, 28, 30, 32, 34}));
  const std::vector<float> rows = subvectors(w, ir::PqLayout::kRow, 6);
  EXPECT_EQ(std::vector<float>(rows.begin() + 6, rows.begin() + 12), (std::vector<float>{6, 7, 8, 9, 10, 11}));
}

Codebook fc_codebook() {
  Codebook cb;
  cb.kind = CodebookKind::kRow;
  cb.subvector = 3;
  cb.codewords = 2;
  cb.words = {3, 2, -1, 0, 6, 2};
  return cb;
}

TEST(Encode, WithoutRefitTheWeightsBecomeTheNearestCodewords) {
  // Row 0 [3, 2, -1] is codeword 0; row 1 [0, 3, 1] is 14 from codeword 0 and 10 from [0, 6, 2].
  ir::Graph g = fc_graph();
  const std::vector<WeightLayer> layers = weight_layers(g, 3);
  EncodeOptions no_refit;
  no_refit.refit_scales = false;
  encode_layer(g, layers[0], 0, fc_codebook(), no_refit);
  const ir::Tensor& w = g.tensor(layers[0].weights);
  ASSERT_TRUE(w.pq.has_value());
  EXPECT_EQ(w.pq->indices, (std::vector<uint16_t>{0, 1}));
  EXPECT_EQ(w.pq->layout, ir::PqLayout::kRow);
  const std::vector<int8_t> expected{3, 2, -1, 0, 6, 2};
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), w.data_as<int8_t>()));
  EXPECT_FLOAT_EQ(w.quant.scale[1], 0.5f);
}

TEST(Encode, RefitHalvesTheScaleOfAChannelWhoseCodewordIsTwiceItsWeights) {
  // Row 1 [0, 3, 1] vs codeword [0, 6, 2]: alpha = <w,c>/<c,c> = 20/40 = 0.5, so the channel's
  // scale 0.5 becomes 0.25 and its bias -4 (scale 0.25) becomes -8 (scale 0.125): the layer
  // computes exactly what it did.
  const ir::Graph original = fc_graph();
  ir::Graph g = original;
  const std::vector<WeightLayer> layers = weight_layers(g, 3);
  encode_layer(g, layers[0], 0, fc_codebook());
  const ir::Tensor& w = g.tensor(layers[0].weights);
  EXPECT_EQ(w.pq->indices, (std::vector<uint16_t>{0, 1}));
  EXPECT_FLOAT_EQ(w.quant.scale[0], 0.25f);
  EXPECT_FLOAT_EQ(w.quant.scale[1], 0.25f);
  const ir::Tensor& b = g.tensor(g.ops[0].inputs[2]);
  EXPECT_EQ(b.data_as<int32_t>()[0], 2);
  EXPECT_EQ(b.data_as<int32_t>()[1], -8);
  EXPECT_FLOAT_EQ(b.quant.scale[1], 0.125f);
  ir::validate(g);

  std::vector<int8_t> inputs;
  for (int a = -128; a < 128; a += 7)
    for (int c = -128; c < 128; c += 29) inputs.insert(inputs.end(), {static_cast<int8_t>(a), 5, static_cast<int8_t>(c)});
  EXPECT_EQ(run_all(g, inputs), run_all(original, inputs));
}

TEST(Encode, ScaleOutputChannelsKeepsEachBiasAtItsRealValue) {
  // fc_graph: weight scales {0.25, 0.5}, biases {2, -4} in units of input x weight scale (bias
  // scales {0.125, 0.25}). Gains {2, 0.5}: scales {0.5, 0.25}, biases 2 / 2 = 1 and -4 / 0.5 = -8,
  // bias scales {0.25, 0.125}.
  ir::Graph g = fc_graph();
  scale_output_channels(g, 0, std::vector<double>{2.0, 0.5});
  const ir::Tensor& w = g.tensor(g.ops[0].inputs[1]);
  EXPECT_FLOAT_EQ(w.quant.scale[0], 0.5f);
  EXPECT_FLOAT_EQ(w.quant.scale[1], 0.25f);
  const ir::Tensor& b = g.tensor(g.ops[0].inputs[2]);
  EXPECT_EQ(b.data_as<int32_t>()[0], 1);
  EXPECT_EQ(b.data_as<int32_t>()[1], -8);
  EXPECT_FLOAT_EQ(b.quant.scale[0], 0.25f);
  EXPECT_FLOAT_EQ(b.quant.scale[1], 0.125f);
  ir::validate(g);
  // One gain scales the whole tensor.
  scale_output_channels(g, 0, std::vector<double>{4.0});
  EXPECT_FLOAT_EQ(g.tensor(g.ops[0].inputs[1]).quant.scale[1], 1.0f);
  EXPECT_EQ(g.tensor(g.ops[0].inputs[2]).data_as<int32_t>()[1], -2);
  EXPECT_THROW(scale_output_channels(g, 0, std::vector<double>{1.0, 1.0, 1.0}), ir::Error);
}

TEST(Encode, MismatchedCodebookIsRefused) {
  ir::Graph g = conv_graph();
  const std::vector<WeightLayer> layers = weight_layers(g, 8);
  EXPECT_THROW(encode_layer(g, layers[0], 0, fc_codebook()), ir::Error);  // 3-value codewords for 3x3 kernels
}

}  // namespace
}  // namespace frugal::pq
