// Design-space exploration: the cost model against hand-computed values, the Pareto filter
// against a brute-force dominance check, and on the ATAMAN LeNet (CIFAR-10) the fast search
// against the exhaustive one (the "finds the exhaustive front"), plus the CLI.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "approx/explore.h"
#include "approx/significance.h"
#include "approx/skipping.h"
#include "data/data_root.h"
#include "import/tflite/tflite_importer.h"
#include "runtime/interpreter.h"
#include "support/cli_runner.h"

namespace frugal::approx {
namespace {

namespace fs = std::filesystem;

fs::path shared_data() {
  if (const char* env = std::getenv("FRUGAL_DATA")) return env;
  return fs::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "data";
}

fs::path lenet_path() { return shared_data() / "seed_ataman" / "LeNet_Cifar10_INT8.tflite"; }

bool lenet_available() {
  return fs::exists(lenet_path()) && fs::exists(shared_data() / "cifar10" / "data_batch_2.bin");
}

// ---------------------------------------------------------------------------------------------
// Cost model

ir::Graph lenet() { return import::import_tflite_file(lenet_path()); }

TEST(CostModel, EstimateScalesOnlyTheMacPart) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const ir::Graph g = lenet();
  const InstructionCostModel model = InstructionCostModel::estimate(g);
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const ir::Op& op = g.ops[i];
    const double macs = static_cast<double>(ir::macs(g, op));
    if (op.type == ir::OpType::kConv2D) {
      // D = 1.1 MACs, A = 1.0 MACs, kept MACs at 1.12 the dense price: at f = 0.5 what remains
      // is 0.1 MACs + 0.56 MACs.
      EXPECT_DOUBLE_EQ(model.cost(i, 1.0), 1.1 * macs);
      EXPECT_NEAR(model.cost(i, 0.5), 0.66 * macs, 1e-6 * macs);
      EXPECT_NEAR(model.cost(i, 0.0), 0.1 * macs, 1e-6 * macs);
      EXPECT_NEAR(model.cycles(i, 0.0), 1.5 * 0.1 * macs, 1e-6 * macs);
    } else if (macs == 0.0) {
      EXPECT_DOUBLE_EQ(model.cost(i, 0.0), model.cost(i, 1.0));
    }
  }
}

TEST(CostModel, BenchJsonMatchedByName) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const ir::Graph g = lenet();
  nlohmann::json bench = {{"board", "nucleo-f446re"}, {"layers", nlohmann::json::array()}};
  // Reverse order: matching must go by name, not position.
  for (size_t i = g.ops.size(); i-- > 0;) {
    bench["layers"].push_back({{"name", g.ops[i].name}, {"instructions", 1000.0 * static_cast<double>(i + 1) + 2.0 * static_cast<double>(ir::macs(g, g.ops[i]))},
                               {"cycles_estimate", 3000.0 * static_cast<double>(i + 1)}});
  }
  const InstructionCostModel model = InstructionCostModel::from_bench_json(g, bench.dump(), "nucleo-f446re");
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const double macs = static_cast<double>(ir::macs(g, g.ops[i]));
    const double dense = 1000.0 * static_cast<double>(i + 1) + 2.0 * macs;
    EXPECT_DOUBLE_EQ(model.cost(i, 1.0), dense);
    const double a = g.ops[i].type == ir::OpType::kDepthwiseConv2D ? 3.0 * macs : macs;  // A = k MACs <= D here
    const double remaining = dense - a + 1.12 * 0.25 * a;
    EXPECT_NEAR(model.cost(i, 0.25), remaining, 1e-9 * dense);
    EXPECT_NEAR(model.cycles(i, 0.25), 3000.0 * static_cast<double>(i + 1) * remaining / dense, 1e-6);
  }
  EXPECT_THROW(InstructionCostModel::from_bench_json(g, bench.dump(), "stm32f746g-disco"), ir::Error);
  bench["layers"].erase(bench["layers"].begin());
  EXPECT_THROW(InstructionCostModel::from_bench_json(g, bench.dump(), ""), ir::Error);
  EXPECT_THROW(InstructionCostModel::from_bench_json(g, "{", ""), ir::Error);
}

