#include "report/command_reports.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "ir/graph.h"

namespace frugal::report {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// --- reading a command's JSON; every miss is a one-line ir::Error naming the command ---

class Reader {
 public:
  explicit Reader(std::string_view command) : command_(command) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw ir::Error(fmt::format("{} JSON: {}", command_, message));
  }

  const Json& member(const Json& object, const std::string& where, const char* key) const {
    if (!object.is_object()) fail(fmt::format("{} is not an object", where));
    const auto it = object.find(key);
    if (it == object.end()) fail(fmt::format("{} has no '{}'", where, key));
    return *it;
  }

  double number(const Json& object, const std::string& where, const char* key) const {
    const Json& value = member(object, where, key);
    if (!value.is_number()) fail(fmt::format("{}.{} is not a number", where, key));
    return value.get<double>();
  }

  // Byte and instruction counts: the CSV keeps them as integers.
  const Json& count(const Json& object, const std::string& where, const char* key) const {
    const Json& value = member(object, where, key);
    if (!value.is_number_integer() || value.get<int64_t>() < 0) {
      fail(fmt::format("{}.{} is not a count (a non-negative integer)", where, key));
    }
    return value;
  }

  std::string text(const Json& object, const std::string& where, const char* key) const {
    const Json& value = member(object, where, key);
    if (!value.is_string()) fail(fmt::format("{}.{} is not a string", where, key));
    return value.get<std::string>();
  }

  bool boolean(const Json& object, const std::string& where, const char* key) const {
    const Json& value = member(object, where, key);
    if (!value.is_boolean()) fail(fmt::format("{}.{} is not true or false", where, key));
    return value.get<bool>();
  }

  // Charts of nothing say nothing: the arrays a report is made of must hold something.
  const Json& rows(const Json& object, const std::string& where, const char* key) const {
    const Json& value = member(object, where, key);
    if (!value.is_array() || value.empty()) fail(fmt::format("{}.{} is not a non-empty array", where, key));
    return value;
  }

  // A list that may be empty (a model with no weight layers).
  const Json& array(const Json& object, const std::string& where, const char* key) const {
    const Json& value = member(object, where, key);
    if (!value.is_array()) fail(fmt::format("{}.{} is not an array", where, key));
    return value;
  }

  std::optional<double> optional_number(const Json& object, const char* key) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) fail(fmt::format("{} is not a number", key));
    return it->get<double>();
  }

 private:
  std::string_view command_;
};

std::string at(std::string_view array, size_t index) { return fmt::format("{}[{}]", array, index); }

// --- table cells ---

Cell text_cell(const std::string& text) { return {text, text}; }
Cell count_cell(const Json& value) { return {with_commas(value.get<double>()), value.dump()}; }
Cell decimal_cell(const Json& value, int decimals) {
  return {fmt::format("{:.{}f}", value.get<double>(), decimals), value.dump()};
}
Cell percent_cell(double fraction, int decimals = 2) {
  return {fmt::format("{:.{}f}", 100.0 * fraction, decimals), fmt::format("{}", 100.0 * fraction)};
}
Cell yes_no_cell(bool value) { return text_cell(value ? "yes" : "no"); }

std::string list_html(const std::vector<std::string>& items) {
  std::string out = "<ul>\n";
  for (const std::string& item : items) out += "<li>" + html_escape(item) + "</li>\n";
  return out + "</ul>\n";
}

// TFLite joins the names of everything fused into an op with ';'; the first part names the layer.
std::string short_name(const std::string& name) {
  std::string text = name.substr(0, name.find(';'));
  return text.size() <= 40 ? text : text.substr(0, 37) + "...";
}

// Page titles name the file; the summary gives the path as the command was given it.
std::string file_name(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  return name.empty() ? path : name;
}

// The page shows the layer's own name, the CSV keeps TFLite's full one.
Cell name_cell(const std::string& name) { return {short_name(name), name}; }

// A bench layer's kernel ("dense" when an older file has no such field), with its weight width.
std::string kernel_label(const Json& layer) {
  const std::string kind = layer.contains("kernel") && layer["kernel"].is_string() ? layer["kernel"].get<std::string>() : "dense";
  const bool wide = layer.contains("int16_weights") && layer["int16_weights"].is_boolean() && layer["int16_weights"].get<bool>();
  return wide ? kind + " (int16 weights)" : kind;
}

std::string shape_text(const Json& shape) {
  if (!shape.is_array()) return "?";
  if (shape.empty()) return "scalar";
  std::string out;
  for (const Json& d : shape) out.append(out.empty() ? "" : "x").append(d.dump());
  return out;
}

// --- chart specs (Vega-Lite) ---

Json field(const char* name, const char* title, const char* format = nullptr) {
  Json f = {{"field", name}, {"type", "quantitative"}, {"title", title}};
  if (format != nullptr) f["format"] = format;
  return f;
}
// A null title leaves the axis or legend unlabelled, where the chart's caption says it all.
Json nominal(const char* name, const char* title) {
  return {{"field", name}, {"type", "nominal"}, {"title", title == nullptr ? Json(nullptr) : Json(title)}};
}

// Categories on the y axis, in the order of the rows (layers in execution order, models as the
// command lists them), so that long names stay readable and the page reads like the table.
Json category_axis(const char* name, const char* title) {
  Json axis = nominal(name, title);
  axis["sort"] = nullptr;
  axis["axis"] = {{"labelLimit", 280}};
  return axis;
}

Json value_axis(const char* name, const char* title, bool log = false) {
  Json axis = field(name, title);
  axis["axis"] = {{"format", "~s"}};
  if (log) axis["scale"] = {{"type", "log"}};
  return axis;
}

Json bar_chart(const char* description, Json rows, const char* category, const char* category_title,
               const char* value, const char* value_title, Json tooltip, const char* color) {
  return {{"description", description},
          {"width", 600},
          {"data", {{"values", std::move(rows)}}},
          {"mark", {{"type", "bar"}, {"color", color}}},
          {"encoding",
           {{"y", category_axis(category, category_title)},
            {"x", value_axis(value, value_title)},
            {"tooltip", std::move(tooltip)}}}};
}

// One bar per category made of segments, coloured by `part` (the segments' order and colours in
// `scale`), the legend unlabelled: the chart's caption names what is split.
Json stacked_bar_chart(const char* description, Json rows, Json y, Json x, const char* part, Json scale, Json legend,
                       Json tooltip) {
  return {{"description", description},
          {"width", 600},
          {"data", {{"values", std::move(rows)}}},
          {"mark", {{"type", "bar"}}},
          {"encoding",
           {{"y", std::move(y)},
            {"x", std::move(x)},
            {"color",
             {{"field", part},
              {"type", "nominal"},
              {"title", nullptr},
              {"scale", std::move(scale)},
              {"legend", std::move(legend)}}},
            {"tooltip", std::move(tooltip)}}}};
}

