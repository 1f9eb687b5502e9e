#include "data/eval_set.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>

#include "test_util.h"

namespace frugal::data {
namespace {

using testing::TempDir;

ir::Tensor make_input(ir::DataType type, std::vector<int32_t> shape, float scale = 0.0f, int64_t zero_point = 0) {
  ir::Tensor tensor;
  tensor.name = "input";
  tensor.type = type;
  tensor.shape = std::move(shape);
  if (scale > 0.0f) {
    tensor.quant.scale = {scale};
    tensor.quant.zero_point = {zero_point};
  }
  return tensor;
}

TEST(DatasetNames, RoundTrip) {
  for (const std::string& name : dataset_names()) {
    auto dataset = parse_dataset(name);
    ASSERT_TRUE(dataset.has_value()) << name;
    EXPECT_EQ(to_string(*dataset), name);
  }
  EXPECT_FALSE(parse_dataset("mnist").has_value());
}

TEST(CheckModelInput, MismatchNamesBothSides) {
  ir::Tensor kws_input = make_input(ir::DataType::kInt8, {1, 49, 10, 1}, 0.5f, 83);
  try {
    check_model_input(Dataset::kCifar10, kws_input);
    FAIL() << "expected ir::Error";
  } catch (const ir::Error& e) {
    EXPECT_STREQ(e.what(), "model input is int8[1,49,10,1] but cifar10 records are 32x32x3 images");
  }
  EXPECT_NO_THROW(check_model_input(Dataset::kKws01, kws_input));
  EXPECT_NO_THROW(check_model_input(Dataset::kCifar10, make_input(ir::DataType::kFloat32, {1, 32, 32, 3})));
  EXPECT_THROW(check_model_input(Dataset::kVww01, make_input(ir::DataType::kInt8, {1, 32, 32, 3}, 1.0f, -128)),
               ir::Error);
  EXPECT_THROW(check_model_input(Dataset::kKws01, make_input(ir::DataType::kFloat32, {1, 49, 10, 1})), ir::Error);
  EXPECT_NO_THROW(check_model_input(Dataset::kAd01, make_input(ir::DataType::kInt8, {1, 640}, 0.39f, 89)));
  EXPECT_THROW(check_model_input(Dataset::kAd01, make_input(ir::DataType::kInt8, {1, 640})), ir::Error);
}

TEST(PrepareImage, Int8SubtractsAndFloatDivides) {
  std::vector<uint8_t> pixels = {0, 1, 127, 128, 200, 255};
  ir::Tensor int8_input = make_input(ir::DataType::kInt8, {1, 1, 2, 3}, 1.0f, -128);
  std::vector<uint8_t> out(6);
  prepare_image(pixels, int8_input, out);
  std::vector<int8_t> expected = {-128, -127, -1, 0, 72, 127};
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(static_cast<int8_t>(out[i]), expected[i]) << i;

  ir::Tensor float_input = make_input(ir::DataType::kFloat32, {1, 1, 2, 3});
  std::vector<uint8_t> float_out(24);
  prepare_image(pixels, float_input, float_out);
  float value;
  std::memcpy(&value, float_out.data() + 4 * 4, 4);
  EXPECT_FLOAT_EQ(value, 200.0f / 255.0f);
  std::memcpy(&value, float_out.data() + 5 * 4, 4);
  EXPECT_EQ(value, 1.0f);
}

TEST(QuantizeInt8, RoundsHalfAwayFromZeroAndClamps) {
  EXPECT_EQ(quantize_int8(0.5f, 1.0f, 0), 1);
  EXPECT_EQ(quantize_int8(-0.5f, 1.0f, 0), -1);
  EXPECT_EQ(quantize_int8(2.5f, 1.0f, 0), 3);
  EXPECT_EQ(quantize_int8(-2.5f, 1.0f, 0), -3);
  EXPECT_EQ(quantize_int8(2.4f, 1.0f, 10), 12);
  EXPECT_EQ(quantize_int8(1.0f, 0.25f, -3), 1);
  EXPECT_EQ(quantize_int8(1000.0f, 0.5f, 0), 127);
  EXPECT_EQ(quantize_int8(-1000.0f, 0.5f, 0), -128);
  EXPECT_EQ(quantize_int8(1e30f, 1e-10f, 0), 127);
}

// An ad01 data root with one synthetic sample whose value at (frame f, bin b) is f + b / 256.
TEST(LoadEvalSet, Ad01SlidesFiveFrameWindows) {
  TempDir dir;
  const auto folder = dir.path() / "mlperf_tiny" / "anomaly_detection";
  std::vector<uint8_t> bytes;
  for (int frame = 0; frame < 200; ++frame)
    for (int bin = 0; bin < 128; ++bin) {
      uint32_t bits = std::bit_cast<uint32_t>(static_cast<float>(frame) + static_cast<float>(bin) / 256.0f);
      for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(bits >> (8 * b)));
    }
  testing::write_bytes(folder / "ad01_alt_samples_f32.bin", bytes);
  testing::write_text(folder / "ad01_y_labels_alt.csv", "x.bin,2,1,2560,512\n");
  DataRoot root{dir.path(), DataRootSource::kEnvironment, false};