// A dense layer measured on int16 weights: the skipping kernels (int8 quads) start from the int8
// dense cost, 0.17 instructions per MAC above the measured one; f = 1 keeps the measured cost.
TEST(CostModel, Int16LayersSkipFromTheInt8Cost) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const ir::Graph g = lenet();
  nlohmann::json bench = {{"board", "nucleo-f446re"}, {"layers", nlohmann::json::array()}};
  for (const ir::Op& op : g.ops) {
    const double macs = static_cast<double>(ir::macs(g, op));
    bench["layers"].push_back({{"name", op.name}, {"instructions", 500.0 + 0.9 * macs}, {"cycles_estimate", 1000.0 + 1.8 * macs},
                               {"int16_weights", op.type == ir::OpType::kConv2D}});
  }
  const InstructionCostModel model = InstructionCostModel::from_bench_json(g, bench.dump(), "nucleo-f446re");
  size_t checked = 0;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    if (g.ops[i].type != ir::OpType::kConv2D) continue;
    const double macs = static_cast<double>(ir::macs(g, g.ops[i]));
    // int8 dense 500 + 1.07 MACs, of which A = 1.0 MACs scales with f at 1.12.
    EXPECT_DOUBLE_EQ(model.cost(i, 1.0), 500.0 + 0.9 * macs);
    EXPECT_NEAR(model.cost(i, 0.5), 500.0 + 0.07 * macs + 0.56 * macs, 1e-9 * macs);
    EXPECT_NEAR(model.cost(i, 0.0), 500.0 + 0.07 * macs, 1e-9 * macs);
    ++checked;
  }
  EXPECT_EQ(checked, 3u);  // the LeNet has three convs
}

// ---------------------------------------------------------------------------------------------
// Pareto filter and levels

ExplorePoint make_point(double instructions, size_t correct, std::vector<int32_t> levels) {
  ExplorePoint p;
  p.instructions = instructions;
  p.validation_correct = correct;
  p.levels = std::move(levels);
  return p;
}

bool dominates(const ExplorePoint& q, const ExplorePoint& p) {
  return q.instructions <= p.instructions && q.validation_correct >= p.validation_correct &&
         (q.instructions < p.instructions || q.validation_correct > p.validation_correct);
}

TEST(ParetoFront, MatchesBruteForceDominance) {
  std::vector<ExplorePoint> points;
  uint32_t state = 12345;
  for (int i = 0; i < 200; ++i) {
    state = state * 1103515245u + 12345u;
    const double instr = static_cast<double>((state >> 8) % 50);
    state = state * 1103515245u + 12345u;
    points.push_back(make_point(instr, (state >> 8) % 30, {i}));
  }
  const std::vector<ExplorePoint> front = pareto_front(points);
  // Brute force: non-dominated, and of exact duplicates in (instructions, correct) the smallest levels.
  std::vector<std::vector<int32_t>> expected;
  for (const ExplorePoint& p : points) {
    bool keep = true;
    for (const ExplorePoint& q : points) {
      if (dominates(q, p) || (q.instructions == p.instructions && q.validation_correct == p.validation_correct && q.levels < p.levels)) {
        keep = false;
      }
    }
    if (keep) expected.push_back(p.levels);
  }
  std::vector<std::vector<int32_t>> got;
  for (const ExplorePoint& p : front) got.push_back(p.levels);
  std::sort(expected.begin(), expected.end());
  std::vector<std::vector<int32_t>> got_sorted = got;
  std::sort(got_sorted.begin(), got_sorted.end());
  EXPECT_EQ(got_sorted, expected);
  for (size_t i = 1; i < front.size(); ++i) {
    EXPECT_LT(front[i - 1].instructions, front[i].instructions);
    EXPECT_LT(front[i - 1].validation_correct, front[i].validation_correct);
  }
}

