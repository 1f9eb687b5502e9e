// The reports of inspect, bench (model and bundle) and compress, from cut-down copies of the
// objects those commands print with --json.
#include "report/command_reports.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace frugal::report {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

Json inspect_json() {
  return Json::parse(R"j({
    "model": "resnet8.tflite",
    "layers": [
      {"index": 0, "name": "conv0;relu", "op": "CONV_2D", "inputs": [[1, 32, 32, 3]], "output": [1, 32, 32, 16],
       "macs": 442368, "weight_bytes": 496, "activation_bytes": 16384},
      {"index": 1, "name": "reshape", "op": "RESHAPE", "inputs": [[1, 32, 32, 16]], "output": [1, 16384],
       "macs": 0, "weight_bytes": 0, "activation_bytes": 16384},
      {"index": 2, "name": "fc", "op": "FULLY_CONNECTED", "inputs": [[1, 16384]], "output": [1, 10],
       "macs": 163840, "weight_bytes": 163880, "activation_bytes": 10}
    ],
    "total_macs": 606208, "total_weight_bytes": 164376, "arena_bytes": 32768, "scratch_bytes": 0,
    "inputs": [{"name": "input", "shape": [1, 32, 32, 3], "type": "int8", "scale": 0.5, "zero_point": -1}],
    "outputs": [{"name": "out", "shape": [1, 10], "type": "int8", "scale": 0.1, "zero_point": 0}]
  })j");
}

Json bench_json() {
  return Json::parse(R"j({
    "model": "lenet.tflite", "approx": null, "board": "nucleo-f446re", "qemu_machine": "mps2-an386",
    "cycle_model": "cortex-m4", "clock_hz": 180000000, "count": 2, "bit_exact": true, "outputs_equal": 2,
    "total_macs": 1000, "total_instructions": 5000, "total_cycles_estimate": 7000, "ms_estimate": 0.0389,
    "flash_bytes": 60000, "ram_bytes": 20000, "stack_bytes": 8192, "arena_bytes": 12000,
    "board_flash_bytes": 524288, "board_ram_bytes": 131072,
    "layers": [
      {"index": 0, "name": "conv", "op": "CONV_2D", "kernel": "dense", "macs": 800, "instructions": 3000,
       "cycles_estimate": 4500, "ms_estimate": 0.025},
      {"index": 1, "name": "softmax", "op": "SOFTMAX", "kernel": "dense", "macs": 0, "instructions": 2000,
       "cycles_estimate": 2500, "ms_estimate": 0.0139}
    ]
  })j");
}

Json bundle_bench_json() {
  const Json model = Json::parse(R"j({
    "name": "kws", "bit_exact": true, "outputs_equal": 1, "total_macs": 100, "total_instructions": 4000000,
    "total_cycles_estimate": 5000000, "ms_estimate": 27.7, "constant_bytes": 50000,
    "switch": {"instructions": 14, "cycles_estimate": 20, "bytes_copied": 0, "fraction_of_inference": 4e-6},
    "load_from_external_storage": {
      "SD card over SPI (25 MHz)": {"cycles": 3200000, "ms": 17.8, "switch_saving": 0.99999},
      "QSPI NOR flash (quad read, 80 MHz)": {"cycles": 230000, "ms": 1.28, "switch_saving": 0.9999}},
    "layers": []
  })j");
  Json second = model;
  second["name"] = "resnet8";
  second["total_instructions"] = 15000000;
  second["switch"]["cycles_estimate"] = 21;
  Json j = Json::parse(R"j({
    "bundle": "two.frugal", "board": "nucleo-f446re", "qemu_machine": "mps2-an386", "cycle_model": "cortex-m4",
    "clock_hz": 180000000, "count": 1, "bit_exact": true, "flash_bytes": 200000, "ram_bytes": 60000,
    "stack_bytes": 8192, "arena_bytes": 50000, "board_flash_bytes": 524288, "board_ram_bytes": 131072
  })j");
  j["models"] = Json::array({model, second});
  return j;
}