// Bars side by side within each category, one per series (in `series` order, in `colors`).
Json grouped_bar_chart(const char* description, Json rows, const char* category, const char* category_title,
                       const char* series_field, const char* series_title, const std::vector<std::string>& series,
                       const std::vector<std::string>& colors, Json x, Json tooltip) {
  // A bar starts at 0, which a log scale cannot place (Vega-Lite then draws nothing and reports
  // no error): there the bars start at 1.
  const bool log = x.contains("scale") && x["scale"].value("type", "") == "log";
  Json spec = {{"description", description},
          {"width", 600},
          {"data", {{"values", std::move(rows)}}},
          {"mark", {{"type", "bar"}}},
          {"encoding",
           {{"y", category_axis(category, category_title)},
            {"x", std::move(x)},
            {"yOffset", {{"field", series_field}, {"type", "nominal"}, {"sort", series}}},
            {"color",
             {{"field", series_field},
              {"type", "nominal"},
              {"title", series_title},
              {"scale", {{"domain", series}, {"range", colors}}},
              {"legend", {{"orient", "bottom"}, {"direction", "vertical"}, {"labelLimit", 480}}}}},
            {"tooltip", std::move(tooltip)}}}};
  if (log) spec["encoding"]["x2"] = {{"datum", 1}};
  return spec;
}

// Flash and RAM as stacked parts, in front of the board's capacity where the JSON names it.
Json memory_chart(const Reader& r, const Json& j) {
  const double flash = r.count(j, "the top level", "flash_bytes").get<double>();
  const double ram = r.count(j, "the top level", "ram_bytes").get<double>();
  const double stack = r.count(j, "the top level", "stack_bytes").get<double>();
  const double arena = r.count(j, "the top level", "arena_bytes").get<double>();
  const std::vector<std::string> parts = {"firmware (code and constants)", "arena (activations)", "other static data",
                                          "stack"};
  Json used = Json::array({
      {{"memory", "flash"}, {"part", parts[0]}, {"rank", 0}, {"bytes", flash}},
      {{"memory", "RAM"}, {"part", parts[1]}, {"rank", 1}, {"bytes", std::min(arena, ram)}},
      {{"memory", "RAM"}, {"part", parts[2]}, {"rank", 2}, {"bytes", std::max(0.0, ram - arena)}},
      {{"memory", "RAM"}, {"part", parts[3]}, {"rank", 3}, {"bytes", stack}},
  });
  const Json y = {{"field", "memory"}, {"type", "nominal"}, {"title", nullptr}, {"sort", {"flash", "RAM"}}};
  Json layers = Json::array();
  const std::optional<double> board_flash = r.optional_number(j, "board_flash_bytes");
  const std::optional<double> board_ram = r.optional_number(j, "board_ram_bytes");
  if (board_flash && board_ram) {
    layers.push_back({{"data",
                       {{"values", Json::array({{{"memory", "flash"}, {"capacity", *board_flash}},
                                                {{"memory", "RAM"}, {"capacity", *board_ram}}})}}},
                      {"mark", {{"type", "bar"}, {"color", "#e6e6e6"}, {"stroke", "#bbbbbb"}}},
                      {"encoding",
                       {{"y", y},
                        {"x", value_axis("capacity", "bytes")},
                        {"tooltip", Json::array({nominal("memory", "memory"), field("capacity", "board has (bytes)", ",d")})}}}});
  }
  layers.push_back(
      {{"data", {{"values", used}}},
       {"mark", {{"type", "bar"}, {"height", {{"band", 0.6}}}}},
       {"encoding",
        {{"y", y},
         {"x", value_axis("bytes", "bytes")},
         {"color",
          {{"field", "part"},
           {"type", "nominal"},
           {"title", nullptr},
           {"scale", {{"domain", parts}, {"range", {"#4c78a8", "#f58518", "#72b7b2", "#e45756"}}}},
           {"legend", {{"orient", "bottom"}, {"columns", 2}}}}},
         {"order", {{"field", "rank"}, {"type", "quantitative"}}},
         {"tooltip", Json::array({nominal("memory", "memory"), nominal("part", "part"), field("bytes", "bytes", ",d")})}}}});
  return {{"description", board_flash && board_ram ? "Flash and RAM of the linked firmware, in front of the board's"
                                                   : "Flash and RAM of the linked firmware"},
          {"width", 600},
          {"layer", layers}};
}

std::string bench_where_header(const Reader& r, const Json& j, const std::string& subject, bool bundle) {
  const std::string board = r.text(j, "the top level", "board");
  return fmt::format("{} on {}, QEMU {} with the {} cycle table, {} inference(s){} at {:.0f} MHz", subject, board,
                     r.text(j, "the top level", "qemu_machine"), r.text(j, "the top level", "cycle_model"),
                     with_commas(r.number(j, "the top level", "count")), bundle ? " per model" : "",
                     r.number(j, "the top level", "clock_hz") / 1e6);
}

std::string memory_line(const Reader& r, const Json& j) {
  std::string line = fmt::format("Linked firmware: flash {} B", with_commas(r.number(j, "the top level", "flash_bytes")));
  if (const auto board = r.optional_number(j, "board_flash_bytes")) line += fmt::format(" of {}", with_commas(*board));
  line += fmt::format("; RAM {} B static (arena {}) + {} B stack", with_commas(r.number(j, "the top level", "ram_bytes")),
                      with_commas(r.number(j, "the top level", "arena_bytes")),
                      with_commas(r.number(j, "the top level", "stack_bytes")));
  if (const auto board = r.optional_number(j, "board_ram_bytes")) line += fmt::format(", of {}", with_commas(*board));
  return line + ".";
}

bool is_bundle(const Json& bench) { return bench.is_object() && bench.contains("models"); }

// --- bench of one model ---

