// `frugal generate` and `frugal bench` through the CLI: refusal of models that do not fit, and
// whole models built with arm-none-eabi-g++ and run under QEMU, bit-exact with the host.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "approx/significance.h"
#include "approx/skipping.h"
#include "import/tflite/tflite_importer.h"
#include "mcu/firmware.h"
#include "runtime/interpreter.h"

namespace fs = std::filesystem;

namespace {

struct Outcome {
  int exit_code;
  std::string out, err;
};

Outcome frugal(const std::string& args) {
  const fs::path dir = fs::temp_directory_path() / ("frugal_fw_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string command = std::string(FRUGAL_BINARY_DIR) + "/frugal " + args + " >" + (dir / "out").string() +
                              " 2>" + (dir / "err").string();
  const int status = std::system(command.c_str());
  auto slurp = [](const fs::path& p) {
    std::FILE* f = std::fopen(p.c_str(), "rb");
    std::string text;
    if (!f) return text;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
    std::fclose(f);
    return text;
  };
  Outcome outcome{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "out"), slurp(dir / "err")};
  fs::remove_all(dir);
  return outcome;
}

// `--json` prints one object as the last line of stdout.
nlohmann::json last_line_json(const std::string& out) {
  const size_t end = out.find_last_not_of('\n');
  const size_t start = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1));
}

std::string model(const std::string& relative) {
  const fs::path shared = fs::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "data" / relative;
  return (fs::exists(shared) ? shared : fs::path(FRUGAL_SOURCE_DIR) / "fixtures" / "data" / relative).string();
}

const std::string kResnet = model("mlperf_tiny/image_classification/pretrainedResnet_quant.tflite");
const std::string kKws = model("mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite");
const std::string kVww = model("mlperf_tiny/visual_wake_words/vww_96_int8.tflite");

TEST(Generate, RefusesModelTooBigForFlash) {
  const fs::path out = fs::temp_directory_path() / ("frugal_fw_vww_" + std::to_string(::getpid()));
  // VWW: 219 KB of weights against the 128 KB of flash of a Nucleo-G431RB.
  const Outcome o = frugal("generate " + kVww + " --board nucleo-g431rb -o " + out.string());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("error: model"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("does not fit nucleo-g431rb: flash needs"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("131,072 B"), std::string::npos) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_FALSE(fs::exists(out)) << "nothing may be written on failure";
}

TEST(Generate, RefusesModelTooBigForRam) {
  const fs::path out = fs::temp_directory_path() / ("frugal_fw_resnet_" + std::to_string(::getpid()));
  // ResNet-8: 49,152 B of arena + 2,304 B of im2col scratch (2 columns of the 3x3x64 conv:
  // 2 x 576 int16) + 8 KB of stack against 22 KB of contiguous SRAM.
  const Outcome o = frugal("generate " + kResnet + " --board nucleo-g431rb -o " + out.string());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("RAM needs 59,648 B (arena 49,152 B + kernel scratch 2,304 B + stack 8,192 B) but "
                       "nucleo-g431rb has 22,528 B"),
            std::string::npos)
      << o.err;
  EXPECT_FALSE(fs::exists(out));
}

// --weights: the AD autoencoder's 264K FC weights fit nucleo-f446re's 512 KB as int8, not as
// int16. auto keeps them int8: its FC layers run one batch row, where int16 weights cost
// estimated cycles. ResNet-8 (convs) is widened by auto, within 3/4 of the flash.
TEST(Generate, Int16WeightsFollowTheFlash) {
  const std::string ad = model("mlperf_tiny/anomaly_detection/ad01_int8.tflite");
  const fs::path out = fs::temp_directory_path() / ("frugal_fw_weights_" + std::to_string(::getpid()));
  auto generate = [&](const std::string& weights) {
    fs::remove_all(out);
    return frugal("generate " + ad + " --board nucleo-f446re -o " + out.string() + " --json --weights " + weights);
  };
  const Outcome narrow = generate("int8");
  ASSERT_EQ(narrow.exit_code, 0) << narrow.err;
  const Outcome automatic = generate("auto");
  ASSERT_EQ(automatic.exit_code, 0) << automatic.err;
  const auto n = last_line_json(narrow.out), a = last_line_json(automatic.out);
  EXPECT_EQ(a["constant_bytes"], n["constant_bytes"]);
  const Outcome wide = generate("int16");
  EXPECT_EQ(wide.exit_code, 1);
  EXPECT_NE(wide.err.find("does not fit nucleo-f446re: flash needs"), std::string::npos) << wide.err;
  EXPECT_FALSE(fs::exists(out));
  const Outcome bad = generate("int4");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--weights"), std::string::npos) << bad.err;

  const Outcome resnet = frugal("generate " + kResnet + " --board nucleo-f446re -o " + out.string() + " --json --weights auto");
  ASSERT_EQ(resnet.exit_code, 0) << resnet.err;
  const auto r = last_line_json(resnet.out);
  EXPECT_LE(r["constant_bytes"].get<uint64_t>() + r["code_bytes_estimate"].get<uint64_t>(), 512u * 1024u / 4u * 3u);
  fs::remove_all(out);
}

