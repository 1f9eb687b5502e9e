// End-to-end tests of `frugal compress` and of bundles in the other verbs, on the repo's fixtures
// (FRUGAL_DATA points at them, so the run is the same with or without ../shared).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "import/tflite/tflite_importer.h"
#include "support/cli_runner.h"

namespace fs = std::filesystem;
using frugal::testing::last_line;
using frugal::testing::run_frugal;

namespace {

const fs::path kFixtures = fs::path(FRUGAL_SOURCE_DIR) / "fixtures" / "data";
const fs::path kResnet = kFixtures / "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite";
const fs::path kKws = kFixtures / "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite";

std::string q(const fs::path& p) {
  std::string text = "\"";
  text.append(p.string()).append("\"");
  return text;
}

// The children see only the fixtures, whether or not ../shared is there.
void use_fixtures() { ::setenv("FRUGAL_DATA", kFixtures.c_str(), 1); }

// What a model's weights and biases take as float32, counted from the imported graph: 4 bytes per
// element of every conv / depthwise / FC weight (input 1) and bias (input 2).
size_t fp32_bytes(const fs::path& model) {
  const frugal::ir::Graph g = frugal::import::import_tflite_file(model);
  size_t bytes = 0;
  for (const frugal::ir::Op& op : g.ops) {
    if (op.type != frugal::ir::OpType::kConv2D && op.type != frugal::ir::OpType::kDepthwiseConv2D &&
        op.type != frugal::ir::OpType::kFullyConnected)
      continue;
    for (size_t i = 1; i < op.inputs.size() && i <= 2; ++i)
      if (op.inputs[i] >= 0) bytes += 4 * static_cast<size_t>(g.tensor(op.inputs[i]).num_elements());
  }
  return bytes;
}

class Compress : public ::testing::Test {
 protected:
  // One bundle of the two fixture models, every encodable layer encoded (a loss bound of 100%),
  // shared by the tests: compressing is the slow part.
  static void SetUpTestSuite() {
    use_fixtures();
    dir_ = new fs::path(fs::temp_directory_path() / ("frugal_compress_test_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    bundle_ = new fs::path(*dir_ / "two.frugal");
    const auto r = run_frugal("compress " + q(kKws) + " " + q(kResnet) +
                              " --names kws resnet8 --max-accuracy-loss 1 --no-recovery --json -o " + q(*bundle_));
    result_ = new frugal::testing::CliRun(r);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
    delete bundle_;
    delete result_;
  }
  static fs::path* dir_;
  static fs::path* bundle_;
  static frugal::testing::CliRun* result_;
};
fs::path* Compress::dir_ = nullptr;
fs::path* Compress::bundle_ = nullptr;
frugal::testing::CliRun* Compress::result_ = nullptr;

TEST_F(Compress, JsonReportsRatiosBytesAndModels) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  const auto j = nlohmann::json::parse(last_line(result_->out));
  ASSERT_TRUE(fs::exists(*bundle_));
  EXPECT_EQ(j["bundle_bytes"].get<size_t>(), fs::file_size(*bundle_));
  // fp32 from the imported graphs, independently of the bundle's accounting.
  EXPECT_EQ(j["fp32_bytes"].get<size_t>(), fp32_bytes(kKws) + fp32_bytes(kResnet));
  const auto& s = j["storage"];
  EXPECT_EQ(j["stored_bytes"].get<size_t>(), s["indices"].get<size_t>() + s["codebooks"].get<size_t>() +
                                                  s["dense_weights"].get<size_t>() + s["biases"].get<size_t>() +
                                                  s["quantization"].get<size_t>());
  EXPECT_DOUBLE_EQ(j["ratio_vs_fp32"].get<double>(),
                   j["fp32_bytes"].get<double>() / j["stored_bytes"].get<double>());
  EXPECT_DOUBLE_EQ(j["ratio_vs_int8"].get<double>(),
                   j["int8_bytes"].get<double>() / j["stored_bytes"].get<double>());
  // The DS-CNN and ResNet-8 are not pruned: no all-zero rows, the same ratio without them.
  EXPECT_EQ(j["int8_zero_row_bytes"].get<size_t>(), 0u);
  EXPECT_DOUBLE_EQ(j["ratio_vs_int8_without_zero_rows"].get<double>(), j["ratio_vs_int8"].get<double>());
  // Every encodable layer is encoded, so the weights shrink well below int8.
  EXPECT_GT(j["ratio_vs_int8"].get<double>(), 2.0);
  EXPECT_GT(j["ratio_vs_fp32"].get<double>(), 8.0);
  ASSERT_EQ(j["codebooks"].size(), 2u);
  EXPECT_EQ(j["codebooks"][0]["kind"], "kernel3x3");
  EXPECT_EQ(j["codebooks"][0]["subvector"], 9);
  EXPECT_EQ(j["codebooks"][1]["kind"], "row");
  EXPECT_EQ(j["codebooks"][1]["subvector"], 8);
  ASSERT_EQ(j["models"].size(), 2u);
  EXPECT_EQ(j["models"][0]["name"], "kws");
  EXPECT_EQ(j["models"][1]["name"], "resnet8");
  for (const auto& m : j["models"]) {
    EXPECT_EQ(m["metric"], "top1");
    EXPECT_GE(m["before"].get<double>(), 0.0);
    EXPECT_LE(m["after"].get<double>(), 1.0);
    size_t encoded = 0;
    for (const auto& layer : m["layers"]) {
      if (layer["encoded"].get<bool>()) ++encoded;
      if (layer["op"] == "DEPTHWISE_CONV_2D") {
        EXPECT_FALSE(layer["encoded"].get<bool>());
      }
    }
    EXPECT_GT(encoded, 0u);
  }
}

TEST_F(Compress, BundleModelsRunInEvalAndRun) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  const auto r = run_frugal("eval " +
                            q(bundle_->string() + "#kws") + " --data kws01 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  EXPECT_EQ(j["count"], 200);
  // A bundle of two models needs the name.
  const auto ambiguous = run_frugal("eval " + q(*bundle_) + " --data kws01");
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.err.find("kws, resnet8"), std::string::npos) << ambiguous.err;
  const auto unknown = run_frugal("eval " + q(bundle_->string() + "#nope") + " --data kws01");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("pick one"), std::string::npos) << unknown.err;
}