std::vector<Chart> bench_model_charts(const Reader& r, const Json& j) {
  const Json& layers = r.rows(j, "the top level", "layers");
  Json rows = Json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    const Json& l = layers[i];
    const std::string where = at("layers", i);
    const double macs = r.number(l, where, "macs");
    const double instructions = r.count(l, where, "instructions").get<double>();
    rows.push_back({{"layer", fmt::format("{} {}", i, r.text(l, where, "op"))},
                    {"name", short_name(r.text(l, where, "name"))},
                    {"kernel", kernel_label(l)},
                    {"macs", macs},
                    {"instructions", instructions},
                    {"instructions_per_mac", macs > 0 ? Json(instructions / macs) : Json(nullptr)},
                    {"cycles_estimate", r.count(l, where, "cycles_estimate").get<double>()},
                    {"ms_estimate", r.number(l, where, "ms_estimate")}});
  }
  const Json tooltip = Json::array({nominal("layer", "layer"), nominal("name", "name"), nominal("kernel", "kernel"),
                                    field("macs", "MACs", ",d"), field("instructions", "instructions", ",d"),
                                    field("instructions_per_mac", "instructions per MAC", ".2f"),
                                    field("cycles_estimate", "est. cycles", ",d"), field("ms_estimate", "est. ms", ".3f")});
  return {{"Executed instructions per layer (exact, QEMU)",
           bar_chart("Executed instructions per layer", rows, "layer", "layer", "instructions", "instructions per inference",
                     tooltip, "#4c78a8")},
          {"Estimated cycles per layer",
           bar_chart("Estimated cycles per layer", rows, "layer", "layer", "cycles_estimate", "estimated cycles per inference",
                     tooltip, "#f58518")},
          {"Flash and RAM", memory_chart(r, j)}};
}

Table bench_model_table(const Reader& r, const Json& j) {
  const Json& layers = r.rows(j, "the top level", "layers");
  Table table{{"#", "layer", "op", "kernel", "MACs", "instructions", "instructions/MAC", "est. cycles", "est. ms"}, {}};
  for (size_t i = 0; i < layers.size(); ++i) {
    const Json& l = layers[i];
    const std::string where = at("layers", i);
    const double macs = r.number(l, where, "macs");
    const Json& instructions = r.count(l, where, "instructions");
    const Cell per_mac = macs > 0 ? Cell{fmt::format("{:.2f}", instructions.get<double>() / macs),
                                         fmt::format("{}", instructions.get<double>() / macs)}
                                  : Cell{"-", ""};
    table.rows.push_back({text_cell(std::to_string(i)), name_cell(r.text(l, where, "name")), text_cell(r.text(l, where, "op")),
                          text_cell(kernel_label(l)), count_cell(r.member(l, where, "macs")),
                          count_cell(instructions), per_mac, count_cell(r.count(l, where, "cycles_estimate")),
                          decimal_cell(r.member(l, where, "ms_estimate"), 3)});
  }
  return table;
}

std::string bench_model_summary(const Reader& r, const Json& j) {
  const std::string model = r.text(j, "the top level", "model");
  std::vector<std::string> items;
  items.push_back(bench_where_header(r, j, model, false) + ".");
  if (j.contains("approx") && j["approx"].is_string()) items.push_back("Approximate model: " + j["approx"].get<std::string>() + ".");
  items.push_back(fmt::format("Bit-exact with the host engine: {} ({} of {} outputs equal).",
                              r.boolean(j, "the top level", "bit_exact") ? "yes" : "NO",
                              with_commas(r.number(j, "the top level", "outputs_equal")),
                              with_commas(r.number(j, "the top level", "count"))));
  const double macs = r.number(j, "the top level", "total_macs");
  const double instructions = r.number(j, "the top level", "total_instructions");
  items.push_back(fmt::format("Per inference: {} MACs, {} instructions ({:.2f} per MAC), ~{} cycles = ~{:.2f} ms.",
                              with_commas(macs), with_commas(instructions), macs > 0 ? instructions / macs : 0.0,
                              with_commas(r.number(j, "the top level", "total_cycles_estimate")),
                              r.number(j, "the top level", "ms_estimate")));
  items.push_back(memory_line(r, j));
  return list_html(items);
}

// --- bench of a bundle ---

// The storage links of a model's "load_from_external_storage", by name (nlohmann::json keeps an
// object's keys sorted).
std::vector<std::string> storage_links(const Reader& r, const Json& model, const std::string& where) {
  const Json& loads = r.member(model, where, "load_from_external_storage");
  if (!loads.is_object()) r.fail(where + ".load_from_external_storage is not an object");
  std::vector<std::string> links;
  for (auto it = loads.begin(); it != loads.end(); ++it) links.push_back(it.key());
  return links;
}

std::vector<Chart> bench_bundle_charts(const Reader& r, const Json& j) {
  const Json& models = r.rows(j, "the top level", "models");
  Json cost_rows = Json::array();
  Json switch_rows = Json::array();
  std::vector<std::string> ways = {"switch: frugal_select()"};
  for (size_t i = 0; i < models.size(); ++i) {
    const Json& m = models[i];
    const std::string where = at("models", i);
    const std::string name = r.text(m, where, "name");
    const double instructions = r.count(m, where, "total_instructions").get<double>();
    const double cycles = r.count(m, where, "total_cycles_estimate").get<double>();
    const double ms = r.number(m, where, "ms_estimate");
    for (const auto& [measure, value] : {std::pair{"instructions", instructions}, std::pair{"est. cycles", cycles}}) {
      cost_rows.push_back({{"model", name}, {"measure", measure}, {"value", value}, {"ms_estimate", ms}});
    }
    const Json& s = r.member(m, where, "switch");
    const std::string switch_where = where + ".switch";
    switch_rows.push_back({{"model", name},
                           {"way", ways[0]},
                           {"cycles", r.count(s, switch_where, "cycles_estimate").get<double>()},
                           {"bytes_copied", r.count(s, switch_where, "bytes_copied").get<double>()},
                           {"ms", r.count(s, switch_where, "cycles_estimate").get<double>() /
                                      (r.number(j, "the top level", "clock_hz") / 1e3)}});
    const double constants = r.count(m, where, "constant_bytes").get<double>();
    const Json& loads = m.at("load_from_external_storage");
    for (const std::string& link : storage_links(r, m, where)) {
      const std::string load_where = fmt::format("{}.load_from_external_storage[\"{}\"]", where, link);
      const std::string way = "load from " + link;
      if (std::find(ways.begin(), ways.end(), way) == ways.end()) ways.push_back(way);
      switch_rows.push_back({{"model", name},
                             {"way", way},
                             {"cycles", r.count(loads.at(link), load_where, "cycles").get<double>()},
                             {"bytes_copied", constants},
                             {"ms", r.number(loads.at(link), load_where, "ms")}});
    }
  }
  const std::vector<std::string> palette = {"#d62728", "#4c78a8", "#72b7b2", "#b279a2", "#9d755d"};
  const std::vector<std::string> colors(palette.begin(),
                                        palette.begin() + static_cast<std::ptrdiff_t>(std::min(ways.size(), palette.size())));
  if (ways.size() > palette.size()) r.fail(fmt::format("more than {} storage links", palette.size() - 1));

  Json costs = grouped_bar_chart(
      "Instructions and estimated cycles per inference of each model of the bundle", cost_rows, "model", "model",
      "measure", "per inference", {"instructions", "est. cycles"}, {"#4c78a8", "#f58518"},
      value_axis("value", "per inference"),
      Json::array({nominal("model", "model"), nominal("measure", "measure"), field("value", "value", ",d"),
                   field("ms_estimate", "est. ms per inference", ".3f")}));
  // Switching costs tens of cycles, loading from storage millions: only a log axis shows both.
  Json switching = grouped_bar_chart(
      "Cycles to switch to each model in the bundle firmware, against loading its constants from external storage",
      switch_rows, "model", "model", "way", "making the model ready", ways, colors,
      value_axis("cycles", "cycles (estimated; log scale)", true),
      Json::array({nominal("model", "model"), nominal("way", "how"), field("cycles", "cycles", ",d"),
                   field("ms", "ms", ".4f"), field("bytes_copied", "bytes copied", ",d")}));
  return {{"Instructions and estimated cycles per model", costs},
          {"Switching to a model vs loading it from external storage (cycles, log scale)", switching},
          {"Flash and RAM", memory_chart(r, j)}};
}

