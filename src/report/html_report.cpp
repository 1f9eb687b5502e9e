#include "report/html_report.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "ir/graph.h"
#include "report/bundles.h"

namespace frugal::report {
namespace {

using Json = nlohmann::json;

// Inside <script> only "</script" (any case) ends the element, and "<!--" can switch the
// tokenizer into a state where a later "</script" no longer does. Both rewrites mean the same in
// JS string and template literals and in regular expressions (the second one not under the u
// flag), the only places such text can occur in working code; the bundles of today hold neither.
std::string escape_script(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  constexpr std::string_view kEnd = "</script";
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i] == '<' && code.size() - i >= kEnd.size()) {
      bool end_tag = true;
      for (size_t k = 1; k < kEnd.size() && end_tag; ++k) {
        const char c = code[i + k];
        end_tag = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == kEnd[k];
      }
      if (end_tag) {
        out += "<\\/";
        ++i;  // the '/'
        continue;
      }
    }
    if (code.substr(i, 4) == "<!--") {
      out += "<\\!--";
      i += 3;
      continue;
    }
    out += code[i];
  }
  return out;
}

// '<' only occurs inside JSON strings, where \u003c means the same, so no "</script" or "<!--"
// survives; invalid UTF-8 (e.g. from a file name) is replaced instead of throwing.
std::string script_json(const Json& value) {
  const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

// --- reading the `frugal explore --json` object; every miss is a one-line ir::Error ---

const Json& member(const Json& object, std::string_view where, const char* key) {
  if (!object.is_object()) throw ir::Error(fmt::format("explore JSON: {} is not an object", where));
  const auto it = object.find(key);
  if (it == object.end()) throw ir::Error(fmt::format("explore JSON: {} has no '{}'", where, key));
  return *it;
}

double number(const Json& object, std::string_view where, const char* key) {
  const Json& value = member(object, where, key);
  if (!value.is_number()) throw ir::Error(fmt::format("explore JSON: {}.{} is not a number", where, key));
  return value.get<double>();
}

// Test Top-1 is null when the test split was not measured.
std::optional<double> nullable_number(const Json& object, std::string_view where, const char* key) {
  if (!object.is_object()) throw ir::Error(fmt::format("explore JSON: {} is not an object", where));
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw ir::Error(fmt::format("explore JSON: {}.{} is not a number", where, key));
  return it->get<double>();
}

std::string text_or(const Json& object, const char* key, std::string_view fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
}

const Json& pareto_points(const Json& explore) {
  const Json& pareto = member(explore, "the top level", "pareto");
  if (!pareto.is_array() || pareto.empty()) throw ir::Error("explore JSON: 'pareto' is not a non-empty array");
  return pareto;
}

std::optional<size_t> selected_index(const Json& explore, size_t points) {
  const auto it = explore.find("selected");
  if (it == explore.end() || it->is_null()) return std::nullopt;
  const Json& index = member(*it, "selected", "index");
  if (!index.is_number_unsigned() || index.get<uint64_t>() >= points) {
    throw ir::Error(fmt::format("explore JSON: selected.index {} is not a Pareto point (0..{})", index.dump(), points - 1));
  }
  return static_cast<size_t>(index.get<uint64_t>());
}

struct Point {
  std::string label;  // "exact", "3", "3 (selected)"
  double instructions = 0.0, cycles = 0.0, reduction = 0.0, validation = 0.0;
  std::optional<double> test;
  std::optional<double> skipped_macs;
};

Point read_point(const Json& p, const std::string& where, std::string label) {
  Point point;
  point.label = std::move(label);
  point.instructions = number(p, where, "instructions");
  point.cycles = number(p, where, "cycles_estimate");
  point.reduction = number(p, where, "latency_reduction");
  point.validation = number(p, where, "validation_top1");
  point.test = nullable_number(p, where, "top1");
  point.skipped_macs = nullable_number(p, where, "skipped_macs");
  return point;
}

std::string point_label(size_t index, std::optional<size_t> selected) {
  return selected == index ? fmt::format("{} (selected)", index) : std::to_string(index);
}

// One data row of the chart; percentages are what people read off the axes and tooltips.
Json chart_row(const Point& p) {
  Json row;
  row["point"] = p.label;
  row["instructions"] = p.instructions;
  row["instructions_millions"] = p.instructions / 1e6;
  row["cycles_estimate"] = p.cycles;
  row["latency_reduction_pct"] = 100.0 * p.reduction;
  row["validation_top1_pct"] = 100.0 * p.validation;
  row["test_top1_pct"] = p.test ? Json(100.0 * *p.test) : Json(nullptr);
  // Where the baseline and selected markers sit: on the test curve, or on the validation one when
  // the test split was not measured.
  row["top1_pct"] = 100.0 * p.test.value_or(p.validation);
  return row;
}

Json tooltip() {
  return Json::array({
      {{"field", "point"}, {"type", "nominal"}, {"title", "point"}},
      {{"field", "instructions"}, {"type", "quantitative"}, {"format", ",.0f"}, {"title", "instructions"}},
      {{"field", "cycles_estimate"}, {"type", "quantitative"}, {"format", ",.0f"}, {"title", "est. cycles"}},
      {{"field", "latency_reduction_pct"}, {"type", "quantitative"}, {"format", ".1f"}, {"title", "latency reduction %"}},
      {{"field", "validation_top1_pct"}, {"type", "quantitative"}, {"format", ".2f"}, {"title", "validation Top-1 %"}},
      {{"field", "test_top1_pct"}, {"type", "quantitative"}, {"format", ".2f"}, {"title", "test Top-1 %"}},
  });
}

// Scale padding (pixels) keeps the points at either end, and their labels, off the frame.
Json y_top1(const char* field) {
  return {{"field", field}, {"type", "quantitative"}, {"title", "Top-1 (%)"}, {"scale", {{"zero", false}, {"padding", 24}}}};
}

// A constant datum per series gives both curves one shared color scale, and so a legend.
Json series_color(const char* series) {
  return {{"datum", series},
          {"type", "nominal"},
          {"scale", {{"domain", {"test", "validation"}}, {"range", {"#1f5fa8", "#8fb3de"}}}},
          {"legend", {{"title", "Top-1 on"}, {"orient", "bottom-right"}}}};
}

Json marked_point(const char* name, const Json& row, Json point_mark, Json label_mark) {
  return {{"name", name},
          {"data", {{"values", Json::array({row})}}},
          {"encoding", {{"y", y_top1("top1_pct")}, {"tooltip", tooltip()}}},
          {"layer", Json::array({{{"mark", std::move(point_mark)}}, {{"mark", std::move(label_mark)}}})}};
}

}  // namespace

