// frugal explore MODEL --data SET --board B: the latency / Top-1 Pareto front of skip
// configurations (significance-driven computation skipping). The dense firmware is measured
// under QEMU first and calibrates the search's cost model (approx/explore.h); every point of
// the front is then generated, built and measured under QEMU itself (instructions, estimated
// cycles, bit-exactness with the host), and the reported front is the one of the measured
// latencies.
//
// Under an MPI launcher (`mpirun -np N frugal explore ...`) the candidate evaluations, the test
// re-measurement and the QEMU re-measurement are spread over the ranks (distributed/work_pool.h);
// the serial steps run on rank 0 and hand their results to all, and only rank 0 prints or
// writes anything (docs/distributed-exploration.md).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <unistd.h>

#include "approx/explore.h"
#include "approx/significance.h"
#include "approx/skipping.h"
#include "codegen/boards.h"
#include "mcu/firmware.h"
#include "mcu/model_bench.h"
#include "common.h"
#include "data/data_root.h"
#include "data/eval_set.h"
#include "distributed/mpi_pool.h"
#include "progress.h"
#include "report/html_report.h"
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
  command->add_option("--costs", options.costs,
                      "Dense per-layer costs: the output of frugal bench MODEL --board B --json (default: measured "
                      "now under QEMU)");
  command->add_option("--granularity", options.granularity,
                      "Skip unit: paired-quad, quad or channel-quad (the Cortex-M table kernels'), smlad-pair "
                      "(the unrolled form's) or operand (host studies)")
      ->check(CLI::IsMember({"paired-quad", "quad", "channel-quad", "smlad-pair", "operand"}))
      ->capture_default_str();
  command->add_option("--measure", options.measure,
                      "Operand ranking: residual (error left after bias compensation), error (mean squared "
                      "output error) or ratio (the paper's mean |contribution / accumulator|)")
      ->check(CLI::IsMember({"residual", "error", "ratio"}))
      ->capture_default_str();
  command->add_flag("--no-bias-compensation", options.no_bias_compensation,
                    "Do not add the skipped terms' mean contribution to the biases");
  command->add_option("--group", options.group,
                      "With --granularity operand: consecutive operands of a channel skipped together")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_flag("--no-qemu", options.no_qemu,
                    "Do not measure under QEMU: latencies are cost-model figures (quick studies)");
  command->add_option("--qemu-inputs", options.qemu_inputs,
                      "Test inputs each measured firmware runs and checks bit for bit")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_option("--max-evaluations", options.max_evaluations, "Stop the fast search after this many evaluations");
  command->add_option("-o,--output", options.output,
                      "Write pareto.json, pareto.csv, pareto.html and point_K.json (for generate --approx) here");
  command->add_option("--report", options.report, "Write the HTML report (explore.html) into this directory");
  command->add_option("--threads", options.threads, "Worker threads, one Session each (default: all cores; under mpirun, each rank's share)");
  add_skip_kernel_option(*command, options.skip_kernel);
  add_weights_option(*command, options.weights);
  command->add_flag("--json", options.json, "Print one JSON object instead of the table");
  return command;
}

namespace {

std::vector<double> parse_levels(const std::string& text) {
  std::vector<double> levels;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    // "0.1, 0.2": the space after a comma is stod's leading white space; one before it is trimmed.
    const std::optional<double> value = parse_number(item.substr(0, item.find_last_not_of(' ') + 1));
    if (!value) throw ir::Error(fmt::format("--levels: '{}' is not a number", item));
    levels.push_back(*value);
  }
  if (levels.empty()) throw ir::Error("--levels is empty");
  return approx::normalized_levels(levels);
}