Table bench_bundle_table(const Reader& r, const Json& j) {
  const Json& models = r.rows(j, "the top level", "models");
  Table table{{"model", "instructions", "est. cycles", "est. ms", "switch instructions", "switch cycles", "switch bytes copied",
               "switch % of inference", "constant bytes"},
              {}};
  const std::vector<std::string> links = storage_links(r, models[0], "models[0]");
  for (const std::string& link : links) {
    // "SD card over SPI (25 MHz)" as "SD": the full names are in the chart and the docs.
    const std::string bus = link.substr(0, link.find(' '));
    table.header.push_back(bus + " load cycles");
    table.header.push_back(bus + " load ms");
  }
  table.header.push_back("bit-exact");
  for (size_t i = 0; i < models.size(); ++i) {
    const Json& m = models[i];
    const std::string where = at("models", i);
    const Json& s = r.member(m, where, "switch");
    const std::string switch_where = where + ".switch";
    std::vector<Cell> row = {text_cell(r.text(m, where, "name")), count_cell(r.count(m, where, "total_instructions")),
                             count_cell(r.count(m, where, "total_cycles_estimate")),
                             decimal_cell(r.member(m, where, "ms_estimate"), 3),
                             count_cell(r.count(s, switch_where, "instructions")),
                             count_cell(r.count(s, switch_where, "cycles_estimate")),
                             count_cell(r.count(s, switch_where, "bytes_copied")),
                             percent_cell(r.number(s, switch_where, "fraction_of_inference"), 4),
                             count_cell(r.count(m, where, "constant_bytes"))};
    const Json& loads = r.member(m, where, "load_from_external_storage");
    for (const std::string& link : links) {
      const std::string load_where = fmt::format("{}.load_from_external_storage[\"{}\"]", where, link);
      const Json& load = r.member(loads, where + ".load_from_external_storage", link.c_str());
      row.push_back(count_cell(r.count(load, load_where, "cycles")));
      row.push_back(decimal_cell(r.member(load, load_where, "ms"), 2));
    }
    row.push_back(yes_no_cell(r.boolean(m, where, "bit_exact")));
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string bench_bundle_summary(const Reader& r, const Json& j) {
  const Json& models = r.rows(j, "the top level", "models");
  std::vector<std::string> items;
  items.push_back(bench_where_header(r, j, r.text(j, "the top level", "bundle"), true) + ".");
  items.push_back(fmt::format("{} models in one firmware; bit-exact with the host engine: {}.", models.size(),
                              r.boolean(j, "the top level", "bit_exact") ? "yes (every model)" : "NO"));
  items.push_back("Switch: frugal_select() in estimated cycles, copying no bytes. Load: what reading the model's "
                  "constants from external storage into RAM would cost instead (a first-order model of the bus, "
                  "docs/product-quantization.md).");
  items.push_back(memory_line(r, j));
  return list_html(items);
}

// --- compress ---

std::string metric_name(const std::string& metric) { return metric == "top1" ? "Top-1" : metric == "auc" ? "AUC" : metric; }

// --search-codebooks: every trial's stored bytes against its mean validation loss, the chosen
// one marked.
Chart codebook_search_chart(const Reader& r, const Json& j) {
  const Json& search = r.member(j, "the top level", "codebook_search");
  const Json& trials = r.rows(search, "codebook_search", "trials");
  const double chosen = r.number(search, "codebook_search", "chosen");
  Json rows = Json::array();
  for (size_t i = 0; i < trials.size(); ++i) {
    const Json& t = trials[i];
    const std::string where = "codebook_search." + at("trials", i);
    const Json& row = r.member(t, where, "row");
    const Json& kernel = r.member(t, where, "kernel");
    rows.push_back({{"shapes", fmt::format("row d={} K={}, 3x3 d={} K={}", r.number(row, where + ".row", "subvector"),
                                           r.number(row, where + ".row", "codewords"),
                                           r.number(kernel, where + ".kernel", "subvector"),
                                           r.number(kernel, where + ".kernel", "codewords"))},
                    {"stored_bytes", r.count(t, where, "stored_bytes").get<double>()},
                    {"ratio_vs_int8", r.number(t, where, "ratio_vs_int8")},
                    {"loss_points", 100.0 * r.number(t, where, "mean_validation_loss")},
                    {"trial", static_cast<double>(i) == chosen ? "chosen" : "tried"}});
  }
  Json spec = {
      {"description", "Codebook shapes tried: stored bytes against mean validation loss"},
      {"width", 600},
      {"height", 300},
      {"data", {{"values", rows}}},
      {"mark", {{"type", "point"}, {"filled", true}, {"size", 90}}},
      {"encoding",
       {{"x", value_axis("stored_bytes", "bytes stored")},
        {"y", field("loss_points", "mean validation loss (points)")},
        {"color",
         {{"field", "trial"},
          {"type", "nominal"},
          {"title", nullptr},
          {"scale", {{"domain", {"tried", "chosen"}}, {"range", {"#9d9d9d", "#d62728"}}}}}},
        {"tooltip", Json::array({nominal("shapes", "codebooks"), field("stored_bytes", "bytes stored", ",d"),
                                 field("ratio_vs_int8", "x smaller than int8", ".2f"),
                                 field("loss_points", "mean validation loss (points)", ".2f")})}}}};
  return {"Codebook search: each (d, K) tried, greedy choice without recovery", spec};
}

std::vector<Chart> compress_charts_of(const Reader& r, const Json& j) {
  const Json& models = r.rows(j, "the top level", "models");
  Json byte_rows = Json::array();
  Json accuracy_rows = Json::array();
  const std::vector<std::string> forms = {"int8", "in the bundle (codebooks not counted)"};
  for (size_t i = 0; i < models.size(); ++i) {
    const Json& m = models[i];
    const std::string where = at("models", i);
    const std::string name = r.text(m, where, "name");
    const double int8 = r.count(m, where, "int8_bytes").get<double>();
    const double stored = r.count(m, where, "stored_bytes").get<double>();
    const double ratio = r.number(m, where, "ratio_vs_int8");
    byte_rows.push_back({{"model", name}, {"form", forms[0]}, {"bytes", int8}, {"ratio_vs_int8", 1.0}});
    byte_rows.push_back({{"model", name}, {"form", forms[1]}, {"bytes", stored}, {"ratio_vs_int8", ratio}});
    const std::string metric = metric_name(r.text(m, where, "metric"));
    for (const char* when : {"before", "after"}) {
      accuracy_rows.push_back({{"model", name},
                               {"when", when},
                               {"metric", metric},
                               {"value_pct", 100.0 * r.number(m, where, when)},
                               {"dataset", m.value("dataset", "")}});
    }
  }
  const std::vector<std::pair<std::string, const char*>> totals = {
      {"fp32 weights and biases", "fp32_bytes"}, {"int8 weights and biases", "int8_bytes"},
      {"stored in the bundle", "stored_bytes"}, {"bundle file", "bundle_bytes"}};
  const double stored = r.number(j, "the top level", "stored_bytes");
  Json total_rows = Json::array();
  for (const auto& [what, key] : totals) {
    const double bytes = r.count(j, "the top level", key).get<double>();
    total_rows.push_back({{"what", what}, {"bytes", bytes}, {"times_stored", stored > 0 ? bytes / stored : 0.0}});
  }
  const Json& storage = r.member(j, "the top level", "storage");
  Json part_rows = Json::array();
  std::vector<std::string> parts;
  for (const char* part : {"indices", "codebooks", "dense_weights", "biases", "quantization"}) {
    std::string label = part;
    std::replace(label.begin(), label.end(), '_', ' ');
    parts.push_back(label);
    part_rows.push_back({{"stored", "stored"}, {"part", label}, {"bytes", r.count(storage, "storage", part).get<double>()}});
  }

  Json bytes_chart = grouped_bar_chart(
      "Weight bytes of each model: int8 against what the bundle stores for it", byte_rows, "model", "model", "form",
      "weights and biases", forms, {"#9d9d9d", "#4c78a8"}, value_axis("bytes", "bytes"),
      Json::array({nominal("model", "model"), nominal("form", "form"), field("bytes", "bytes", ",d"),
                   field("ratio_vs_int8", "x smaller than int8", ".2f")}));
  Json x_accuracy = field("value_pct", "Top-1 or AUC (%)");
  x_accuracy["scale"] = {{"domain", {0, 100}}};
  Json accuracy_chart = grouped_bar_chart(
      "Accuracy of each model before and after compression, on its held-out split", accuracy_rows, "model", "model",
      "when", "compression", {"before", "after"}, {"#9d9d9d", "#2ca02c"}, x_accuracy,
      Json::array({nominal("model", "model"), nominal("dataset", "data set"), nominal("metric", "metric"),
                   nominal("when", "when"), field("value_pct", "value (%)", ".2f")}));
  Json totals_chart = bar_chart("Bytes of every model together", total_rows, "what", nullptr, "bytes", "bytes",
                                Json::array({nominal("what", "what"), field("bytes", "bytes", ",d"),
                                             field("times_stored", "x the stored bytes", ".2f")}),
                                "#4c78a8");
  Json parts_chart = stacked_bar_chart("What the bundle stores, by part", part_rows,
                                       {{"field", "stored"}, {"type", "nominal"}, {"title", nullptr}},
                                       value_axis("bytes", "bytes"), "part", {{"domain", parts}},
                                       {{"orient", "bottom"}, {"columns", 5}},
                                       Json::array({nominal("part", "part"), field("bytes", "bytes", ",d")}));
  std::vector<Chart> charts = {{"Weight bytes per model: int8 vs stored in the bundle", bytes_chart},
                                {"Accuracy per model, before and after (held-out split)", accuracy_chart},
                                {"Totals: fp32, int8, stored, bundle file", totals_chart},
                                {"What the bundle stores", parts_chart}};
  if (j.contains("codebook_search")) charts.push_back(codebook_search_chart(r, j));
  return charts;
}

// How a compressed layer's weights are stored, as the sub-vector length of the codebook that
// encodes them (a bundle with finer codebooks has two per kind, so d tells them apart): 0 for a
// layer left int8, -1 for an encoded layer of an older frugal's JSON, which has no d.
int64_t layer_subvector(const Json& layer, const std::string& where, const Reader& r) {
  if (!r.boolean(layer, where, "encoded")) return 0;
  const auto it = layer.find("subvector");
  return it != layer.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

std::string form_label(int64_t subvector) {
  return subvector == 0 ? "int8" : subvector < 0 ? "codebook" : fmt::format("codebook, d = {}", subvector);
}

// `visit(model name, layer, where)` for every layer of every model, in order.
template <typename Visit>
void for_each_layer(const Reader& r, const Json& j, Visit visit) {
  const Json& models = r.rows(j, "the top level", "models");
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string where = at("models", i);
    const std::string name = r.text(models[i], where, "name");
    const Json& layers = r.array(models[i], where, "layers");
    for (size_t k = 0; k < layers.size(); ++k) visit(name, layers[k], where + "." + at("layers", k));
  }
}

// Every model's weights split by how they are stored: one stacked bar per model.
Chart compress_layers_chart(const Reader& r, const Json& j) {
  Json rows = Json::array();
  std::vector<int64_t> subvectors;
  for_each_layer(r, j, [&](const std::string& model, const Json& l, const std::string& where) {
    const int64_t d = layer_subvector(l, where, r);
    if (std::find(subvectors.begin(), subvectors.end(), d) == subvectors.end()) subvectors.push_back(d);
    rows.push_back({{"model", model},
                    {"layer", short_name(r.text(l, where, "tensor"))},
                    {"form", form_label(d)},
                    {"weights", r.count(l, where, "weights").get<double>()}});
  });
  // The legend from int8 through the coarsest codebook to the finest (d = 0 first, then larger d).
  std::sort(subvectors.begin(), subvectors.end(), [](int64_t a, int64_t b) {
    return a == 0 || b == 0 ? a == 0 && b != 0 : a > b;
  });
  std::vector<std::string> forms, colors;
  const std::vector<std::string> palette = {"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"};
  size_t codebooks = 0;
  for (int64_t d : subvectors) {
    forms.push_back(form_label(d));
    colors.push_back(d == 0 ? "#9d9d9d" : palette[codebooks++ % palette.size()]);  // int8 grey, as on the bytes chart
  }
  Json spec = stacked_bar_chart("Weights of each model by how the bundle stores them", rows,
                                category_axis("model", nullptr), value_axis("weights", "weights"), "form",
                                {{"domain", forms}, {"range", colors}}, {{"orient", "bottom"}},
                                Json::array({nominal("model", "model"), nominal("layer", "layer"),
                                             nominal("form", "stored as"), field("weights", "weights", ",d")}));
  return {"Weights per model: int8 or which codebook", spec};
}

// The course of each model's joint recovery: how far it was under the original on the bound's
// measure after every round and give-back, against the bound. None when no model ran it.
std::optional<Chart> compress_joint_chart(const Reader& r, const Json& j) {
  const Json& models = r.rows(j, "the top level", "models");
  Json rows = Json::array();
  for (size_t i = 0; i < models.size(); ++i) {
    const auto it = models[i].find("joint");
    if (it == models[i].end()) continue;
    const std::string where = at("models", i) + ".joint";
    const std::string name = r.text(models[i], at("models", i), "name");
    const double reference = r.number(*it, where, "bound_reference");
    const Json& steps = r.rows(*it, where, "steps");
    for (size_t k = 0; k < steps.size(); ++k) {
      const Json& step = steps[k];
      const std::string at_step = where + "." + at("steps", k);
      Json row{{"model", name},
               {"step", static_cast<double>(k)},
               {"event", r.text(step, at_step, "event")},
               {"encoded_layers", r.count(step, at_step, "encoded_layers").get<double>()},
               {"loss_points", 100.0 * (reference - r.number(step, at_step, "bound_score"))},
               {"best", step.value("best", false) ? "yes" : "no"},
               {"note", step.value("note", "")}};
      if (const auto fidelity = r.optional_number(step, "tuning_fidelity")) row["tuning_fidelity"] = *fidelity;
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) return std::nullopt;
  const double bound = 100.0 * r.number(j, "the top level", "max_accuracy_loss");
  Json step_axis = field("step", "rounds and give-backs, in order");
  step_axis["axis"] = {{"tickMinStep", 1}, {"format", "d"}};
  Json spec = {
      {"description", "Joint recovery of each model: points under the original after each round and give-back"},
      {"width", 600},
      {"height", 300},
      {"layer",
       Json::array(
           {{{"data", {{"values", rows}}},
             {"mark", {{"type", "line"}, {"point", {{"filled", true}, {"size", 50}}}}},
             {"encoding",
              {{"x", step_axis},
               {"y", field("loss_points", "points under the original (bound's measure, validation)")},
               {"color", {{"field", "model"}, {"type", "nominal"}, {"title", "model"}, {"sort", nullptr}}},
               {"tooltip", Json::array({nominal("model", "model"), nominal("event", "event"),
                                        field("encoded_layers", "encoded layers", ",d"),
                                        field("loss_points", "points under the original", ".2f"),
                                        field("tuning_fidelity", "fidelity on the tuning inputs", ".4f"),
                                        nominal("best", "best so far"), nominal("note", "stepped back")})}}}},
            {{"data", {{"values", Json::array({{{"bound", bound}, {"what", "the bound"}}})}}},
             {"mark", {{"type", "rule"}, {"color", "#d62728"}, {"strokeDash", {4, 4}}}},
             {"encoding",
              {{"y", field("bound", "points under the original (bound's measure, validation)")},
               {"tooltip", Json::array({nominal("what", "what"), field("bound", "points", ".2f")})}}}}})}};
  return Chart{"Joint recovery: each model's distance from its bound, round by round", spec};
}

// One row per weight layer of every model: what the layer choice and the recovery decided.
Table compress_layers_table(const Reader& r, const Json& j) {
  Table table{{"model", "layer", "op", "weights", "stored as", "fine-tuned", "note"}, {}};
  for_each_layer(r, j, [&](const std::string& model, const Json& l, const std::string& where) {
    table.rows.push_back({text_cell(model), name_cell(r.text(l, where, "tensor")), text_cell(r.text(l, where, "op")),
                          count_cell(r.count(l, where, "weights")), text_cell(form_label(layer_subvector(l, where, r))),
                          yes_no_cell(l.value("tuned", false)), text_cell(l.value("note", ""))});
  });
  return table;
}

// A [low, high] pair of numbers under `key` (compress's bootstrap intervals), where the JSON has one.
std::optional<std::pair<double, double>> interval_of(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_number() || !(*it)[1].is_number())
    return std::nullopt;
  return std::pair{(*it)[0].get<double>(), (*it)[1].get<double>()};
}

Table compress_table_of(const Reader& r, const Json& j) {
  const Json& models = r.rows(j, "the top level", "models");
  Table table{{"model", "data set", "metric", "before", "after", "loss, points (95% interval)", "validation before",
               "validation after", "int8 bytes",
               "stored bytes", "x vs int8", "encoded weights %", "encoded layers"},
              {}};
  for (size_t i = 0; i < models.size(); ++i) {
    const Json& m = models[i];
    const std::string where = at("models", i);
    size_t encoded = 0, layers = 0;
    if (const auto it = m.find("layers"); it != m.end() && it->is_array()) {
      for (const Json& l : *it) {
        ++layers;
        if (l.value("encoded", false)) ++encoded;
      }
    }
    const double weights = r.number(m, where, "weights");
    const double encoded_weights = r.number(m, where, "encoded_weights");
    // The bootstrap interval of the evaluation loss, where the JSON has one.
    std::string loss = "-";
    if (const auto interval = interval_of(m, "loss_interval95")) {
      loss = fmt::format("{:.2f} ({:.2f} to {:.2f})",
                         100.0 * (r.number(m, where, "before") - r.number(m, where, "after")),
                         100.0 * interval->first, 100.0 * interval->second);
    }
    table.rows.push_back({text_cell(r.text(m, where, "name")), text_cell(m.value("dataset", "")),
                          text_cell(metric_name(r.text(m, where, "metric"))), decimal_cell(r.member(m, where, "before"), 4),
                          decimal_cell(r.member(m, where, "after"), 4), text_cell(loss),
                          decimal_cell(r.member(m, where, "validation_before"), 4),
                          decimal_cell(r.member(m, where, "validation_after"), 4), count_cell(r.count(m, where, "int8_bytes")),
                          count_cell(r.count(m, where, "stored_bytes")), decimal_cell(r.member(m, where, "ratio_vs_int8"), 2),
                          weights > 0 ? percent_cell(encoded_weights / weights) : Cell{"-", ""},
                          text_cell(fmt::format("{}/{}", encoded, layers))});
  }
  return table;
}

std::string compress_summary(const Reader& r, const Json& j) {
  std::vector<std::string> items;
  items.push_back(fmt::format("Bundle {}: {} bytes on disk, {} bytes stored (indices, codebooks, dense weights, biases, "
                              "quantization).",
                              r.text(j, "the top level", "bundle"), with_commas(r.number(j, "the top level", "bundle_bytes")),
                              with_commas(r.number(j, "the top level", "stored_bytes"))));
  items.push_back(fmt::format("Compression: {:.2f}x vs fp32 ({} bytes), {:.2f}x vs int8 ({} bytes).",
                              r.number(j, "the top level", "ratio_vs_fp32"),
                              with_commas(r.number(j, "the top level", "fp32_bytes")),
                              r.number(j, "the top level", "ratio_vs_int8"),
                              with_commas(r.number(j, "the top level", "int8_bytes"))));
  if (const auto bound = r.optional_number(j, "max_accuracy_loss")) {
    std::string line = fmt::format("Accuracy-loss bound per model (validation split): {:.2f} points", 100.0 * *bound);
    if (const auto loss = r.optional_number(j, "average_loss")) {
      line += fmt::format("; average loss on the held-out splits: {:.2f} points", 100.0 * *loss);
      if (const auto interval = interval_of(j, "average_loss_interval95")) {
        line += fmt::format(" (95% bootstrap interval {:.2f} to {:.2f})", 100.0 * interval->first,
                            100.0 * interval->second);
      }
    }
    items.push_back(line + ".");
  }
  if (const auto it = j.find("codebooks"); it != j.end() && it->is_array()) {
    std::string books;
    for (const Json& cb : *it) {
      books += fmt::format("{}{} (d = {}, K = {}, {} B)", books.empty() ? "" : "; ", cb.value("kind", "?"),
                           cb.value("subvector", 0), cb.value("codewords", 0), with_commas(cb.value("bytes", 0.0)));
    }
    items.push_back("Shared codebooks: " + (books.empty() ? std::string("none") : books) + ".");
  }
  if (const auto it = j.find("codebooks_learnt_without"); it != j.end() && it->is_string()) {
    items.push_back("Codebooks learnt without " + it->get<std::string>() + ".");
  }
  return list_html(items);
}

// --- writing ---

std::string temporary_name(const fs::path& file) {
  // Built with append: GCC 12 raises a false -Wrestrict on the equivalent chain of operator+.
  std::string name = ".";
  name.append(file.filename().string()).append(".tmp-").append(std::to_string(::getpid()));
  return name;
}

void write_whole_file(const fs::path& path, const std::string& text, const fs::path& shown) {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) throw ir::Error(fmt::format("cannot write report '{}': {}", shown.string(), std::strerror(errno)));
  const size_t written = std::fwrite(text.data(), 1, text.size(), out);
  const int write_errno = errno;
  const bool closed = std::fclose(out) == 0;
  if (written != text.size() || !closed) {
    throw ir::Error(fmt::format("cannot write report '{}': {}", shown.string(),
                                std::strerror(written != text.size() ? write_errno : errno)));
  }
}

}  // namespace

