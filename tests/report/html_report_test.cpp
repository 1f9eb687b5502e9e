#include "report/html_report.h"

#include <gtest/gtest.h>

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

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const fs::path kNpm = fs::path(FRUGAL_SOURCE_DIR) / "report" / "node_modules";

Json simple_spec() {
  return Json::parse(R"({"data": {"values": [{"a": 1, "b": 2}]}, "mark": "point",
                         "encoding": {"x": {"field": "a", "type": "quantitative"}}})");
}

// The object `frugal explore --json` prints, cut down to what the report reads.
Json explore_json() {
  return Json::parse(R"({
    "model": "lenet.tflite", "data": "cifar10", "board": "nucleo-f446re",
    "splits": "validation: 2000 records, test: 1000 records", "latency_source": "cost-model",
    "dense_costs": "estimate",
    "search": {"mode": "fast", "evaluations": 40, "search_space": 1000},
    "baseline": {"instructions": 2000000, "cycles_estimate": 3000000, "latency_reduction": 0.0,
                 "validation_top1": 0.7, "top1": 0.7169, "skipped_macs": 0},
    "pareto": [
      {"instructions": 1000000, "cycles_estimate": 1500000, "latency_reduction": 0.5,
       "validation_top1": 0.6, "top1": 0.61, "skipped_macs": 500000},
      {"instructions": 1500000, "cycles_estimate": 2250000, "latency_reduction": 0.25,
       "validation_top1": 0.68, "top1": null, "skipped_macs": 250000},
      {"instructions": 2000000, "cycles_estimate": 3000000, "latency_reduction": 0.0,
       "validation_top1": 0.7, "top1": 0.7169, "skipped_macs": 0}
    ],
    "selected": {"index": 1, "max_accuracy_loss": 0.05, "instructions": 1500000}
  })");
}

const Json* named_layer(const Json& spec, const std::string& name) {
  for (const Json& layer : spec.at("layer")) {
    if (layer.value("name", "") == name) return &layer;
  }
  return nullptr;
}

TEST(RenderHtml, InlinesTheThreeLibraries) {
  const std::string html = render_html("t", {});
  for (const char* bundle : {"vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js", "vega-embed/build/vega-embed.min.js"}) {
    const std::string code = read_text(kNpm / bundle);
    ASSERT_GT(code.size(), 10000u) << bundle;
    // Start and end of each bundle, as installed (none of them holds text that needs escaping).
    EXPECT_NE(html.find(code.substr(0, 300)), std::string::npos) << bundle;
    EXPECT_NE(html.find(code.substr(code.size() - 300)), std::string::npos) << bundle;
  }
  const Json vega_lite = Json::parse(read_text(kNpm / "vega-lite" / "package.json"));
  EXPECT_NE(html.find("\"" + vega_lite.at("version").get<std::string>() + "\""), std::string::npos);
  EXPECT_NE(html.find("vega-lite " + vega_lite.at("version").get<std::string>()), std::string::npos);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<script>"), 4u);
  EXPECT_EQ(count(html, "</script>"), 4u);
}

TEST(RenderHtml, OneVegaEmbedCallPerChart) {
  const std::vector<Section> sections = {
      {"one", "<p>first</p>", {{"a", simple_spec()}, {"b", simple_spec()}}},
      {"none", "", {}},
      {"two", "", {{"c", simple_spec()}}},
  };
  const std::string html = render_html("charts", sections);
  EXPECT_EQ(count(html, "vegaEmbed('#chart-"), 3u);
  for (const char* id : {"chart-0", "chart-1", "chart-2"}) {
    EXPECT_EQ(count(html, std::string("<div id=\"") + id + "\">"), 1u) << id;
  }
  EXPECT_NE(html.find("data-charts-total=\"3\""), std::string::npos);
  EXPECT_NE(html.find("data-charts-rendered=\"0\""), std::string::npos);
  EXPECT_NE(html.find("body.dataset.chartsRendered"), std::string::npos);
  EXPECT_NE(html.find("body.dataset.chartErrors"), std::string::npos);
  EXPECT_NE(html.find("renderer: 'svg'"), std::string::npos);
  EXPECT_NE(html.find("actions: false"), std::string::npos);
  EXPECT_NE(html.find("<p>first</p>"), std::string::npos);  // trusted snippets go in as they are
  EXPECT_EQ(count(render_html("no charts", {{"x", "", {}}}), "vegaEmbed('#"), 0u);
}

