// frugal inspect MODEL [--json]: per-layer shapes, MACs and memory, and the planned arena size.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common.h"
#include "report/command_reports.h"
#include "verbs.h"

namespace frugal::cli {

namespace {

struct LayerRow {
  size_t index;
  std::string name, op;
  std::vector<std::vector<int32_t>> inputs;  // activation inputs only
  std::vector<int32_t> output;
  int64_t macs;
  size_t weight_bytes, activation_bytes;
};

std::vector<LayerRow> layer_rows(const ir::Graph& graph) {
  std::vector<LayerRow> rows;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const ir::Op& op = graph.ops[i];
    LayerRow row{i, op.name, std::string(ir::to_string(op.type)), {}, {}, ir::macs(graph, op), 0, 0};
    for (int32_t input : op.inputs) {
      if (input < 0) continue;
      const ir::Tensor& tensor = graph.tensor(input);
      if (tensor.is_constant) {
        row.weight_bytes += tensor.num_bytes();
      } else {
        row.inputs.push_back(tensor.shape);
      }
    }
    for (int32_t output : op.outputs) row.activation_bytes += graph.tensor(output).num_bytes();
    if (!op.outputs.empty()) row.output = graph.tensor(op.outputs[0]).shape;
    rows.push_back(std::move(row));
  }
  return rows;
}

// Each constant tensor counted once, even when several ops read it.
size_t total_weight_bytes(const ir::Graph& graph) {
  std::set<int32_t> constants;
  for (const ir::Op& op : graph.ops) {
    for (int32_t input : op.inputs) {
      if (input >= 0 && graph.tensor(input).is_constant) constants.insert(input);
    }
  }
  size_t bytes = 0;
  for (int32_t index : constants) bytes += graph.tensor(index).num_bytes();
  return bytes;
}

std::string shapes_string(const std::vector<std::vector<int32_t>>& shapes) {
  std::string text;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (i > 0) text += ", ";
    text += shape_string(shapes[i]);
  }
  return text.empty() ? "-" : text;
}

// TFLite names fused ops by joining the names of everything fused with ';'; the first part is
// enough to recognise the layer in a table (JSON keeps the full name).
std::string shortened(const std::string& name, size_t width) {
  std::string text = name.substr(0, name.find(';'));
  if (text.size() <= width) return text;
  return text.substr(0, width - 3) + "...";
}

std::string tensor_line(const ir::Tensor& tensor) {
  std::string line = fmt::format("{} {} {}", tensor.name, ir::to_string(tensor.type), shape_string(tensor.shape));
  if (!tensor.quant.empty() && !tensor.quant.per_channel()) {
    line += fmt::format(" scale={:g} zero_point={}", tensor.quant.scale[0],
                        tensor.quant.zero_point.empty() ? 0 : tensor.quant.zero_point[0]);
  }
  return line;
}

}  // namespace

CLI::App* add_inspect(CLI::App& app, InspectOptions& options) {
  CLI::App* command = app.add_subcommand("inspect", "Per-layer shapes, MACs, weight and activation bytes, peak RAM");
  command->add_option("model", options.model, "Model file (.tflite)")->required();
  command->add_flag("--json", options.json, "Print one JSON object instead of the table");
  command->add_option("--report", options.report,
                      "Write inspect.html (per-layer charts), inspect.json and inspect.csv into this directory");
  return command;
}

int run_inspect(const InspectOptions& options) {
  if (!options.report.empty()) report::check_report_directory(options.report);
  ir::Graph graph = load_model(options.model);
  std::vector<LayerRow> rows = layer_rows(graph);
  int64_t total_macs = 0;
  for (const LayerRow& row : rows) total_macs += row.macs;
  size_t weight_bytes = total_weight_bytes(graph);
  runtime::CompiledModel compiled(graph, runtime::KernelSet::kReference);
  size_t arena_bytes = compiled.arena_bytes();

  if (options.json || !options.report.empty()) {
    Json json;
    json["model"] = options.model;
    Json layers = Json::array();
    for (const LayerRow& row : rows) {
      layers.push_back({{"index", row.index},
                        {"name", row.name},
                        {"op", row.op},
                        {"inputs", row.inputs},
                        {"output", row.output},
                        {"macs", row.macs},
                        {"weight_bytes", row.weight_bytes},
                        {"activation_bytes", row.activation_bytes}});
    }
    json["layers"] = std::move(layers);
    json["total_macs"] = total_macs;
    json["total_weight_bytes"] = weight_bytes;
    json["arena_bytes"] = arena_bytes;
    json["scratch_bytes"] = compiled.scratch_bytes();
    json["inputs"] = Json::array();
    for (int32_t index : graph.inputs) json["inputs"].push_back(tensor_json(graph.tensor(index)));
    json["outputs"] = Json::array();
    for (int32_t index : graph.outputs) json["outputs"].push_back(tensor_json(graph.tensor(index)));
    if (!options.report.empty()) {
      const std::string text = json.dump() + "\n";
      const auto files = report::write_command_report(options.report, "inspect", text, report::inspect_report(json));
      fmt::print(stderr, "wrote {}, {}, {}\n", files[0].string(), files[1].filename().string(),
                 files[2].filename().string());
    }
    if (options.json) {
      fmt::print("{}\n", json.dump());
      return 0;
    }
  }

  constexpr size_t kNameWidth = 36;
  size_t name_width = 4, op_width = 2, inputs_width = 6, output_width = 6;
  for (const LayerRow& row : rows) {
    name_width = std::max(name_width, shortened(row.name, kNameWidth).size());
    op_width = std::max(op_width, row.op.size());
    inputs_width = std::max(inputs_width, shapes_string(row.inputs).size());
    output_width = std::max(output_width, shape_string(row.output).size());
  }
  fmt::print("model: {} ({} ops, {} tensors)\n", options.model, graph.ops.size(), graph.tensors.size());
  for (int32_t index : graph.inputs) fmt::print("input:  {}\n", tensor_line(graph.tensor(index)));
  for (int32_t index : graph.outputs) fmt::print("output: {}\n", tensor_line(graph.tensor(index)));
  fmt::print("\n{:>3}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>12}  {:>9}  {:>11}\n", "#", "name", name_width, "op",
             op_width, "inputs", inputs_width, "output", output_width, "MACs", "weights B", "activation B");
  for (const LayerRow& row : rows) {
    fmt::print("{:>3}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>12}  {:>9}  {:>11}\n", row.index,
               shortened(row.name, kNameWidth), name_width, row.op, op_width, shapes_string(row.inputs),
               inputs_width, shape_string(row.output), output_width, with_commas(static_cast<uint64_t>(row.macs)),
               with_commas(row.weight_bytes), with_commas(row.activation_bytes));
  }
  fmt::print("\ntotal MACs:         {}\n", with_commas(static_cast<uint64_t>(total_macs)));
  fmt::print("total weight bytes: {}\n", with_commas(weight_bytes));
  fmt::print("peak RAM (arena):   {} bytes\n", with_commas(arena_bytes));
  if (compiled.scratch_bytes() > 0) {
    fmt::print("kernel scratch:     {} bytes (reference kernels)\n", with_commas(compiled.scratch_bytes()));
  }
  return 0;
}

}  // namespace frugal::cli