TEST(Levels, NormalizedAndChecked) {
  EXPECT_EQ(normalized_levels({0.5, 0.25}), (std::vector<double>{0.0, 0.25, 0.5}));
  EXPECT_EQ(normalized_levels({0.0, 1.0}), (std::vector<double>{0.0, 1.0}));
  EXPECT_THROW(normalized_levels({0.0, 1.5}), ir::Error);
  EXPECT_THROW(normalized_levels({-0.1}), ir::Error);
  EXPECT_THROW(normalized_levels({0.2, 0.2}), ir::Error);
}

// ---------------------------------------------------------------------------------------------
// LeNet: fast search vs exhaustive

struct LenetFixture {
  ir::Graph graph;
  ExploreSplits splits;
  SignificanceReport report;
};

const LenetFixture& fixture() {
  static const LenetFixture f = [] {
    LenetFixture x;
    x.graph = lenet();
    data::DataRoot root;
    root.path = shared_data();
    root.fixtures = false;
    x.splits = load_explore_splits(data::Dataset::kCifar10, root, x.graph.tensor(x.graph.inputs[0]), 300, 500);
    const runtime::CompiledModel model(x.graph, runtime::KernelSet::kFast);
    x.report = analyze_significance(model, x.splits.calibration.inputs, {2});
    return x;
  }();
  return f;
}

ExploreOptions small_options(bool exhaustive) {
  ExploreOptions o;
  o.levels = {0.0, 0.25, 0.5, 0.75};
  o.exhaustive = exhaustive;
  o.threads = 2;
  return o;
}

TEST(LenetExplore, SplitsAreTheDocumentedOnes) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const LenetFixture& f = fixture();
  EXPECT_EQ(f.splits.calibration.num_samples(), 1000u);
  EXPECT_EQ(f.splits.validation.num_samples(), 300u);
  EXPECT_EQ(f.splits.test.num_samples(), 500u);
  // Validation = the first test records; calibration images come from data_batch_1 (the shared
  // batches are round-robin by class, so labels match; the images must not).
  EXPECT_EQ(f.splits.validation_in_test, 300u);
  EXPECT_EQ(f.splits.validation.labels, std::vector<int32_t>(f.splits.test.labels.begin(), f.splits.test.labels.begin() + 300));
  const size_t bytes = f.splits.validation.input_bytes;
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_NE(std::vector<uint8_t>(f.splits.calibration.inputs.begin() + static_cast<std::ptrdiff_t>(i * bytes),
                                   f.splits.calibration.inputs.begin() + static_cast<std::ptrdiff_t>((i + 1) * bytes)),
              std::vector<uint8_t>(f.splits.validation.inputs.begin() + static_cast<std::ptrdiff_t>(i * bytes),
                                   f.splits.validation.inputs.begin() + static_cast<std::ptrdiff_t>((i + 1) * bytes)))
        << i;
  }
}

TEST(LenetExplore, FastSearchFindsTheExhaustiveFront) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const LenetFixture& f = fixture();
  const InstructionCostModel costs = InstructionCostModel::estimate(f.graph);
  const ExploreResult fast = explore(f.graph, f.report, costs, f.splits.validation, small_options(false));
  const ExploreResult full = explore(f.graph, f.report, costs, f.splits.validation, small_options(true));
  EXPECT_EQ(full.evaluations, 256u);  // 4 levels ^ 4 approximable layers
  EXPECT_EQ(full.search_space, 256u);
  EXPECT_LT(fast.evaluations, full.evaluations);
  std::printf("fast: %zu evaluations, %.2f s; exhaustive: %zu evaluations, %.2f s; front: %zu points\n",
              fast.evaluations, fast.search_seconds, full.evaluations, full.search_seconds, full.pareto.size());
  ASSERT_EQ(fast.pareto.size(), full.pareto.size());
  for (size_t i = 0; i < full.pareto.size(); ++i) {
    EXPECT_EQ(fast.pareto[i].levels, full.pareto[i].levels) << i;
    EXPECT_EQ(fast.pareto[i].validation_correct, full.pareto[i].validation_correct) << i;
    EXPECT_EQ(fast.pareto[i].instructions, full.pareto[i].instructions) << i;
  }
  EXPECT_EQ(fast.baseline.validation_correct, full.baseline.validation_correct);
}

