// End-to-end tests of the frugal binary: exit codes, stdout/stderr conventions, JSON output.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(FRUGAL_SOURCE_DIR) / "fixtures" / "data";
const fs::path kResnet = kFixtures / "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite";
const fs::path kKws = kFixtures / "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite";

struct Result {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::stringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) result.push_back(line);
  return result;
}

class Cli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("frugal_cli_test_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs `frugal ARGS` (ARGS already shell-quoted) with an optional environment prefix.
  Result frugal(const std::string& args, const std::string& env = "") {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    std::string command = env;
    command.append(" ").append(quoted(fs::path(FRUGAL_BINARY_DIR) / "frugal")).append(" ").append(args);
    command.append(" >").append(quoted(out)).append(" 2>").append(quoted(err));
    int status = std::system(command.c_str());
    Result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = slurp(out);
    result.err = slurp(err);
    return result;
  }

  // Built with append: GCC 12 raises a false -Wrestrict on "x" + string + "x".
  static std::string quoted(const fs::path& path) {
    std::string text = "\"";
    text.append(path.string()).append("\"");
    return text;
  }

  void write(const fs::path& path, size_t bytes) {
    std::ofstream out(path, std::ios::binary);
    std::string zeros(bytes, '\0');
    out << zeros;
  }

  fs::path dir_;
};