Json compress_json() {
  return Json::parse(R"j({
    "bundle": "two.frugal", "bundle_bytes": 61000, "stored_bytes": 60000, "int8_bytes": 150000, "fp32_bytes": 600000,
    "ratio_vs_fp32": 10.0, "ratio_vs_int8": 2.5,
    "storage": {"indices": 30000, "codebooks": 20000, "dense_weights": 5000, "biases": 4000, "quantization": 1000,
                "total": 60000},
    "codebooks": [{"kind": "kernel3x3", "subvector": 9, "codewords": 256, "index_bits": 8, "bytes": 4608}],
    "max_accuracy_loss": 0.01,
    "models": [
      {"name": "kws", "dataset": "kws01", "metric": "top1", "before": 0.9, "after": 0.895,
       "loss_interval95": [-0.002, 0.012], "validation_before": 0.91,
       "validation_after": 0.905, "stored_bytes": 15000, "int8_bytes": 50000, "fp32_bytes": 200000,
       "ratio_vs_int8": 3.3333, "weights": 40000, "encoded_weights": 30000,
       "layers": [{"tensor": "w0", "op": "CONV_2D", "weights": 30000, "encoded": true, "tuned": false},
                  {"tensor": "w1", "op": "DEPTHWISE_CONV_2D", "weights": 10000, "encoded": false, "tuned": false}]},
      {"name": "ad01", "dataset": "ad01", "metric": "auc", "before": 0.85, "after": 0.84, "validation_before": 0.86,
       "validation_after": 0.85, "stored_bytes": 25000, "int8_bytes": 100000, "fp32_bytes": 400000,
       "ratio_vs_int8": 4.0, "weights": 90000, "encoded_weights": 90000, "layers": []}
    ],
    "average_loss": 0.0075, "average_loss_interval95": [0.001, 0.014], "seconds": 12.5
  })j");
}

// The rows of a chart's data (of the layer named by its description for layered specs).
const Json& values(const Json& spec) { return spec.at("data").at("values"); }

std::string error_of(const auto& build) {
  try {
    build();
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "(no error)";
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

TEST(InspectReport, ChartsHoldEveryLayerInOrder) {
  const std::vector<Chart> charts = inspect_charts(inspect_json());
  ASSERT_EQ(charts.size(), 3u);
  const char* fields[] = {"macs", "weight_bytes", "activation_bytes"};
  for (size_t c = 0; c < charts.size(); ++c) {
    const Json& spec = charts[c].vega_lite_spec;
    EXPECT_EQ(spec.at("encoding").at("x").at("field"), fields[c]);
    EXPECT_TRUE(spec.at("encoding").at("y").at("sort").is_null()) << "layers stay in execution order";
    const Json& rows = values(spec);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].at("layer"), "0 CONV_2D");
    EXPECT_EQ(rows[2].at("layer"), "2 FULLY_CONNECTED");
  }
  const Json& rows = values(charts[0].vega_lite_spec);
  EXPECT_DOUBLE_EQ(rows[0].at("macs").get<double>(), 442368.0);
  EXPECT_DOUBLE_EQ(rows[2].at("weight_bytes").get<double>(), 163880.0);
  EXPECT_DOUBLE_EQ(rows[1].at("activation_bytes").get<double>(), 16384.0);
  EXPECT_EQ(rows[0].at("output"), "1x32x32x16");
}

TEST(InspectReport, PageTableAndCsv) {
  const CommandReport report = inspect_report(inspect_json());
  EXPECT_NE(report.html.find("<h1>frugal inspect: resnet8.tflite</h1>"), std::string::npos);
  EXPECT_NE(report.html.find("data-charts-total=\"3\""), std::string::npos);
  EXPECT_NE(report.html.find("Peak activation RAM (the planned arena): 32,768 bytes"), std::string::npos);
  EXPECT_NE(report.html.find("<td>2</td><td>fc</td><td>FULLY_CONNECTED</td><td>1x16384</td><td>1x10</td>"
                             "<td>163,840</td><td>163,880</td><td>10</td>"),
            std::string::npos);
  EXPECT_NE(report.html.find("<td>0</td><td>conv0</td>"), std::string::npos);  // the CSV keeps TFLite's full name
  const std::string csv = csv_table(report.table);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "#,name,op,inputs,output,MACs,weight bytes,activation bytes");
  EXPECT_NE(csv.find("\n0,conv0;relu,CONV_2D,1x32x32x3,1x32x32x16,442368,496,16384\n"), std::string::npos);
  EXPECT_EQ(count(csv, "\n"), 4u);
}

