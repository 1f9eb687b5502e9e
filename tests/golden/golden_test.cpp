// Bit-exactness against ../shared/golden: outputs of TFLite Micro's reference kernels on real
// data, produced outside this project. Goes through the CLI (`frugal run`), the path a user
// takes to compare frugal with any other engine, for both kernel sets.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

fs::path shared_root() {
  if (const char* env = std::getenv("FRUGAL_DATA")) return fs::path(env).parent_path();
  return fs::path(FRUGAL_SOURCE_DIR) / ".." / "shared";
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct GoldenRow {
  int index, label;
  std::vector<double> values;
};

std::vector<GoldenRow> read_csv(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<GoldenRow> rows;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string field;
    GoldenRow row{};
    std::getline(fields, field, ',');
    row.index = std::stoi(field);
    std::getline(fields, field, ',');
    row.label = std::stoi(field);
    while (std::getline(fields, field, ',')) row.values.push_back(std::stod(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

// The first `count` CIFAR-10 test records as HWC bytes (CHW planes in the file).
std::vector<std::vector<uint8_t>> cifar_images(size_t count) {
  const std::vector<uint8_t> file = read_bytes(shared_root() / "data/cifar10/test_batch.bin");
  std::vector<std::vector<uint8_t>> images;
  for (size_t r = 0; r < count; ++r) {
    const uint8_t* record = file.data() + r * 3073 + 1;
    std::vector<uint8_t> hwc(3072);
    for (size_t p = 0; p < 1024; ++p)
      for (size_t c = 0; c < 3; ++c) hwc[p * 3 + c] = record[c * 1024 + p];
    images.push_back(std::move(hwc));
  }
  return images;
}

// Runs `frugal run` and returns the raw output bytes.
std::vector<uint8_t> frugal_run(const fs::path& model, const std::vector<uint8_t>& input, const std::string& extra) {
  const fs::path dir = fs::temp_directory_path() / ("frugal_golden_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path in = dir / "in.bin", out = dir / "out.bin";
  write_bytes(in, input);
  fs::remove(out);
  const std::string command = std::string(FRUGAL_BINARY_DIR) + "/frugal run \"" + model.string() + "\" --input \"" +
                              in.string() + "\" --output \"" + out.string() + "\" " + extra;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::vector<uint8_t> bytes = read_bytes(out);
  fs::remove_all(dir);
  return bytes;
}

struct Case {
  const char* golden;
  const char* model;
  const char* data;  // "cifar_int8", "cifar_float", "kws"
  const char* extra_args;
  const char* kernels;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string name = std::string(info.param.golden) + "_" + info.param.kernels;
  for (char& c : name)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

class Golden : public testing::TestWithParam<Case> {};

TEST_P(Golden, EveryValueMatches) {
  const Case& c = GetParam();
  const fs::path golden = shared_root() / "golden" / c.golden;
  const fs::path model = shared_root() / "data" / c.model;
  if (!fs::exists(golden) || !fs::exists(model)) GTEST_SKIP() << "shared data not found at " << shared_root();
  const std::vector<GoldenRow> rows = read_csv(golden);
  ASSERT_EQ(rows.size(), 100u);

  std::vector<uint8_t> input;
  const std::string data = c.data;
  if (data == "kws") {
    input = read_bytes(shared_root() / "data/mlperf_tiny/keyword_spotting/kws01_mfcc_int8.bin");
    input.resize(100 * 490);
  } else {
    for (const std::vector<uint8_t>& image : cifar_images(100)) {
      for (uint8_t pixel : image) {
        if (data == "cifar_int8") {
          input.push_back(static_cast<uint8_t>(static_cast<int8_t>(pixel - 128)));
        } else {
          const float value = static_cast<float>(pixel) / 255.0f;
          const auto bits = std::bit_cast<std::array<uint8_t, 4>>(value);
          input.insert(input.end(), bits.begin(), bits.end());
        }
      }
    }
  }

  const std::vector<uint8_t> output =
      frugal_run(model, input, std::string(c.extra_args) + " --kernels " + c.kernels);
  const size_t per_row = rows[0].values.size();
  const bool is_float = data == "cifar_float";
  ASSERT_EQ(output.size(), 100 * per_row * (is_float ? 4 : 1));
  size_t mismatches = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t k = 0; k < per_row; ++k) {
      const size_t i = r * per_row + k;
      if (is_float) {
        float got;
        std::memcpy(&got, output.data() + 4 * i, 4);
        const float want = static_cast<float>(rows[r].values[k]);
        if (std::bit_cast<uint32_t>(got) != std::bit_cast<uint32_t>(want)) {
          if (++mismatches < 10) ADD_FAILURE() << "record " << r << " output " << k << ": " << got << " != " << want;
        }
      } else {
        const int got = static_cast<int8_t>(output[i]);
        const int want = static_cast<int>(rows[r].values[k]);
        if (got != want && ++mismatches < 10) {
          ADD_FAILURE() << "record " << r << " output " << k << ": " << got << " != " << want;
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

constexpr const char* kResnet = "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite";
constexpr const char* kKws = "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite";
constexpr const char* kLenet = "seed_ataman/LeNet_Cifar10_INT8.tflite";

// The pre-softmax golden files hold the input of the final SOFTMAX; `--tensor` dumps it.
INSTANTIATE_TEST_SUITE_P(
    Shared, Golden,
    testing::Values(Case{"resnet8_first100_int8_logits.csv", kResnet, "cifar_int8", "", "reference"},
                    Case{"resnet8_first100_int8_logits.csv", kResnet, "cifar_int8", "", "fast"},
                    Case{"resnet8_first100_int8_presoftmax.csv", kResnet, "cifar_int8", "--tensor softmax-input", "reference"},
                    Case{"resnet8_first100_int8_presoftmax.csv", kResnet, "cifar_int8", "--tensor softmax-input", "fast"},
                    Case{"kws_first100_int8_logits.csv", kKws, "kws", "", "reference"},
                    Case{"kws_first100_int8_logits.csv", kKws, "kws", "", "fast"},
                    Case{"kws_first100_int8_presoftmax.csv", kKws, "kws", "--tensor softmax-input", "reference"},
                    Case{"kws_first100_int8_presoftmax.csv", kKws, "kws", "--tensor softmax-input", "fast"},
                    Case{"lenet_first100_f32.csv", kLenet, "cifar_float", "", "reference"},
                    Case{"lenet_first100_f32.csv", kLenet, "cifar_float", "", "fast"}),
    case_name);

}  // namespace