// One model of a bundle: its encoded layers run the codebook kernels, which are not skipping
// kernels (`skipping_layers` counted them as such before).
TEST_F(Compress, OneBundleModelHasNoSkippingLayers) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  const fs::path out = *dir_ / "one_model";
  const auto r = run_frugal("generate " + q(bundle_->string() + "#kws") + " --board nucleo-f446re --json -o " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  EXPECT_EQ(j["skipping_layers"], 0);
  EXPECT_NE(frugal::testing::slurp(out / "model.cc").find("kc::pq_"), std::string::npos);
}

TEST_F(Compress, GenerateWritesOneFirmwareWithEveryModel) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  const fs::path out = *dir_ / "fw";
  const auto r = run_frugal("generate " + q(*bundle_) + " --board nucleo-f446re -o " + q(out) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  ASSERT_EQ(j["models"].size(), 2u);
  EXPECT_EQ(j["models"][1]["name"], "resnet8");
  for (const char* file : {"frugal_model.h", "bundle.cc", "model_0.cc", "model_1.cc", "Makefile"}) {
    EXPECT_TRUE(fs::exists(out / file)) << file;
  }
  // Encoded layers compute from the shared codebooks, defined once in bundle.cc.
  const std::string model = frugal::testing::slurp(out / "model_1.cc");
  EXPECT_NE(model.find("kc::pq_conv2d_"), std::string::npos);
  EXPECT_NE(model.find("frugal_pq_codebook_0"), std::string::npos);
  EXPECT_NE(frugal::testing::slurp(out / "bundle.cc").find("const int16_t frugal_pq_codebook_0["), std::string::npos);
  const std::string header = frugal::testing::slurp(out / "frugal_model.h");
  EXPECT_NE(header.find("#define FRUGAL_NUM_MODELS 2"), std::string::npos);
  EXPECT_NE(header.find("#define FRUGAL_MODEL_RESNET8 1"), std::string::npos);
  EXPECT_NE(header.find("int frugal_select(int model);"), std::string::npos);
}