TEST(InspectReport, MissingFieldsAreOneLineErrors) {
  Json no_macs = inspect_json();
  no_macs["layers"][1].erase("macs");
  EXPECT_EQ(error_of([&] { inspect_charts(no_macs); }), "inspect JSON: layers[1] has no 'macs'");
  EXPECT_EQ(error_of([&] { inspect_table(no_macs); }), "inspect JSON: layers[1] has no 'macs'");
  Json text_bytes = inspect_json();
  text_bytes["layers"][0]["weight_bytes"] = "496";
  EXPECT_EQ(error_of([&] { inspect_charts(text_bytes); }),
            "inspect JSON: layers[0].weight_bytes is not a count (a non-negative integer)");
  Json no_layers = inspect_json();
  no_layers["layers"] = Json::array();
  EXPECT_EQ(error_of([&] { inspect_report(no_layers); }), "inspect JSON: the top level.layers is not a non-empty array");
  Json no_arena = inspect_json();
  no_arena.erase("arena_bytes");
  EXPECT_EQ(error_of([&] { inspect_report(no_arena); }), "inspect JSON: the top level has no 'arena_bytes'");
  EXPECT_EQ(error_of([&] { inspect_report(Json::array()); }), "inspect JSON: the top level is not an object");
}

TEST(BenchReport, ModelChartsLayersAndMemory) {
  const std::vector<Chart> charts = bench_charts(bench_json());
  ASSERT_EQ(charts.size(), 3u);
  EXPECT_EQ(charts[0].vega_lite_spec.at("encoding").at("x").at("field"), "instructions");
  EXPECT_EQ(charts[1].vega_lite_spec.at("encoding").at("x").at("field"), "cycles_estimate");
  const Json& rows = values(charts[0].vega_lite_spec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].at("instructions").get<double>(), 3000.0);
  EXPECT_DOUBLE_EQ(rows[0].at("instructions_per_mac").get<double>(), 3000.0 / 800.0);
  EXPECT_TRUE(rows[1].at("instructions_per_mac").is_null());  // no MACs: no ratio, not infinity
  EXPECT_DOUBLE_EQ(rows[1].at("cycles_estimate").get<double>(), 2500.0);

  // Memory: the board's capacity behind flash and the three parts of RAM.
  const Json& layers = charts[2].vega_lite_spec.at("layer");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(values(layers[0]), Json::parse(R"j([{"memory": "flash", "capacity": 524288.0},
                                               {"memory": "RAM", "capacity": 131072.0}])j"));
  const Json& used = values(layers[1]);
  ASSERT_EQ(used.size(), 4u);
  EXPECT_DOUBLE_EQ(used[0].at("bytes").get<double>(), 60000.0);
  EXPECT_DOUBLE_EQ(used[1].at("bytes").get<double>(), 12000.0);  // arena
  EXPECT_DOUBLE_EQ(used[2].at("bytes").get<double>(), 8000.0);   // other static RAM
  EXPECT_DOUBLE_EQ(used[3].at("bytes").get<double>(), 8192.0);   // stack

  Json no_board = bench_json();
  no_board.erase("board_flash_bytes");
  EXPECT_EQ(bench_charts(no_board)[2].vega_lite_spec.at("layer").size(), 1u);  // older JSON: no capacity
}