TEST(Generate, UnknownBoard) {
  const Outcome o = frugal("generate " + kResnet + " --board nucleo-x -o /tmp/never");
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("nucleo-f446re"), std::string::npos) << o.err;
}

TEST(Generate, WritesProject) {
  const fs::path out = fs::temp_directory_path() / ("frugal_fw_gen_" + std::to_string(::getpid()));
  const Outcome o = frugal("generate " + kKws + " --board nucleo-f746zg -o " + out.string() + " --json");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto json = last_line_json(o.out);
  EXPECT_EQ(json["board"], "nucleo-f746zg");
  EXPECT_EQ(json["arena_bytes"], 16000);
  for (const char* file : {"Makefile", "frugal_model.h", "model.cc", "bench_main.cc", "platform/board.ld",
                           "kernels/reference/conv.cpp"}) {
    EXPECT_TRUE(fs::exists(out / file)) << file;
  }
  fs::remove_all(out);
}

class Bench : public testing::TestWithParam<std::tuple<const char*, const char*, const char*, const char*>> {};

TEST_P(Bench, WholeModelUnderQemuIsBitExact) {
  if (!frugal::mcu::arm_toolchain_available() || !frugal::mcu::qemu_available()) {
    GTEST_SKIP() << "arm-none-eabi-g++ or qemu-system-arm missing";
  }
  const auto [relative, data, board, weights] = GetParam();
  const Outcome o = frugal("bench " + model(relative) + " --board " + board + " --data " + data +
                           " -n 2 --json --weights " + weights);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto json = last_line_json(o.out);
  EXPECT_TRUE(json["bit_exact"].get<bool>());
  EXPECT_EQ(json["count"], 2);
  uint64_t instructions = 0, cycles = 0;
  for (const auto& layer : json["layers"]) {
    EXPECT_TRUE(layer.contains("name") && layer.contains("op") && layer.contains("macs"));
    instructions += layer["instructions"].get<uint64_t>();
    cycles += layer["cycles_estimate"].get<uint64_t>();
  }
  EXPECT_EQ(instructions, json["total_instructions"].get<uint64_t>());
  EXPECT_EQ(cycles, json["total_cycles_estimate"].get<uint64_t>());
  EXPECT_GT(instructions, json["total_macs"].get<uint64_t>() / 4) << "fewer instructions than MACs/4 is impossible";
  EXPECT_GT(json["flash_bytes"].get<uint64_t>(), 0u);
  // auto on a model far below 3/4 of the flash widens every conv (ResNet-8's FC runs one batch
  // row: left int8).
  for (const auto& layer : json["layers"]) {
    EXPECT_EQ(layer["int16_weights"].get<bool>(), layer["op"] == "CONV_2D" && std::string(weights) == "auto")
        << layer["name"];
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, Bench,
    testing::Values(std::make_tuple("mlperf_tiny/image_classification/pretrainedResnet_quant.tflite", "cifar10",
                                    "nucleo-f446re", "auto"),
                    std::make_tuple("mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite", "kws01",
                                    "nucleo-f746zg", "int8")),
    [](const auto& param) {
      std::string name = std::string(std::get<2>(param.param)) + "_" + std::get<1>(param.param);
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// Significance statistics of `graph` on `count` inputs of the byte pattern (i * mul + add) % mod:
// enough to rank operands deterministically without a data set.
frugal::approx::SignificanceReport pattern_significance(const frugal::ir::Graph& graph, size_t count, size_t mul,
                                                        size_t add, size_t mod) {
  const frugal::runtime::CompiledModel compiled(graph, frugal::runtime::KernelSet::kReference);
  std::vector<uint8_t> inputs(count * compiled.input_bytes(0));
  for (size_t i = 0; i < inputs.size(); ++i) inputs[i] = static_cast<uint8_t>((i * mul + add) % mod);
  return frugal::approx::analyze_significance(compiled, inputs, {1});
}

// An approximate DS-CNN (half of every pointwise conv's and the FC's weight quads skipped, a
// resolved config as explore writes it): generate picks the skipping kernels, and the firmware
// is bit-exact with the host running the zeroed weights, in fewer instructions than the exact one.
TEST(BenchApprox, SkippingKernelsAreBitExactAndFaster) {
  if (!frugal::mcu::arm_toolchain_available() || !frugal::mcu::qemu_available()) {
    GTEST_SKIP() << "arm-none-eabi-g++ or qemu-system-arm missing";
  }
  namespace approx = frugal::approx;
  const frugal::ir::Graph graph = frugal::import::import_tflite_file(kKws);
  const approx::SignificanceReport report = pattern_significance(graph, 2, 29, 7, 251);
  approx::SkipConfig config;
  for (approx::LayerSkip s : approx::uniform_skip(report, 0.5, approx::Measure::kResidualError).layers) {
    const auto named = [&](const frugal::ir::Op& op) { return op.name == s.layer; };
    if (std::find_if(graph.ops.begin(), graph.ops.end(), named)->type == frugal::ir::OpType::kDepthwiseConv2D) continue;
    s.granularity = approx::Granularity::kQuad;
    config.layers.push_back(s);
  }
  ASSERT_FALSE(config.layers.empty());
  const fs::path dir = fs::temp_directory_path() / ("frugal_approx_fw_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path point = dir / "point.json";
  approx::save_config(approx::resolve_config(graph, report, config, true), point);

  const Outcome generated = frugal("generate " + kKws + " --board nucleo-f446re --approx " + point.string() + " -o " +
                                   (dir / "fw").string() + " --json");
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  EXPECT_EQ(last_line_json(generated.out)["skipping_layers"].get<size_t>(), config.layers.size());
  const Outcome exact = frugal("bench " + kKws + " --board nucleo-f446re --data kws01 -n 2 --json");
  const Outcome approximate =
      frugal("bench " + kKws + " --board nucleo-f446re --data kws01 -n 2 --json --approx " + point.string());
  ASSERT_EQ(exact.exit_code, 0) << exact.err;
  ASSERT_EQ(approximate.exit_code, 0) << approximate.err;
  const auto e = last_line_json(exact.out), a = last_line_json(approximate.out);
  EXPECT_TRUE(a["bit_exact"].get<bool>());
  EXPECT_LT(a["total_instructions"].get<uint64_t>(), e["total_instructions"].get<uint64_t>());
  size_t skipping = 0;
  for (const auto& layer : a["layers"]) skipping += layer["kernel"] == "skipping" ? 1 : 0;
  EXPECT_EQ(skipping, config.layers.size());

  // A config for another model is refused with one line, and nothing is written.
  const Outcome wrong = frugal("generate " + kResnet + " --board nucleo-f446re --approx " + point.string() + " -o " +
                               (dir / "never").string());
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.err.rfind("error: ", 0), 0u) << wrong.err;
  EXPECT_NE(wrong.err.find("has no layer"), std::string::npos) << wrong.err;
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1) << wrong.err;
  EXPECT_FALSE(fs::exists(dir / "never"));
  // So is a truncated one.
  const fs::path truncated = dir / "truncated.json";
  std::FILE* f = std::fopen(truncated.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs("{\"format\": \"frugal-skip-config\", \"version\": 1, \"layers\": [", f);
  std::fclose(f);
  const Outcome broken = frugal("generate " + kKws + " --board nucleo-f446re --approx " + truncated.string() + " -o " +
                                (dir / "never").string());
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_EQ(broken.err.rfind("error: ", 0), 0u) << broken.err;
  EXPECT_NE(broken.err.find("not valid JSON"), std::string::npos) << broken.err;
  EXPECT_EQ(std::count(broken.err.begin(), broken.err.end(), '\n'), 1) << broken.err;
  EXPECT_FALSE(fs::exists(dir / "never"));
  fs::remove_all(dir);
}

// The paper's unrolled form: the DS-CNN's fully connected layer with a third of its SMLAD pairs
// skipped, forced unrolled (the small layer keeps the compile short): bit-exact with the host.
TEST(BenchApprox, UnrolledFormIsBitExact) {
  if (!frugal::mcu::arm_toolchain_available() || !frugal::mcu::qemu_available()) {
    GTEST_SKIP() << "arm-none-eabi-g++ or qemu-system-arm missing";
  }
  namespace approx = frugal::approx;
  const frugal::ir::Graph graph = frugal::import::import_tflite_file(kKws);
  const approx::SignificanceReport report = pattern_significance(graph, 1, 31, 3, 253);
  const auto fc = std::find_if(graph.ops.begin(), graph.ops.end(), [](const frugal::ir::Op& op) {
    return op.type == frugal::ir::OpType::kFullyConnected;
  });
  ASSERT_NE(fc, graph.ops.end());
  approx::LayerSkip skip{fc->name, 0.33, std::nullopt, approx::Measure::kResidualError};
  skip.granularity = approx::Granularity::kSmladPair;
  const fs::path dir = fs::temp_directory_path() / ("frugal_unrolled_fw_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path point = dir / "point.json";
  approx::save_config(approx::resolve_config(graph, report, approx::SkipConfig{{skip}}, true), point);
  const Outcome o = frugal("bench " + kKws + " --board nucleo-f746zg --data kws01 -n 2 --json --skip-kernel unrolled "
                           "--approx " + point.string());
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto json = last_line_json(o.out);
  EXPECT_TRUE(json["bit_exact"].get<bool>());
  // The FC layer skips; other layers may too where their weights already have zero pairs.
  bool fc_skips = false;
  for (const auto& layer : json["layers"]) fc_skips = fc_skips || (layer["name"] == fc->name && layer["kernel"] == "skipping");
  EXPECT_TRUE(fc_skips);
  fs::remove_all(dir);
}

}  // namespace
