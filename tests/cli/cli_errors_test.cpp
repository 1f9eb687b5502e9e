// Every error path of the frugal CLI, end to end: a non-zero exit (2 for usage errors, 1 for the
// rest), nothing on stdout, exactly one line on stderr that starts with "error: ", is the last
// line there and says what is wrong, and no file or directory left behind (the scratch directory
// every case runs in is compared before and after). docs/hardening.md lists the cases with the
// source of each error.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "import/synthetic_model.h"
#include "support/cli_runner.h"

namespace fs = std::filesystem;

namespace {

using frugal::testing::SynthModel;
using frugal::testing::SynthOp;
using frugal::testing::builtin;
namespace fb = frugal::tflite_schema;

const fs::path kFixtures = fs::path(FRUGAL_SOURCE_DIR) / "fixtures" / "data";
const fs::path kKws = kFixtures / "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite";
const fs::path kResnet = kFixtures / "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite";
// The DS-CNN's fully connected layer: 12 channels x 64 operands.
const std::string kKwsFc = "functional_1/dense/BiasAdd";

std::string q(const fs::path& p) {
  std::string text = "\"";
  text.append(p.string()).append("\"");
  return text;
}

void write(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
void write(const fs::path& path, const std::vector<uint8_t>& bytes) {
  write(path, std::string(bytes.begin(), bytes.end()));
}

// x [1,4,4,2] -> CONV 3x3 -> c [1,2,2,3] -> RESHAPE -> r [1,12] -> FULLY_CONNECTED -> y [1,2]: a
// valid model without SOFTMAX whose input no shared data set fits; `tanh` makes its last op TANH
// (unsupported), `two_outputs` also exposes r.
std::vector<uint8_t> small_model(bool tanh = false, bool two_outputs = false) {
  SynthModel m;
  const int32_t x = m.activation("x", {1, 4, 4, 2}, 0.5f, -3);
  const int32_t w = m.add_tensor({"w", fb::TensorType::INT8, {3, 3, 3, 2}, {0.25f}, {0}, 0,
                                  m.add_buffer(std::vector<uint8_t>(54, 1)), false});
  const int32_t c = m.activation("c", {1, 2, 2, 3}, 0.75f, -128);
  const int32_t shape = m.add_tensor({"shape", fb::TensorType::INT32, {2}, {}, {}, 0,
                                      m.add_buffer_of(std::vector<int32_t>{-1, 12}), false});
  const int32_t r = m.activation("r", {1, 12}, 0.75f, -128);
  const int32_t fw = m.add_tensor({"fw", fb::TensorType::INT8, {2, 12}, {0.5f}, {0}, 0,
                                   m.add_buffer(std::vector<uint8_t>(24, 2)), false});
  const int32_t y = m.activation("y", {1, 2}, 0.2f, 5);
  m.inputs = {x};
  m.outputs = two_outputs ? std::vector<int32_t>{y, r} : std::vector<int32_t>{y};
  SynthOp conv = builtin(fb::BuiltinOperator::CONV_2D, {x, w, -1}, {c});
  conv.options_type = fb::BuiltinOptions::Conv2DOptions;
  conv.options = [](flatbuffers::FlatBufferBuilder& b) {
    return fb::CreateConv2DOptions(b, fb::Padding::VALID, 1, 1).Union();
  };
  m.add_op(conv);
  m.add_op(builtin(fb::BuiltinOperator::RESHAPE, {c, shape}, {r}));
  m.add_op(tanh ? builtin(fb::BuiltinOperator::TANH, {r}, {y})
                : builtin(fb::BuiltinOperator::FULLY_CONNECTED, {r, fw, -1}, {y}));
  return m.finish();
}

// x [1,640] -> FULLY_CONNECTED -> y [1,2]: takes ad01 windows but is no autoencoder.
std::vector<uint8_t> ad01_classifier() {
  SynthModel m;
  const int32_t x = m.activation("x", {1, 640}, 0.5f, 0);
  const int32_t w = m.add_tensor({"w", fb::TensorType::INT8, {2, 640}, {0.25f}, {0}, 0,
                                  m.add_buffer(std::vector<uint8_t>(1280, 1)), false});
  const int32_t y = m.activation("y", {1, 2}, 0.5f, 0);
  m.inputs = {x};
  m.outputs = {y};
  m.add_op(builtin(fb::BuiltinOperator::FULLY_CONNECTED, {x, w, -1}, {y}));
  return m.finish();
}

std::string skip_config(const std::string& layers) {
  return R"({"format": "frugal-skip-config", "version": 1, "layers": [)" + layers + "]}";
}

// Every file and directory under `dir`, relative to it.
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) names.insert(fs::relative(entry.path(), dir).string());
  return names;
}