TEST(BenchReport, ModelPageAndCsv) {
  const CommandReport report = bench_report(bench_json());
  EXPECT_NE(report.html.find("<h1>frugal bench: lenet.tflite on nucleo-f446re</h1>"), std::string::npos);
  EXPECT_NE(report.html.find("data-charts-total=\"3\""), std::string::npos);
  EXPECT_NE(report.html.find("Bit-exact with the host engine: yes (2 of 2 outputs equal)."), std::string::npos);
  EXPECT_NE(report.html.find("flash 60,000 B of 524,288"), std::string::npos);
  EXPECT_NE(report.html.find("<td>0</td><td>conv</td><td>CONV_2D</td><td>dense</td><td>800</td><td>3,000</td>"
                             "<td>3.75</td><td>4,500</td><td>0.025</td>"),
            std::string::npos);
  const std::string csv = csv_table(report.table);
  EXPECT_NE(csv.find("\n1,softmax,SOFTMAX,dense,0,2000,,2500,0.0139\n"), std::string::npos) << csv;
}

TEST(BenchReport, ModelMissingFieldsAreOneLineErrors) {
  Json no_cycles = bench_json();
  no_cycles["layers"][1].erase("cycles_estimate");
  EXPECT_EQ(error_of([&] { bench_charts(no_cycles); }), "bench JSON: layers[1] has no 'cycles_estimate'");
  Json no_flash = bench_json();
  no_flash.erase("flash_bytes");
  EXPECT_EQ(error_of([&] { bench_charts(no_flash); }), "bench JSON: the top level has no 'flash_bytes'");
  Json no_layers = bench_json();
  no_layers.erase("layers");
  EXPECT_EQ(error_of([&] { bench_report(no_layers); }), "bench JSON: the top level has no 'layers'");
}

TEST(BenchReport, BundleModelsSwitchAndStorage) {
  const std::vector<Chart> charts = bench_charts(bundle_bench_json());
  ASSERT_EQ(charts.size(), 3u);
  const Json& costs = values(charts[0].vega_lite_spec);
  ASSERT_EQ(costs.size(), 4u);  // instructions and cycles per model
  EXPECT_EQ(costs[2].at("model"), "resnet8");
  EXPECT_EQ(costs[2].at("measure"), "instructions");
  EXPECT_DOUBLE_EQ(costs[2].at("value").get<double>(), 15e6);
  EXPECT_DOUBLE_EQ(costs[3].at("value").get<double>(), 5e6);

  const Json& spec = charts[1].vega_lite_spec;
  EXPECT_EQ(spec.at("encoding").at("x").at("scale").at("type"), "log");
  EXPECT_EQ(spec.at("encoding").at("x2").at("datum"), 1);  // bars from 1: a log scale has no 0
  EXPECT_EQ(spec.at("encoding").at("color").at("scale").at("domain"),
            Json::parse(R"j(["switch: frugal_select()", "load from QSPI NOR flash (quad read, 80 MHz)",
                           "load from SD card over SPI (25 MHz)"])j"));
  const Json& ways = values(spec);
  ASSERT_EQ(ways.size(), 6u);  // per model: the switch and two storage links
  EXPECT_EQ(ways[3].at("model"), "resnet8");
  EXPECT_DOUBLE_EQ(ways[3].at("cycles").get<double>(), 21.0);
  EXPECT_DOUBLE_EQ(ways[3].at("bytes_copied").get<double>(), 0.0);
  EXPECT_EQ(ways[5].at("way"), "load from SD card over SPI (25 MHz)");
  EXPECT_DOUBLE_EQ(ways[5].at("cycles").get<double>(), 3.2e6);
  EXPECT_DOUBLE_EQ(ways[5].at("bytes_copied").get<double>(), 50000.0);
  EXPECT_DOUBLE_EQ(ways[4].at("cycles").get<double>(), 230000.0);
  EXPECT_EQ(charts[2].vega_lite_spec.at("layer").size(), 2u);
}

