// Location of the shared model files used by the import tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace frugal::testing {

inline std::filesystem::path data_dir() {
  if (const char* env = std::getenv("FRUGAL_DATA"); env != nullptr && *env != '\0') return env;
  return std::filesystem::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "data";
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The int8 models every import test runs over, relative to data_dir().
inline const std::vector<std::string>& int8_models() {
  static const std::vector<std::string> models = {
      "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite",
      "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite",
      "mlperf_tiny/visual_wake_words/vww_96_int8.tflite",
      "mlperf_tiny/anomaly_detection/ad01_int8.tflite",
      "seed_ataman/LeNet_Cifar10_INT8.tflite",
      "tflite_micro/hello_world_int8.tflite",
  };
  return models;
}

}  // namespace frugal::testing

// Skips the test when the shared data set is not there (e.g. a checkout without ../shared).
#define FRUGAL_REQUIRE_FILE(path)                                             \
  do {                                                                        \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << (path); \
  } while (0)
