// Skip selection, the weight-zeroing transform and config validation on the hand-built graphs.
// The statistics they rank by are the hand-computed ones of significance_test.cpp.
#include "approx/skipping.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "test_graphs.h"

namespace frugal::approx {
namespace {

using testing::bytes_of;

const std::vector<int8_t> kFcInputs = {0, 1, 2, 0, 3, 0};
const std::vector<int8_t> kConvInputs = {0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1};

// Inputs the transformed graphs are run on: spread over the int8 range.
std::vector<int8_t> probe_inputs(size_t count) {
  std::vector<int8_t> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = static_cast<int8_t>(static_cast<int>((i * 37 + 11) % 256) - 128);
  return v;
}

// The report with its only layer made approximable (it is the first layer, off by default).
SignificanceReport approximable_report(const ir::Graph& graph, const std::vector<int8_t>& inputs) {
  runtime::CompiledModel model(graph, runtime::KernelSet::kReference);
  SignificanceReport r = analyze_significance(model, bytes_of(inputs), {1});
  r.layers[0].approximable = true;
  return r;
}

SkipConfig one_layer(const std::string& name, int64_t count, Measure measure) {
  return SkipConfig{{LayerSkip{name, std::nullopt, count, measure}}};
}

std::vector<int8_t> weights_of(const ir::Graph& g, size_t op = 0) {
  const ir::Tensor& t = g.tensor(g.ops[op].inputs[1]);
  return {t.data_as<int8_t>(), t.data_as<int8_t>() + t.num_elements()};
}

std::vector<int32_t> bias_of(const ir::Graph& g, size_t op = 0) {
  const ir::Tensor& t = g.tensor(g.ops[op].inputs.at(2));
  return {t.data_as<int32_t>(), t.data_as<int32_t>() + t.num_elements()};
}

void set_weights(ir::Graph& g, const std::vector<int8_t>& w) {
  std::memcpy(g.tensor(g.ops[0].inputs[1]).data.data(), w.data(), w.size());
}

void set_bias(ir::Graph& g, const std::vector<int32_t>& b) {
  std::memcpy(g.tensor(g.ops[0].inputs[2]).data.data(), b.data(), b.size() * sizeof(int32_t));
}

TEST(SkipSelection, RanksByEachMeasureWithTiesToTheLowerIndex) {
  const ir::Graph g = testing::fc_graph();
  const SignificanceReport r = approximable_report(g, kFcInputs);
  // Ratios [3/8, 2/3, 7/24 | 0, 19/15, 16/45]: the three smallest are operands 3, 2, 5.
  EXPECT_EQ(select_skipped(g, r, one_layer("fc", 3, Measure::kContributionRatio))[0].operands,
            (std::vector<int64_t>{2, 3, 5}));
  // Errors [9, 40, 5 | 0, 360, 20]: 3 then 2.
  EXPECT_EQ(select_skipped(g, r, one_layer("fc", 2, Measure::kErrorMeasure))[0].operands,
            (std::vector<int64_t>{2, 3}));
  // Residuals error - (M mean)^2 = [9-9, 40-36, 5-4 | 0, 360-324, 20-16] = [0, 4, 1 | 0, 36, 4]:
  // 0 and 3 tie at 0, then 2 (1) ; 1 and 5 tie at 4, the lower index first.
  EXPECT_EQ(select_skipped(g, r, one_layer("fc", 2, Measure::kResidualError))[0].operands,
            (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(select_skipped(g, r, one_layer("fc", 4, Measure::kResidualError))[0].operands,
            (std::vector<int64_t>{0, 1, 2, 3}));
  // A fraction rounds to the nearest count: 0.5 of 6 = 3.
  const SkipConfig half{{LayerSkip{"fc", 0.5, std::nullopt, Measure::kContributionRatio}}};
  EXPECT_EQ(select_skipped(g, r, half)[0].operands, (std::vector<int64_t>{2, 3, 5}));
}

TEST(ApplySkipping, ZeroedWeightsEqualTheGraphWithoutThoseTerms) {
  const ir::Graph g = testing::fc_graph();
  const SignificanceReport r = approximable_report(g, kFcInputs);
  const ir::Graph skipped = apply_skipping(g, r, one_layer("fc", 3, Measure::kContributionRatio), false);
  // Operands 2, 3, 5 = W[0][2], W[1][0], W[1][2].
  EXPECT_EQ(weights_of(skipped), (std::vector<int8_t>{3, 2, 0, 0, 3, 0}));
  EXPECT_EQ(bias_of(skipped), (std::vector<int32_t>{2, -4}));
  EXPECT_EQ(weights_of(g), (std::vector<int8_t>{3, 2, -1, 0, 3, 1}));  // the input is untouched
  ir::Graph by_hand = testing::fc_graph();
  set_weights(by_hand, {3, 2, 0, 0, 3, 0});
  const std::vector<int8_t> probes = probe_inputs(3 * 200);
  EXPECT_EQ(testing::run_all(skipped, probes), testing::run_all(by_hand, probes));
  EXPECT_NE(testing::run_all(skipped, probes), testing::run_all(g, probes));
}

TEST(ApplySkipping, CompensationMovesTheBiasByTheRoundedMean) {
  const ir::Graph g = testing::fc_graph();
  const SignificanceReport r = approximable_report(g, kFcInputs);
  const ir::Graph skipped = apply_skipping(g, r, one_layer("fc", 3, Measure::kContributionRatio), true);
  // Mean contributions of the skipped operands: channel 0: -2 (operand 2); channel 1: 0 + 2.
  EXPECT_EQ(bias_of(skipped), (std::vector<int32_t>{2 - 2, -4 + 2}));
  ir::Graph by_hand = testing::fc_graph();
  set_weights(by_hand, {3, 2, 0, 0, 3, 0});
  set_bias(by_hand, {0, -2});
  const std::vector<int8_t> probes = probe_inputs(3 * 200);
  EXPECT_EQ(testing::run_all(skipped, probes), testing::run_all(by_hand, probes));
}

TEST(ApplySkipping, CompensationAddsABiasWhereThereIsNone) {
  ir::Graph g = testing::fc_graph();
  g.ops[0].inputs[2] = -1;
  runtime::CompiledModel model(g, runtime::KernelSet::kReference);
  SignificanceReport r = analyze_significance(model, bytes_of(kFcInputs), {1});
  r.layers[0].approximable = true;
  // Without the bias, channel 0's accumulators change but its mean contributions do not:
  // operand 2 (mean -2) is still the least significant by error (5 vs 9 and 40).
  const ir::Graph skipped = apply_skipping(g, r, one_layer("fc", 2, Measure::kErrorMeasure), true);
  EXPECT_EQ(bias_of(skipped), (std::vector<int32_t>{-2, 0}));  // operands 2 and 3 (mean 0)
  EXPECT_NO_THROW(runtime::CompiledModel(skipped, runtime::KernelSet::kReference));
}

TEST(ApplySkipping, ConvLayoutAndSkippedMacs) {
  const ir::Graph g = testing::conv_graph();
  const SignificanceReport r = approximable_report(g, kConvInputs);
  // By error: channel 1's seven zero weights (operands 10..16, error 0), then channel 0's corner
  // taps (4/18 each; (0,0) = operand 0 and (0,2) = operand 2 before (2,0) and (2,2) by index).
  const SkipConfig config = one_layer("conv", 9, Measure::kErrorMeasure);
  EXPECT_EQ(select_skipped(g, r, config)[0].operands, (std::vector<int64_t>{0, 2, 10, 11, 12, 13, 14, 15, 16}));
  const ir::Graph skipped = apply_skipping(g, r, config, false);
  ir::Graph by_hand = testing::conv_graph();
  std::vector<int8_t> w = weights_of(by_hand);
  w[0] = 0;
  w[2] = 0;
  set_weights(by_hand, w);
  EXPECT_EQ(weights_of(skipped), w);
  const std::vector<int8_t> probes = probe_inputs(9 * 100);
  EXPECT_EQ(testing::run_all(skipped, probes), testing::run_all(by_hand, probes));
  // 9 operands, each once per output pixel (3 x 3).
  EXPECT_EQ(skipped_macs(g, r, config), 81);
  EXPECT_EQ(skipped_macs(g, r, SkipConfig{}), 0);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SkipConfigValidation, NamesTheProblem) {
  const ir::Graph g = testing::fc_graph();
  runtime::CompiledModel model(g, runtime::KernelSet::kReference);
  const SignificanceReport first_layer_off = analyze_significance(model, bytes_of(kFcInputs), {1});
  const SignificanceReport r = approximable_report(g, kFcInputs);
  auto error = [&](const SignificanceReport& report, const SkipConfig& c) {
    return error_of([&] { validate_config(g, report, c); });
  };
  EXPECT_EQ(error(r, one_layer("conv9", 1, Measure::kErrorMeasure)),
            "skip config: 'conv9' is not a conv/depthwise/FC layer of model 'fc'");
  EXPECT_EQ(error(first_layer_off, one_layer("fc", 1, Measure::kErrorMeasure)),
            "skip config: layer 'fc' is not approximable");
  EXPECT_EQ(error(r, SkipConfig{{LayerSkip{"fc", 1.5, std::nullopt, Measure::kErrorMeasure}}}),
            "skip config: layer 'fc' has fraction 1.5 outside [0, 1]");
  EXPECT_EQ(error(r, SkipConfig{{LayerSkip{"fc", -0.1, std::nullopt, Measure::kErrorMeasure}}}),
            "skip config: layer 'fc' has fraction -0.1 outside [0, 1]");
  EXPECT_EQ(error(r, one_layer("fc", 7, Measure::kErrorMeasure)), "skip config: layer 'fc' has count 7 outside [0, 6]");
  EXPECT_EQ(error(r, SkipConfig{{LayerSkip{"fc", 0.5, 2, Measure::kErrorMeasure}}}),
            "skip config: layer 'fc' needs exactly one of a fraction, a count and operands");
  EXPECT_EQ(error(r, SkipConfig{{LayerSkip{"fc", std::nullopt, std::nullopt, Measure::kErrorMeasure}}}),
            "skip config: layer 'fc' needs exactly one of a fraction, a count and operands");
  const SkipConfig twice{{LayerSkip{"fc", 0.5, std::nullopt, Measure::kErrorMeasure},
                          LayerSkip{"fc", 0.2, std::nullopt, Measure::kErrorMeasure}}};
  EXPECT_EQ(error(r, twice), "skip config: layer 'fc' is listed twice");
  // A report of another graph is refused before the config is looked at.
  EXPECT_NE(error_of([&] { apply_skipping(testing::conv_graph(), r, SkipConfig{}, false); }).find("'conv'"),
            std::string::npos);
  EXPECT_NO_THROW(validate_config(g, r, one_layer("fc", 6, Measure::kContributionRatio)));
}

TEST(SkipConfig, UniformCoversApproximableLayersAndMeasuresParse) {
  SignificanceReport r;
  r.layers.resize(3);
  r.layers[0].name = "a";
  r.layers[0].approximable = false;
  r.layers[1].name = "b";
  r.layers[2].name = "c";
  const SkipConfig c = uniform_skip(r, 0.3, Measure::kContributionRatio);
  ASSERT_EQ(c.layers.size(), 2u);
  EXPECT_EQ(c.layers[0].layer, "b");
  EXPECT_EQ(c.layers[1].fraction, 0.3);
  for (Measure m : {Measure::kContributionRatio, Measure::kErrorMeasure, Measure::kResidualError}) {
    EXPECT_EQ(parse_measure(to_string(m)), m);
  }
  EXPECT_FALSE(parse_measure("bogus").has_value());
}

}  // namespace
}  // namespace frugal::approx

namespace frugal::approx {
namespace {

TEST(SkipConfigJson, RoundTripAndErrors) {
  const SkipConfig config{{LayerSkip{"conv_2", 0.3, std::nullopt, Measure::kResidualError},
                           LayerSkip{"fc", std::nullopt, 12, Measure::kContributionRatio}}};
  const std::filesystem::path file = std::filesystem::temp_directory_path() / "frugal_approx_config_test.json";
  save_config(config, file);
  const SkipConfig back = load_config(file);
  std::filesystem::remove(file);
  ASSERT_EQ(back.layers.size(), 2u);
  EXPECT_EQ(back.layers[0].layer, "conv_2");
  EXPECT_EQ(back.layers[0].fraction, 0.3);
  EXPECT_FALSE(back.layers[0].count.has_value());
  EXPECT_EQ(back.layers[0].measure, Measure::kResidualError);
  EXPECT_EQ(back.layers[1].count, 12);
  EXPECT_FALSE(back.layers[1].fraction.has_value());
  EXPECT_EQ(back.layers[1].measure, Measure::kContributionRatio);

  // "measure" defaults to the error measure.
  const SkipConfig defaulted = config_from_json(
      R"({"format": "frugal-skip-config", "version": 1, "layers": [{"layer": "a", "fraction": 0.1}]})");
  EXPECT_EQ(defaulted.layers.at(0).measure, Measure::kErrorMeasure);
  EXPECT_EQ(error_of([] { config_from_json("[1, 2"); }).rfind("skip config is not valid JSON", 0), 0u);
  EXPECT_EQ(error_of([] { config_from_json(R"({"layers": []})"); }),
            "not a skip config (no \"format\": \"frugal-skip-config\")");
  EXPECT_EQ(error_of([] {
              config_from_json(
                  R"({"format": "frugal-skip-config", "version": 1, "layers": [{"layer": "a", "count": 1, "measure": "x"}]})");
            }),
            "skip config entry 0 ('a'): unknown measure 'x' (ratio, error, residual)");
  EXPECT_EQ(error_of([] {
              config_from_json(R"({"format": "frugal-skip-config", "version": 1, "layers": [{"fraction": 0.1}]})");
            }).rfind("skip config entry 0: missing or mistyped field", 0),
            0u);
}

}  // namespace
}  // namespace frugal::approx

namespace frugal::approx {
namespace {

TEST(SkipSelection, GroupsOfConsecutiveOperandsAreSkippedWhole) {
  const ir::Graph g = testing::fc_graph();
  const SignificanceReport r = approximable_report(g, kFcInputs);
  // Errors [9, 40, 5 | 0, 360, 20] in pairs per channel: {0,1} 49, {2} 5, {3,4} 360, {5} 20.
  SkipConfig pairs = one_layer("fc", 3, Measure::kErrorMeasure);
  pairs.layers[0].group = 2;
  // {2}, {5}, then {0,1} would make 4 > 3 and {3,4} too: two operands only.
  EXPECT_EQ(select_skipped(g, r, pairs)[0].operands, (std::vector<int64_t>{2, 5}));
  pairs.layers[0].count = 4;
  EXPECT_EQ(select_skipped(g, r, pairs)[0].operands, (std::vector<int64_t>{0, 1, 2, 5}));

  const ir::Graph conv = testing::conv_graph();
  const SignificanceReport rc = approximable_report(conv, kConvInputs);
  // Channel 0 errors: corners 4/18, edges 6/18, centre 9/18; pairs {0,1} {2,3} {6,7} 10/18,
  // {4,5} 15/18, {8} 4/18. Channel 1: {9,10} 32/9, {11,12} {13,14} {15,16} 0, {17} 8.
  SkipConfig conv_pairs = one_layer("conv", 7, Measure::kErrorMeasure);
  conv_pairs.layers[0].group = 2;
  EXPECT_EQ(select_skipped(conv, rc, conv_pairs)[0].operands, (std::vector<int64_t>{8, 11, 12, 13, 14, 15, 16}));
  EXPECT_EQ(skipped_macs(conv, rc, conv_pairs), 7 * 9);
  conv_pairs.layers[0].count = 6;
  EXPECT_EQ(skipped_macs(conv, rc, conv_pairs), 6 * 9);
  conv_pairs.layers[0].group = 0;
  EXPECT_EQ(error_of([&] { validate_config(conv, rc, conv_pairs); }), "skip config: layer 'conv' has group 0 (must be >= 1)");
}

TEST(SkipConfigJson, GroupRoundTrips) {
  SkipConfig config{{LayerSkip{"a", 0.25, std::nullopt, Measure::kErrorMeasure, 2}}};
  EXPECT_EQ(config_from_json(config_to_json(config)).layers.at(0).group, 2);
  config.layers[0].group = 1;
  EXPECT_EQ(config_to_json(config).find("group"), std::string::npos);
}


// Kernel granularities on the FC 3 -> 2 (errors [9, 40, 5 | 0, 360, 20]).
TEST(SkipSelection, KernelGranularitiesSkipWholeKernelGroups) {
  const ir::Graph g = testing::fc_graph();
  const SignificanceReport r = approximable_report(g, kFcInputs);
  auto select = [&](int64_t count, Granularity granularity) {
    LayerSkip s{"fc", std::nullopt, count, Measure::kErrorMeasure};
    s.granularity = granularity;
    return select_skipped(g, r, SkipConfig{{s}})[0].operands;
  };
  // One quad holds both channels' positions 0-2: all six operands or none.
  EXPECT_EQ(select(5, Granularity::kQuad), (std::vector<int64_t>{}));
  EXPECT_EQ(select(6, Granularity::kQuad), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  // SMLAD pairs per channel: {0, 2} = 14, {1} = 40, {3, 5} = 20, {4} = 360.
  EXPECT_EQ(select(2, Granularity::kSmladPair), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(select(4, Granularity::kSmladPair), (std::vector<int64_t>{0, 2, 3, 5}));
  // Three: {0, 2}, then {3, 5} would exceed the count and is passed over for {1}.
  EXPECT_EQ(select(3, Granularity::kSmladPair), (std::vector<int64_t>{0, 1, 2}));
}

TEST(ResolvedConfig, RoundTripsAndEqualsApplySkipping) {
  const ir::Graph g = testing::conv_graph();
  const SignificanceReport r = approximable_report(g, kConvInputs);
  const SkipConfig config{{LayerSkip{"conv", std::nullopt, 5, Measure::kResidualError}}};
  const SkipConfig resolved = resolve_config(g, r, config, true);
  ASSERT_EQ(resolved.layers.size(), 1u);
  ASSERT_TRUE(resolved.layers[0].operands.has_value());
  EXPECT_EQ(*resolved.layers[0].operands, select_skipped(g, r, config)[0].operands);
  ASSERT_TRUE(resolved.layers[0].bias_delta.has_value());
  EXPECT_EQ(resolved.layers[0].bias_delta->size(), 2u);
  const SkipConfig parsed = config_from_json(config_to_json(resolved));
  EXPECT_EQ(parsed.layers[0].operands, resolved.layers[0].operands);
  EXPECT_EQ(parsed.layers[0].bias_delta, resolved.layers[0].bias_delta);
  const ir::Graph a = apply_resolved(g, parsed), b = apply_skipping(g, r, config, true);
  EXPECT_EQ(weights_of(a), weights_of(b));
  EXPECT_EQ(bias_of(a), bias_of(b));
  const std::vector<int8_t> probe = probe_inputs(9 * 8);
  EXPECT_EQ(testing::run_all(a, probe), testing::run_all(b, probe));
  // Without compensation the bias stays as it was.
  EXPECT_FALSE(resolve_config(g, r, config, false).layers[0].bias_delta.has_value());
}

TEST(ResolvedConfig, ErrorsNameTheProblem) {
  const ir::Graph g = testing::conv_graph();
  auto error = [&](const std::string& json) {
    try {
      apply_resolved(g, config_from_json(json));
    } catch (const ir::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string head = R"({"format": "frugal-skip-config", "version": 1, "layers": [)";
  EXPECT_EQ(error(head + R"({"layer": "nope", "operands": [1]}]})"), "skip config: model 'conv' has no layer 'nope'");
  EXPECT_EQ(error(head + R"({"layer": "conv", "operands": [18]}]})"),
            "skip config: layer 'conv' skips operand 18 outside [0, 18)");
  EXPECT_EQ(error(head + R"({"layer": "conv", "operands": [3, 3]}]})"),
            "skip config: layer 'conv' lists operands out of order or twice (at 3)");
  EXPECT_EQ(error(head + R"({"layer": "conv", "operands": [1], "bias_delta": [1, 2, 3]}]})"),
            "skip config: layer 'conv' has 3 bias deltas for 2 channels");
  EXPECT_NE(error(head + R"({"layer": "conv", "fraction": 0.5}]})").find("is not resolved"), std::string::npos);
  EXPECT_NE(error(head + R"({"layer": "conv", "operands": [1], "granularity": "octet"}]})").find("unknown granularity"),
            std::string::npos);
  EXPECT_EQ(error(head + R"({"layer": "conv", "operands": [1]}, {"layer": "conv", "operands": [2]}]})"),
            "skip config: layer 'conv' is listed twice");
}

}  // namespace
}  // namespace frugal::approx