TEST(BenchReport, BundlePageAndCsv) {
  const CommandReport report = bench_report(bundle_bench_json());
  EXPECT_NE(report.html.find("<h1>frugal bench: two.frugal on nucleo-f446re</h1>"), std::string::npos);
  EXPECT_NE(report.html.find("2 models in one firmware; bit-exact with the host engine: yes (every model)."),
            std::string::npos);
  const std::string csv = csv_table(report.table);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "model,instructions,est. cycles,est. ms,switch instructions,switch cycles,switch bytes copied,"
            "switch % of inference,constant bytes,QSPI load cycles,QSPI load ms,SD load cycles,SD load ms,bit-exact");
  EXPECT_NE(csv.find("\nresnet8,15000000,5000000,27.7,14,21,0,"), std::string::npos) << csv;
}

TEST(BenchReport, BundleMissingFieldsAreOneLineErrors) {
  Json no_switch_cycles = bundle_bench_json();
  no_switch_cycles["models"][1]["switch"].erase("cycles_estimate");
  EXPECT_EQ(error_of([&] { bench_charts(no_switch_cycles); }), "bench JSON: models[1].switch has no 'cycles_estimate'");
  EXPECT_EQ(error_of([&] { bench_table(no_switch_cycles); }), "bench JSON: models[1].switch has no 'cycles_estimate'");
  Json no_loads = bundle_bench_json();
  no_loads["models"][0].erase("load_from_external_storage");
  EXPECT_EQ(error_of([&] { bench_report(no_loads); }), "bench JSON: models[0] has no 'load_from_external_storage'");
  Json bad_load = bundle_bench_json();
  bad_load["models"][1]["load_from_external_storage"]["SD card over SPI (25 MHz)"].erase("ms");
  EXPECT_EQ(error_of([&] { bench_charts(bad_load); }),
            "bench JSON: models[1].load_from_external_storage[\"SD card over SPI (25 MHz)\"] has no 'ms'");
  Json no_models = bundle_bench_json();
  no_models["models"] = Json::array();
  EXPECT_EQ(error_of([&] { bench_charts(no_models); }), "bench JSON: the top level.models is not a non-empty array");
}

