// Skipping on the MLPerf Tiny ResNet-8 (CIFAR-10): the transform at 0% is the identity, accuracy
// falls as uniform skipping grows, and the two significance measures are compared (printed).
// Calibration uses the CIFAR-10 training batches when the shared data set is present; the bundled
// fixtures only hold 200 test images, and then the last 50 of them calibrate (printed).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "approx/significance.h"
#include "approx/skipping.h"
#include "data/eval_set.h"
#include "data/metrics.h"
#include "data/readers.h"
#include "import/tflite/tflite_importer.h"
#include "runtime/interpreter.h"

namespace frugal::approx {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  data::DataRoot root;
  ir::Graph graph;
  std::vector<uint8_t> calibration;  // prepared inputs back to back
  size_t calibration_images = 0;
  data::EvalSet test;
};

std::vector<uint8_t> prepare_images(const data::ImageSet& images, const ir::Tensor& input, size_t begin, size_t end) {
  std::vector<uint8_t> out((end - begin) * input.num_bytes());
  for (size_t i = begin; i < end; ++i) {
    data::prepare_image(images.image(i), input, {out.data() + (i - begin) * input.num_bytes(), input.num_bytes()});
  }
  return out;
}

// nullopt when no data root with the ResNet-8 model is found.
std::optional<Fixture> load(size_t calibration_images, size_t test_images) {
  Fixture f;
  try {
    f.root = data::find_data_root();
  } catch (const ir::Error&) {
    return std::nullopt;
  }
  const fs::path model = f.root.path / "mlperf_tiny" / "image_classification" / "pretrainedResnet_quant.tflite";
  if (!fs::exists(model)) return std::nullopt;
  f.graph = import::import_tflite_file(model);
  const ir::Tensor& input = f.graph.tensor(f.graph.inputs[0]);
  f.test = data::load_eval_set(data::Dataset::kCifar10, f.root, input, test_images);
  if (fs::exists(f.root.path / "cifar10" / "data_batch_1.bin")) {
    const data::ImageSet train = data::read_cifar10_train(f.root, calibration_images);
    f.calibration = prepare_images(train, input, 0, train.size());
    f.calibration_images = train.size();
    std::printf("%s; calibration: %zu training images\n", f.root.describe().c_str(), f.calibration_images);
  } else {
    const data::ImageSet all = data::read_cifar10_test(f.root);
    const size_t begin = all.size() > calibration_images ? all.size() - calibration_images : 0;
    f.calibration = prepare_images(all, input, begin, all.size());
    f.calibration_images = all.size() - begin;
    std::printf("%s; no training batches: calibration on the last %zu test images\n", f.root.describe().c_str(),
                f.calibration_images);
  }
  return f;
}

// Top-1 on the eval set, two sessions in parallel.
double top1(const ir::Graph& graph, const data::EvalSet& set) {
  const runtime::CompiledModel model(graph, runtime::KernelSet::kFast);
  const ir::Tensor& out_desc = graph.tensor(graph.outputs[0]);
  std::vector<int32_t> predictions(set.num_samples());
  auto work = [&](size_t begin, size_t end) {
    runtime::Session session(model);
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(session.input(0), set.input(i).data(), set.input_bytes);
      session.invoke();
      predictions[i] = static_cast<int32_t>(data::argmax(out_desc.type, {session.output(0), model.output_bytes(0)}));
    }
  };
  const size_t half = set.num_samples() / 2;
  std::thread second(work, half, set.num_samples());
  work(0, half);
  second.join();
  return data::top1_accuracy(predictions, set.labels);
}

std::vector<uint8_t> outputs(const ir::Graph& graph, const data::EvalSet& set) {
  const runtime::CompiledModel model(graph, runtime::KernelSet::kFast);
  runtime::Session session(model);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < set.num_samples(); ++i) {
    std::memcpy(session.input(0), set.input(i).data(), set.input_bytes);
    session.invoke();
    out.insert(out.end(), session.output(0), session.output(0) + model.output_bytes(0));
  }
  return out;
}

SignificanceReport analyze(const Fixture& f) {
  const runtime::CompiledModel model(f.graph, runtime::KernelSet::kFast);
  const auto start = std::chrono::steady_clock::now();
  SignificanceReport r = analyze_significance(model, f.calibration, {2});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("significance analysis: %zu images, %zu layers, %.2f s (2 threads)\n", r.images, r.layers.size(),
              seconds);
  return r;
}

TEST(ResNet8Skipping, ZeroPercentIsIdentityAndAccuracyFallsWithSkipping) {
  const std::optional<Fixture> f = load(50, 200);
  if (!f) GTEST_SKIP() << "ResNet-8 model or CIFAR-10 data not found";
  const SignificanceReport r = analyze(*f);
  check_report_matches(r, f->graph);
  EXPECT_FALSE(r.layers[0].approximable);
  const int64_t total_macs = [&] {
    int64_t m = 0;
    for (const ir::Op& op : f->graph.ops) m += ir::macs(f->graph, op);
    return m;
  }();

  const ir::Graph exact = apply_skipping(f->graph, r, uniform_skip(r, 0.0, Measure::kErrorMeasure), true);
  EXPECT_EQ(outputs(exact, f->test), outputs(f->graph, f->test));

  std::vector<double> accuracy;
  for (double fraction : {0.0, 0.3, 0.6, 0.9}) {
    const SkipConfig config = uniform_skip(r, fraction, Measure::kErrorMeasure);
    const ir::Graph g = apply_skipping(f->graph, r, config, false);
    accuracy.push_back(top1(g, f->test));
    std::printf("uniform skip %3.0f%% (error measure, no compensation): Top-1 %.3f on %zu test images, "
                "skipped MACs %lld of %lld\n",
                fraction * 100, accuracy.back(), f->test.num_samples(),
                static_cast<long long>(skipped_macs(f->graph, r, config)), static_cast<long long>(total_macs));
  }
  EXPECT_LT(accuracy.back(), accuracy.front());
}