std::string html_table(const Table& table) {
  std::vector<std::vector<std::string>> rows;
  for (const std::vector<Cell>& row : table.rows) {
    std::vector<std::string>& shown = rows.emplace_back();
    for (const Cell& cell : row) shown.push_back(cell.shown);
  }
  return html_table(table.header, rows);
}

std::string csv_table(const Table& table) {
  const auto field_text = [](const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  const auto line = [&](const auto& cells, const auto& text_of) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) out.append(i == 0 ? "" : ",").append(field_text(text_of(cells[i])));
    return out + "\n";
  };
  std::string out = line(table.header, [](const std::string& s) { return s; });
  for (const std::vector<Cell>& row : table.rows) out += line(row, [](const Cell& c) { return c.raw; });
  return out;
}

std::vector<Chart> inspect_charts(const Json& j) {
  const Reader r("inspect");
  const Json& layers = r.rows(j, "the top level", "layers");
  Json rows = Json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    const Json& l = layers[i];
    const std::string where = at("layers", i);
    rows.push_back({{"layer", fmt::format("{} {}", r.count(l, where, "index").dump(), r.text(l, where, "op"))},
                    {"name", short_name(r.text(l, where, "name"))},
                    {"output", shape_text(l.value("output", Json()))},
                    {"macs", r.count(l, where, "macs").get<double>()},
                    {"weight_bytes", r.count(l, where, "weight_bytes").get<double>()},
                    {"activation_bytes", r.count(l, where, "activation_bytes").get<double>()}});
  }
  const Json tooltip = Json::array({nominal("layer", "layer"), nominal("name", "name"), nominal("output", "output shape"),
                                    field("macs", "MACs", ",d"), field("weight_bytes", "weight bytes", ",d"),
                                    field("activation_bytes", "activation bytes", ",d")});
  return {{"Multiply-accumulates per layer",
           bar_chart("MACs per layer", rows, "layer", "layer", "macs", "MACs per inference", tooltip, "#4c78a8")},
          {"Weight bytes per layer (flash)",
           bar_chart("Constant bytes (weights, biases) per layer", rows, "layer", "layer", "weight_bytes", "bytes", tooltip,
                     "#54a24b")},
          {"Activation bytes per layer (RAM: each layer's output)",
           bar_chart("Output activation bytes per layer", rows, "layer", "layer", "activation_bytes", "bytes", tooltip,
                     "#f58518")}};
}