  ir::Tensor float_input = make_input(ir::DataType::kFloat32, {1, 640});
  EvalSet floats = load_eval_set(Dataset::kAd01, root, float_input);
  ASSERT_EQ(floats.num_samples(), 1u);
  EXPECT_EQ(floats.windows_per_sample, 196u);
  EXPECT_EQ(floats.input_bytes, 2560u);
  float value;
  // Window 7, value 128 * 2 + 3 = frame 9, bin 3.
  std::memcpy(&value, floats.input(7).data() + (2 * 128 + 3) * 4, 4);
  EXPECT_FLOAT_EQ(value, 9.0f + 3.0f / 256.0f);

  // scale 0.5, zero point -100: frame 195 bin 127 -> round(195.496 / 0.5) - 100 = 391 - 100 -> clamp 127;
  // frame 10 bin 64 -> round(10.25 / 0.5) - 100 = round(20.5) - 100 = 21 - 100 = -79.
  ir::Tensor int8_input = make_input(ir::DataType::kInt8, {1, 640}, 0.5f, -100);
  EvalSet quantized = load_eval_set(Dataset::kAd01, root, int8_input);
  EXPECT_EQ(quantized.input_bytes, 640u);
  EXPECT_EQ(static_cast<int8_t>(quantized.input(195)[4 * 128 + 127]), 127);
  EXPECT_EQ(static_cast<int8_t>(quantized.input(10)[64]), -79);
}

TEST(LoadEvalSet, FixturesCifarForInt8Model) {
  DataRoot root{std::filesystem::path(FRUGAL_SOURCE_DIR) / "fixtures" / "data", DataRootSource::kFixtures, true};
  ir::Tensor input = make_input(ir::DataType::kInt8, {1, 32, 32, 3}, 1.0f, -128);
  EvalSet set = load_eval_set(Dataset::kCifar10, root, input, 5);
  EXPECT_EQ(set.num_samples(), 5u);
  EXPECT_EQ(set.num_inferences(), 5u);
  EXPECT_EQ(set.inputs.size(), 5u * 3072u);
  // Record 0's red value at pixel 0 is byte 1 of the file.
  std::ifstream file(std::filesystem::path(FRUGAL_SOURCE_DIR) / "fixtures/data/cifar10/test_batch.bin",
                     std::ios::binary);
  char header[2];
  file.read(header, 2);
  EXPECT_EQ(static_cast<int8_t>(set.input(0)[0]), static_cast<int8_t>(static_cast<uint8_t>(header[1]) - 128));
  EXPECT_THROW(load_eval_set(Dataset::kVww01, root, make_input(ir::DataType::kInt8, {1, 96, 96, 3}, 1.0f, -128)),
               ir::Error);
}

}  // namespace
}  // namespace frugal::data