TEST(CompressReport, BytesAccuracyAndTotals) {
  const std::vector<Chart> charts = compress_charts(compress_json());
  ASSERT_EQ(charts.size(), 4u);
  const Json& bytes = values(charts[0].vega_lite_spec);
  ASSERT_EQ(bytes.size(), 4u);
  EXPECT_EQ(bytes[2].at("model"), "ad01");
  EXPECT_EQ(bytes[2].at("form"), "int8");
  EXPECT_DOUBLE_EQ(bytes[2].at("bytes").get<double>(), 100000.0);
  EXPECT_DOUBLE_EQ(bytes[3].at("bytes").get<double>(), 25000.0);
  EXPECT_DOUBLE_EQ(bytes[3].at("ratio_vs_int8").get<double>(), 4.0);

  const Json& accuracy_spec = charts[1].vega_lite_spec;
  EXPECT_EQ(accuracy_spec.at("encoding").at("yOffset").at("field"), "when");  // grouped: before and after side by side
  const Json& accuracy = values(accuracy_spec);
  ASSERT_EQ(accuracy.size(), 4u);
  EXPECT_EQ(accuracy[0].at("when"), "before");
  EXPECT_NEAR(accuracy[0].at("value_pct").get<double>(), 90.0, 1e-9);
  EXPECT_EQ(accuracy[3].at("metric"), "AUC");
  EXPECT_NEAR(accuracy[3].at("value_pct").get<double>(), 84.0, 1e-9);

  const Json& totals = values(charts[2].vega_lite_spec);
  ASSERT_EQ(totals.size(), 4u);
  EXPECT_DOUBLE_EQ(totals[0].at("bytes").get<double>(), 600000.0);
  EXPECT_DOUBLE_EQ(totals[0].at("times_stored").get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(totals[1].at("times_stored").get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(totals[3].at("bytes").get<double>(), 61000.0);
  const Json& parts = values(charts[3].vega_lite_spec);
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[2].at("part"), "dense weights");
  EXPECT_DOUBLE_EQ(parts[1].at("bytes").get<double>(), 20000.0);
}

// With --search-codebooks the trials get a fifth chart, the chosen one told apart.
TEST(CompressReport, CodebookSearchTrials) {
  Json j = compress_json();
  const auto trial = [](int row_d, int kernel_d, int64_t bytes, double loss) {
    return Json{{"row", {{"subvector", row_d}, {"codewords", 256}}},
                {"kernel", {{"subvector", kernel_d}, {"codewords", 16}}},
                {"stored_bytes", bytes},
                {"ratio_vs_fp32", 4.0},
                {"ratio_vs_int8", 150000.0 / static_cast<double>(bytes)},
                {"mean_validation_loss", loss},
                {"encoded_layers", 3},
                {"seconds", 1.0}};
  };
  j["codebook_search"] = {{"trials", Json::array({trial(2, 9, 75000, 0.004), trial(4, 9, 60000, 0.006)})}, {"chosen", 1}};
  const std::vector<Chart> charts = compress_charts(j);
  ASSERT_EQ(charts.size(), 5u);
  const Json& rows = values(charts[4].vega_lite_spec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("shapes"), "row d=2 K=256, 3x3 d=9 K=16");
  EXPECT_EQ(rows[0].at("trial"), "tried");
  EXPECT_EQ(rows[1].at("trial"), "chosen");
  EXPECT_NEAR(rows[1].at("loss_points").get<double>(), 0.6, 1e-9);
  EXPECT_DOUBLE_EQ(rows[1].at("ratio_vs_int8").get<double>(), 2.5);
  j["codebook_search"]["trials"][0].erase("stored_bytes");
  EXPECT_EQ(error_of([&] { compress_charts(j); }), "compress JSON: codebook_search.trials[0] has no 'stored_bytes'");
}

TEST(CompressReport, PageAndCsv) {
  const CommandReport report = compress_report(compress_json());
  EXPECT_NE(report.html.find("<h1>frugal compress: two.frugal</h1>"), std::string::npos);
  EXPECT_NE(report.html.find("data-charts-total=\"5\""), std::string::npos);  // four, and the layers'
  EXPECT_NE(report.html.find("Compression: 10.00x vs fp32 (600,000 bytes), 2.50x vs int8 (150,000 bytes)."),
            std::string::npos);
  EXPECT_NE(report.html.find("<td>kws</td><td>kws01</td><td>Top-1</td><td>0.9000</td><td>0.8950</td>"
                             "<td>0.50 (-0.20 to 1.20)</td>"),
            std::string::npos);
  EXPECT_NE(report.html.find("average loss on the held-out splits: 0.75 points (95% bootstrap interval 0.10 to 1.40)"),
            std::string::npos);
  const std::string csv = csv_table(report.table);
  EXPECT_NE(csv.find("\nkws,kws01,Top-1,0.9,0.895,0.50 (-0.20 to 1.20),0.91,0.905,50000,15000,3.3333,75,1/2\n"),
            std::string::npos) << csv;
  EXPECT_NE(csv.find("\nad01,ad01,AUC,0.85,0.84,-,"), std::string::npos) << csv;
}

// Every layer of every model: a table row and a share of its model's bar, by how it is stored;
// the legend runs from int8 through the coarser codebook to the finer one.
TEST(CompressReport, LayersByHowTheyAreStored) {
  Json j = compress_json();
  j["models"][0]["layers"][0]["subvector"] = 2;
  j["models"][1]["layers"] = Json::parse(R"j([
    {"tensor": "dense/MatMul;dense/BiasAdd", "op": "FULLY_CONNECTED", "weights": 60000, "encoded": true,
     "tuned": true, "subvector": 4},
    {"tensor": "dense_1/MatMul", "op": "FULLY_CONNECTED", "weights": 30000, "encoded": false, "tuned": false,
     "note": "loses 1.65 points alone"}])j");
  const CommandReport report = compress_report(j);
  EXPECT_NE(report.html.find("<td>kws</td><td>w0</td><td>CONV_2D</td><td>30,000</td><td>codebook, d = 2</td>"
                             "<td>no</td><td></td>"),
            std::string::npos);
  EXPECT_NE(report.html.find("<td>ad01</td><td>dense/MatMul</td><td>FULLY_CONNECTED</td><td>60,000</td>"
                             "<td>codebook, d = 4</td><td>yes</td>"),
            std::string::npos);
  EXPECT_NE(report.html.find("<td>int8</td><td>no</td><td>loses 1.65 points alone</td>"), std::string::npos);

  const size_t chart_at = report.html.find("Weights of each model by how the bundle stores them");
  ASSERT_NE(chart_at, std::string::npos);
  EXPECT_EQ(count(report.html, "\"domain\":[\"int8\",\"codebook, d = 4\",\"codebook, d = 2\"]"), 1u)
      << report.html.substr(chart_at, 2000);
  EXPECT_EQ(count(report.html, "\"range\":[\"#9d9d9d\",\"#4c78a8\",\"#f58518\"]"), 1u);  // int8 grey
  // An older frugal's JSON: encoded, without d.
  EXPECT_NE(compress_report(compress_json()).html.find("<td>w0</td><td>CONV_2D</td><td>30,000</td><td>codebook</td>"),
            std::string::npos);

  Json not_a_list = compress_json();
  not_a_list["models"][1]["layers"] = 3;
  EXPECT_EQ(error_of([&] { compress_report(not_a_list); }), "compress JSON: models[1].layers is not an array");
  Json no_weights = compress_json();
  no_weights["models"][0]["layers"][1].erase("weights");
  EXPECT_EQ(error_of([&] { compress_report(no_weights); }), "compress JSON: models[0].layers[1] has no 'weights'");
}