class CliErrors : public ::testing::Test {
 protected:
  // Inputs shared by the cases, written once per process (ctest runs each case in its own).
  static void SetUpTestSuite() {
    inputs_ = new fs::path(fs::temp_directory_path() / ("frugal_cli_errors_in_" + std::to_string(::getpid())));
    fs::create_directories(*inputs_);
    const fs::path& in = *inputs_;
    write(in / "empty.tflite", std::string());
    write(in / "garbage.tflite", std::string("definitely not a flatbuffer, but long enough to be read as one"));
    std::string kws_bytes = frugal::testing::slurp(kKws);
    write(in / "truncated.tflite", kws_bytes.substr(0, kws_bytes.size() / 2));
    write(in / "small.tflite", small_model());
    write(in / "tanh.tflite", small_model(true));
    write(in / "two_outputs.tflite", small_model(false, true));
    write(in / "ad01_classifier.tflite", ad01_classifier());
    // A data root whose kws01 features were cut short.
    const fs::path kws_data = in / "cut_data" / "mlperf_tiny" / "keyword_spotting";
    fs::create_directories(kws_data);
    fs::copy_file(kFixtures / "mlperf_tiny/keyword_spotting/kws01_y_labels.csv", kws_data / "kws01_y_labels.csv");
    write(kws_data / "kws01_mfcc_int8.bin",
          frugal::testing::slurp(kFixtures / "mlperf_tiny/keyword_spotting/kws01_mfcc_int8.bin").substr(0, 1000));
    write(in / "kws_input.bin", std::string(490, '\0'));
    write(in / "small_input.bin", std::string(32, '\0'));
    write(in / "a_file", std::string("x"));
    fs::create_directories(in / "a_directory");
    write(in / "config_invalid.json", skip_config("{\"layer\": "));
    write(in / "config_format.json", R"({"format": 5})");
    write(in / "config_other_model.json", skip_config(R"({"layer": "not_a_layer", "operands": []})"));
    write(in / "config_unresolved.json", skip_config(R"({"layer": ")" + kKwsFc + R"(", "fraction": 0.5})"));
    write(in / "config_operand.json", skip_config(R"({"layer": ")" + kKwsFc + R"(", "operands": [768]})"));
    write(in / "config_order.json", skip_config(R"({"layer": ")" + kKwsFc + R"(", "operands": [5, 3]})"));
    write(in / "config_bias.json", skip_config(R"({"layer": ")" + kKwsFc + R"(", "operands": [], "bias_delta": [1]})"));
    write(in / "config_int32.json",
          skip_config(R"({"layer": ")" + kKwsFc + R"(", "operands": [], "bias_delta": [5000000000]})"));
    write(in / "config_float.json", skip_config(R"({"layer": ")" + kKwsFc + R"(", "count": 1e300})"));
    write(in / "config_newline.json", skip_config(R"({"layer": "a\nb", "operands": []})"));
    write(in / "config_not_conv.json", skip_config(R"({"layer": "functional_1/flatten/Reshape", "operands": []})"));
    write(in / "costs_invalid.json", std::string("{"));
    write(in / "costs_board.json", std::string(R"({"board": "nucleo-g431rb", "layers": []})"));
    write(in / "costs_layers.json", std::string(R"({"board": "nucleo-f446re", "layers": []})"));
    write(in / "costs_negative.json",
          std::string(R"({"layers": [{"name": "x", "instructions": -1, "cycles_estimate": 1}]})"));
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(*inputs_, ignored);
    delete inputs_;
  }

