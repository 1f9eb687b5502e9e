// Significance statistics of the tiny graphs in test_graphs.h, worked out by hand.
#include "approx/significance.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_graphs.h"

namespace frugal::approx {
namespace {

using testing::bytes_of;

// FC inputs: q = [0, 1, 2] and [0, 3, 0], i.e. x + offset = [1, 2, 3] and [1, 4, 1].
const std::vector<int8_t> kFcInputs = {0, 1, 2, 0, 3, 0};

SignificanceReport fc_report(size_t threads = 1) {
  runtime::CompiledModel model(testing::fc_graph(), runtime::KernelSet::kReference);
  return analyze_significance(model, bytes_of(kFcInputs), {threads});
}

TEST(Significance, FullyConnectedByHand) {
  const SignificanceReport r = fc_report();
  ASSERT_EQ(r.images, 2u);
  ASSERT_EQ(r.layers.size(), 1u);
  const LayerSignificance& l = r.layers[0];
  EXPECT_EQ(l.name, "fc");
  EXPECT_EQ(l.op_index, 0);
  EXPECT_FALSE(l.approximable);  // the first conv-like layer
  EXPECT_EQ(l.channels, 2);
  EXPECT_EQ(l.operands_per_channel, 3);
  // Channel 0, W = [3, 2, -1], bias 2.
  //   input 1: contributions [3, 4, -3], acc 6  -> |c/acc| [1/2, 2/3, 1/2]
  //   input 2: contributions [3, 8, -1], acc 12 -> |c/acc| [1/4, 2/3, 1/12]
  // Channel 1, W = [0, 3, 1], bias -4.
  //   input 1: contributions [0, 6, 3], acc 5   -> [0, 6/5, 3/5]
  //   input 2: contributions [0, 12, 1], acc 9  -> [0, 4/3, 1/9]
  const std::vector<double> ratio = {3.0 / 8, 2.0 / 3, 7.0 / 24, 0, 19.0 / 15, 16.0 / 45};
  // Means of the contributions.
  const std::vector<double> mean = {3, 6, -2, 0, 9, 2};
  // Mean squared contributions times M^2 (M = 1, then 2): [9, 40, 5], 4 x [0, 90, 5].
  const std::vector<double> error = {9, 40, 5, 0, 360, 20};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(l.contribution_ratio[i], ratio[i], 1e-6) << i;
    EXPECT_NEAR(l.mean_contribution[i], mean[i], 1e-6) << i;
    EXPECT_NEAR(l.error_measure[i], error[i], 1e-5) << i;
  }
  EXPECT_NEAR(l.output_multiplier[0], 1.0, 1e-12);
  EXPECT_NEAR(l.output_multiplier[1], 2.0, 1e-12);
}

TEST(Significance, ThreadCountDoesNotChangeTheResult) {
  const SignificanceReport one = fc_report(1), two = fc_report(2);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(one.layers[0].contribution_ratio[i], two.layers[0].contribution_ratio[i], 1e-6);
    EXPECT_FLOAT_EQ(one.layers[0].mean_contribution[i], two.layers[0].mean_contribution[i]);
    EXPECT_FLOAT_EQ(one.layers[0].error_measure[i], two.layers[0].error_measure[i]);
  }
}

// Conv inputs: all q = 0 (x + offset = 1) and all q = -1 (x + offset = 0).
const std::vector<int8_t> kConvInputs = {0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1};

