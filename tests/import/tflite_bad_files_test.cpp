// Damaged, foreign and unsupported files: each must end in an ir::Error with a clear one-line
// message, never in a crash or another exception type.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "import/tflite/tflite_importer.h"
#include "model_files.h"

namespace frugal::import {
namespace {

using frugal::testing::data_dir;
using frugal::testing::int8_models;
using frugal::testing::read_bytes;

// "" when the import succeeds, the message of its ir::Error otherwise. Any other exception
// escapes and fails the test.
std::string outcome(std::span<const uint8_t> bytes, const std::string& name = "bad.tflite") {
  try {
    import_tflite_buffer(bytes, name);
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("frugal_import_test_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string file_error(const std::filesystem::path& path) {
  try {
    import_tflite_file(path);
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

TEST(BadFiles, MissingFileAndDirectory) {
  TempDir dir;
  const auto missing = dir.path() / "nope.tflite";
  EXPECT_EQ(file_error(missing), missing.string() + ": cannot open model: no such file");
  EXPECT_EQ(file_error(dir.path()), dir.path().string() + ": cannot open model: is a directory");
}

TEST(BadFiles, EmptyFile) {
  TempDir dir;
  const auto empty = dir.path() / "empty.tflite";
  std::ofstream(empty).close();
  EXPECT_EQ(file_error(empty), empty.string() + ": file is empty");
}

TEST(BadFiles, TooSmall) {
  const std::vector<uint8_t> bytes = {0x10, 0, 0, 0, 'T'};
  EXPECT_EQ(outcome(bytes), "bad.tflite: too small to be a TFLite model (5 bytes)");
}

TEST(BadFiles, WrongFileIdentifier) {
  const auto path = data_dir() / int8_models()[0];
  FRUGAL_REQUIRE_FILE(path);
  std::vector<uint8_t> bytes = read_bytes(path);
  std::copy_n("ABCD", 4, bytes.begin() + 4);
  EXPECT_EQ(outcome(bytes),
            "bad.tflite: not a TFLite model: file identifier is \"ABCD\", expected \"TFL3\"");
  // A PNG file: non-printable bytes are shown escaped.
  const std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0};
  EXPECT_EQ(outcome(png), "bad.tflite: not a TFLite model: file identifier is "
                          "\"\\x0d\\x0a\\x1a\\x0a\", expected \"TFL3\"");
}

// Cutting a model short always lands inside some table, vector or string (the flatbuffer is
// written back to front, so its tail holds buffer data and its head the root table).
TEST(BadFiles, TruncatedModels) {
  for (const std::string& relative : int8_models()) {
    const auto path = data_dir() / relative;
    FRUGAL_REQUIRE_FILE(path);
    const std::vector<uint8_t> bytes = read_bytes(path);
    const size_t n = bytes.size();
    for (size_t length : {size_t{8}, size_t{12}, size_t{16}, size_t{32}, size_t{100}, n / 8,
                          n / 4, n / 2, 3 * n / 4, n - 64}) {
      const std::string message = outcome(std::span(bytes).first(length));
      EXPECT_TRUE(contains(message, "bad.tflite: corrupt flatbuffer"))
          << relative << " cut at " << length << ": " << message;
    }
  }
}

// Root offset, root vtable and the first tables: every byte flipped in turn.
TEST(BadFiles, FlippedBytesInTheRootRegion) {
  for (const std::string& relative : int8_models()) {
    const auto path = data_dir() / relative;
    FRUGAL_REQUIRE_FILE(path);
    const std::vector<uint8_t> original = read_bytes(path);
    size_t refused = 0;
    for (size_t pos = 0; pos < 96; ++pos) {
      for (uint8_t mask : {uint8_t{0xff}, uint8_t{0x80}, uint8_t{0x01}}) {
        std::vector<uint8_t> bytes = original;
        bytes[pos] ^= mask;
        const std::string message = outcome(bytes);
        if (!message.empty()) {
          ++refused;
          EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        }
        // The root offset's high bytes point far outside any file.
        if ((pos == 2 || pos == 3) && mask == 0xff) {
          EXPECT_TRUE(contains(message, "corrupt flatbuffer")) << relative << " @" << pos;
        }
      }
    }
    EXPECT_GT(refused, 96u) << relative;
  }
}

// Random damage anywhere in the file: no crash, no other exception.
TEST(BadFiles, RandomCorruption) {
  std::mt19937 rng(1234);
  for (const std::string& relative : int8_models()) {
    const auto path = data_dir() / relative;
    FRUGAL_REQUIRE_FILE(path);
    const std::vector<uint8_t> original = read_bytes(path);
    std::uniform_int_distribution<size_t> position(0, original.size() - 1);
    std::uniform_int_distribution<int> value(0, 255);
    for (int trial = 0; trial < 150; ++trial) {
      std::vector<uint8_t> bytes = original;
      for (int flips = 0; flips < 1 + trial % 8; ++flips)
        bytes[position(rng)] = static_cast<uint8_t>(value(rng));
      const std::string message = outcome(bytes);
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

// Found by fuzz_tflite_import: the verifier checks that a vector's length field is 4-byte
// aligned but not that 8-byte elements are 8-byte aligned. Moving tensor 8's zero_point vector
// ([long]) by 1020 bytes made the importer read int64 values at a misaligned address (UB,
// reported by UBSan) and then a null pointer was passed to memcpy for an empty vector.
TEST(BadFiles, FuzzRegressionMisalignedInt64Vector) {
  const auto path = data_dir() / "tflite_micro/hello_world_int8.tflite";
  FRUGAL_REQUIRE_FILE(path);
  std::vector<uint8_t> bytes = read_bytes(path);
  ASSERT_EQ(bytes.size(), 2704u);
  // The uoffset from the quantization table to its zero_point vector: 4 -> 1024.
  ASSERT_EQ(std::vector<uint8_t>(bytes.begin() + 1560, bytes.begin() + 1564),
            (std::vector<uint8_t>{4, 0, 0, 0}));
  bytes[1560] = 0;
  bytes[1561] = 4;
  EXPECT_TRUE(contains(outcome(bytes), "bad.tflite: tensor 8 'sequential/dense_1/MatMul;"))
      << outcome(bytes);
  EXPECT_TRUE(contains(outcome(bytes), "has 1 quantization scales but 12 zero points"))
      << outcome(bytes);
}

TEST(BadFiles, UnsupportedOperatorLstm) {
  const auto path = data_dir() / "tflite_micro/trained_lstm_int8.tflite";
  FRUGAL_REQUIRE_FILE(path);
  const std::string message = file_error(path);
  EXPECT_TRUE(contains(message, path.string() + ": operator 0 ")) << message;
  EXPECT_TRUE(contains(message, "is UNIDIRECTIONAL_SEQUENCE_LSTM, which frugal does not support"))
      << message;
  EXPECT_TRUE(contains(message, "(supported: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, "
                                "MUL, AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE, SOFTMAX, QUANTIZE, "
                                "DEQUANTIZE, PAD, MEAN, CONCATENATION)"))
      << message;
}

TEST(BadFiles, UnsupportedOperatorSvdf) {
  const auto path = data_dir() / "tflite_micro/keyword_scrambled_8bit.tflite";
  FRUGAL_REQUIRE_FILE(path);
  const std::string message = file_error(path);
  EXPECT_TRUE(contains(message, "operator 1 is SVDF, which frugal does not support")) << message;
}

TEST(BadFiles, CustomOperatorInRealModel) {
  const auto path = data_dir() / "tflite_micro/audio_preprocessor_int8.tflite";
  FRUGAL_REQUIRE_FILE(path);
  const std::string message = file_error(path);
  EXPECT_TRUE(contains(message, "is the custom operator 'SignalWindow'")) << message;
}

TEST(BadFiles, FloatModelsAreRefusedAtTheFirstOp) {
  const auto path = data_dir() / "mlperf_tiny/image_classification/pretrainedResnet_float.tflite";
  FRUGAL_REQUIRE_FILE(path);
  const std::string message = file_error(path);
  EXPECT_TRUE(contains(message, "op 0 ")) << message;
  EXPECT_TRUE(contains(message, "(CONV_2D): input 'input_1' must be int8, got float32")) << message;
}

}  // namespace
}  // namespace frugal::import