  void SetUp() override {
    scratch_ = fs::temp_directory_path() / ("frugal_cli_errors_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(scratch_);
    write(scratch_ / "a_file", std::string("x"));
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(scratch_, ignored);
  }

  static fs::path in(const std::string& name) { return *inputs_ / name; }
  fs::path out(const std::string& name) const { return scratch_ / name; }

  // Runs `frugal ARGS` in the scratch directory (ARGS shell-quoted; `env` a prefix such as
  // "PATH=/nonexistent") and checks everything the header promises.
  void expect_error(const std::string& args, int exit_code, const std::string& message, const std::string& env = "") {
    SCOPED_TRACE("frugal " + args);
    const std::set<std::string> before = listing(scratch_);
    const fs::path out_file = scratch_ / "../" / (scratch_.filename().string() + ".out");
    const fs::path err_file = scratch_ / "../" / (scratch_.filename().string() + ".err");
    std::string command = "cd " + q(scratch_) + " && env FRUGAL_DATA=" + q(kFixtures) + " " + env + " " +
                          q(fs::path(FRUGAL_BINARY_DIR) / "frugal") + " " + args + " >" + q(out_file) + " 2>" +
                          q(err_file);
    const int status = std::system(command.c_str());
    const std::string out = frugal::testing::slurp(out_file), err = frugal::testing::slurp(err_file);
    fs::remove(out_file);
    fs::remove(err_file);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal\n" << err;
    EXPECT_EQ(WEXITSTATUS(status), exit_code) << err;
    EXPECT_EQ(out, "");
    const std::string last = frugal::testing::last_line(err);
    EXPECT_EQ(last.rfind("error: ", 0), 0u) << err;
    EXPECT_NE(last.find(message), std::string::npos) << "expected: " << message << "\n" << err;
    size_t error_lines = 0;
    for (size_t at = err.find("error"); at != std::string::npos; at = err.find("error", at + 1)) {
      error_lines += at == 0 || err[at - 1] == '\n' ? 1 : 0;
    }
    EXPECT_EQ(error_lines, 1u) << err;
    EXPECT_EQ(err.back(), '\n');
    EXPECT_EQ(listing(scratch_), before) << "something was written or removed";
  }

  static fs::path* inputs_;
  fs::path scratch_;
};
fs::path* CliErrors::inputs_ = nullptr;

// --- command line (exit 2) ------------------------------------------------------------------

TEST_F(CliErrors, UsageErrorsAreOneLine) {
  expect_error("", 2, "A subcommand is required (see frugal --help)");
  expect_error("frobnicate", 2, "unknown command 'frobnicate' (see frugal --help)");
  expect_error("inspect", 2, "model is required (see frugal inspect --help)");
  expect_error("inspect " + q(kKws) + " --frobnicate", 2, "--frobnicate");
  expect_error("run " + q(kKws) + " --output o.bin", 2, "--input is required");
  expect_error("run " + q(kKws) + " --input x --output o.bin --threads 0", 2, "--threads: must be greater than 0, not 0");
  expect_error("run " + q(kKws) + " --input x --output o.bin --kernels turbo", 2, "turbo");
  expect_error("eval " + q(kKws) + " --data mnist", 2, "mnist");
  expect_error("eval " + q(kKws) + " --data kws01 --limit many", 2, "--limit: 'many' is not a number");
  expect_error("generate " + q(kKws) + " --board nucleo-x -o fw", 2, "nucleo-x");
  expect_error("generate " + q(kKws) + " --board nucleo-f446re", 2, "--output is required");
  expect_error("bench " + q(kKws) + " --board nucleo-f446re --data kws01 --input x", 2, "--data excludes --input");
  expect_error("bench " + q(kKws) + " --board nucleo-f446re -n 0", 2, "--count: must be greater than 0, not 0");
  expect_error("compress " + q(kKws) + " -o b.frugal --codewords 1", 2, "--codewords");
  expect_error("compress " + q(kKws) + " -o b.frugal --learning-rate 0", 2, "--learning-rate: must be greater than 0");
  expect_error("explore " + q(kKws) + " --data kws01 --board nucleo-f446re --granularity atoms", 2, "atoms");
}

// --- model files (every verb loads them the same way) --------------------------------------

TEST_F(CliErrors, ModelFiles) {
  expect_error("inspect " + q(out("absent.tflite")), 1, "cannot open model '" + out("absent.tflite").string() + "': no such file");
  expect_error("inspect " + q(in("a_directory")), 1, "it is a directory");
  expect_error("inspect " + q(in("empty.tflite")), 1, "file is empty");
  expect_error("inspect " + q(in("garbage.tflite")), 1, "not a TFLite model");
  expect_error("inspect " + q(in("truncated.tflite")), 1, "corrupt flatbuffer");
  expect_error("inspect " + q(in("tanh.tflite")), 1, "is TANH, which frugal does not support");
  expect_error("inspect " + q(kKws.string() + "#kws"), 1, "is not a bundle, so '#kws' names nothing");
  expect_error("run " + q(in("two_outputs.tflite")) + " --input " + q(in("small_input.bin")) + " --output o.bin", 1,
               "frugal run supports single-input single-output models");
  // Each verb reports a missing model the same way.
  for (const std::string verb : {"eval --data kws01", "generate --board nucleo-f446re -o fw",
                                 "bench --board nucleo-f446re", "explore --data kws01 --board nucleo-f446re",
                                 "compress -o b.frugal", "run --input x --output o.bin"}) {
    const std::string name = verb.substr(0, verb.find(' '));
    expect_error(name + " " + q(out("absent.tflite")) + verb.substr(name.size()), 1, "cannot open model");
  }
}

TEST_F(CliErrors, Bundles) {
  // A bundle of the DS-CNN, every encodable layer encoded.
  const fs::path bundle = in("kws.frugal");
  ::setenv("FRUGAL_DATA", kFixtures.c_str(), 1);
  ASSERT_EQ(frugal::testing::run_frugal("compress " + q(kKws) + " --names kws --max-accuracy-loss 1 --no-recovery -o " +
                                        q(bundle)).exit_code,
            0);
  expect_error("inspect " + q(bundle.string() + "#nope"), 1, "holds kws; pick one as");
  std::string bytes = frugal::testing::slurp(bundle);
  write(out("cut.frugal"), bytes.substr(0, bytes.size() / 3));
  expect_error("inspect " + q(out("cut.frugal")), 1, "bundle");
  expect_error("generate " + q(bundle) + " --board nucleo-f446re -o fw --approx " + q(in("config_other_model.json")),
               1, "--approx applies to a single model, not to a bundle");
  expect_error("bench " + q(bundle) + " --board nucleo-f446re --approx " + q(in("config_other_model.json")), 1,
               "--approx applies to a single model, not to a bundle");
}

// --- run ----------------------------------------------------------------------------------

TEST_F(CliErrors, Run) {
  const std::string model = "run " + q(in("small.tflite"));
  const std::string input = " --input " + q(in("small_input.bin"));
  expect_error(model + " --input " + q(out("absent.bin")) + " --output o.bin", 1, "cannot read input");
  expect_error(model + " --input " + q(in("a_directory")) + " --output o.bin", 1, "it is a directory");
  expect_error(model + " --input " + q(in("a_file")) + " --output o.bin", 1,
               "has 1 bytes, not a non-zero multiple of the 32 bytes of one int8 1x4x4x2 input tensor");
  expect_error(model + " --input " + q(in("empty.tflite")) + " --output o.bin", 1, "has 0 bytes");
  expect_error(model + input + " --output o.bin --tensor nothing", 1,
               "--tensor 'nothing': no tensor or op of that name in the model");
  expect_error(model + input + " --output o.bin --tensor w", 1, "--tensor 'w' is a constant, not an activation");
  expect_error(model + input + " --output o.bin --tensor softmax-input", 1, "the model has no SOFTMAX op");
  expect_error(model + input + " --output " + q(out("missing/o.bin")), 1, "directory '" + out("missing").string() + "' does not exist");
  expect_error(model + input + " --output " + q(out("a_file/o.bin")), 1, "is not a directory");
  expect_error(model + input + " --output .", 1, "cannot write --output '.': it is a directory");
}

// --- eval ---------------------------------------------------------------------------------

TEST_F(CliErrors, Eval) {
  expect_error("eval " + q(kKws) + " --data ad01", 1,
               "model input is int8[1,49,10,1] but ad01 records are windows of 5x128 float32 log-mel frames");
  expect_error("eval " + q(in("small.tflite")) + " --data cifar10", 1, "but cifar10 records are 32x32x3 images");
  expect_error("eval " + q(kKws) + " --data kws01", 1, "FRUGAL_DATA is set to '" + out("no_data").string() +
               "', which is not a directory", "FRUGAL_DATA=" + q(out("no_data")));
  expect_error("eval " + q(kKws) + " --data kws01", 1,
               "kws01_mfcc_int8.bin: 1000 bytes is not a whole number of 490-byte", "FRUGAL_DATA=" + q(in("cut_data")));
  expect_error("eval " + q(in("ad01_classifier.tflite")) + " --data ad01", 1,
               "ad01 scores are reconstruction errors, but the model output");
  expect_error("eval " + q(kKws) + " --data kws01", 1, "cannot open " + in("a_directory").string() +
               "/mlperf_tiny/keyword_spotting/kws01_mfcc_int8.bin", "FRUGAL_DATA=" + q(in("a_directory")));
}

// --- generate / bench --approx: the skip configuration --------------------------------------

TEST_F(CliErrors, ApproxConfig) {
  const std::string generate = "generate " + q(kKws) + " --board nucleo-f446re -o fw --approx ";
  expect_error(generate + q(out("absent.json")), 1, "cannot read skip config '" + out("absent.json").string() + "': No such file");
  expect_error(generate + q(in("a_directory")), 1, "it is a directory");
  expect_error(generate + q(in("config_invalid.json")), 1, "skip config is not valid JSON");
  expect_error(generate + q(in("config_format.json")), 1, "not a skip config (no \"format\": \"frugal-skip-config\")");
  expect_error(generate + q(in("config_other_model.json")), 1, "has no layer 'not_a_layer'");
  expect_error(generate + q(in("config_unresolved.json")), 1, "is not resolved");
  expect_error(generate + q(in("config_operand.json")), 1, "skips operand 768 outside [0, 768)");
  expect_error(generate + q(in("config_order.json")), 1, "lists operands out of order or twice");
  expect_error(generate + q(in("config_bias.json")), 1, "has 1 bias deltas for 12 channels");
  expect_error(generate + q(in("config_int32.json")), 1, "\"bias_delta\" must be an integer in [-2147483648, 2147483647]");
  expect_error(generate + q(in("config_float.json")), 1, "\"count\" must be an integer");
  expect_error(generate + q(in("config_newline.json")), 1, "has no layer 'a\\x0ab'");
  expect_error(generate + q(in("config_not_conv.json")), 1, "is a RESHAPE, not a conv/depthwise/FC layer");
  expect_error("bench " + q(kKws) + " --board nucleo-f446re --approx " + q(in("config_unresolved.json")), 1,
               "is not resolved");
}

// --- generate -----------------------------------------------------------------------------

TEST_F(CliErrors, Generate) {
  expect_error("generate " + q(kKws) + " --board nucleo-f446re -o a_file", 1,
               "cannot write -o 'a_file': it exists and is not a directory");
  expect_error("generate " + q(kKws) + " --board nucleo-f446re -o " + q(out("a_file/fw")), 1, "is not a directory");
  expect_error("generate " + q(kResnet) + " --board nucleo-g431rb -o " + q(out("new/fw")), 1,
               "does not fit nucleo-g431rb: RAM needs");
  expect_error("generate " + q(in("two_outputs.tflite")) + " --board nucleo-f446re -o fw", 1,
               "frugal generate supports single-input single-output models");
}

// --- bench --------------------------------------------------------------------------------

TEST_F(CliErrors, Bench) {
  const std::string bench = "bench " + q(kKws) + " --board nucleo-f446re";
  expect_error(bench + " --input " + q(in("kws_input.bin")) + " -n 2", 1, "holds 490 bytes, 2 inputs of 490 bytes need 980");
  expect_error(bench + " --data kws01 -n 201", 1, "--data kws01 has only 200 records, asked for 201");
  expect_error(bench + " --keep " + q(out("a_file/fw")), 1, "cannot write --keep");
  expect_error(bench + " -n 1", 1, "arm-none-eabi-g++ not found on PATH", "PATH=/nonexistent");
}

// --- explore ------------------------------------------------------------------------------

TEST_F(CliErrors, Explore) {
  const std::string explore = "explore " + q(kKws) + " --board nucleo-f446re ";
  expect_error(explore + "--data imagenet", 1, "unknown data set 'imagenet'");
  expect_error(explore + "--data ad01", 1, "ad01 has no Top-1");
  expect_error(explore + "--data kws01 --levels 0,x", 1, "--levels: 'x' is not a number");
  expect_error(explore + "--data kws01 --levels 0,1.5", 1, "outside [0, 1]");
  expect_error(explore + "--data kws01 --max-accuracy-loss 2", 1, "--max-accuracy-loss 2 is outside [0, 1]");
  expect_error(explore + "--data kws01 -o " + q(out("a_file/front")), 1, "cannot write -o");
  expect_error(explore + "--data kws01 --report a_file", 1, "cannot write --report 'a_file': it exists and is not a directory");
  expect_error(explore + "--data kws01 --no-qemu", 1, "kws01 has 200 records; the exploration splits need 1,000");
  expect_error(explore + "--data kws01 --costs " + q(out("absent.json")), 1, "cannot read cost file");
  expect_error(explore + "--data kws01 --costs " + q(in("costs_invalid.json")), 1, "cost file is not valid JSON");
  expect_error(explore + "--data kws01 --costs " + q(in("costs_board.json")), 1,
               "cost file was measured on nucleo-g431rb, not nucleo-f446re");
  expect_error(explore + "--data kws01 --costs " + q(in("costs_layers.json")), 1, "no measured cost for layer");
  expect_error(explore + "--data kws01 --costs " + q(in("costs_negative.json")), 1, "negative or infinite");
  expect_error(explore + "--data kws01", 1, "measuring under QEMU needs arm-none-eabi-g++", "PATH=/nonexistent");
}

// --- compress -----------------------------------------------------------------------------

TEST_F(CliErrors, Compress) {
  const std::string compress = "compress " + q(kKws);
  expect_error(compress + " -o " + q(out("missing/b.frugal")), 1, "does not exist");
  expect_error(compress + " -o .", 1, "it is a directory");
  expect_error(compress + " --data kws01 cifar10 -o b.frugal", 1, "--data names 2 data sets for 1 models");
  expect_error(compress + " --data imagenet -o b.frugal", 1, "unknown data set 'imagenet'");
  expect_error(compress + " --leave-out kws_ref_model_int8 -o b.frugal", 1,
               "--leave-out needs at least one other model to learn the codebooks from");
  expect_error("compress " + q(in("small.tflite")) + " -o b.frugal", 1, "no shared data set takes");
}

}  // namespace