std::string with_commas(double value) {
  const long long rounded = std::llround(value);
  std::string digits = std::to_string(rounded < 0 ? -rounded : rounded);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return rounded < 0 ? "-" + out : out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table>\n<thead><tr>";
  for (const std::string& cell : header) out += "<th>" + html_escape(cell) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const std::vector<std::string>& row : rows) {
    out += "<tr>";
    for (const std::string& cell : row) out += "<td>" + html_escape(cell) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

std::string render_html(const std::string& title, const std::vector<Section>& sections) {
  size_t chart_count = 0;
  for (const Section& s : sections) chart_count += s.charts.size();
  const detail::Bundle bundles[] = {detail::vega_bundle(), detail::vega_lite_bundle(), detail::vega_embed_bundle()};

  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + html_escape(title) + "</title>\n";
  out += R"(<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } figure { margin: 1em 0; }
figcaption { font-weight: 600; margin-bottom: 0.5em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } code { font-size: 0.95em; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
</style>
)";
  for (const detail::Bundle& b : bundles) {
    out += fmt::format("<script>/* {} {} */\n", b.package, b.version);
    out += escape_script(b.code);
    out += "\n</script>\n";
  }
  out += "</head>\n";
  out += fmt::format("<body data-charts-total=\"{}\" data-charts-rendered=\"0\" data-chart-errors=\"\">\n", chart_count);
  out += "<h1>" + html_escape(title) + "</h1>\n";

  std::string calls;
  size_t chart_index = 0;
  for (const Section& section : sections) {
    out += "<section>\n<h2>" + html_escape(section.heading) + "</h2>\n" + section.html + "\n";
    for (const Chart& chart : section.charts) {
      const std::string id = fmt::format("chart-{}", chart_index++);
      out += "<figure>\n";
      if (!chart.title.empty()) out += "<figcaption>" + html_escape(chart.title) + "</figcaption>\n";
      out += "<div id=\"" + id + "\"></div>\n</figure>\n";
      calls += fmt::format("  track('{0}', function () {{ return vegaEmbed('#{0}', {1}, options); }});\n", id,
                           script_json(chart.vega_lite_spec));
    }
    out += "</section>\n";
  }
  out += "<footer>Charts drawn with ";
  for (size_t i = 0; i < std::size(bundles); ++i) {
    out += fmt::format("{}{} {}", i == 0 ? "" : ", ", html_escape(bundles[i].package), html_escape(bundles[i].version));
  }
  out += ", inlined in this file.</footer>\n";

  // Each chart settles on its own, so one bad spec leaves the others drawn and says which failed.
  out += R"(<script>
(function () {
  'use strict';
  var body = document.body;
  var options = {actions: false, renderer: 'svg', mode: 'vega-lite'};
  var rendered = 0;
  var errors = [];
  var pending = [];
  function track(id, start) {
    var promise;
    try {
      promise = Promise.resolve(start());
    } catch (e) {
      promise = Promise.reject(e);
    }
    pending.push(promise.then(function () {
      rendered += 1;
      body.dataset.chartsRendered = String(rendered);
    }, function (e) {
      errors.push(id + ': ' + String(e && e.message ? e.message : e).replace(/\s+/g, ' '));
      body.dataset.chartErrors = errors.join('\n');
    }));
  }
)";
  out += calls;
  out += R"(  Promise.all(pending).then(function () { body.dataset.chartsDone = 'true'; });
})();
</script>
</body>
</html>
)";
  return out;
}

