// frugal explore MODEL --data SET --board B: the latency / Top-1 Pareto front of skip
// configurations (significance-driven computation skipping). Latency is a cost-model figure
// (approx/explore.h) until the skipping kernels are measured under QEMU.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "approx/explore.h"
#include "approx/significance.h"
#include "approx/skipping.h"
#include "codegen/boards.h"
#include "common.h"
#include "data/data_root.h"
#include "data/eval_set.h"
#include "progress.h"
#include "verbs.h"

namespace frugal::cli {

namespace fs = std::filesystem;

CLI::App* add_explore(CLI::App& app, ExploreOptions& options) {
  CLI::App* command = app.add_subcommand(
      "explore", "Pareto front of approximate (computation-skipping) versions: cost-model latency vs Top-1");
  command->add_option("model", options.model, "Model file (.tflite)")->required();
  // Checked in run_explore so that a bad name is a one-line error (exit 1), as the issue asks.
  command->add_option("--data", options.data, "Data set (cifar10, kws01, vww01)")->required();
  command->add_option("--board", options.board, "Target board (the cost file must be measured on it)")->required();
  command->add_option("--max-accuracy-loss", options.max_accuracy_loss,
                      "Select the fastest Pareto point within this validation Top-1 loss (fraction, e.g. 0.01)");
  command->add_option("--levels", options.levels, "Skip fractions per layer, comma-separated")->capture_default_str();
  command->add_option("--validation", options.validation, "Validation records (CIFAR-10 default 2000; kws/vww: up to 300)");
  command->add_option("--test", options.test, "Test records (default: the whole test split)");
  command->add_flag("--exhaustive", options.exhaustive, "Evaluate every configuration (small spaces only)");
  command->add_option("--costs", options.costs, "Dense per-layer costs: the output of frugal bench MODEL --board B --json");
  command->add_option("--max-evaluations", options.max_evaluations, "Stop the fast search after this many evaluations");
  command->add_option("-o,--output", options.output, "Write pareto.json, pareto.csv and point_K.json here");
  command->add_option("--threads", options.threads, "Worker threads, one Session each (default: all cores)");
  command->add_flag("--json", options.json, "Print one JSON object instead of the table");
  return command;
}

namespace {

std::vector<double> parse_levels(const std::string& text) {
  std::vector<double> levels;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && item[used] == ' ') ++used;
    if (item.empty() || used != item.size()) throw ir::Error(fmt::format("--levels: '{}' is not a number", item));
    levels.push_back(value);
  }
  if (levels.empty()) throw ir::Error("--levels is empty");
  return approx::normalized_levels(levels);
}

Json point_json(const approx::ExplorePoint& p, double baseline_instructions) {
  Json levels = Json::object();
  for (const approx::LayerSkip& s : p.config.layers) levels[s.layer] = s.fraction.value_or(0.0);
  Json j;
  j["top1"] = p.test_top1 ? Json(*p.test_top1) : Json(nullptr);
  j["test_correct"] = p.test_correct ? Json(*p.test_correct) : Json(nullptr);
  j["validation_top1"] = p.validation_top1;
  j["validation_correct"] = p.validation_correct;
  j["instructions"] = static_cast<int64_t>(p.instructions);
  j["cycles_estimate"] = static_cast<int64_t>(p.cycles);
  j["latency_reduction"] = baseline_instructions > 0.0 ? 1.0 - p.instructions / baseline_instructions : 0.0;
  j["latency_source"] = "cost-model";
  j["skipped_macs"] = p.skipped_macs;
  j["levels"] = levels;
  j["config"] = Json::parse(approx::config_to_json(p.config));
  return j;
}

std::string levels_text(const approx::ExplorePoint& p, const std::vector<double>& levels) {
  std::string s;
  for (int32_t k : p.levels) s += fmt::format("{}{:g}", s.empty() ? "" : " ", levels[static_cast<size_t>(k)]);
  return s;
}

}  // namespace