Json point_json(const approx::ExplorePoint& p, double baseline_instructions, std::string_view latency_source) {
  Json levels = Json::object();
  for (const approx::LayerSkip& s : p.config.layers) levels[s.layer] = s.fraction.value_or(0.0);
  Json j;
  j["top1"] = p.test_top1 ? Json(*p.test_top1) : Json(nullptr);
  j["test_correct"] = p.test_correct ? Json(*p.test_correct) : Json(nullptr);
  if (p.heldout_top1) j["heldout_top1"] = *p.heldout_top1;
  j["validation_top1"] = p.validation_top1;
  j["validation_correct"] = p.validation_correct;
  j["instructions"] = static_cast<int64_t>(p.instructions);
  j["cycles_estimate"] = static_cast<int64_t>(p.cycles);
  j["latency_reduction"] = baseline_instructions > 0.0 ? 1.0 - p.instructions / baseline_instructions : 0.0;
  j["latency_source"] = std::string(latency_source);
  if (p.bit_exact) j["bit_exact"] = *p.bit_exact;
  if (p.flash_bytes) j["flash_bytes"] = *p.flash_bytes;
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

// What the search and the report need of a firmware measurement, as it travels between ranks.
std::string measurement_to_json(const mcu::ModelMeasurement& m) {
  Json layers = Json::array();
  for (const mcu::LayerMeasurement& l : m.layers) layers.push_back({l.name, l.instructions, l.cycles_estimate, l.int16_weights});
  return Json{{"layers", layers},
              {"instructions", m.total_instructions},
              {"cycles", m.total_cycles_estimate},
              {"bit_exact", m.bit_exact},
              {"flash_bytes", m.memory.flash_bytes}}
      .dump();
}

mcu::ModelMeasurement measurement_from_json(const std::string& text) {
  const Json j = Json::parse(text);
  mcu::ModelMeasurement m;
  for (const Json& l : j["layers"]) {
    mcu::LayerMeasurement layer;
    layer.name = l[0].get<std::string>();
    layer.instructions = l[1].get<uint64_t>();
    layer.cycles_estimate = l[2].get<uint64_t>();
    layer.int16_weights = l[3].get<bool>();
    m.layers.push_back(std::move(layer));
  }
  m.total_instructions = j["instructions"].get<uint64_t>();
  m.total_cycles_estimate = j["cycles"].get<uint64_t>();
  m.bit_exact = j["bit_exact"].get<bool>();
  m.memory.flash_bytes = j["flash_bytes"].get<uint64_t>();
  return m;
}

int explore_command(distributed::WorkPool& pool, const ExploreOptions& options) {
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
  explore_options.granularity = *approx::parse_granularity(options.granularity);
  explore_options.group = options.group;
  explore_options.measure = *approx::parse_measure(options.measure);
  explore_options.compensate_bias = !options.no_bias_compensation;
  if (options.max_accuracy_loss && !(*options.max_accuracy_loss >= 0.0 && *options.max_accuracy_loss <= 1.0)) {
    throw ir::Error(fmt::format("--max-accuracy-loss {} is outside [0, 1] (a Top-1 fraction)", *options.max_accuracy_loss));
  }
  // Before the search, which takes minutes: the files are written at its end.
  if (!options.output.empty()) check_output_path(options.output, "-o", OutputKind::kDirectory);
  if (!options.report.empty()) check_output_path(options.report, "--report", OutputKind::kDirectory);

  const ir::Graph graph = load_model(options.model);
  require_single_input_output(graph, "explore");
  // A given cost file is checked before the data and the analysis, which take a while.
  std::unique_ptr<approx::InstructionCostModel> costs;
  std::string dense_costs = "estimate";
  if (!options.costs.empty()) {
    const std::vector<uint8_t> bytes = read_file(options.costs, "cost file");
    costs = std::make_unique<approx::InstructionCostModel>(approx::InstructionCostModel::from_bench_json(
        graph, std::string(bytes.begin(), bytes.end()), board.name));
    dense_costs = options.costs;
  }

  const bool qemu = !options.no_qemu;
  if (qemu && (!mcu::arm_toolchain_available() || !mcu::qemu_available())) {
    throw ir::Error("measuring under QEMU needs arm-none-eabi-g++ and qemu-system-arm (make deps), or pass --no-qemu");
  }

  // Every rank reads the model and the data itself (a shared file system on a cluster); only
  // rank 0 talks.
  const bool talk = pool.root();
  const data::DataRoot root = data::find_data_root();
  if (talk) fmt::print(stderr, "{}\n", root.describe());
  const ir::Tensor& input = graph.tensor(graph.inputs[0]);
  const approx::ExploreSplits splits =
      approx::load_explore_splits(*dataset, root, input, options.validation, options.test);
  if (talk) fmt::print(stderr, "{}\n", splits.description);

  // Firmware measurements: a project directory per point under one temporary folder.
  const size_t qemu_inputs = std::min<size_t>(options.qemu_inputs, splits.test.num_samples());
  const std::span<const uint8_t> qemu_input_bytes(splits.test.inputs.data(), qemu_inputs * splits.test.input_bytes);
  const fs::path work = fs::temp_directory_path() / fmt::format("frugal-explore-{}-{}", ::getpid(), pool.rank());
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{work};
  size_t measured_firmwares = 0;
  auto measure = [&](const ir::Graph& variant) {
    const fs::path dir = work / fmt::format("point{}", measured_firmwares++);
    mcu::ModelBenchOptions bench;
    bench.generate = generate_options("cortexm", options.skip_kernel, "auto", options.weights);
    const mcu::ModelMeasurement m = mcu::measure_model(variant, board, qemu_input_bytes, qemu_inputs, dir, bench);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    return m;
  };

  std::optional<mcu::ModelMeasurement> dense;
  if (qemu) {
    if (talk) {
      fmt::print(stderr, "measuring the exact model under QEMU {} ({} input(s))\n", board.qemu_machine, qemu_inputs);
    }
    dense = measurement_from_json(pool.on_root([&] { return measurement_to_json(measure(graph)); }));
    if (!dense->bit_exact) throw ir::Error("the exact model's firmware is not bit-exact with the host");
  }
  if (!costs && dense) {
    std::unordered_map<std::string, approx::MeasuredLayerCost> measured;
    for (const mcu::LayerMeasurement& l : dense->layers) {
      measured[l.name] = {static_cast<double>(l.instructions), static_cast<double>(l.cycles_estimate), l.int16_weights};
    }
    costs = std::make_unique<approx::InstructionCostModel>(approx::InstructionCostModel::from_measured(graph, measured));
    dense_costs = "qemu";
  } else if (!costs) {
    costs = std::make_unique<approx::InstructionCostModel>(approx::InstructionCostModel::estimate(graph));
  }

  // The analysis runs once, on rank 0, with the threads one process would use (its float sums
  // depend on the thread count), and every rank gets the same report.
  const unsigned analysis_threads = thread_count(options.threads, splits.validation.num_samples());
  const approx::SignificanceReport significance = approx::report_from_json(pool.on_root([&] {
    const runtime::CompiledModel exact(graph, runtime::KernelSet::kFast);
    return approx::report_to_json(approx::analyze_significance(exact, splits.calibration.inputs, {analysis_threads}));
  }));
  // Evaluation threads per rank; with one process all cores, as before.
  const unsigned threads =
      thread_count(options.threads != 0 ? options.threads : pool.default_threads(), splits.validation.num_samples());
  explore_options.threads = threads;
  explore_options.pool = &pool;
  if (talk) {
    fmt::print(stderr, "significance: {} conv-like layers on {} calibration records, {:.1f} s\n",
               significance.layers.size(), significance.images,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  // Progress: a bar for the phases whose length is known, a line per ~25 steps otherwise.
  std::unique_ptr<Progress> bar;
  std::string bar_phase;
  size_t bar_done = 0;
  auto phase_start = std::chrono::steady_clock::now();
  auto progress = [&](std::string_view phase, size_t done, size_t total, size_t evaluations, size_t front_size) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start).count();
    if (phase != bar_phase) {
      if (bar) bar->finish(bar_done, elapsed);
      bar.reset();
      bar_phase = std::string(phase);
      phase_start = std::chrono::steady_clock::now();
      fmt::print(stderr, "{}:\n", phase);
    }
    bar_done = done;
    if (total > 0) {
      if (!bar) bar = std::make_unique<Progress>(total, phase == "qemu" ? "firmwares" : "configs");
      bar->update(done, elapsed);
    } else if (done % 25 == 1) {
      fmt::print(stderr, "  step {}, {} evaluations, front {}\n", done, evaluations, front_size);
    }
  };
  if (talk) {
    explore_options.progress = [&](const approx::ExploreProgress& p) {
      progress(p.phase, p.done, p.total, p.evaluations, p.front_size);
    };
  }
  approx::ExploreResult result = approx::explore(graph, significance, *costs, splits.validation, explore_options);
  approx::measure_test(result, graph, significance, splits.test, explore_options);

  // Top-1 on the test records the search never saw (CIFAR-10: past the validation records).
  if (splits.validation_in_test > 0) {
    const size_t heldout = splits.test.num_samples() - splits.validation_in_test;
    auto held_out = [&](approx::ExplorePoint& p) {
      p.heldout_top1 = static_cast<double>(*p.test_correct - p.validation_correct) / static_cast<double>(heldout);
    };
    held_out(result.baseline);
    for (approx::ExplorePoint& p : result.pareto) held_out(p);
  }

  // Every point of the cost-model front as firmware under QEMU; the reported front is the one
  // of the measured instructions (a point the cost model misjudged may drop out).
  std::string latency_source = "cost-model";
  size_t cost_model_front = result.pareto.size();
  double qemu_seconds = 0.0;
  if (qemu) {
    const auto qemu_start = std::chrono::steady_clock::now();
    auto record = [](approx::ExplorePoint& p, const mcu::ModelMeasurement& m) {
      p.measured_instructions = m.total_instructions;
      p.measured_cycles = m.total_cycles_estimate;
      p.bit_exact = m.bit_exact;
      p.flash_bytes = m.memory.flash_bytes;
    };
    record(result.baseline, *dense);
    // The all-exact point is the dense firmware measured already; the others are one batch.
    std::vector<approx::ExplorePoint*> points;
    for (approx::ExplorePoint& p : result.pareto) {
      if (p.config.layers.empty()) {
        record(p, *dense);
      } else {
        points.push_back(&p);
      }
    }
    const std::vector<std::string> measured = pool.map(
        points.size(),
        [&](size_t i) {
          return measurement_to_json(
              measure(approx::apply_skipping(graph, significance, points[i]->config, explore_options.compensate_bias)));
        },
        [&](size_t done, size_t) {
          if (talk) progress("qemu", done, points.size(), result.evaluations, result.pareto.size());
        });
    for (size_t i = 0; i < points.size(); ++i) record(*points[i], measurement_from_json(measured[i]));
    result.baseline.instructions = static_cast<double>(*result.baseline.measured_instructions);
    result.baseline.cycles = static_cast<double>(*result.baseline.measured_cycles);
    result.pareto = approx::pareto_front(std::move(result.pareto), true);
    latency_source = "qemu";
    qemu_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - qemu_start).count();
    for (const approx::ExplorePoint& p : result.pareto) {
      if (!p.bit_exact.value_or(false)) {
        throw ir::Error("a Pareto point's firmware is not bit-exact with the host engine (a bug: please report it)");
      }
    }
  }
  if (bar) bar->finish(bar_done, 0.0);
  const double total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (talk) {
    fmt::print(stderr, "{} evaluations of {} configurations, search {:.1f} s, test {:.1f} s, QEMU {:.1f} s, total {:.1f} s\n",
               result.evaluations, result.search_space, result.search_seconds, result.test_seconds, qemu_seconds,
               total_seconds);
  }

  std::optional<size_t> selected;
  if (options.max_accuracy_loss) selected = approx::select_point(result, *options.max_accuracy_loss);

  const double base_instr = result.baseline.instructions;
  Json json;
  json["model"] = options.model;
  json["data"] = options.data;
  json["board"] = std::string(board.name);
  json["splits"] = splits.description;
  json["latency_source"] = latency_source;
  json["dense_costs"] = dense_costs;
  json["granularity"] = options.granularity;
  json["measure"] = std::string(approx::to_string(explore_options.measure));
  json["bias_compensation"] = explore_options.compensate_bias;
  json["layers"] = result.layers;
  json["levels"] = result.levels;
  json["search"] = {{"mode", options.exhaustive ? "exhaustive" : "fast"},
                    {"evaluations", result.evaluations},
                    {"search_space", result.search_space},
                    {"validation_samples", result.validation_samples},
                    {"test_samples", result.test_samples},
                    {"heldout_samples", splits.validation_in_test > 0 ? result.test_samples - splits.validation_in_test : result.test_samples},
                    {"search_seconds", result.search_seconds},
                    {"test_seconds", result.test_seconds},
                    {"qemu_seconds", qemu_seconds},
                    {"qemu_inputs", qemu ? qemu_inputs : 0},
                    {"cost_model_front", cost_model_front},
                    {"total_seconds", total_seconds},
                    {"threads", threads},
                    {"ranks", pool.ranks()}};
  json["baseline"] = point_json(result.baseline, base_instr, latency_source);
  Json pareto = Json::array();
  for (const approx::ExplorePoint& p : result.pareto) pareto.push_back(point_json(p, base_instr, latency_source));
  json["pareto"] = pareto;
  if (selected) {
    Json s = point_json(result.pareto[*selected], base_instr, latency_source);
    s["index"] = *selected;
    s["max_accuracy_loss"] = *options.max_accuracy_loss;
    s["bound_on"] = "validation";
    s["test_top1_loss"] = *result.baseline.test_top1 - *result.pareto[*selected].test_top1;
    if (result.baseline.heldout_top1) {
      s["heldout_top1_loss"] = *result.baseline.heldout_top1 - *result.pareto[*selected].heldout_top1;
    }
    json["selected"] = s;
  }

  // The others are done: all they have left is the last exchange (run_command), which learns
  // whether rank 0 got its files written.
  if (!pool.root()) return 0;
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
      csv += fmt::format("{},{},{},{:.6f},{:.6f},{:.6f},{},{}", i, static_cast<int64_t>(p.instructions),
                         static_cast<int64_t>(p.cycles), 1.0 - p.instructions / base_instr, p.validation_top1,
                         p.test_top1.value_or(0.0), p.skipped_macs, latency_source);
      for (int32_t k : p.levels) csv += fmt::format(",{}", result.levels[static_cast<size_t>(k)]);
      csv += "\n";
      // Resolved (explicit operands and bias deltas): generate / bench --approx need no data.
      approx::save_config(approx::resolve_config(graph, significance, p.config, explore_options.compensate_bias),
                          dir / fmt::format("point_{}.json", i));
    }
    write_file_atomically(dir / "pareto.csv", {reinterpret_cast<const uint8_t*>(csv.data()), csv.size()});
    report::write_report(dir / "pareto.html", report::explore_report_html(json));
    fmt::print(stderr, "wrote {}/pareto.json, pareto.csv, pareto.html, point_0..{}.json\n", dir.string(),
               result.pareto.size() - 1);
  }
  if (!options.report.empty()) {
    std::error_code ec;
    fs::create_directories(options.report, ec);
    if (ec) throw ir::Error(fmt::format("cannot create report directory '{}': {}", options.report, ec.message()));
    report::write_report(fs::path(options.report) / "explore.html", report::explore_report_html(json));
    fmt::print(stderr, "wrote {}\n", (fs::path(options.report) / "explore.html").string());
  }

  if (options.json) {
    fmt::print("{}\n", json.dump());
    return 0;
  }
  fmt::print("{} on {} ({}), board {}; latency: {}\n", options.model, options.data, splits.description, board.name,
             qemu ? fmt::format("measured under QEMU {} ({} cycle table), every point bit-exact with the host on {} "
                                "test input(s)",
                                board.qemu_machine, board.cycle_model, qemu_inputs)
                  : fmt::format("cost model ({} dense costs), not measured", dense_costs));
  fmt::print("layers: {}\n", fmt::join(result.layers, ", "));
  fmt::print("baseline: test Top-1 {:.2f}% ({}), validation Top-1 {:.2f}%, {} instructions, ~{} cycles\n",
             *result.baseline.test_top1 * 100.0, *result.baseline.test_correct, result.baseline.validation_top1 * 100.0,
             with_commas(static_cast<uint64_t>(base_instr)), with_commas(static_cast<uint64_t>(result.baseline.cycles)));
  fmt::print("{} evaluations ({} mode) of {} configurations in {:.1f} s; Pareto front: {} points{}\n\n",
             result.evaluations, options.exhaustive ? "exhaustive" : "fast", result.search_space, result.search_seconds,
             result.pareto.size(),
             qemu ? fmt::format(" (of {} on the cost-model front, re-measured)", cost_model_front) : std::string());
  fmt::print("{:>3} {:>13} {:>8} {:>13} {:>8} {:>8} {:>8} {:>12}  {}\n", "#", "instructions", "saved", "est. cycles",
             "val %", "test %", "held %", "skipped MACs", "skip fraction per layer");
  for (size_t i = 0; i < result.pareto.size(); ++i) {
    const approx::ExplorePoint& p = result.pareto[i];
    fmt::print("{:>3} {:>13} {:>7.1f}% {:>13} {:>8.2f} {:>8.2f} {:>8} {:>12}  {}{}\n", i,
               with_commas(static_cast<uint64_t>(p.instructions)), (1.0 - p.instructions / base_instr) * 100.0,
               with_commas(static_cast<uint64_t>(p.cycles)), p.validation_top1 * 100.0, p.test_top1.value_or(0.0) * 100.0,
               p.heldout_top1 ? fmt::format("{:.2f}", *p.heldout_top1 * 100.0) : std::string("-"),
               with_commas(static_cast<uint64_t>(p.skipped_macs)), levels_text(p, result.levels),
               selected && *selected == i ? "  <- selected" : "");
  }
  if (selected) {
    const approx::ExplorePoint& p = result.pareto[*selected];
    fmt::print("\nselected (validation loss <= {:.2f}%): #{}, {:.1f}% fewer instructions ({}), test Top-1 {:.2f}% "
               "({:+.2f} points)\n",
               *options.max_accuracy_loss * 100.0, *selected, (1.0 - p.instructions / base_instr) * 100.0,
               latency_source,
               *p.test_top1 * 100.0, (*p.test_top1 - *result.baseline.test_top1) * 100.0);
  }
  return 0;
}

}  // namespace

int run_explore(const ExploreOptions& options) {
  const std::unique_ptr<distributed::WorkPool> pool = distributed::make_pool();
  return distributed::run_command(*pool, [&] { return explore_command(*pool, options); });
}

}  // namespace frugal::cli