// A model that ran joint recovery gets its course drawn against the bound: its distance from the
// original in points after every step; models without it and reports without any add nothing.
TEST(CompressReport, JointRecoveryCourseAgainstTheBound) {
  EXPECT_EQ(compress_report(compress_json()).html.find("Joint recovery"), std::string::npos);
  Json j = compress_json();
  j["models"][0]["joint"] = Json::parse(R"j({"bound_reference": 0.91, "kept": true, "steps": [
    {"event": "start", "encoded_layers": 2, "bound_score": 0.50, "best": true, "tuning_fidelity": 0.6},
    {"event": "round", "encoded_layers": 2, "bound_score": 0.88, "best": true, "tuning_fidelity": 0.95},
    {"event": "give-back", "encoded_layers": 1, "bound_score": 0.90, "best": true,
     "note": "w1 back to int8 (+0.0200 alone)"},
    {"event": "round", "encoded_layers": 1, "bound_score": 0.905, "best": false}]})j");
  const CommandReport report = compress_report(j);
  const size_t section = report.html.find("Joint recovery");
  ASSERT_NE(section, std::string::npos);
  const size_t chart = report.html.find("Joint recovery of each model: points under the original");
  ASSERT_NE(chart, std::string::npos);
  // 0.91 - 0.50 = 41 points at the start, 0.91 - 0.905 = 0.5 at the end; the bound 0.01 = 1 point.
  const std::string spec = report.html.substr(chart, report.html.find("the bound\"}", chart) - chart);
  EXPECT_EQ(count(spec, "\"model\":\"kws\""), 4u) << spec;
  EXPECT_EQ(count(spec, "\"model\":\"ad01\""), 0u) << spec;
  EXPECT_NE(report.html.find("\"loss_points\":41.0"), std::string::npos) << report.html.substr(chart, 3000);
  EXPECT_NE(report.html.find("\"note\":\"w1 back to int8 (+0.0200 alone)\""), std::string::npos);
  EXPECT_NE(report.html.find("{\"bound\":1.0,\"what\":\"the bound\"}"), std::string::npos);
  EXPECT_EQ(count(spec, "\"event\":\"round\""), 2u);

  Json no_score = j;
  no_score["models"][0]["joint"]["steps"][2].erase("bound_score");
  EXPECT_EQ(error_of([&] { compress_report(no_score); }),
            "compress JSON: models[0].joint.steps[2] has no 'bound_score'");
  Json no_steps = j;
  no_steps["models"][0]["joint"]["steps"] = "none";
  EXPECT_NE(error_of([&] { compress_report(no_steps); }).find("models[0].joint"), std::string::npos);
}