// Expected statistics of the conv graph (operand = tap ky * 3 + kx). With SAME padding a pixel
// sees 4 (corner), 6 (edge) or 9 (centre) valid taps.
// Channel 0 (all ones, bias 0): on input 1 the accumulator is the number of valid taps and each
// valid tap contributes 1; on input 2 every accumulator is 0, so only input 1's 9 pixels count
// for the ratio, while means run over all 18 pixels.
//   centre tap, valid everywhere: ratio (4/4 + 4/6 + 1/9) / 9 = 16/81; mean = mean^2 = 9/18.
//   tap (0,0), valid at pixels (1,1) (1,2) (2,1) (2,2): (1/9 + 1/6 + 1/6 + 1/4) / 9 = 25/324;
//     mean 4/18.
//   tap (0,1), valid in rows 1 and 2: (1/6 + 1/9 + 1/6 + 1/4 + 1/6 + 1/4) / 9 = 10/81; mean 6/18.
// Channel 1 (2 at tap (0,0), -3 at tap (2,2), bias 1), input 1 accumulators by pixel:
//   (0,0) -2, (0,1) -2, (0,2) 1, (1,0) -2, (1,1) 2-3+1 = 0 (left out), (1,2) 3, (2,0) 1, (2,1) 3,
//   (2,2) 3; input 2: bias 1 everywhere. Outputs with a nonzero accumulator: 8 + 9 = 17.
//   tap (0,0): contributes 2 at (1,1) (skipped), (1,2) (2,1) (2,2): ratio 3 x 2/3 / 17 = 2/17;
//     mean 4 x 2 / 18 = 4/9; error M^2 E[c^2] = 4 x 16/18 = 32/9.
//   tap (2,2): contributes -3 at (0,0) (0,1) (1,0) and (1,1) (skipped): 3 x 3/2 / 17 = 9/34;
//     mean -12/18 = -2/3; error 4 x 36/18 = 8.
void expect_conv_statistics(const LayerSignificance& l) {
  ASSERT_EQ(l.channels, 2);
  ASSERT_EQ(l.operands_per_channel, 9);
  EXPECT_NEAR(l.contribution_ratio[4], 16.0 / 81, 1e-6);
  EXPECT_NEAR(l.contribution_ratio[0], 25.0 / 324, 1e-6);
  EXPECT_NEAR(l.contribution_ratio[1], 10.0 / 81, 1e-6);
  EXPECT_NEAR(l.mean_contribution[4], 0.5, 1e-6);
  EXPECT_NEAR(l.mean_contribution[0], 4.0 / 18, 1e-6);
  EXPECT_NEAR(l.mean_contribution[1], 6.0 / 18, 1e-6);
  EXPECT_NEAR(l.error_measure[4], 0.5, 1e-6);
  EXPECT_NEAR(l.error_measure[0], 4.0 / 18, 1e-6);
  EXPECT_NEAR(l.contribution_ratio[9 + 0], 2.0 / 17, 1e-6);
  EXPECT_NEAR(l.contribution_ratio[9 + 8], 9.0 / 34, 1e-6);
  EXPECT_NEAR(l.mean_contribution[9 + 0], 4.0 / 9, 1e-6);
  EXPECT_NEAR(l.mean_contribution[9 + 8], -2.0 / 3, 1e-6);
  EXPECT_NEAR(l.error_measure[9 + 0], 32.0 / 9, 1e-5);
  EXPECT_NEAR(l.error_measure[9 + 8], 8.0, 1e-5);
  for (int k = 1; k < 8; ++k) {  // zero weights contribute nothing
    EXPECT_EQ(l.contribution_ratio[static_cast<size_t>(9 + k)], 0.0f);
    EXPECT_EQ(l.error_measure[static_cast<size_t>(9 + k)], 0.0f);
  }
}

TEST(Significance, ConvWithPaddingByHand) {
  runtime::CompiledModel model(testing::conv_graph(), runtime::KernelSet::kFast);
  const SignificanceReport r = analyze_significance(model, bytes_of(kConvInputs), {2});
  ASSERT_EQ(r.layers.size(), 1u);
  expect_conv_statistics(r.layers[0]);
}