TEST(LenetExplore, FrontIsSortedNonDominatedAndHoldsTheBaseline) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const LenetFixture& f = fixture();
  const InstructionCostModel costs = InstructionCostModel::estimate(f.graph);
  ExploreResult r = explore(f.graph, f.report, costs, f.splits.validation, small_options(false));
  ASSERT_FALSE(r.pareto.empty());
  EXPECT_EQ(r.latency_source, "cost-model");
  EXPECT_EQ(r.layers.size(), 4u);  // LeNet: conv2d_1, conv2d_2, dense, dense_1 (conv2d is the first layer)
  for (size_t i = 1; i < r.pareto.size(); ++i) {
    EXPECT_LT(r.pareto[i - 1].instructions, r.pareto[i].instructions);
    EXPECT_LT(r.pareto[i - 1].validation_correct, r.pareto[i].validation_correct);
  }
  for (const ExplorePoint& p : r.pareto) {
    for (const ExplorePoint& q : r.pareto) EXPECT_FALSE(dominates(q, p));
  }
  // The exact model: on the front, or beaten by a front point that is at least as accurate
  // (bias compensation sometimes gains accuracy) and then not slower.
  EXPECT_EQ(r.baseline.config.layers.size(), 0u);
  EXPECT_EQ(r.baseline.skipped_macs, 0);
  const bool on_front = std::any_of(r.pareto.begin(), r.pareto.end(), [&](const ExplorePoint& p) { return p.levels == r.baseline.levels; });
  const bool beaten = std::any_of(r.pareto.begin(), r.pareto.end(), [&](const ExplorePoint& p) { return dominates(p, r.baseline); });
  EXPECT_TRUE(on_front || beaten);
  EXPECT_LE(r.pareto.back().instructions, r.baseline.instructions);

  const size_t selected = select_point(r, 0.0);
  EXPECT_GE(r.pareto[selected].validation_correct, r.baseline.validation_correct);
  for (size_t i = 0; i < selected; ++i) EXPECT_LT(r.pareto[i].validation_correct, r.baseline.validation_correct);
  EXPECT_LT(r.pareto[selected].instructions, r.baseline.instructions);

  measure_test(r, f.graph, f.report, f.splits.test, small_options(false));
  ASSERT_TRUE(r.baseline.test_correct.has_value());
  // Independent recount of one point's test Top-1.
  const ir::Graph g = apply_skipping(f.graph, f.report, r.pareto[selected].config, true);
  EXPECT_EQ(*r.pareto[selected].test_correct, count_correct(g, f.splits.test, 1));
  EXPECT_EQ(*r.baseline.test_correct, count_correct(f.graph, f.splits.test, 1));
}

