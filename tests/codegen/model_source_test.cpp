// The generated model source is tested numerically, not as text: it is compiled for the host
// (it is freestanding C++17, the same source the firmware builds), run on real inputs, and its
// outputs compared byte for byte with the interpreter's.
#include "codegen/model_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <tuple>

#include "codegen/kernel_sources.h"
#include "import/tflite/tflite_importer.h"
#include "runtime/interpreter.h"

namespace fs = std::filesystem;

namespace frugal::codegen {
namespace {

fs::path model_path(const std::string& relative) {
  const fs::path shared = fs::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "data" / relative;
  if (fs::exists(shared)) return shared;
  return fs::path(FRUGAL_SOURCE_DIR) / "fixtures" / "data" / relative;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A host harness around the generated C API: N inputs from a file, N outputs to another.
constexpr const char* kHarness = R"(#include <cstdio>
#include <vector>
#include "frugal_model.h"
extern "C" void frugal_mark(void) {}
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::FILE* in = std::fopen(argv[1], "rb");
  std::FILE* out = std::fopen(argv[2], "wb");
  if (!in || !out || frugal_init() != 0) return 3;
  while (std::fread(frugal_input(0), 1, FRUGAL_INPUT0_BYTES, in) == FRUGAL_INPUT0_BYTES) {
    if (frugal_invoke() != 0) return 4;
    std::fwrite(frugal_output(0), 1, FRUGAL_OUTPUT0_BYTES, out);
  }
  std::fclose(in);
  std::fclose(out);
  return 0;
}
)";

// The kernels a generated model calls: reference, Cortex-M with int8 weights, Cortex-M with
// every dense conv / FC layer on int16 weights.
enum class Kernels { kReference, kCortexM, kCortexMInt16 };

class GeneratedModel : public testing::TestWithParam<std::tuple<const char*, Kernels>> {};

TEST_P(GeneratedModel, CompiledOnHostMatchesInterpreter) {
  const auto [relative, kernels] = GetParam();
  const fs::path path = model_path(relative);
  if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
  const ir::Graph graph = import::import_tflite_file(path);
  ModelSourceOptions options;
  options.flavor = kernels == Kernels::kReference ? KernelFlavor::kReference : KernelFlavor::kCortexM;
  options.dense_weights = kernels == Kernels::kCortexMInt16 ? DenseWeights::kInt16 : DenseWeights::kInt8;
  const ModelSource source = generate_model_source(graph, options);
  if (kernels == Kernels::kCortexMInt16) {
    EXPECT_NE(std::count(source.layer_int16_weights.begin(), source.layer_int16_weights.end(), 1), 0);
  } else {
    EXPECT_EQ(std::count(source.layer_int16_weights.begin(), source.layer_int16_weights.end(), 1), 0);
  }

  const fs::path dir = fs::temp_directory_path() /
                       fmt::format("frugal_codegen_{}_{}_{}", ::getpid(), graph.ops.size(), static_cast<int>(kernels));
  fs::remove_all(dir);
  for (const auto& [name, text] : source.files) write_file(dir / name, text);
  for (const EmbeddedFile& file : kernel_source_files()) write_file(dir / file.name, std::string(file.contents));
  write_file(dir / "harness.cc", kHarness);

  std::string sources = fmt::format("{} {}", (dir / "model.cc").string(), (dir / "harness.cc").string());
  for (const EmbeddedFile& file : kernel_source_files()) {
    if (file.name.ends_with(".cpp")) sources += fmt::format(" {}", (dir / file.name).string());
  }
  // The firmware language level, with the firmware's restrictions.
  const std::string compile = fmt::format("{} -std=c++17 -O1 -fno-exceptions -fno-rtti -I{} {} -o {}", HOST_CXX,
                                          dir.string(), sources, (dir / "model").string());
  ASSERT_EQ(std::system(compile.c_str()), 0) << compile;

  // Random inputs of the model's input type: the generated code and the interpreter must agree
  // on every byte (float inputs: values in [0, 1], like normalised pixels).
  const runtime::CompiledModel model(graph, runtime::KernelSet::kReference);
  const ir::Tensor& input = graph.tensor(graph.inputs[0]);
  constexpr int kRecords = 5;
  std::mt19937 rng(7);
  std::vector<uint8_t> inputs(kRecords * input.num_bytes());
  if (input.type == ir::DataType::kFloat32) {
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    for (size_t i = 0; i < inputs.size() / 4; ++i) {
      const float v = pixel(rng);
      std::memcpy(inputs.data() + 4 * i, &v, 4);
    }
  } else {
    for (uint8_t& b : inputs) b = static_cast<uint8_t>(rng());
  }
  write_file(dir / "in.bin", std::string(inputs.begin(), inputs.end()));
  const std::string run = fmt::format("{} {} {}", (dir / "model").string(), (dir / "in.bin").string(),
                                      (dir / "out.bin").string());
  ASSERT_EQ(std::system(run.c_str()), 0) << run;
  const std::vector<uint8_t> generated = read_file(dir / "out.bin");

  runtime::Session session(model);
  const size_t out_bytes = model.output_bytes(0);
  ASSERT_EQ(generated.size(), kRecords * out_bytes);
  for (int r = 0; r < kRecords; ++r) {
    std::memcpy(session.input(0), inputs.data() + r * input.num_bytes(), input.num_bytes());
    session.invoke();
    EXPECT_EQ(std::memcmp(session.output(0), generated.data() + r * out_bytes, out_bytes), 0) << "record " << r;
  }
  EXPECT_EQ(source.layer_names.size(), graph.ops.size());
  EXPECT_EQ(source.arena_bytes, model.arena_bytes());
  fs::remove_all(dir);
}

// The Cortex-M flavor compiles its kernels with the emulated DSP instructions on the host.
INSTANTIATE_TEST_SUITE_P(Models, GeneratedModel,
                         testing::Combine(testing::Values("mlperf_tiny/image_classification/pretrainedResnet_quant.tflite",
                                                          "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite",
                                                          "mlperf_tiny/visual_wake_words/vww_96_int8.tflite",
                                                          "mlperf_tiny/anomaly_detection/ad01_int8.tflite",
                                                          "seed_ataman/LeNet_Cifar10_INT8.tflite"),
                                          testing::Values(Kernels::kReference, Kernels::kCortexM,
                                                          Kernels::kCortexMInt16)),
                         [](const testing::TestParamInfo<std::tuple<const char*, Kernels>>& param) {
                           const Kernels kernels = std::get<1>(param.param);
                           std::string name = fs::path(std::get<0>(param.param)).stem().string() +
                                              (kernels == Kernels::kReference ? "_reference"
                                               : kernels == Kernels::kCortexM ? "_cortexm"
                                                                              : "_cortexm_int16");
                           for (char& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// DenseWeights::kAuto spends the budget on the layers with the most MACs per weight byte: with
// none every layer stays int8, with a budget of exactly the best layer's bytes only that layer
// is widened, and the flash grows by the bytes spent.
TEST(DenseWeightsPlan, BudgetGoesToTheMostReusedLayersFirst) {
  const fs::path path = model_path("mlperf_tiny/image_classification/pretrainedResnet_quant.tflite");
  if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
  const ir::Graph graph = import::import_tflite_file(path);
  ModelSourceOptions options;
  const ModelSource narrow = generate_model_source(graph, options);
  options.dense_weights = DenseWeights::kAuto;
  options.int16_flash_budget = 0;
  const ModelSource none = generate_model_source(graph, options);
  EXPECT_EQ(std::count(none.layer_int16_weights.begin(), none.layer_int16_weights.end(), 1), 0);
  EXPECT_EQ(none.constant_bytes, narrow.constant_bytes);

  // By hand: MACs per stored weight byte of a conv is its output pixels x k / (k padded to a
  // multiple of 4). The stem (32x32 pixels, k = 27 stored as 28) scores 987, the first 32x32
  // conv with k = 144 scores 1024 and wins over the second by coming first.
  size_t best = graph.ops.size();
  int64_t best_score = 0;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    if (graph.ops[i].type != ir::OpType::kConv2D) continue;
    const ir::Tensor& out = graph.tensor(graph.ops[i].outputs[0]);
    const ir::Tensor& filter = graph.tensor(graph.ops[i].inputs[1]);
    const int64_t k = filter.shape[1] * filter.shape[2] * filter.shape[3];
    const int64_t score = out.shape[1] * out.shape[2] * 1000 * k / ((k + 3) / 4 * 4);
    if (score > best_score) best_score = score, best = i;
  }
  ASSERT_LT(best, graph.ops.size());
  const ir::Tensor& filter = graph.tensor(graph.ops[best].inputs[1]);
  const int64_t rows = filter.shape[0], k = filter.shape[1] * filter.shape[2] * filter.shape[3];
  const uint64_t bytes = static_cast<uint64_t>((rows + 1) / 2 * 2 * ((k + 3) / 4 * 4));
  options.int16_flash_budget = bytes;
  const ModelSource one = generate_model_source(graph, options);
  for (size_t i = 0; i < graph.ops.size(); ++i) EXPECT_EQ(one.layer_int16_weights[i], i == best ? 1 : 0) << i;
  EXPECT_EQ(one.constant_bytes, narrow.constant_bytes + bytes);

  options.dense_weights = DenseWeights::kInt16;
  const ModelSource all = generate_model_source(graph, options);
  size_t layers = 0;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const bool dense = graph.ops[i].type == ir::OpType::kConv2D || graph.ops[i].type == ir::OpType::kFullyConnected;
    EXPECT_EQ(all.layer_int16_weights[i], dense ? 1 : 0) << i;
    layers += dense ? 1 : 0;
  }
  EXPECT_GT(layers, 5u);
}

}  // namespace
}  // namespace frugal::codegen