Table inspect_table(const Json& j) {
  const Reader r("inspect");
  const Json& layers = r.rows(j, "the top level", "layers");
  Table table{{"#", "name", "op", "inputs", "output", "MACs", "weight bytes", "activation bytes"}, {}};
  for (size_t i = 0; i < layers.size(); ++i) {
    const Json& l = layers[i];
    const std::string where = at("layers", i);
    std::string inputs;
    if (const auto it = l.find("inputs"); it != l.end() && it->is_array()) {
      for (const Json& shape : *it) inputs.append(inputs.empty() ? "" : " ").append(shape_text(shape));
    }
    table.rows.push_back({count_cell(r.count(l, where, "index")), name_cell(r.text(l, where, "name")),
                          text_cell(r.text(l, where, "op")), text_cell(inputs.empty() ? "-" : inputs),
                          text_cell(shape_text(l.value("output", Json()))), count_cell(r.count(l, where, "macs")),
                          count_cell(r.count(l, where, "weight_bytes")), count_cell(r.count(l, where, "activation_bytes"))});
  }
  return table;
}

CommandReport inspect_report(const Json& j) {
  const Reader r("inspect");
  const std::string model = r.text(j, "the top level", "model");
  std::vector<std::string> items;
  const Json& layers = r.rows(j, "the top level", "layers");
  items.push_back(fmt::format("{}: {} ops.", model, layers.size()));
  const auto tensors = [&](const char* key, const char* what) {
    if (const auto it = j.find(key); it != j.end() && it->is_array()) {
      for (const Json& t : *it) {
        items.push_back(fmt::format("{} {}: {} {}", what, t.value("name", "?"), t.value("type", "?"),
                                    shape_text(t.value("shape", Json()))));
      }
    }
  };
  tensors("inputs", "Input");
  tensors("outputs", "Output");
  items.push_back(fmt::format("Total: {} MACs per inference, {} weight bytes (each constant once; flash).",
                              with_commas(r.number(j, "the top level", "total_macs")),
                              with_commas(r.number(j, "the top level", "total_weight_bytes"))));
  std::string ram = fmt::format("Peak activation RAM (the planned arena): {} bytes",
                                with_commas(r.number(j, "the top level", "arena_bytes")));
  if (const auto scratch = r.optional_number(j, "scratch_bytes"); scratch && *scratch > 0) {
    ram += fmt::format(", plus {} bytes of kernel scratch (reference kernels)", with_commas(*scratch));
  }
  items.push_back(ram + ".");

  CommandReport report{{}, inspect_table(j)};
  std::vector<Section> sections;
  sections.push_back({"Summary", list_html(items), {}});
  sections.push_back({"Per layer", "", inspect_charts(j)});
  sections.push_back({"Layers", html_table(report.table), {}});
  report.html = render_html("frugal inspect: " + file_name(model), sections);
  return report;
}

