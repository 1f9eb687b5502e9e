#include "data/metrics.h"

#include <gtest/gtest.h>

#include <cstring>

namespace frugal::data {
namespace {

std::vector<uint8_t> bytes_of(const std::vector<int8_t>& values) {
  std::vector<uint8_t> bytes(values.size());
  std::memcpy(bytes.data(), values.data(), values.size());
  return bytes;
}

std::vector<uint8_t> bytes_of(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

TEST(Argmax, TiesGoToLowestIndex) {
  EXPECT_EQ(argmax(ir::DataType::kInt8, bytes_of(std::vector<int8_t>{-128, 5, 7, 7, -3})), 2u);
  EXPECT_EQ(argmax(ir::DataType::kInt8, bytes_of(std::vector<int8_t>{-128, -128, -128})), 0u);
  EXPECT_EQ(argmax(ir::DataType::kInt8, bytes_of(std::vector<int8_t>{-1, -2, 127})), 2u);
  EXPECT_EQ(argmax(ir::DataType::kFloat32, bytes_of(std::vector<float>{0.1f, 0.4f, 0.4f, -1.0f})), 1u);
  std::vector<uint8_t> u8 = {200, 3, 200};
  EXPECT_EQ(argmax(ir::DataType::kUInt8, u8), 0u);
}

TEST(Dequantize, UsesScaleAndZeroPoint) {
  ir::Tensor tensor;
  tensor.type = ir::DataType::kInt8;
  tensor.quant.scale = {0.5f};
  tensor.quant.zero_point = {-2};
  std::vector<float> values = dequantize(tensor, bytes_of(std::vector<int8_t>{-2, 0, 4, -128}));
  EXPECT_EQ(values, (std::vector<float>{0.0f, 1.0f, 3.0f, -63.0f}));
}

TEST(ReconstructionMse, HandComputed) {
  ir::Tensor input;
  input.type = ir::DataType::kInt8;
  input.quant.scale = {0.5f};
  input.quant.zero_point = {1};
  ir::Tensor output;
  output.type = ir::DataType::kInt8;
  output.quant.scale = {1.0f};
  output.quant.zero_point = {0};
  // input reals {0, 1, 2}, output reals {1, 1, -1}: squared errors 1, 0, 9 -> mean 10/3.
  double mse = reconstruction_mse(input, bytes_of(std::vector<int8_t>{1, 3, 5}), output,
                                  bytes_of(std::vector<int8_t>{1, 1, -1}));
  EXPECT_DOUBLE_EQ(mse, 10.0 / 3.0);

  ir::Tensor float_tensor;
  float_tensor.type = ir::DataType::kFloat32;
  EXPECT_DOUBLE_EQ(reconstruction_mse(float_tensor, bytes_of(std::vector<float>{1.0f, 2.0f}), float_tensor,
                                      bytes_of(std::vector<float>{1.5f, 2.0f})),
                   0.125);
  EXPECT_THROW(reconstruction_mse(float_tensor, bytes_of(std::vector<float>{1.0f}), float_tensor,
                                  bytes_of(std::vector<float>{1.0f, 2.0f})),
               ir::Error);
}

TEST(Top1Accuracy, Fraction) {
  std::vector<int32_t> predictions = {1, 2, 3, 4};
  std::vector<int32_t> labels = {1, 0, 3, 0};
  EXPECT_DOUBLE_EQ(top1_accuracy(predictions, labels), 0.5);
}

TEST(RocAuc, PerfectReversedAndAllTied) {
  std::vector<int32_t> labels = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc(std::vector<double>{0.1, 0.2, 0.3, 0.4}, labels), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(std::vector<double>{0.4, 0.3, 0.2, 0.1}, labels), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc(std::vector<double>{1.0, 1.0, 1.0, 1.0}, labels), 0.5);
}

TEST(RocAuc, HandComputedWithTies) {
  // Positives {0.8, 0.4}, negatives {0.4, 0.1, 0.9}.
  // 0.8 beats 0.4 and 0.1, loses to 0.9: 2. 0.4 ties 0.4 (1/2), beats 0.1, loses to 0.9: 1.5.
  // AUC = 3.5 / (2 * 3).
  std::vector<double> scores = {0.8, 0.4, 0.4, 0.1, 0.9};
  std::vector<int32_t> labels = {1, 1, 0, 0, 0};
  EXPECT_DOUBLE_EQ(roc_auc(scores, labels), 3.5 / 6.0);
}

TEST(RocAuc, NeedsBothClasses) {
  EXPECT_THROW(roc_auc(std::vector<double>{0.1, 0.2}, std::vector<int32_t>{1, 1}), ir::Error);
  EXPECT_THROW(roc_auc(std::vector<double>{0.1}, std::vector<int32_t>{1, 0}), ir::Error);
}

}  // namespace
}  // namespace frugal::data
