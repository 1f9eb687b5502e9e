// SOFTMAX against TFLite Micro's reference outputs on real models (shared/golden), plus small
// properties that follow from the algorithm.

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/quantization.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels {
namespace {

std::filesystem::path golden_dir() {
  if (const char* data = std::getenv("FRUGAL_DATA")) {
    return std::filesystem::path(data) / ".." / "golden";
  }
  return std::filesystem::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "golden";
}

// Rows of "index,label,v0,...": returns the int8 values after the first two columns.
std::vector<std::vector<int8_t>> read_rows(const std::filesystem::path& path) {
  std::vector<std::vector<int8_t>> rows;
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string cell;
    std::vector<int8_t> row;
    for (int column = 0; std::getline(ss, cell, ','); ++column) {
      if (column >= 2) row.push_back(static_cast<int8_t>(std::stoi(cell)));
    }
    rows.push_back(row);
  }
  return rows;
}

void check_golden(const char* model, float input_scale, size_t depth) {
  const auto dir = golden_dir();
  const auto inputs_path = dir / (std::string(model) + "_first100_int8_presoftmax.csv");
  const auto outputs_path = dir / (std::string(model) + "_first100_int8_logits.csv");
  if (!std::filesystem::exists(inputs_path) || !std::filesystem::exists(outputs_path)) {
    GTEST_SKIP() << "golden files not found in " << dir;
  }
  const auto inputs = read_rows(inputs_path);
  const auto expected = read_rows(outputs_path);
  ASSERT_EQ(inputs.size(), 100u);
  ASSERT_EQ(expected.size(), 100u);

  const SoftmaxParams params = make_softmax_params(input_scale, 1.0f);
  size_t mismatches = 0;
  for (size_t r = 0; r < inputs.size(); ++r) {
    ASSERT_EQ(inputs[r].size(), depth);
    ASSERT_EQ(expected[r].size(), depth);
    std::vector<int8_t> out(depth);
    reference::softmax(params, 1, static_cast<int32_t>(depth), inputs[r].data(), out.data());
    for (size_t i = 0; i < depth; ++i) {
      if (out[i] != expected[r][i]) {
        ++mismatches;
        ADD_FAILURE() << model << " row " << r << " element " << i << ": got " << int{out[i]}
                      << ", TFLite " << int{expected[r][i]};
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// The softmax input scale is the scale of the last FULLY_CONNECTED output tensor, read once
// from the .tflite files with `flatc --json` against TFLite's schema (not part of the repo):
//   ResNet-8 (pretrainedResnet_quant.tflite), tensor 36
//     "model/dense/MatMul;model/dense/BiasAdd": scale 0.171854 = float bits 0x3E2FFA7F, zp 24
//   DS-CNN (kws_ref_model_int8.tflite), tensor 33
//     "functional_1/dense/BiasAdd": scale 0.144693 = float bits 0x3E142A67, zp 14
// Both SOFTMAX ops have beta 1.0. (The zero point cancels in softmax.)
TEST(ReferenceSoftmax, MatchesTfliteOnResnet8) {
  check_golden("resnet8", std::bit_cast<float>(0x3E2FFA7Fu), 10);
}

TEST(ReferenceSoftmax, MatchesTfliteOnKws) {
  check_golden("kws", std::bit_cast<float>(0x3E142A67u), 12);
}

TEST(ReferenceSoftmax, EqualInputsShareProbability) {
  // All-equal inputs: every exp is exp(0) = 1 (INT32_MAX in Q0.31), so each output is about
  // 1/depth in units of 1/256, minus 128. depth 4: 256/4 = 64 -> -64; depth 2: 128 -> 0.
  const SoftmaxParams params = make_softmax_params(0.1f, 1.0f);
  const int8_t in4[4] = {5, 5, 5, 5};
  int8_t out4[4];
  reference::softmax(params, 1, 4, in4, out4);
  for (int8_t v : out4) EXPECT_EQ(v, -64);
  const int8_t in2[2] = {-100, -100};
  int8_t out2[2];
  reference::softmax(params, 1, 2, in2, out2);
  EXPECT_EQ(out2[0], 0);
  EXPECT_EQ(out2[1], 0);
}

TEST(ReferenceSoftmax, SingleElementSaturatesAndFarValuesVanish) {
  // One element: probability 1 = 256/256 -> 256 - 128 = 128, saturated to 127.
  const SoftmaxParams params = make_softmax_params(0.5f, 1.0f);
  const int8_t one[1] = {-7};
  int8_t out_one[1];
  reference::softmax(params, 1, 1, one, out_one);
  EXPECT_EQ(out_one[0], 127);
  // Difference of 255 steps at scale 0.5: exp(-127.5) is far below 1/256 -> -128; the maximum
  // gets everything -> 127. Rows are independent.
  const int8_t two_rows[4] = {127, -128, -128, 127};
  int8_t out[4];
  reference::softmax(params, 2, 2, two_rows, out);
  EXPECT_EQ(out[0], 127);
  EXPECT_EQ(out[1], -128);
  EXPECT_EQ(out[2], -128);
  EXPECT_EQ(out[3], 127);
}

}  // namespace
}  // namespace frugal::kernels
