// Regression tests for what fuzz_approx_config found in the readers of the approximation files
// (skip configs, significance reports, explore cost files): each must end in ir::Error with a
// one-line message, never in a foreign exception type, a float-to-integer conversion out of range
// (undefined behaviour), a silently wrapped integer or a message broken over lines by a name.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "approx/explore.h"
#include "approx/significance.h"
#include "approx/skipping.h"
#include "import/tflite/tflite_importer.h"

namespace frugal::approx {
namespace {

// The message of the ir::Error `f` throws; "" when it throws nothing. Any other exception type
// escapes and fails the test.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

std::string config(const std::string& layers) {
  return R"({"format": "frugal-skip-config", "version": 1, "layers": [)" + layers + "]}";
}

TEST(SkipConfigFile, AFormatThatIsNotAStringIsNotASkipConfig) {
  // Was nlohmann::json::type_error ("type must be string, but is number"), not ir::Error.
  EXPECT_EQ(error_of([] { config_from_json(R"({"format": 5, "version": 1, "layers": []})"); }),
            "not a skip config (no \"format\": \"frugal-skip-config\")");
  EXPECT_EQ(error_of([] { config_from_json("[]"); }), "not a skip config (no \"format\": \"frugal-skip-config\")");
}

TEST(SkipConfigFile, IntegersMustBeIntegersOfTheirType) {
  // A float far outside int64: get<int64_t>() converted it (undefined behaviour).
  EXPECT_EQ(error_of([] { config_from_json(config(R"({"layer": "fc", "count": 1e300})")); }),
            "skip config entry 0 ('fc'): \"count\" must be an integer in [-9223372036854775808, 9223372036854775807]");
  // An integer outside int32: get<int32_t>() wrapped it to 705032704.
  EXPECT_EQ(error_of([] { config_from_json(config(R"({"layer": "fc", "operands": [], "bias_delta": [5000000000]})")); }),
            "skip config entry 0 ('fc'): \"bias_delta\" must be an integer in [-2147483648, 2147483647]");
  // 2.5 operands: get<> truncated it to 2.
  EXPECT_NE(error_of([] { config_from_json(config(R"({"layer": "fc", "operands": [2.5]})")); }).find("\"operands\" must be"),
            std::string::npos);
  EXPECT_NE(error_of([] { config_from_json(config(R"({"layer": "fc", "operands": 3})")); }).find("must be a list"),
            std::string::npos);
  EXPECT_NE(error_of([] { config_from_json(config(R"({"layer": "fc", "count": 1, "group": 1e10})")); }).find("\"group\""),
            std::string::npos);
  EXPECT_EQ(error_of([] { config_from_json(R"({"format": "frugal-skip-config", "version": 1e300, "layers": []})"); }),
            "skip config version 1e+300 is not supported (expected 1)");
  EXPECT_EQ(error_of([] { config_from_json(R"({"format": "frugal-skip-config", "version": "1", "layers": []})"); }),
            "skip config version string is not supported (expected 1)");
  // What every writer writes still reads.
  const SkipConfig ok = config_from_json(config(R"({"layer": "fc", "operands": [0, 3], "bias_delta": [-2147483648, 7]})"));
  EXPECT_EQ(ok.layers.at(0).bias_delta->front(), -2147483648);
}

TEST(SkipConfigFile, NamesFromTheFileStayOnOneLine) {
  const SkipConfig c = config_from_json(config(R"({"layer": "a\nb", "operands": []})"));
  EXPECT_EQ(c.layers.at(0).layer, "a\\x0ab");
  const std::string unknown =
      error_of([] { config_from_json(config(R"({"layer": "x", "count": 1, "granularity": "q\r\nuad"})")); });
  EXPECT_EQ(unknown.find('\n'), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("unknown granularity 'q\\x0d\\x0auad'"), std::string::npos) << unknown;
}

TEST(SkipConfigFile, LoadSaysWhyItCannotRead) {
  EXPECT_EQ(error_of([] { load_config("/nonexistent/point.json"); }),
            "cannot read skip config '/nonexistent/point.json': No such file or directory");
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  EXPECT_EQ(error_of([&] { load_config(dir); }), "cannot read skip config '" + dir.string() + "': it is a directory");
}

std::string report(const std::string& images, const std::string& layer) {
  return R"({"format": "frugal-significance", "version": 1, "images": )" + images + R"(, "layers": [)" + layer + "]}";
}

TEST(SignificanceReportFile, NumbersMustFitTheirFields) {
  const std::string good_layer =
      R"({"name": "fc", "op_index": 0, "approximable": true, "channels": 1, "operands_per_channel": 2,
          "output_multiplier": [0.5], "contribution_ratio": [1, 2], "error_measure": [1, 2],
          "mean_contribution": [1, 2]})";
  EXPECT_EQ(report_from_json(report("3", good_layer)).layers.at(0).operands(), 2u);
  EXPECT_EQ(error_of([&] { report_from_json(report("-1", good_layer)); }),
            "significance report: \"images\" must be an integer in [0, 18446744073709551615]");
  std::string layer = good_layer;
  layer.replace(layer.find("\"channels\": 1"), 13, "\"channels\": 1e300");
  EXPECT_EQ(error_of([&] { report_from_json(report("3", layer)); }),
            "significance report layer 'fc': \"channels\" must be an integer in [-2147483648, 2147483647]");
  // A double beyond float's range: converting it to float is undefined behaviour.
  layer = good_layer;
  layer.replace(layer.find("\"error_measure\": [1, 2]"), 23, "\"error_measure\": [1, 1e300]");
  EXPECT_EQ(error_of([&] { report_from_json(report("3", layer)); }),
            "significance report layer 'fc': \"error_measure\" holds a value that is not a float32 number");
  EXPECT_NE(error_of([] { report_from_json(R"({"format": 1})"); }).find("not a significance report"), std::string::npos);
  EXPECT_NE(error_of([] { report_from_json(R"({"format": "frugal-significance", "version": 1, "images": 0, "layers": 7})"); })
                .find("\"layers\" must be a list"),
            std::string::npos);
}

const std::filesystem::path kKws =
    std::filesystem::path(FRUGAL_SOURCE_DIR) / "fixtures/data/mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite";

TEST(CostFile, RefusesNegativeCostsAndKeepsNamesOnOneLine) {
  const ir::Graph graph = import::import_tflite_file(kKws);
  const auto costs = [&](const std::string& text) { InstructionCostModel::from_bench_json(graph, text, "nucleo-f446re"); };
  EXPECT_EQ(error_of([&] { costs(R"({"layers": [{"name": "x", "instructions": -5, "cycles_estimate": 1}]})"); }),
            "cost file: layer 'x' has negative or infinite instructions or cycles");
  EXPECT_EQ(error_of([&] { costs(R"({"layers": [{"name": "x", "instructions": 1, "cycles_estimate": -0.5}]})"); }),
            "cost file: layer 'x' has negative or infinite instructions or cycles");
  EXPECT_EQ(error_of([&] { costs(R"({"board": "a\nb", "layers": []})"); }),
            "cost file was measured on a\\x0ab, not nucleo-f446re");
}

}  // namespace
}  // namespace frugal::approx