Json pareto_chart_spec(const Json& explore) {
  const Json& pareto = pareto_points(explore);
  const std::optional<size_t> selected = selected_index(explore, pareto.size());
  const Point baseline = read_point(member(explore, "the top level", "baseline"), "baseline", "exact");

  Json rows = Json::array();
  for (size_t i = 0; i < pareto.size(); ++i) {
    rows.push_back(chart_row(read_point(pareto[i], fmt::format("pareto[{}]", i), point_label(i, selected))));
  }
  const auto curve = [&](const char* name, const char* field, Json mark) {
    return Json{{"name", name},
                {"data", {{"values", rows}}},
                {"mark", std::move(mark)},
                {"encoding", {{"y", y_top1(field)}, {"color", series_color(name)}, {"tooltip", tooltip()}}}};
  };

  Json layers = Json::array();
  // The front is a staircase: each point's accuracy stays reachable at any larger budget.
  layers.push_back(curve("validation", "validation_top1_pct",
                         {{"type", "line"},
                          {"interpolate", "step-after"},
                          {"strokeDash", {6, 4}},
                          {"point", {{"filled", true}, {"size", 28}}}}));
  layers.push_back(curve("test", "test_top1_pct",
                         {{"type", "line"},
                          {"interpolate", "step-after"},
                          {"strokeWidth", 2},
                          {"point", {{"filled", true}, {"size", 48}}}}));
  layers.push_back(marked_point("baseline", chart_row(baseline),
                                {{"type", "point"}, {"shape", "diamond"}, {"filled", true}, {"size", 260}, {"color", "#222222"}},
                                {{"type", "text"}, {"text", "exact"}, {"dy", -18}, {"fontWeight", "bold"}}));
  if (selected) {
    layers.push_back(marked_point("selected", rows[*selected],
                                  {{"type", "point"}, {"shape", "circle"}, {"filled", false}, {"size", 420},
                                   {"strokeWidth", 3}, {"color", "#d62728"}},
                                  {{"type", "text"}, {"text", "selected"}, {"dy", 22}, {"fontWeight", "bold"},
                                   {"color", "#d62728"}}));
  }

  return {{"description", "Top-1 against instructions per inference of the Pareto front of frugal explore"},
          {"width", 640},
          {"height", 360},
          {"encoding",
           {{"x",
             {{"field", "instructions_millions"},
              {"type", "quantitative"},
              {"title", "instructions per inference (millions)"},
              {"scale", {{"zero", false}, {"padding", 24}}}}}}},
          {"layer", layers}};
}