TEST_F(Cli, Version) {
  Result r = frugal("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("frugal "), std::string::npos) << r.out;
}

TEST_F(Cli, NoVerbIsUsageError) {
  Result r = frugal("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.err.empty());
}

TEST_F(Cli, InspectJsonOfResnet8) {
  Result r = frugal("inspect --json " + quoted(kResnet));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> out = lines(r.out);
  ASSERT_FALSE(out.empty());
  nlohmann::json json = nlohmann::json::parse(out.back());
  for (const char* key : {"model", "layers", "total_macs", "total_weight_bytes", "arena_bytes", "inputs", "outputs"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  // MLPerf Tiny's ResNet-8: 12,501,632 MACs (conv + fully connected).
  EXPECT_EQ(json["total_macs"].get<int64_t>(), 12501632);
  ASSERT_FALSE(json["layers"].empty());
  int64_t sum = 0;
  for (const auto& layer : json["layers"]) {
    for (const char* key : {"index", "name", "op", "inputs", "output", "macs", "weight_bytes", "activation_bytes"}) {
      EXPECT_TRUE(layer.contains(key)) << key;
    }
    sum += layer["macs"].get<int64_t>();
  }
  EXPECT_EQ(sum, 12501632);
  EXPECT_GT(json["arena_bytes"].get<int64_t>(), 0);
  EXPECT_GT(json["total_weight_bytes"].get<int64_t>(), 70000);  // ~78k int8 weights
  ASSERT_EQ(json["inputs"].size(), 1u);
  EXPECT_EQ(json["inputs"][0]["shape"], nlohmann::json({1, 32, 32, 3}));
  EXPECT_EQ(json["inputs"][0]["type"], "int8");
  EXPECT_EQ(json["inputs"][0]["zero_point"], -128);
  EXPECT_EQ(json["outputs"][0]["shape"], nlohmann::json({1, 10}));
}

TEST_F(Cli, InspectTable) {
  Result r = frugal("inspect " + quoted(kResnet));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("12,501,632"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CONV_2D"), std::string::npos) << r.out;
}

TEST_F(Cli, RunWritesOneOutputPerInput) {
  const fs::path in = dir_ / "in.bin", out = dir_ / "out.bin";
  write(in, 3 * 3072);
  Result r = frugal("run " + quoted(kResnet) + " --input " + quoted(in) + " --output " + quoted(out) + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(out));
  EXPECT_EQ(fs::file_size(out), 30u);
  // Identical inputs give identical outputs, whichever thread ran them.
  std::string bytes = slurp(out);
  EXPECT_EQ(bytes.substr(0, 10), bytes.substr(10, 10));
  EXPECT_EQ(bytes.substr(0, 10), bytes.substr(20, 10));
}

TEST_F(Cli, RunRejectsInputSizeNotMultiple) {
  const fs::path in = dir_ / "in.bin", out = dir_ / "out.bin";
  write(in, 3072 + 5);
  Result r = frugal("run " + quoted(kResnet) + " --input " + quoted(in) + " --output " + quoted(out));
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> err = lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_EQ(err[0].rfind("error: ", 0), 0u) << err[0];
  EXPECT_NE(err[0].find("3077"), std::string::npos) << err[0];
  EXPECT_NE(err[0].find("3072"), std::string::npos) << err[0];
  EXPECT_FALSE(fs::exists(out));
  // Nothing else (no temporary file) left in the directory.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "in.bin" || name == "stdout.txt" || name == "stderr.txt") << name;
  }
}

TEST_F(Cli, RunRejectsEmptyInput) {
  const fs::path in = dir_ / "in.bin", out = dir_ / "out.bin";
  write(in, 0);
  Result r = frugal("run " + quoted(kResnet) + " --input " + quoted(in) + " --output " + quoted(out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, RunOnMissingFiles) {
  const fs::path in = dir_ / "in.bin", out = dir_ / "out.bin";
  write(in, 3072);
  Result r = frugal("run " + quoted(dir_ / "absent.tflite") + " --input " + quoted(in) + " --output " + quoted(out));
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("error: "), std::string::npos);
  EXPECT_NE(r.err.find("absent.tflite"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));

  r = frugal("run " + quoted(kResnet) + " --input " + quoted(dir_ / "absent.bin") + " --output " + quoted(out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("absent.bin"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, RunNotAModel) {
  const fs::path model = dir_ / "garbage.tflite", in = dir_ / "in.bin", out = dir_ / "out.bin";
  write(model, 100);
  write(in, 10);
  Result r = frugal("run " + quoted(model) + " --input " + quoted(in) + " --output " + quoted(out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
}

TEST_F(Cli, EvalCifarOnFixtures) {
  const std::string env = "FRUGAL_DATA=" + quoted(kFixtures);
  Result r = frugal("eval " + quoted(kResnet) + " --data cifar10 --limit 20 --threads 2 --json", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> out = lines(r.out);
  ASSERT_FALSE(out.empty());
  nlohmann::json json = nlohmann::json::parse(out.back());
  ASSERT_TRUE(json["top1"].is_number()) << out.back();
  EXPECT_GE(json["top1"].get<double>(), 0.0);
  EXPECT_LE(json["top1"].get<double>(), 1.0);
  EXPECT_EQ(json["count"], 20);
  EXPECT_EQ(json["threads"], 2);
  EXPECT_EQ(json["kernels"], "fast");
  EXPECT_EQ(json["data"], "cifar10");
  EXPECT_EQ(json["fixtures"], true);
  EXPECT_GT(json["images_per_second"].get<double>(), 0.0);
  EXPECT_NE(r.err.find("fixtures"), std::string::npos) << r.err;

  // Same answer single-threaded with the reference kernels.
  Result reference = frugal("eval " + quoted(kResnet) + " --data cifar10 --limit 20 --threads 1 --kernels reference --json", env);
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  nlohmann::json reference_json = nlohmann::json::parse(lines(reference.out).back());
  EXPECT_EQ(reference_json["top1"], json["top1"]);
}

TEST_F(Cli, EvalKwsOnFixtures) {
  Result r = frugal("eval " + quoted(kKws) + " --data kws01 --limit 50", "FRUGAL_DATA=" + quoted(kFixtures));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Top-1: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("count: 50"), std::string::npos) << r.out;
}

TEST_F(Cli, EvalUnknownDataSet) {
  Result r = frugal("eval " + quoted(kResnet) + " --data mnist");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("mnist"), std::string::npos) << r.err;
}

TEST_F(Cli, EvalModelDataMismatch) {
  Result r = frugal("eval " + quoted(kKws) + " --data cifar10 --limit 5", "FRUGAL_DATA=" + quoted(kFixtures));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: model input is int8[1,49,10,1] but cifar10 records are 32x32x3 images"),
            std::string::npos)
      << r.err;
}

TEST_F(Cli, EvalMissingDataSetInFixtures) {
  const fs::path vww = kFixtures / "mlperf_tiny/visual_wake_words/vww_96_int8.tflite";
  Result r = frugal("eval " + quoted(vww) + " --data vww01 --limit 5", "FRUGAL_DATA=" + quoted(kFixtures));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("FRUGAL_DATA"), std::string::npos) << r.err;
}

// The full shared data sets, when present: Top-1 must equal TFLite's reference kernels'
// (shared/golden/README.md, same tie rule).
std::optional<fs::path> shared_data() {
  fs::path beside = fs::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "data";
  if (fs::exists(beside / "cifar10" / "test_batch.bin")) return beside;
  return std::nullopt;
}

TEST_F(Cli, EvalSharedMatchesReferenceTop1) {
  auto shared = shared_data();
  if (!shared) GTEST_SKIP() << "shared data not found";
  struct Case {
    const char* model;
    const char* data;
    int64_t correct, count;
  };
  for (const Case& c : {Case{"mlperf_tiny/image_classification/pretrainedResnet_quant.tflite", "cifar10", 8707, 10000},
                        Case{"mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite", "kws01", 901, 1000},
                        Case{"mlperf_tiny/visual_wake_words/vww_96_int8.tflite", "vww01", 854, 1000},
                        Case{"seed_ataman/LeNet_Cifar10_INT8.tflite", "cifar10", 7169, 10000}}) {
    Result r = frugal("eval " + quoted(*shared / c.model) + " --data " + c.data + " --json",
                      "FRUGAL_DATA=" + quoted(*shared));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json json = nlohmann::json::parse(lines(r.out).back());
    EXPECT_EQ(json["count"], c.count) << c.model;
    EXPECT_EQ(json["correct"], c.correct) << c.model;
    EXPECT_EQ(json["fixtures"], false);
  }
}

// ad01 has no published AUC, so the eval pipeline (windowing, quantization, scoring) is checked
// against a second, deliberately plain computation here: windows quantized by this test, run
// through `frugal run`, errors and the O(n^2) Mann-Whitney AUC computed here.
TEST_F(Cli, EvalAd01MatchesPlainRecomputation) {
  auto shared = shared_data();
  if (!shared) GTEST_SKIP() << "shared data not found";
  const fs::path folder = *shared / "mlperf_tiny" / "anomaly_detection";
  const fs::path model = folder / "ad01_int8.tflite";
  Result inspect = frugal("inspect --json " + quoted(model));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  nlohmann::json info = nlohmann::json::parse(lines(inspect.out).back());
  const float in_scale = info["inputs"][0]["scale"].get<float>();
  const int in_zero = info["inputs"][0]["zero_point"].get<int>();
  const float out_scale = info["outputs"][0]["scale"].get<float>();
  const int out_zero = info["outputs"][0]["zero_point"].get<int>();

  const size_t samples = 72, frames = 200, bins = 128, windows = frames - 4;
  std::string raw = slurp(folder / "ad01_alt_samples_f32.bin");
  ASSERT_GE(raw.size(), samples * frames * bins * 4);
  std::vector<float> values(samples * frames * bins);
  std::memcpy(values.data(), raw.data(), values.size() * 4);
  std::vector<int> labels;
  {
    std::ifstream csv(folder / "ad01_y_labels_alt.csv");
    std::string line;
    while (labels.size() < samples && std::getline(csv, line)) {
      size_t first = line.find(',');
      labels.push_back(std::stoi(line.substr(line.find(',', first + 1) + 1)));
    }
  }
  std::string input;
  for (size_t s = 0; s < samples; ++s)
    for (size_t w = 0; w < windows; ++w)
      for (size_t k = 0; k < 5 * bins; ++k) {
        float q = std::round(values[s * frames * bins + w * bins + k] / in_scale) + static_cast<float>(in_zero);
        input.push_back(static_cast<char>(static_cast<int8_t>(std::clamp(q, -128.0f, 127.0f))));
      }
  const fs::path in = dir_ / "windows.bin", out = dir_ / "out.bin";
  {
    std::ofstream file(in, std::ios::binary);
    file << input;
  }
  Result run = frugal("run " + quoted(model) + " --input " + quoted(in) + " --output " + quoted(out));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string output = slurp(out);
  ASSERT_EQ(output.size(), input.size());
  std::vector<double> scores(samples, 0.0);
  for (size_t s = 0; s < samples; ++s) {
    for (size_t w = 0; w < windows; ++w) {
      double sum = 0.0;
      for (size_t k = 0; k < 5 * bins; ++k) {
        size_t i = (s * windows + w) * 5 * bins + k;
        double x = in_scale * static_cast<float>(static_cast<int8_t>(input[i]) - in_zero);
        double y = out_scale * static_cast<float>(static_cast<int8_t>(output[i]) - out_zero);
        sum += (x - y) * (x - y);
      }
      scores[s] += sum / (5.0 * bins);
    }
    scores[s] /= static_cast<double>(windows);
  }
  double wins = 0.0, pairs = 0.0;
  for (size_t p = 0; p < samples; ++p)
    for (size_t n = 0; n < samples; ++n)
      if (labels[p] == 1 && labels[n] == 0) {
        pairs += 1.0;
        wins += scores[p] > scores[n] ? 1.0 : scores[p] == scores[n] ? 0.5 : 0.0;
      }
  ASSERT_EQ(pairs, 36.0 * 36.0);

  Result eval = frugal("eval " + quoted(model) + " --data ad01 --limit " + std::to_string(samples) + " --json",
                       "FRUGAL_DATA=" + quoted(*shared));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  nlohmann::json json = nlohmann::json::parse(lines(eval.out).back());
  EXPECT_EQ(json["count"], samples);
  EXPECT_EQ(json["inferences"], samples * windows);
  EXPECT_TRUE(json["top1"].is_null());
  EXPECT_NEAR(json["auc"].get<double>(), wins / pairs, 1e-12);
}

}  // namespace