// The same two filters as a depthwise conv over two identical input channels: each channel must
// get exactly the conv's statistics (and the [1, KH, KW, C] layout must be read per channel).
TEST(Significance, DepthwiseMatchesTheConvByHand) {
  ir::Graph g;
  g.name = "dw";
  const int32_t in = testing::add(g, testing::activation("in", {1, 3, 3, 2}, 0.5f, -1));
  std::vector<int8_t> w(18, 0);
  for (int k = 0; k < 9; ++k) w[static_cast<size_t>(2 * k)] = 1;
  w[2 * 0 + 1] = 2;
  w[2 * 8 + 1] = -3;
  const int32_t wt = testing::add(g, testing::weights("dw_w", {1, 3, 3, 2}, w, 3));
  const int32_t b = testing::add(g, testing::bias("dw_b", {0, 1}));
  const int32_t out = testing::add(g, testing::activation("out", {1, 3, 3, 2}, 0.125f, 0));
  ir::Op op{ir::OpType::kDepthwiseConv2D, "dw", {in, wt, b}, {out}, {}};
  op.attrs.padding = ir::Padding::kSame;
  g.ops.push_back(op);
  g.inputs = {in};
  g.outputs = {out};
  std::vector<int8_t> inputs;
  for (int8_t q : kConvInputs) inputs.insert(inputs.end(), {q, q});
  runtime::CompiledModel model(g, runtime::KernelSet::kReference);
  const SignificanceReport r = analyze_significance(model, bytes_of(inputs), {1});
  ASSERT_EQ(r.layers.size(), 1u);
  expect_conv_statistics(r.layers[0]);
}

TEST(Significance, RejectsPartialInputs) {
  runtime::CompiledModel model(testing::fc_graph(), runtime::KernelSet::kReference);
  const std::vector<int8_t> partial = {0, 1, 2, 0};
  EXPECT_THROW(analyze_significance(model, bytes_of(partial)), ir::Error);
  EXPECT_THROW(analyze_significance(model, {}), ir::Error);
}

// --- JSON ------------------------------------------------------------------------------------

TEST(SignificanceJson, RoundTripIsExact) {
  const SignificanceReport r = fc_report();
  const std::filesystem::path file = std::filesystem::temp_directory_path() / "frugal_approx_report_test.json";
  save_report(r, file);
  const SignificanceReport back = load_report(file);
  std::filesystem::remove(file);
  EXPECT_EQ(back.images, r.images);
  ASSERT_EQ(back.layers.size(), 1u);
  const LayerSignificance &a = r.layers[0], &b = back.layers[0];
  EXPECT_EQ(b.name, a.name);
  EXPECT_EQ(b.op_index, a.op_index);
  EXPECT_EQ(b.approximable, a.approximable);
  EXPECT_EQ(b.contribution_ratio, a.contribution_ratio);
  EXPECT_EQ(b.error_measure, a.error_measure);
  EXPECT_EQ(b.mean_contribution, a.mean_contribution);
  EXPECT_EQ(b.output_multiplier, a.output_multiplier);
  EXPECT_NO_THROW(check_report_matches(back, testing::fc_graph()));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SignificanceJson, MismatchesAreNamed) {
  const SignificanceReport r = fc_report();
  EXPECT_NE(error_of([&] { check_report_matches(r, testing::conv_graph()); }).find("op 0 'conv'"), std::string::npos);
  SignificanceReport wrong_count = r;
  wrong_count.layers[0].operands_per_channel = 4;
  EXPECT_NE(error_of([&] { check_report_matches(wrong_count, testing::fc_graph()); }).find("2 channels x 4 operands"),
            std::string::npos);
  SignificanceReport extra = r;
  extra.layers.push_back(r.layers[0]);
  EXPECT_NE(error_of([&] { check_report_matches(extra, testing::fc_graph()); }).find("has 2 layers"),
            std::string::npos);
  SignificanceReport short_vector = r;
  short_vector.layers[0].error_measure.pop_back();
  EXPECT_NE(error_of([&] { check_report_matches(short_vector, testing::fc_graph()); }).find("error_measure has 5"),
            std::string::npos);
}

TEST(SignificanceJson, MalformedInputIsRejected) {
  EXPECT_NE(error_of([] { report_from_json("{not json"); }).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of([] { report_from_json("{\"format\": \"other\"}"); }).find("not a significance report"),
            std::string::npos);
  std::string text = report_to_json(fc_report());
  const std::string field = "\"error_measure\":[";
  text.replace(text.find(field), field.size(), "\"error_measure\":[1,");
  EXPECT_NE(error_of([&] { report_from_json(text); }).find("layer 'fc': vector sizes"), std::string::npos);
  EXPECT_NE(error_of([] { load_report("/nonexistent/report.json"); }).find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace frugal::approx
