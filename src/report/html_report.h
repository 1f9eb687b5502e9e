// Self-contained HTML reports: one file with the chart libraries (Vega, Vega-Lite, Vega-Embed)
// inlined, so a report opens offline and can be archived or mailed as it is.
//
// Each page records in <body> how its charts fared, for people and for headless-browser tests:
// data-charts-total (charts on the page), data-charts-rendered (how many finished rendering),
// data-chart-errors (one line per failed chart, "chart-N: message"), and data-charts-done="true"
// once every chart has either rendered or failed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal::report {

struct Chart {
  std::string title;
  nlohmann::json vega_lite_spec;
};

struct Section {
  std::string heading;
  std::string html;  // trusted snippet inserted as it is (e.g. from html_table)
  std::vector<Chart> charts;
};

// &, <, >, " and ' as character references.
std::string html_escape(std::string_view text);

// The whole HTML5 document. Titles, headings and chart titles are escaped; the specs are
// embedded so that no string in them can end the <script> element.
std::string render_html(const std::string& title, const std::vector<Section>& sections);

// 12501632.4 as "12,501,632" (rounded to an integer).
std::string with_commas(double value);

// A <table> with every cell escaped.
std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Top-1 (%) against instructions per inference of the object printed by `frugal explore --json`:
// the Pareto front on the test and on the validation split, the exact baseline and, when the
// object has one, the selected point. Throws ir::Error (one line) when a field is missing.
nlohmann::json pareto_chart_spec(const nlohmann::json& explore_json);

// The report of one `frugal explore` run: summary, Pareto chart and a table of the points.
std::string explore_report_html(const nlohmann::json& explore_json);

// Writes `html` to `file` atomically (a temporary file in the same folder, then a rename); throws
// ir::Error with a one-line message, leaving nothing behind, on failure.
void write_report(const std::filesystem::path& file, const std::string& html);

}  // namespace frugal::report