TEST_F(Compress, BenchRunsEveryModelBitExactAndSwitchesForAlmostNothing) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  // Every encoded layer runs from codebook + indices (each layer's cheaper form).
  const auto r = run_frugal("bench " + q(*bundle_) +
                            " --board nucleo-f446re -n 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  EXPECT_TRUE(j["bit_exact"].get<bool>());
  ASSERT_EQ(j["models"].size(), 2u);
  for (const auto& m : j["models"]) {
    EXPECT_TRUE(m["bit_exact"].get<bool>()) << m["name"];
    EXPECT_EQ(m["outputs_equal"], 2);
    EXPECT_EQ(m["switch"]["bytes_copied"], 0);
    EXPECT_GT(m["switch"]["instructions"].get<uint64_t>(), 0u);
    EXPECT_LT(m["switch"]["instructions"].get<uint64_t>(), 100u);
    EXPECT_LT(m["switch"]["fraction_of_inference"].get<double>(), 0.01);
    EXPECT_GT(m["load_from_external_storage"]["SD card over SPI (25 MHz)"]["cycles"].get<uint64_t>(),
              m["switch"]["cycles_estimate"].get<uint64_t>());
  }
}

TEST_F(Compress, EveryProductQuantizedKernelFormIsBitExactUnderQemu) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  for (const char* form : {"table", "direct"}) {
    const auto r = run_frugal("bench " + q(*bundle_) + " --board nucleo-f446re -n 1 --pq-kernel " + form + " --json");
    ASSERT_EQ(r.exit_code, 0) << form << "\n" << r.err;
    EXPECT_TRUE(nlohmann::json::parse(last_line(r.out))["bit_exact"].get<bool>()) << form;
  }
}