// Printed only: Top-1 at 30% and 50% uniform skipping for each ranking, with and without
// compensation; calibrated on 1,000 images as in the paper.
TEST(ResNet8Skipping, CompareMeasuresAtThirtyPercent) {
  const std::optional<Fixture> f = load(1000, 500);
  if (!f) GTEST_SKIP() << "ResNet-8 model or CIFAR-10 data not found";
  const SignificanceReport r = analyze(*f);
  std::printf("exact: Top-1 %.3f on %zu test images\n", top1(f->graph, f->test), f->test.num_samples());
  for (double fraction : {0.3, 0.5}) {
    for (Measure m : {Measure::kContributionRatio, Measure::kErrorMeasure, Measure::kResidualError}) {
      for (bool compensate : {false, true}) {
        const ir::Graph g = apply_skipping(f->graph, r, uniform_skip(r, fraction, m), compensate);
        std::printf("%2.0f%% by %-8s %-16s Top-1 %.3f\n", fraction * 100, std::string(to_string(m)).c_str(),
                    compensate ? "compensated" : "not compensated", top1(g, f->test));
      }
      // The paper's granularity: SMLAD pairs of consecutive operands.
      const SkipConfig pairs = uniform_skip(r, fraction, m, 2);
      const ir::Graph g = apply_skipping(f->graph, r, pairs, true);
      std::printf("%2.0f%% by %-8s compensated, pairs Top-1 %.3f (skipped MACs %lld)\n", fraction * 100,
                  std::string(to_string(m)).c_str(), top1(g, f->test),
                  static_cast<long long>(skipped_macs(f->graph, r, pairs)));
    }
  }
}

// Timing of the full calibration (1,000 training images); run with --gtest_also_run_disabled_tests.
TEST(ResNet8Skipping, DISABLED_ThousandImageAnalysisTiming) {
  const std::optional<Fixture> f = load(1000, 1);
  if (!f) GTEST_SKIP() << "ResNet-8 model or CIFAR-10 data not found";
  analyze(*f);
}

}  // namespace
}  // namespace frugal::approx

namespace frugal::approx {
namespace {

// Other models with conv-like layers (depthwise in DS-CNN and MobileNet): the analysis runs, the
// report matches, 0% skipping is the identity and 30% changes some output. Printed: timing and the
// exact vs 30% (error measure, compensated) agreement of the top class.
struct OtherModel {
  const char* file;
  data::Dataset dataset;
};

class OtherModels : public ::testing::TestWithParam<OtherModel> {};

TEST_P(OtherModels, AnalysisAndTransformRun) {
  data::DataRoot root;
  try {
    root = data::find_data_root();
  } catch (const ir::Error&) {
    GTEST_SKIP() << "no data root";
  }
  const fs::path model_file = root.path / GetParam().file;
  if (!fs::exists(model_file)) GTEST_SKIP() << model_file << " not found";
  const ir::Graph graph = import::import_tflite_file(model_file);
  const data::EvalSet set = data::load_eval_set(GetParam().dataset, root, graph.tensor(graph.inputs[0]), 20);
  const std::span<const uint8_t> calibration(set.inputs.data(), set.num_inferences() * set.input_bytes);
  const runtime::CompiledModel model(graph, runtime::KernelSet::kFast);
  const auto start = std::chrono::steady_clock::now();
  const SignificanceReport r = analyze_significance(model, calibration, {2});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  check_report_matches(r, graph);
  const ir::Graph exact = apply_skipping(graph, r, uniform_skip(r, 0.0, Measure::kResidualError), true);
  EXPECT_EQ(outputs(exact, set), outputs(graph, set));
  const ir::Graph approx = apply_skipping(graph, r, uniform_skip(r, 0.3, Measure::kErrorMeasure), true);
  const std::vector<uint8_t> a = outputs(approx, set), e = outputs(graph, set);
  EXPECT_NE(a, e);
  std::printf("%s: %zu layers, %zu inputs analysed in %.2f s\n", GetParam().file, r.layers.size(), r.images, seconds);
}

INSTANTIATE_TEST_SUITE_P(
    Shared, OtherModels,
    ::testing::Values(OtherModel{"mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite", data::Dataset::kKws01},
                      OtherModel{"mlperf_tiny/visual_wake_words/vww_96_int8.tflite", data::Dataset::kVww01},
                      OtherModel{"seed_ataman/LeNet_Cifar10_INT8.tflite", data::Dataset::kCifar10}),
    [](const ::testing::TestParamInfo<OtherModel>& param_info) {
      return std::string(data::to_string(param_info.param.dataset));
    });

}  // namespace
}  // namespace frugal::approx