TEST(CompressReport, MissingFieldsAreOneLineErrors) {
  Json no_ratio = compress_json();
  no_ratio["models"][0].erase("ratio_vs_int8");
  EXPECT_EQ(error_of([&] { compress_charts(no_ratio); }), "compress JSON: models[0] has no 'ratio_vs_int8'");
  Json no_after = compress_json();
  no_after["models"][1].erase("after");
  EXPECT_EQ(error_of([&] { compress_charts(no_after); }), "compress JSON: models[1] has no 'after'");
  Json no_bundle_bytes = compress_json();
  no_bundle_bytes.erase("bundle_bytes");
  EXPECT_EQ(error_of([&] { compress_charts(no_bundle_bytes); }), "compress JSON: the top level has no 'bundle_bytes'");
  Json no_storage = compress_json();
  no_storage["storage"].erase("codebooks");
  EXPECT_EQ(error_of([&] { compress_report(no_storage); }), "compress JSON: storage has no 'codebooks'");
  Json no_ratio_total = compress_json();
  no_ratio_total.erase("ratio_vs_fp32");
  EXPECT_EQ(error_of([&] { compress_report(no_ratio_total); }), "compress JSON: the top level has no 'ratio_vs_fp32'");
}

TEST(CsvTable, QuotesWhatNeedsIt) {
  const Table table{{"a,b", "c"}, {{{"1", "1"}, {"x \"y\"", "x \"y\""}}, {{"2", "line\nbreak"}, {"", ""}}}};
  EXPECT_EQ(csv_table(table), "\"a,b\",c\n1,\"x \"\"y\"\"\"\n\"line\nbreak\",\n");
}

class StagedReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("frugal_staged_report_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  fs::path dir_;
};

TEST_F(StagedReportTest, CommitWritesTheThreeFiles) {
  const CommandReport report = inspect_report(inspect_json());
  const fs::path out = dir_ / "new" / "deeper";
  const std::vector<fs::path> files = write_command_report(out, "inspect", "{\"a\":1}\n", report);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0], out / "inspect.html");
  EXPECT_EQ(read_text(out / "inspect.html"), report.html);
  EXPECT_EQ(read_text(out / "inspect.json"), "{\"a\":1}\n");
  EXPECT_EQ(read_text(out / "inspect.csv"), csv_table(report.table));
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 3);  // no temporaries
}

TEST_F(StagedReportTest, UncommittedLeavesNothingNotEvenTheDirectory) {
  const CommandReport report = inspect_report(inspect_json());
  {
    StagedReport staged(dir_ / "new" / "deeper", "bench", "{}", report);
    EXPECT_TRUE(fs::exists(dir_ / "new" / "deeper"));
    EXPECT_FALSE(fs::exists(dir_ / "new" / "deeper" / "bench.html"));  // temporaries until commit
  }
  EXPECT_TRUE(fs::is_empty(dir_));
  // In a directory that was there already, only the temporaries go.
  { StagedReport staged(dir_, "bench", "{}", report); }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(StagedReportTest, AFileInTheWayIsAOneLineError) {
  std::ofstream(dir_ / "taken") << "x";
  const std::string message = error_of([&] { check_report_directory(dir_ / "taken"); });
  EXPECT_NE(message.find("is not a directory"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_THROW(StagedReport(dir_ / "taken", "x", "{}", inspect_report(inspect_json())), ir::Error);
  EXPECT_THROW(StagedReport(dir_ / "taken" / "below", "x", "{}", inspect_report(inspect_json())), ir::Error);
  EXPECT_EQ(read_text(dir_ / "taken"), "x");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace frugal::report