TEST_F(Compress, ThreeByThreeFiltersCutIntoRowsRunBitExactUnderQemu) {
  // --kernel-subvector 2: the ResNet-8's 3x3 filters as OHWI rows cut in pairs (row layout of the
  // 3x3 codebook), every encodable layer encoded; both kernel forms against the host.
  const fs::path out = *dir_ / "rows.frugal";
  const auto r = run_frugal("compress " + q(kResnet) + " --names resnet8 --kernel-subvector 2 --subvector 4 "
                            "--max-accuracy-loss 1 --no-recovery --json -o " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  ASSERT_EQ(j["codebooks"].size(), 2u);
  EXPECT_EQ(j["codebooks"][0]["kind"], "kernel3x3");
  EXPECT_EQ(j["codebooks"][0]["subvector"], 2);
  for (const char* form : {"table", "direct"}) {
    const auto b = run_frugal("bench " + q(out) + " --board nucleo-f446re -n 1 --pq-kernel " + form + " --json");
    ASSERT_EQ(b.exit_code, 0) << form << "\n" << b.err;
    EXPECT_TRUE(nlohmann::json::parse(last_line(b.out))["bit_exact"].get<bool>()) << form;
  }
}

TEST_F(Compress, FinerCodebooksTakeTheLayersTheFirstCannotAndRunBitExactUnderQemu) {
  // Row codebooks of d = 32 and a finer d = 16, 3x3 rows of 4 and a finer 3: the ResNet-8's 1x1
  // conv over 16 channels (rows of 16) only fits the finer row codebook, its stem (3x3x3 rows of
  // 27) only the finer 3x3 one; every other layer takes the first. Both kernel forms run the
  // four codebooks bit-exactly against the host.
  const fs::path out = *dir_ / "tiers.frugal";
  const auto r = run_frugal("compress " + q(kResnet) + " --names resnet8 --subvector 32 --fine-subvector 16 "
                            "--codewords 16 --kernel-subvector 4 --fine-kernel-subvector 3 --max-accuracy-loss 1 "
                            "--no-recovery --json -o " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  ASSERT_EQ(j["codebooks"].size(), 4u);
  std::map<std::string, int> d;
  for (const auto& l : j["models"][0]["layers"]) {
    EXPECT_TRUE(l["encoded"].get<bool>()) << l["tensor"];
    d[l["tensor"].get<std::string>()] = l.value("subvector", 0);
  }
  EXPECT_EQ(d["model/conv2d/Conv2D"], 3);
  EXPECT_EQ(d["model/conv2d_1/Conv2D"], 4);
  EXPECT_EQ(d["model/conv2d_5/Conv2D"], 16);
  EXPECT_EQ(d["model/conv2d_8/Conv2D"], 32);
  for (const char* form : {"table", "direct"}) {
    const auto b = run_frugal("bench " + q(out) + " --board nucleo-f446re -n 1 --pq-kernel " + form + " --json");
    ASSERT_EQ(b.exit_code, 0) << form << "\n" << b.err;
    EXPECT_TRUE(nlohmann::json::parse(last_line(b.out))["bit_exact"].get<bool>()) << form;
  }
  const auto same = run_frugal("compress " + q(kKws) + " --subvector 4 --fine-subvector 4 -o " + q(*dir_ / "no.frugal"));
  EXPECT_NE(same.exit_code, 0);
  EXPECT_NE(same.err.find("the finer row codebook needs a d other than the row codebook's 4"), std::string::npos)
      << same.err;
}

TEST_F(Compress, ABundleTooBigForTheBoardIsRefusedAndWritesNothing) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  // Decoded int8 weights of both models (~110 KB) plus code do not fit the 128 KB Nucleo-G431RB.
  const fs::path out = *dir_ / "too_big";
  const auto r = run_frugal("generate " + q(*bundle_) + " --board nucleo-g431rb --pq-kernel decoded -o " + q(out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: the bundle's 2 models do not fit nucleo-g431rb: flash needs"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Compress, LeaveOneOutLearnsTheCodebooksWithoutThatModel) {
  const fs::path out = *dir_ / "loo.frugal";
  const auto r = run_frugal("compress " + q(kKws) +
                            " " + q(kResnet) + " --names kws resnet8 --leave-out kws --no-recovery --json -o " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  EXPECT_EQ(j["codebooks_learnt_without"], "kws");
  EXPECT_TRUE(fs::exists(out));
}

// --search-codebooks tries each (d, K) of the row codebook, then of the 3x3 codebook with the
// row winner (the start's 3x3 shape is not tried twice), and compresses with the trial that
// stores the fewest bytes: the same bundle that trial measured, as nothing random differs.
TEST_F(Compress, CodebookSearchKeepsTheSmallestTrial) {
  const fs::path out = *dir_ / "search.frugal";
  const auto r = run_frugal("compress " + q(kKws) + " " + q(kResnet) +
                            " --names kws resnet8 --search-codebooks --no-recovery --json -o " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  const auto& trials = j["codebook_search"]["trials"];
  ASSERT_EQ(trials.size(), 9u);
  const size_t chosen = j["codebook_search"]["chosen"].get<size_t>();
  ASSERT_LT(chosen, trials.size());
  for (const auto& t : trials) EXPECT_GE(t["stored_bytes"].get<size_t>(), trials[chosen]["stored_bytes"].get<size_t>());
  // The row pass keeps the 3x3 codebook as given (whole kernels, 256 codewords).
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(trials[k]["kernel"]["subvector"], 9);
    EXPECT_EQ(trials[k]["kernel"]["codewords"], 256);
  }
  EXPECT_EQ(j["stored_bytes"], trials[chosen]["stored_bytes"]);
  for (const auto& book : j["codebooks"]) {
    const auto& want = trials[chosen][book["kind"] == "row" ? "row" : "kernel"];
    EXPECT_EQ(book["subvector"], want["subvector"]) << book.dump();
    EXPECT_EQ(book["codewords"], want["codewords"]) << book.dump();
  }
  EXPECT_NE(r.err.find("codebook search: row d = 2 K = 256"), std::string::npos) << r.err;
  const auto both = run_frugal("compress " + q(kKws) + " --search-codebooks --subvector 4 -o " + q(*dir_ / "no.frugal"));
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  EXPECT_FALSE(fs::exists(*dir_ / "no.frugal"));
}

// --bound agreement: the bound is on 1 - agreement with the original model, which the JSON
// reports per model and which every model ends within.
TEST_F(Compress, AgreementBoundHoldsPerModel) {
  const fs::path out = *dir_ / "agree.frugal";
  const auto r = run_frugal("compress " + q(kKws) + " " + q(kResnet) +
                            " --names kws resnet8 --bound agreement --max-accuracy-loss 0.05 --no-recovery --json -o " +
                            q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  EXPECT_EQ(j["bound"], "agreement");
  for (const auto& m : j["models"]) {
    EXPECT_EQ(m["bound_metric"], "top1_agreement") << m["name"];
    EXPECT_GE(m["bound_after"].get<double>(), 0.95 - 1e-12) << m["name"];
    EXPECT_LE(m["bound_after"].get<double>(), 1.0) << m["name"];
  }
  const auto bad = run_frugal("compress " + q(kKws) + " --bound labels -o " + q(*dir_ / "no.frugal"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--bound"), std::string::npos) << bad.err;
}

TEST(CompressRecovery, JointRoundsFineTuneEveryLayerAndReport) {
  use_fixtures();
  const fs::path dir = fs::temp_directory_path() / ("frugal_compress_joint_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto r = run_frugal("compress " + q(kKws) + " --joint-rounds 1 --epochs 1 --recovery-attempts 1 --json -o " +
                            q(dir / "joint.frugal"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("joint: round 1 tuning 10 layers"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("recovery round 1"), std::string::npos) << r.err;
  // Over the bound, layers go back to int8 one at a time until it fits or none is left.
  EXPECT_TRUE(r.err.find("back to int8") != std::string::npos || r.err.find("joint: kept") != std::string::npos)
      << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  EXPECT_EQ(j["models"].size(), 1u);
  EXPECT_TRUE(fs::exists(dir / "joint.frugal"));
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

// By default joint recovery chooses its rounds by their fidelity to the original model on the
// tuning inputs, which the log and the JSON show next to each round's validation score
// (--choose-rounds-on validation: by the validation score alone); --give-back-steps lets several
// layers step back at once; a layer given back to int8 stays at its original weights unless
// --train-given-back (and, when every step loses, the one that lost most per byte in the greedy
// pass unless --give-back-least-loss).
TEST(CompressRecovery, RoundsChosenOnTuningFidelity) {
  use_fixtures();
  const fs::path dir = fs::temp_directory_path() / ("frugal_compress_fid_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto r = run_frugal("compress " + q(kKws) +
                            " --joint-rounds 2 --epochs 1 --recovery-attempts 0 --give-back-steps 4 --json -o " +
                            q(dir / "fid.frugal"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("joint: round 1 tuning 10 layers"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", tuning fidelity "), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(last_line(r.out));
  ASSERT_EQ(j["models"].size(), 1u);
  const auto& steps = j["models"][0]["joint"]["steps"];
  ASSERT_GE(steps.size(), 3u);  // the start and two rounds at least
  EXPECT_EQ(steps[0]["event"], "start");
  EXPECT_EQ(steps[1]["event"], "round");
  for (const auto& step : steps) {
    EXPECT_TRUE(step.contains("tuning_fidelity")) << step;
    EXPECT_LE(step["encoded_layers"].get<int>(), 10);
  }
  EXPECT_TRUE(fs::exists(dir / "fid.frugal"));
  // A layer given back to int8 keeps its original weights and leaves the training: the rounds
  // after a give-back train that many layers fewer (--train-given-back: all of them again).
  const auto given_back = [](const std::string& log) {
    const size_t end = log.find("after giving back");
    size_t n = 0;
    for (size_t at = log.find("back to int8, its original weights"); at < end;
         at = log.find("back to int8, its original weights", at + 1))
      ++n;
    return n;
  };
  // The fixture's DS-CNN is far over its bound with every layer encoded, so layers are given back.
  const size_t n = given_back(r.err);
  ASSERT_GT(n, 0u) << r.err;
  EXPECT_NE(r.err.find("round 1 tuning " + std::to_string(10 - n) + " layers", r.err.find("after giving back")),
            std::string::npos)
      << r.err;
  const auto t = run_frugal("compress " + q(kKws) +
                            " --joint-rounds 2 --epochs 1 --recovery-attempts 0 --give-back-steps 4 "
                            "--train-given-back --give-back-least-loss --model-learning-rate kws_ref_model_int8=0.05 -o " +
                            q(dir / "trained.frugal"));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.err.find("fine-tuning at learning rate 0.05"), std::string::npos) << t.err;
  EXPECT_EQ(r.err.find("fine-tuning at learning rate"), std::string::npos) << r.err;
  EXPECT_EQ(given_back(t.err), 0u) << t.err;
  // Each step back names what its layer lost in the greedy pass, which orders the steps when all
  // of them lose; --give-back-least-loss orders those by the loss weighed now and does not.
  EXPECT_NE(r.err.find("in the greedy pass)"), std::string::npos) << r.err;
  EXPECT_EQ(t.err.find("in the greedy pass)"), std::string::npos) << t.err;
  ASSERT_NE(t.err.find("after giving back"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("round 1 tuning 10 layers", t.err.find("after giving back")), std::string::npos) << t.err;
  const auto v = run_frugal("compress " + q(kKws) +
                            " --joint-rounds 1 --epochs 1 --recovery-attempts 0 --choose-rounds-on validation --json "
                            "-o " + q(dir / "val.frugal"));
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.err.find("tuning fidelity"), std::string::npos) << v.err;
  EXPECT_FALSE(nlohmann::json::parse(last_line(v.out))["models"][0]["joint"]["steps"][0].contains("tuning_fidelity"));
  for (const std::string bad : {"--choose-rounds-on evaluation", "--give-back-steps 0"}) {
    const auto e = run_frugal("compress " + q(kKws) + " " + bad + " -o " + q(dir / "no.frugal"));
    EXPECT_EQ(e.exit_code, 2) << bad;
    EXPECT_NE(e.err.find(bad.substr(0, bad.find(' '))), std::string::npos) << e.err;
  }
  EXPECT_FALSE(fs::exists(dir / "no.frugal"));
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

// --joint-models: only the named models get the joint rounds; the others keep the greedy choice.
TEST(CompressRecovery, JointModelsLimitsTheJointRoundsToThoseModels) {
  use_fixtures();
  const fs::path dir = fs::temp_directory_path() / ("frugal_compress_jointm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto r = run_frugal("compress " + q(kKws) + " " + q(kResnet) +
                            " --names kws resnet8 --joint-rounds 1 --epochs 1 --recovery-attempts 0 --joint-models kws "
                            "--json -o " + q(dir / "jm.frugal"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One joint start ("joint: all N encodable layers encoded"), kws's: it comes before resnet8's
  // first line.
  const size_t start = r.err.find("joint: all ");
  ASSERT_NE(start, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("joint: all ", start + 1), std::string::npos) << r.err;
  EXPECT_LT(start, r.err.find("resnet8: validation")) << r.err;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

TEST(CompressErrors, BadArgumentsAreOneLineErrorsAndWriteNothing) {
  use_fixtures();
  const fs::path dir = fs::temp_directory_path() / ("frugal_compress_err_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / "out.frugal";
  struct Case {
    std::string args, message;
  };
  const fs::path not_a_model = dir / "junk.tflite";
  std::ofstream(not_a_model) << "definitely not a flatbuffer";
  const Case cases[] = {
      {"compress " + q(dir / "missing.tflite") + " -o " + q(out), "cannot open model"},
      {"compress " + q(kKws) + " " + q(kResnet) + " --names one -o " + q(out), "--names gives 1 names for 2 models"},
      {"compress " + q(kKws) + " " + q(kKws) + " -o " + q(out), "two models are named"},
      {"compress " + q(kKws) + " " + q(kResnet) + " --leave-out nobody -o " + q(out), "no model named 'nobody'"},
      {"compress " + q(kKws) + " --joint-rounds 1 --joint-models nobody -o " + q(out),
       "--joint-models: no model named 'nobody'"},
      {"compress " + q(kKws) + " --model-learning-rate nobody=0.01 -o " + q(out),
       "--model-learning-rate: no model named 'nobody'"},
      {"compress " + q(kKws) + " --model-learning-rate kws_ref_model_int8=-1 -o " + q(out),
       "--model-learning-rate: the rate of 'kws_ref_model_int8' must be a positive number, got '-1'"},
      {"compress " + q(kKws) + " --model-learning-rate 0.01 -o " + q(out),
       "--model-learning-rate: expected NAME=RATE, got '0.01'"},
      {"compress " + q(kKws) + " --data cifar10 -o " + q(out), "cifar10"},
      {"compress " + q(not_a_model) + " -o " + q(out), "error: "},
  };
  for (const Case& c : cases) {
    const auto r = run_frugal(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.find("error: "), r.err.rfind("error: ")) << "one error line\n" << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
  // A corrupt bundle is refused where a model is expected.
  const fs::path bundle = dir / "good.frugal";
  const auto made = run_frugal("compress " + q(kKws) +
                               " --max-accuracy-loss 1 --no-recovery -o " + q(bundle));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string bytes = frugal::testing::slurp(bundle);
  bytes.resize(bytes.size() / 2);
  const fs::path truncated = dir / "truncated.frugal";
  std::ofstream(truncated, std::ios::binary) << bytes;
  const auto r = run_frugal("inspect " + q(truncated));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bundle"), std::string::npos) << r.err;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

}  // namespace