TEST(LenetExplore, RefusesModelsWithoutApproximableLayers) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const LenetFixture& f = fixture();
  SignificanceReport report = f.report;
  for (LayerSignificance& l : report.layers) l.approximable = false;
  const InstructionCostModel costs = InstructionCostModel::estimate(f.graph);
  try {
    explore(f.graph, report, costs, f.splits.validation, small_options(false));
    FAIL() << "expected ir::Error";
  } catch (const ir::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no approximable layers"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// CLI

using frugal::testing::CliRun;
using frugal::testing::last_line;
using frugal::testing::run_frugal;

TEST(ExploreCli, JsonFieldsAndOutputDirectory) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const fs::path out = fs::temp_directory_path() / ("frugal_explore_out_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const CliRun r = run_frugal("explore \"" + lenet_path().string() +
                       "\" --data cifar10 --board nucleo-f446re --levels 0,0.5 --validation 100 --test 200 "
                       "--max-accuracy-loss 0.01 --threads 2 --json -o \"" + out.string() + "\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(last_line(r.out));
  for (const char* key : {"baseline", "pareto", "selected", "latency_source", "layers", "levels", "search"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  // make test installs the Arm toolchain and QEMU, so every point is measured there.
  EXPECT_EQ(j["latency_source"], "qemu");
  for (const char* key : {"top1", "instructions"}) EXPECT_TRUE(j["baseline"].contains(key)) << key;
  ASSERT_FALSE(j["pareto"].empty());
  double previous = -1.0;
  for (const nlohmann::json& p : j["pareto"]) {
    for (const char* key : {"top1", "instructions", "cycles_estimate", "config", "validation_top1", "skipped_macs"}) {
      EXPECT_TRUE(p.contains(key)) << key;
    }
    EXPECT_GT(p["instructions"].get<double>(), previous);
    previous = p["instructions"].get<double>();
    EXPECT_GE(p["top1"].get<double>(), 0.0);
    EXPECT_LE(p["top1"].get<double>(), 1.0);
    EXPECT_EQ(p["config"]["format"], "frugal-skip-config");
    EXPECT_TRUE(p.value("bit_exact", false));
    EXPECT_GT(p.value("flash_bytes", 0), 0);
  }
  EXPECT_GE(j["selected"]["validation_top1"].get<double>(), j["baseline"]["validation_top1"].get<double>() - 0.01 - 1e-9);
  EXPECT_EQ(j["search"]["test_samples"], 200);
  EXPECT_EQ(j["search"]["heldout_samples"], 100);
  EXPECT_TRUE(j["baseline"].contains("heldout_top1"));
  // -o: the front and one loadable config per point.
  EXPECT_TRUE(fs::exists(out / "pareto.json"));
  EXPECT_TRUE(fs::exists(out / "pareto.csv"));
  for (size_t i = 0; i < j["pareto"].size(); ++i) {
    const fs::path point = out / ("point_" + std::to_string(i) + ".json");
    ASSERT_TRUE(fs::exists(point)) << point;
    const SkipConfig config = load_config(point);
    EXPECT_EQ(config.layers.size(), j["pareto"][i]["config"]["layers"].size());
    for (const LayerSkip& s : config.layers) EXPECT_TRUE(s.operands.has_value()) << "point files are resolved";
  }
  EXPECT_TRUE(fs::exists(out / "pareto.html"));
  // The fastest point as firmware: generate --approx needs no data, bench --approx re-measures
  // it bit-exact with the host on real images and with the instructions explore reported.
  const std::string fastest = (out / "point_0.json").string();
  const fs::path firmware = out / "firmware";
  const CliRun generated = run_frugal("generate \"" + lenet_path().string() + "\" --board nucleo-f446re --approx \"" +
                                      fastest + "\" -o \"" + firmware.string() + "\" --json");
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  const nlohmann::json g = nlohmann::json::parse(last_line(generated.out));
  if (j["pareto"][0]["skipped_macs"].get<int64_t>() > 0) {
    EXPECT_GT(g["skipping_layers"].get<int>(), 0);
  }
  const CliRun bench = run_frugal("bench \"" + lenet_path().string() + "\" --board nucleo-f446re --approx \"" + fastest +
                                  "\" --data cifar10 -n 3 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const nlohmann::json b = nlohmann::json::parse(last_line(bench.out));
  EXPECT_TRUE(b["bit_exact"].get<bool>());
  EXPECT_EQ(b["total_instructions"].get<int64_t>(), j["pareto"][0]["instructions"].get<int64_t>());
  fs::remove_all(out);
}

TEST(ExploreCli, BadInputIsOneLineError) {
  if (!lenet_available()) GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  const std::string model = "explore \"" + lenet_path().string() + "\" --board nucleo-f446re ";
  struct Case {
    std::string args, message;
  };
  for (const Case& c : {Case{"--data imagenet", "unknown data set 'imagenet'"},
                        Case{"--data cifar10 --levels 0,1.5", "outside [0, 1]"},
                        Case{"--data cifar10 --levels 0,-0.1", "outside [0, 1]"},
                        Case{"--data cifar10 --levels 0,x", "not a number"},
                        Case{"--data ad01", "no Top-1"},
                        Case{"--data cifar10 --costs /nonexistent/bench.json", "cost file"}}) {
    const CliRun r = run_frugal(model + c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args;
    EXPECT_TRUE(r.out.empty()) << c.args;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace frugal::approx