std::vector<Chart> bench_charts(const Json& j) {
  const Reader r("bench");
  return is_bundle(j) ? bench_bundle_charts(r, j) : bench_model_charts(r, j);
}

Table bench_table(const Json& j) {
  const Reader r("bench");
  return is_bundle(j) ? bench_bundle_table(r, j) : bench_model_table(r, j);
}

CommandReport bench_report(const Json& j) {
  const Reader r("bench");
  CommandReport report{{}, bench_table(j)};
  std::vector<Section> sections;
  if (is_bundle(j)) {
    const std::string bundle = r.text(j, "the top level", "bundle");
    sections.push_back({"Summary", bench_bundle_summary(r, j), {}});
    sections.push_back({"Per model", "", bench_charts(j)});
    sections.push_back({"Models", html_table(report.table), {}});
    report.html = render_html(fmt::format("frugal bench: {} on {}", file_name(bundle), r.text(j, "the top level", "board")), sections);
  } else {
    const std::string model = r.text(j, "the top level", "model");
    sections.push_back({"Summary", bench_model_summary(r, j), {}});
    sections.push_back({"Per layer", "", bench_charts(j)});
    sections.push_back({"Layers", html_table(report.table), {}});
    report.html = render_html(fmt::format("frugal bench: {} on {}", file_name(model), r.text(j, "the top level", "board")), sections);
  }
  return report;
}