std::string explore_report_html(const Json& explore) {
  const Json& pareto = pareto_points(explore);
  const std::optional<size_t> selected = selected_index(explore, pareto.size());
  const Point baseline = read_point(member(explore, "the top level", "baseline"), "baseline", "exact");
  std::vector<Point> points;
  for (size_t i = 0; i < pareto.size(); ++i) {
    points.push_back(read_point(pareto[i], fmt::format("pareto[{}]", i), point_label(i, selected)));
  }
  const std::string model = text_or(explore, "model", "(model not named)");
  const std::string data = text_or(explore, "data", "(data set not named)");
  const std::string board = text_or(explore, "board", "(board not named)");
  const auto percent = [](std::optional<double> fraction) {
    return fraction ? fmt::format("{:.2f}", 100.0 * *fraction) : std::string("n/a");
  };

  std::string summary = "<ul>\n";
  const auto item = [&](const std::string& text) { summary += "<li>" + html_escape(text) + "</li>\n"; };
  item(fmt::format("Model {} on {}, board {}.", model, data, board));
  if (explore.contains("splits") && explore["splits"].is_string()) item(explore["splits"].get<std::string>());
  const std::string latency = text_or(explore, "latency_source", "cost-model");
  item(latency == "cost-model"
           ? fmt::format("Latency: cost model (dense costs: {}), not measured under QEMU.", text_or(explore, "dense_costs", "estimate"))
           : fmt::format("Latency: {}.", latency));
  if (explore.contains("search") && explore["search"].is_object()) {
    const Json& s = explore["search"];
    item(fmt::format("Search: {}, {} configurations evaluated of {}.", text_or(s, "mode", "?"),
                     s.value("evaluations", Json()).dump(), s.value("search_space", Json()).dump()));
  }
  item(fmt::format("Exact model: test Top-1 {}%, validation Top-1 {}%, {} instructions, ~{} cycles.", percent(baseline.test),
                   percent(baseline.validation), with_commas(baseline.instructions), with_commas(baseline.cycles)));
  if (selected) {
    const Point& p = points[*selected];
    const std::optional<double> bound = nullable_number(explore.at("selected"), "selected", "max_accuracy_loss");
    item(fmt::format("Selected point {}{}: test Top-1 {}%, validation Top-1 {}%, {:.1f}% fewer instructions.", *selected,
                     bound ? fmt::format(" (validation Top-1 at most {:.2f} points below exact)", 100.0 * *bound) : "",
                     percent(p.test), percent(p.validation), 100.0 * p.reduction));
  }
  summary += "</ul>\n";

  std::vector<std::vector<std::string>> rows;
  for (const Point& p : points) {
    rows.push_back({p.label, with_commas(p.instructions), fmt::format("{:.1f}", 100.0 * p.reduction), with_commas(p.cycles),
                    percent(p.validation), percent(p.test), p.skipped_macs ? with_commas(*p.skipped_macs) : "n/a"});
  }
  const std::vector<std::string> header = {"point", "instructions", "reduction %", "est. cycles", "validation Top-1 %",
                                           "test Top-1 %", "skipped MACs"};

  std::vector<Section> sections;
  sections.push_back({"Pareto front", summary, {{"Top-1 against instructions per inference", pareto_chart_spec(explore)}}});
  sections.push_back({"Pareto points", html_table(header, rows), {}});
  return render_html(fmt::format("frugal explore: {} on {}, {}", model, data, board), sections);
}

void write_report(const std::filesystem::path& file, const std::string& html) {
  if (file.filename().empty()) throw ir::Error(fmt::format("cannot write report '{}': not a file name", file.string()));
  const std::filesystem::path directory = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  // Built with append: GCC 12 raises a false -Wrestrict on the equivalent chain of operator+.
  std::string temporary_name = ".";
  temporary_name.append(file.filename().string()).append(".tmp-").append(std::to_string(::getpid()));
  const std::filesystem::path temporary = directory / temporary_name;
  const auto fail = [&](const std::string& reason) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return ir::Error(fmt::format("cannot write report '{}': {}", file.string(), reason));
  };

  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  if (out == nullptr) throw fail(std::strerror(errno));
  const size_t written = std::fwrite(html.data(), 1, html.size(), out);
  const int write_errno = errno;
  if (std::fclose(out) != 0) throw fail(std::strerror(errno));
  if (written != html.size()) throw fail(std::strerror(write_errno));
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) throw fail(ec.message());
}

}  // namespace frugal::report
