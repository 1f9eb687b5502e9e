// End-to-end tests of the frugal binary: exit codes, stdout/stderr conventions, JSON output.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
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
    std::string command = env + " \"" + std::string(FRUGAL_BINARY_DIR) + "/frugal\" " + args + " >\"" +
                          out.string() + "\" 2>\"" + err.string() + "\"";
    int status = std::system(command.c_str());
    Result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = slurp(out);
    result.err = slurp(err);
    return result;
  }

  static std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

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

}  // namespace