std::vector<Chart> compress_charts(const Json& j) { return compress_charts_of(Reader("compress"), j); }

Table compress_table(const Json& j) { return compress_table_of(Reader("compress"), j); }

CommandReport compress_report(const Json& j) {
  const Reader r("compress");
  CommandReport report{{}, compress_table_of(r, j)};
  std::vector<Section> sections;
  sections.push_back({"Summary", compress_summary(r, j), {}});
  sections.push_back({"Compression and accuracy", "", compress_charts_of(r, j)});
  sections.push_back({"Models", html_table(report.table), {}});
  sections.push_back({"Layers", "", {compress_layers_chart(r, j)}});
  if (std::optional<Chart> joint = compress_joint_chart(r, j)) {
    sections.push_back({"Joint recovery",
                        "<p>Every encodable layer encoded, then rounds of training all layers together; while a "
                        "model is over its bound (dashed), layers step back to a finer codebook or to int8. "
                        "Below the line is within the bound.</p>",
                        {std::move(*joint)}});
  }
  sections.push_back({"Every layer", html_table(compress_layers_table(r, j)), {}});
  report.html = render_html("frugal compress: " + file_name(r.text(j, "the top level", "bundle")), sections);
  return report;
}

void check_report_directory(const fs::path& directory) {
  std::error_code ec;
  const fs::file_status status = fs::status(directory, ec);
  if (fs::exists(status) && !fs::is_directory(status)) {
    throw ir::Error(fmt::format("cannot write the report into '{}': it is not a directory", directory.string()));
  }
}

StagedReport::StagedReport(const fs::path& directory, const std::string& name, const std::string& json_text,
                           const CommandReport& report) {
  if (directory.empty()) throw ir::Error("the report directory is an empty path");
  check_report_directory(directory);
  // The topmost missing directory: removing it removes everything this report created.
  std::error_code ec;
  // Only what is certainly missing counts, never a directory that merely could not be looked at.
  for (fs::path p = fs::absolute(directory, ec).lexically_normal();
       !p.empty() && fs::status(p, ec).type() == fs::file_type::not_found; p = p.parent_path()) {
    created_ = p;
    if (p == p.parent_path()) break;
  }
  fs::create_directories(directory, ec);
  if (ec) {
    abandon();
    throw ir::Error(fmt::format("cannot create report directory '{}': {}", directory.string(), ec.message()));
  }
  const std::pair<const char*, std::string> contents[] = {
      {".html", report.html}, {".json", json_text}, {".csv", csv_table(report.table)}};
  try {
    for (const auto& [extension, text] : contents) {
      const fs::path file = directory / (name + extension);
      files_.push_back(file);
      temporaries_.push_back(directory / temporary_name(file));
      write_whole_file(temporaries_.back(), text, file);
    }
  } catch (...) {
    abandon();
    throw;
  }
}

void StagedReport::commit() {
  for (size_t i = 0; i < files_.size(); ++i) {
    std::error_code ec;
    fs::rename(temporaries_[i], files_[i], ec);
    if (ec) {
      // The files renamed so far are complete; what is left is removed with the rest.
      temporaries_.erase(temporaries_.begin(), temporaries_.begin() + static_cast<std::ptrdiff_t>(i));
      created_.clear();
      abandon();
      throw ir::Error(fmt::format("cannot write report '{}': {}", files_[i].string(), ec.message()));
    }
  }
  temporaries_.clear();
  committed_ = true;
}

StagedReport::~StagedReport() {
  if (!committed_) abandon();
}

void StagedReport::abandon() noexcept {
  std::error_code ignored;
  for (const fs::path& temporary : temporaries_) fs::remove(temporary, ignored);
  temporaries_.clear();
  if (!created_.empty()) fs::remove_all(created_, ignored);
  created_.clear();
}

std::vector<fs::path> write_command_report(const fs::path& directory, const std::string& name,
                                           const std::string& json_text, const CommandReport& report) {
  StagedReport staged(directory, name, json_text, report);
  staged.commit();
  return staged.files();
}

}  // namespace frugal::report
