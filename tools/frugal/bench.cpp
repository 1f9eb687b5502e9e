// frugal bench MODEL --board B: generate and build the firmware, run it on the board's QEMU
// stand-in with the counting plugin, check every output against the host engine bit for bit,
// and report per layer: executed instructions (exact), estimated cycles and milliseconds at the
// board's clock; flash and RAM from the linked ELF.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>

#include "codegen/boards.h"
#include "codegen/firmware_project.h"
#include "common.h"
#include "data/data_root.h"
#include "data/eval_set.h"
#include "mcu/firmware.h"
#include "mcu/external_storage.h"
#include "mcu/model_bench.h"
#include "pq/compress.h"
#include "report/command_reports.h"
#include "verbs.h"

namespace frugal::cli {

namespace fs = std::filesystem;

CLI::App* add_bench(CLI::App& app, BenchOptions& options) {
  CLI::App* command =
      app.add_subcommand("bench", "Build the firmware, run it under QEMU, check it bit for bit, count per layer");
  command->add_option("model", options.model, "Model file (.tflite)")->required();
  std::vector<std::string> names;
  for (const codegen::Board& board : codegen::boards()) names.emplace_back(board.name);
  command->add_option("--board", options.board, "Target board")->required()->check(CLI::IsMember(names));
  auto* data = command->add_option("--data", options.data, "Inputs from a data set (as frugal eval prepares them)")
                   ->check(CLI::IsMember(data::dataset_names()));
  command->add_option("--input", options.input, "Inputs from a raw file (as frugal run reads it)")->excludes(data);
  command->add_option("-n,--count", options.count, "Number of inferences")->check(positive_number())->capture_default_str();
  command->add_option("--keep", options.keep, "Keep the firmware project in this directory");
  command->add_option("--kernels", options.kernels,
                      "Kernels of the firmware: cortexm (DSP-optimised, reference where not covered) or reference")
      ->check(CLI::IsMember({"cortexm", "reference"}))
      ->capture_default_str();
  command->add_option("--approx", options.approx,
                      "Skip configuration (a point_K.json of frugal explore -o): measure the approximate model");
  add_skip_kernel_option(*command, options.skip_kernel);
  add_pq_kernel_option(*command, options.pq_kernel);
  add_weights_option(*command, options.weights);
  command->add_flag("--json", options.json, "Print one JSON object instead of the table");
  command->add_option("--report", options.report,
                      "Write bench.html (per-layer or, for a bundle, per-model charts), bench.json and bench.csv "
                      "into this directory");
  return command;
}

namespace {

// `count` inputs for the model: from a data set, a raw file, or seeded random bytes (float
// inputs: values in [0, 1)).
std::vector<uint8_t> bench_inputs(const BenchOptions& options, const ir::Tensor& input, size_t count) {
  const size_t record = input.num_bytes();
  if (!options.data.empty()) {
    const data::DataRoot root = data::find_data_root();
    fmt::print(stderr, "{}\n", root.describe());
    const data::EvalSet set = data::load_eval_set(*data::parse_dataset(options.data), root, input, count);
    if (set.num_inferences() < count) {
      throw ir::Error(fmt::format("--data {} has only {} records, asked for {}", options.data, set.num_inferences(), count));
    }
    return {set.inputs.begin(), set.inputs.begin() + static_cast<std::ptrdiff_t>(count * record)};
  }
  if (!options.input.empty()) {
    std::vector<uint8_t> bytes = read_file(options.input, "input file");
    if (bytes.size() < count * record) {
      throw ir::Error(fmt::format("{} holds {} bytes, {} inputs of {} bytes need {}", options.input, bytes.size(),
                                  count, record, count * record));
    }
    bytes.resize(count * record);
    return bytes;
  }
  std::vector<uint8_t> bytes(count * record);
  std::mt19937 rng(1);
  if (input.type == ir::DataType::kFloat32) {
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (size_t i = 0; i < bytes.size() / 4; ++i) {
      const float v = unit(rng);
      std::memcpy(bytes.data() + 4 * i, &v, 4);
    }
  } else {
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  }
  return bytes;
}

// The firmware project's folder: --keep DIR, else a temporary one removed afterwards.
struct BenchDirectory {
  explicit BenchDirectory(const std::string& keep_dir)
      : keep(!keep_dir.empty()),
        path(keep ? fs::path(keep_dir) : fs::temp_directory_path() / fmt::format("frugal-bench-{}", ::getpid())) {
    if (keep) check_output_path(path, "--keep", OutputKind::kDirectory);
  }
  ~BenchDirectory() {
    std::error_code ignored;
    if (!keep) fs::remove_all(path, ignored);
  }
  BenchDirectory(const BenchDirectory&) = delete;
  BenchDirectory& operator=(const BenchDirectory&) = delete;
  bool keep;
  fs::path path;
};

// --report DIR: only for a run that passed (every output bit-exact), so a report never shows
// figures of firmware that computes something else.
void write_bench_report(const BenchOptions& options, const Json& json, bool bit_exact) {
  if (options.report.empty()) return;
  if (!bit_exact) {
    fmt::print(stderr, "no report written: the firmware is not bit-exact with the host\n");
    return;
  }
  const std::string text = json.dump() + "\n";
  const auto files = report::write_command_report(options.report, "bench", text, report::bench_report(json));
  fmt::print(stderr, "wrote {}, {}, {}\n", files[0].string(), files[1].filename().string(), files[2].filename().string());
}

}  // namespace

// A bundle: one firmware with every model; per model its layers, its switch and what loading it
// from external storage would cost instead.
int run_bench_bundle(const BenchOptions& options, const LoadedBundle& bundle) {
  const std::vector<std::pair<std::string, ir::Graph>>& models = bundle.models;
  const codegen::Board& board = codegen::find_board(options.board);
  if (!options.approx.empty()) throw ir::Error("--approx applies to a single model, not to a bundle");
  if (!options.report.empty()) report::check_report_directory(options.report);
  const size_t count = options.count;
  const BenchDirectory work(options.keep);
  const fs::path& dir = work.path;

  std::vector<std::vector<uint8_t>> inputs;
  for (const auto& [name, graph] : models) {
    const ir::Tensor& input = graph.tensor(graph.inputs.at(0));
    BenchOptions own = options;
    own.data.clear();
    if (options.input.empty()) {
      // Each model's own data set when one fits its input (else seeded random inputs).
      const std::optional<data::Dataset> dataset = pq::guess_dataset(input);
      if (dataset) own.data = std::string(data::to_string(*dataset));
    }
    fmt::print(stderr, "{}: inputs from {}\n", name, own.data.empty() ? std::string("random bytes") : own.data);
    inputs.push_back(bench_inputs(own, input, count));
  }
  mcu::ModelBenchOptions bench;
  bench.generate = generate_options(options.kernels, options.skip_kernel, options.pq_kernel, options.weights);
  bench.generate.codebooks = bundle.codebooks;
  bench.log = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
  const mcu::BundleMeasurement b = mcu::measure_bundle(models, board, inputs, count, dir, bench);
  const codegen::GeneratedBundleFirmware& firmware_info = b.firmware;
  auto ms = [&](uint64_t cycles) { return static_cast<double>(cycles) / (board.clock_hz / 1e3); };

  Json model_list = Json::array();
  for (size_t i = 0; i < b.models.size(); ++i) {
    const mcu::BundleModelMeasurement& mm = b.models[i];
    const mcu::ModelMeasurement& m = mm.model;
    const size_t constants = firmware_info.source.models[i].constant_bytes;
    Json loads = Json::object();
    for (const mcu::StorageLink* link : {&mcu::kSdCardSpi, &mcu::kQspiNorFlash}) {
      const uint64_t cycles = link->load_cycles(constants, board.clock_hz);
      loads[std::string(link->name)] = {{"cycles", cycles},
                                        {"ms", ms(cycles)},
                                        {"switch_saving", 1.0 - static_cast<double>(mm.switch_cycles_estimate) /
                                                                    static_cast<double>(std::max<uint64_t>(1, cycles))}};
    }
    Json layer_list = Json::array();
    for (const mcu::LayerMeasurement& l : m.layers) {
      layer_list.push_back({{"name", l.name}, {"op", l.op}, {"macs", l.macs}, {"instructions", l.instructions},
                            {"cycles_estimate", l.cycles_estimate}});
    }
    model_list.push_back(
        {{"name", mm.name},
         {"bit_exact", m.bit_exact},
         {"outputs_equal", m.outputs_equal},
         {"total_macs", m.total_macs},
         {"total_instructions", m.total_instructions},
         {"total_cycles_estimate", m.total_cycles_estimate},
         {"ms_estimate", ms(m.total_cycles_estimate)},
         {"constant_bytes", constants},
         {"switch", {{"instructions", mm.switch_instructions},
                     {"cycles_estimate", mm.switch_cycles_estimate},
                     {"bytes_copied", 0},
                     {"fraction_of_inference", static_cast<double>(mm.switch_cycles_estimate) /
                                                   static_cast<double>(std::max<uint64_t>(1, m.total_cycles_estimate))}}},
         {"load_from_external_storage", loads},
         {"layers", layer_list}});
  }
  if (options.json || !options.report.empty()) {
    Json json = {{"bundle", options.model},
                 {"board", board.name},
                 {"qemu_machine", board.qemu_machine},
                 {"cycle_model", board.cycle_model},
                 {"clock_hz", board.clock_hz},
                 {"count", count},
                 {"bit_exact", b.bit_exact},
                 {"flash_bytes", b.memory.flash_bytes},
                 {"ram_bytes", b.memory.ram_bytes},
                 {"stack_bytes", b.memory.stack_bytes},
                 {"arena_bytes", b.fit.arena_bytes},
                 {"board_flash_bytes", board.flash_bytes()},
                 {"board_ram_bytes", board.ram_bytes()},
                 {"models", model_list}};
    write_bench_report(options, json, b.bit_exact);
    if (options.json) {
      fmt::print("{}\n", json.dump());
      return b.bit_exact ? 0 : 1;
    }
  }
  fmt::print("{} on {} ({}), QEMU {} with the {} cycle table, {} inference(s) per model\n", options.model,
             board.name, board.description, board.qemu_machine, board.cycle_model, count);
  fmt::print("bit-exact with the host engine: {}\n\n", b.bit_exact ? "yes (every model)" : "NO");
  fmt::print("{:<24} {:>14} {:>13} {:>9} {:>8} {:>9} {:>10} {:>10} {:>6}\n", "model", "instructions", "est. cycles",
             "est. ms", "switch", "% of inf", "SD ms", "QSPI ms", "exact");
  for (size_t i = 0; i < b.models.size(); ++i) {
    const mcu::BundleModelMeasurement& mm = b.models[i];
    const mcu::ModelMeasurement& m = mm.model;
    const size_t constants = firmware_info.source.models[i].constant_bytes;
    fmt::print("{:<24} {:>14} {:>13} {:>9.3f} {:>8} {:>8.4f}% {:>10.2f} {:>10.2f} {:>6}\n", mm.name,
               with_commas(m.total_instructions), with_commas(m.total_cycles_estimate), ms(m.total_cycles_estimate),
               mm.switch_cycles_estimate,
               100.0 * static_cast<double>(mm.switch_cycles_estimate) /
                   static_cast<double>(std::max<uint64_t>(1, m.total_cycles_estimate)),
               ms(mcu::kSdCardSpi.load_cycles(constants, board.clock_hz)),
               ms(mcu::kQspiNorFlash.load_cycles(constants, board.clock_hz)), m.bit_exact ? "yes" : "NO");
  }
  fmt::print("\nswitch: frugal_select() in cycles (estimated), 0 bytes copied; SD / QSPI: loading the model's {} "
             "from external storage instead (docs/product-quantization.md)\n",
             "constants");
  fmt::print("memory (linked board firmware): flash {} B of {}; RAM {} B static (shared arena {}) + {} B stack, of {}\n",
             with_commas(b.memory.flash_bytes), with_commas(board.flash_bytes()), with_commas(b.memory.ram_bytes),
             with_commas(b.fit.arena_bytes), with_commas(b.memory.stack_bytes), with_commas(board.ram_bytes()));
  return b.bit_exact ? 0 : 1;
}

int run_bench(const BenchOptions& options) {
  if (auto bundle = load_bundle(options.model)) return run_bench_bundle(options, *bundle);
  const codegen::Board& board = codegen::find_board(options.board);
  if (!options.report.empty()) report::check_report_directory(options.report);
  const ir::Graph graph = load_model(options.model, options.approx);
  require_single_input_output(graph, "bench");
  const size_t count = options.count;

  const BenchDirectory work(options.keep);
  const fs::path& dir = work.path;

  const ir::Tensor& input = graph.tensor(graph.inputs[0]);
  const std::vector<uint8_t> inputs = bench_inputs(options, input, count);
  mcu::ModelBenchOptions bench;
  bench.generate = generate_options(options.kernels, options.skip_kernel, options.pq_kernel, options.weights);
  bench.generate.codebooks = load_codebooks(options.model);
  bench.log = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
  const mcu::ModelMeasurement m = mcu::measure_model(graph, board, inputs, count, dir, bench);
  const double mhz = board.clock_hz / 1e6;
  auto ms = [&](uint64_t cycles) { return static_cast<double>(cycles) / (board.clock_hz / 1e3); };

  if (options.json || !options.report.empty()) {
    Json layer_list = Json::array();
    for (size_t k = 0; k < m.layers.size(); ++k) {
      const mcu::LayerMeasurement& l = m.layers[k];
      layer_list.push_back({{"index", k},
                            {"name", l.name},
                            {"op", l.op},
                            {"kernel", codegen::to_string(l.kernel)},
                            {"int16_weights", l.int16_weights},
                            {"macs", l.macs},
                            {"instructions", l.instructions},
                            {"cycles_estimate", l.cycles_estimate},
                            {"ms_estimate", ms(l.cycles_estimate)}});
    }
    Json json = {{"model", options.model},
                 {"approx", options.approx.empty() ? Json(nullptr) : Json(options.approx)},
                 {"board", board.name},
                 {"qemu_machine", board.qemu_machine},
                 {"cycle_model", board.cycle_model},
                 {"clock_hz", board.clock_hz},
                 {"count", count},
                 {"bit_exact", m.bit_exact},
                 {"outputs_equal", m.outputs_equal},
                 {"total_macs", m.total_macs},
                 {"total_instructions", m.total_instructions},
                 {"total_cycles_estimate", m.total_cycles_estimate},
                 {"ms_estimate", ms(m.total_cycles_estimate)},
                 {"flash_bytes", m.memory.flash_bytes},
                 {"ram_bytes", m.memory.ram_bytes},
                 {"stack_bytes", m.memory.stack_bytes},
                 {"arena_bytes", m.fit.arena_bytes},
                 {"board_flash_bytes", board.flash_bytes()},
                 {"board_ram_bytes", board.ram_bytes()},
                 {"layers", layer_list}};
    write_bench_report(options, json, m.bit_exact);
    if (options.json) {
      fmt::print("{}\n", json.dump());
      return m.bit_exact ? 0 : 1;
    }
  }

  fmt::print("{} on {} ({}), QEMU {} with the {} cycle table, {} inference(s)\n", options.model, board.name,
             board.description, board.qemu_machine, board.cycle_model, count);
  fmt::print("bit-exact with the host engine: {} ({}/{} outputs equal)\n\n", m.bit_exact ? "yes" : "NO", m.outputs_equal, count);
  fmt::print("{:>3}  {:<34} {:<16} {:>11} {:>13} {:>9} {:>13} {:>9}\n", "#", "layer", "op", "MACs", "instructions",
             "instr/MAC", "est. cycles", "est. ms");
  for (size_t k = 0; k < m.layers.size(); ++k) {
    const mcu::LayerMeasurement& l = m.layers[k];
    std::string name = l.name;
    if (name.size() > 34) name = name.substr(0, 31) + "...";
    fmt::print("{:>3}  {:<34} {:<16} {:>11} {:>13} {:>9} {:>13} {:>9.3f}{}\n", k, name, l.op,
               with_commas(static_cast<uint64_t>(l.macs)), with_commas(l.instructions),
               l.macs > 0 ? fmt::format("{:.2f}", static_cast<double>(l.instructions) / static_cast<double>(l.macs))
                          : std::string("-"),
               with_commas(l.cycles_estimate), ms(l.cycles_estimate),
               !l.kernel_note.empty() ? "  (" + l.kernel_note + ")"
               : l.int16_weights      ? std::string("  (int16 weights)")
                                      : std::string());
  }
  fmt::print("\ntotal: {} MACs, {} instructions ({:.2f}/MAC), ~{} cycles = ~{:.1f} ms at {:.0f} MHz\n",
             with_commas(static_cast<uint64_t>(m.total_macs)), with_commas(m.total_instructions),
             m.total_macs > 0 ? static_cast<double>(m.total_instructions) / static_cast<double>(m.total_macs) : 0.0,
             with_commas(m.total_cycles_estimate), ms(m.total_cycles_estimate), mhz);
  fmt::print("memory (linked board firmware): flash {} B of {}; RAM {} B static (arena {}) + {} B stack, of {}\n",
             with_commas(m.memory.flash_bytes), with_commas(board.flash_bytes()), with_commas(m.memory.ram_bytes),
             with_commas(m.fit.arena_bytes), with_commas(m.memory.stack_bytes), with_commas(board.ram_bytes()));
  return m.bit_exact ? 0 : 1;
}

}  // namespace frugal::cli