int run_explore(const ExploreOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::optional<data::Dataset> dataset = data::parse_dataset(options.data);
  if (!dataset) {
    std::string names;
    for (const std::string& n : data::dataset_names()) names += (names.empty() ? "" : ", ") + n;
    throw ir::Error(fmt::format("unknown data set '{}' (known: {})", options.data, names));
  }
  if (*dataset == data::Dataset::kAd01) {
    throw ir::Error("ad01 has no Top-1 (anomaly scores); explore needs a classification data set (cifar10, kws01, vww01)");
  }
  const codegen::Board& board = codegen::find_board(options.board);
  approx::ExploreOptions explore_options;
  explore_options.levels = parse_levels(options.levels);
  explore_options.exhaustive = options.exhaustive;
  explore_options.threads = options.threads;
  explore_options.max_evaluations = options.max_evaluations;
  if (options.max_accuracy_loss && !(*options.max_accuracy_loss >= 0.0 && *options.max_accuracy_loss <= 1.0)) {
    throw ir::Error(fmt::format("--max-accuracy-loss {} is outside [0, 1] (a Top-1 fraction)", *options.max_accuracy_loss));
  }

  const ir::Graph graph = load_model(options.model);
  require_single_input_output(graph, "explore");
  std::unique_ptr<approx::InstructionCostModel> costs;
  if (options.costs.empty()) {
    costs = std::make_unique<approx::InstructionCostModel>(approx::InstructionCostModel::estimate(graph));
  } else {
    const std::vector<uint8_t> bytes = read_file(options.costs, "cost file");
    costs = std::make_unique<approx::InstructionCostModel>(approx::InstructionCostModel::from_bench_json(
        graph, std::string(bytes.begin(), bytes.end()), board.name));
  }

  const data::DataRoot root = data::find_data_root();
  fmt::print(stderr, "{}\n", root.describe());
  const ir::Tensor& input = graph.tensor(graph.inputs[0]);
  const approx::ExploreSplits splits =
      approx::load_explore_splits(*dataset, root, input, options.validation, options.test);
  fmt::print(stderr, "{}\n", splits.description);

  const unsigned threads = thread_count(options.threads, splits.validation.num_samples());
  const runtime::CompiledModel exact(graph, runtime::KernelSet::kFast);
  const approx::SignificanceReport report =
      approx::analyze_significance(exact, splits.calibration.inputs, {threads});
  size_t approximable = 0;
  for (const approx::LayerSignificance& l : report.layers) approximable += l.approximable ? 1 : 0;
  if (approximable == 0) throw ir::Error("the model has no approximable layers (conv, depthwise or FC after the first)");
  fmt::print(stderr, "significance: {} conv-like layers ({} approximable) on {} calibration records, {:.1f} s\n",
             report.layers.size(), approximable, report.images, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

  // Progress: a bar for the phases whose length is known, a line per ~25 steps otherwise.
  std::unique_ptr<Progress> bar;
  std::string bar_phase;
  const auto phase_start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  explore_options.progress = [&](const approx::ExploreProgress& p) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - *phase_start).count();
    if (p.phase != bar_phase) {
      if (bar) fmt::print(stderr, "\n");
      bar.reset();
      bar_phase = std::string(p.phase);
      *phase_start = std::chrono::steady_clock::now();
      fmt::print(stderr, "{}:\n", p.phase);
    }
    if (p.total > 0) {
      if (!bar) bar = std::make_unique<Progress>(p.total, "configs");
      bar->update(p.done, elapsed);
    } else if (p.done % 25 == 1) {
      fmt::print(stderr, "  step {}, {} evaluations, front {}\n", p.done, p.evaluations, p.front_size);
    }
  };
  approx::ExploreResult result = approx::explore(graph, report, *costs, splits.validation, explore_options);
  approx::measure_test(result, graph, report, splits.test, explore_options);
  if (bar) fmt::print(stderr, "\n");
  const double total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(stderr, "{} evaluations of {} configurations, search {:.1f} s, test {:.1f} s, total {:.1f} s\n",
             result.evaluations, result.search_space, result.search_seconds, result.test_seconds, total_seconds);

  std::optional<size_t> selected;
  if (options.max_accuracy_loss) selected = approx::select_point(result, *options.max_accuracy_loss);

  const double base_instr = result.baseline.instructions;
  Json json;
  json["model"] = options.model;
  json["data"] = options.data;
  json["board"] = std::string(board.name);
  json["splits"] = splits.description;
  json["latency_source"] = result.latency_source;
  json["dense_costs"] = costs->dense_source == "bench" ? options.costs : std::string("estimate");
  json["measure"] = std::string(approx::to_string(explore_options.measure));
  json["bias_compensation"] = explore_options.compensate_bias;
  json["layers"] = result.layers;
  json["levels"] = result.levels;
  json["search"] = {{"mode", options.exhaustive ? "exhaustive" : "fast"},
                    {"evaluations", result.evaluations},
                    {"search_space", result.search_space},
                    {"validation_samples", result.validation_samples},
                    {"test_samples", result.test_samples},
                    {"search_seconds", result.search_seconds},
                    {"test_seconds", result.test_seconds},
                    {"total_seconds", total_seconds},
                    {"threads", threads}};
  json["baseline"] = point_json(result.baseline, base_instr);
  Json pareto = Json::array();
  for (const approx::ExplorePoint& p : result.pareto) pareto.push_back(point_json(p, base_instr));
  json["pareto"] = pareto;
  if (selected) {
    Json s = point_json(result.pareto[*selected], base_instr);
    s["index"] = *selected;
    s["max_accuracy_loss"] = *options.max_accuracy_loss;
    s["bound_on"] = "validation";
    s["test_top1_loss"] = *result.baseline.test_top1 - *result.pareto[*selected].test_top1;
    json["selected"] = s;
  }

  if (!options.output.empty()) {
    const fs::path dir(options.output);
    fs::create_directories(dir);
    const std::string text = json.dump(1) + "\n";
    write_file_atomically(dir / "pareto.json", {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    std::string csv =
        "index,instructions,cycles_estimate,latency_reduction,validation_top1,test_top1,skipped_macs,latency_source";
    for (const std::string& layer : result.layers) csv += ",\"" + layer + "\"";
    csv += "\n";
    for (size_t i = 0; i < result.pareto.size(); ++i) {
      const approx::ExplorePoint& p = result.pareto[i];
      csv += fmt::format("{},{},{},{:.6f},{:.6f},{:.6f},{},cost-model", i, static_cast<int64_t>(p.instructions),
                         static_cast<int64_t>(p.cycles), 1.0 - p.instructions / base_instr, p.validation_top1,
                         p.test_top1.value_or(0.0), p.skipped_macs);
      for (int32_t k : p.levels) csv += fmt::format(",{}", result.levels[static_cast<size_t>(k)]);
      csv += "\n";
      approx::save_config(p.config, dir / fmt::format("point_{}.json", i));
    }
    write_file_atomically(dir / "pareto.csv", {reinterpret_cast<const uint8_t*>(csv.data()), csv.size()});
    fmt::print(stderr, "wrote {}/pareto.json, pareto.csv, point_0..{}.json\n", dir.string(), result.pareto.size() - 1);
  }

  if (options.json) {
    fmt::print("{}\n", json.dump());
    return 0;
  }
  fmt::print("{} on {} ({}), board {}; latency: cost model ({} dense costs), not yet measured under QEMU\n",
             options.model, options.data, splits.description, board.name,
             costs->dense_source == "bench" ? "bench" : "estimated");
  fmt::print("layers: {}\n", fmt::join(result.layers, ", "));
  fmt::print("baseline: test Top-1 {:.2f}% ({}), validation Top-1 {:.2f}%, {} instructions, ~{} cycles\n",
             *result.baseline.test_top1 * 100.0, *result.baseline.test_correct, result.baseline.validation_top1 * 100.0,
             with_commas(static_cast<uint64_t>(base_instr)), with_commas(static_cast<uint64_t>(result.baseline.cycles)));
  fmt::print("{} evaluations ({} mode) of {} configurations in {:.1f} s; Pareto front: {} points\n\n", result.evaluations,
             options.exhaustive ? "exhaustive" : "fast", result.search_space, result.search_seconds, result.pareto.size());
  fmt::print("{:>3} {:>13} {:>8} {:>13} {:>8} {:>8} {:>12}  {}\n", "#", "instructions", "saved", "est. cycles", "val %",
             "test %", "skipped MACs", "skip fraction per layer");
  for (size_t i = 0; i < result.pareto.size(); ++i) {
    const approx::ExplorePoint& p = result.pareto[i];
    fmt::print("{:>3} {:>13} {:>7.1f}% {:>13} {:>8.2f} {:>8.2f} {:>12}  {}{}\n", i,
               with_commas(static_cast<uint64_t>(p.instructions)), (1.0 - p.instructions / base_instr) * 100.0,
               with_commas(static_cast<uint64_t>(p.cycles)), p.validation_top1 * 100.0, p.test_top1.value_or(0.0) * 100.0,
               with_commas(static_cast<uint64_t>(p.skipped_macs)), levels_text(p, result.levels),
               selected && *selected == i ? "  <- selected" : "");
  }
  if (selected) {
    const approx::ExplorePoint& p = result.pareto[*selected];
    fmt::print("\nselected (validation loss <= {:.2f}%): #{}, {:.1f}% fewer instructions (cost model), test Top-1 {:.2f}% "
               "({:+.2f} points)\n",
               *options.max_accuracy_loss * 100.0, *selected, (1.0 - p.instructions / base_instr) * 100.0,
               *p.test_top1 * 100.0, (*p.test_top1 - *result.baseline.test_top1) * 100.0);
  }
  return 0;
}

}  // namespace frugal::cli