TEST(RenderHtml, EscapesTitlesAndHeadings) {
  const std::string html =
      render_html("<script>alert(1)</script> & co", {{"<b>heading</b>", "", {{"<i>chart</i>", simple_spec()}}}});
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(count(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"), 2u);  // <title> and <h1>
  EXPECT_NE(html.find("&lt;b&gt;heading&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;i&gt;chart&lt;/i&gt;"), std::string::npos);
}

TEST(RenderHtml, SpecTextCannotEndTheScript) {
  Json spec = simple_spec();
  spec["title"] = "</script><script>alert(1)</script> <!-- x";
  const std::string html = render_html("t", {{"s", "", {{"c", spec}}}});
  EXPECT_EQ(count(html, "</script>"), 4u);  // only the four script elements end
  EXPECT_EQ(count(html, "<script>"), 4u);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_NE(html.find(R"(\u003c/script>\u003cscript>alert(1)\u003c/script> \u003c!-- x)"), std::string::npos);
}

TEST(HtmlTable, EscapesCells) {
  const std::string table = html_table({"a<b", "c&d"}, {{"<x>", "1 > 0 & 2"}, {"\"q\"", "'"}});
  EXPECT_NE(table.find("<th>a&lt;b</th><th>c&amp;d</th>"), std::string::npos);
  EXPECT_NE(table.find("<td>&lt;x&gt;</td><td>1 &gt; 0 &amp; 2</td>"), std::string::npos);
  EXPECT_NE(table.find("<td>&quot;q&quot;</td><td>&#39;</td>"), std::string::npos);
  EXPECT_EQ(count(table, "<tr>"), 3u);
}

TEST(ParetoChart, DataValuesAndLayers) {
  const Json spec = pareto_chart_spec(explore_json());
  const Json* baseline = named_layer(spec, "baseline");
  ASSERT_NE(baseline, nullptr);
  const Json& row = baseline->at("data").at("values").at(0);
  EXPECT_DOUBLE_EQ(row.at("instructions").get<double>(), 2000000.0);
  EXPECT_NEAR(row.at("top1_pct").get<double>(), 71.69, 1e-9);
  EXPECT_NEAR(row.at("test_top1_pct").get<double>(), 71.69, 1e-9);
  EXPECT_NEAR(row.at("validation_top1_pct").get<double>(), 70.0, 1e-9);

  for (const char* name : {"test", "validation"}) {
    const Json* curve = named_layer(spec, name);
    ASSERT_NE(curve, nullptr) << name;
    const Json& values = curve->at("data").at("values");
    ASSERT_EQ(values.size(), 3u) << name;
    EXPECT_DOUBLE_EQ(values[0].at("instructions").get<double>(), 1000000.0);
    EXPECT_NEAR(values[0].at("latency_reduction_pct").get<double>(), 50.0, 1e-9);
    EXPECT_NEAR(values[2].at("validation_top1_pct").get<double>(), 70.0, 1e-9);
    EXPECT_TRUE(values[1].at("test_top1_pct").is_null());  // not measured: a gap, not a zero
  }
  EXPECT_EQ(named_layer(spec, "validation")->at("mark").at("strokeDash"), Json::array({6, 4}));

  const Json* selected = named_layer(spec, "selected");
  ASSERT_NE(selected, nullptr);
  const Json& chosen = selected->at("data").at("values").at(0);
  EXPECT_DOUBLE_EQ(chosen.at("instructions").get<double>(), 1500000.0);
  EXPECT_NEAR(chosen.at("top1_pct").get<double>(), 68.0, 1e-9);  // validation, as test is null
  EXPECT_EQ(chosen.at("point"), "1 (selected)");
  EXPECT_NE(selected->dump().find("\"text\":\"selected\""), std::string::npos);
  EXPECT_NE(baseline->dump().find("\"text\":\"exact\""), std::string::npos);

  Json unselected = explore_json();
  unselected.erase("selected");
  EXPECT_EQ(named_layer(pareto_chart_spec(unselected), "selected"), nullptr);
}

TEST(ParetoChart, MalformedInputIsAOneLineError) {
  Json no_baseline = explore_json();
  no_baseline.erase("baseline");
  Json bad_index = explore_json();
  bad_index["selected"]["index"] = 3;
  Json bad_point = explore_json();
  bad_point["pareto"][2]["instructions"] = "many";
  for (const Json& bad : {no_baseline, bad_index, bad_point, Json::object(), Json::array()}) {
    try {
      pareto_chart_spec(bad);
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const ir::Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("explore JSON"), std::string::npos) << e.what();
    }
  }
}

TEST(ExploreReport, HeadingChartAndTable) {
  const std::string html = explore_report_html(explore_json());
  EXPECT_NE(html.find("<h1>frugal explore: lenet.tflite on cifar10, nucleo-f446re</h1>"), std::string::npos);
  EXPECT_EQ(count(html, "vegaEmbed('#chart-"), 1u);
  EXPECT_NE(html.find("<td>1 (selected)</td><td>1,500,000</td><td>25.0</td><td>2,250,000</td><td>68.00</td>"
                      "<td>n/a</td><td>250,000</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>0</td><td>1,000,000</td><td>50.0</td><td>1,500,000</td><td>60.00</td><td>61.00</td>"),
            std::string::npos);
  EXPECT_NE(html.find("not measured under QEMU"), std::string::npos);
  EXPECT_NE(html.find("Selected point 1"), std::string::npos);
}

class WriteReport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("frugal_report_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(WriteReport, WritesAndReplaces) {
  const fs::path file = dir_ / "report.html";
  write_report(file, "old");
  write_report(file, "<html>new</html>");
  EXPECT_EQ(read_text(file), "<html>new</html>");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);  // no temporary left
}

TEST_F(WriteReport, MissingDirectoryIsAOneLineErrorAndLeavesNothing) {
  const fs::path file = dir_ / "missing" / "report.html";
  try {
    write_report(file, "<html></html>");
    FAIL() << "no error";
  } catch (const ir::Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(WriteReport, DirectoryInTheWayIsAnErrorAndLeavesNothing) {
  fs::create_directories(dir_ / "report.html" / "inside");
  EXPECT_THROW(write_report(dir_ / "report.html", "x"), ir::Error);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  EXPECT_TRUE(fs::is_directory(dir_ / "report.html" / "inside"));
}

}  // namespace
}  // namespace frugal::report
