// frugal generate MODEL --board B -o DIR: a firmware project for the board, refused with the
// numbers when the model does not fit.
#include <fmt/format.h>

#include <algorithm>

#include "codegen/boards.h"
#include "codegen/firmware_project.h"
#include "common.h"
#include "verbs.h"

namespace frugal::cli {

namespace {
std::vector<std::string> board_names() {
  std::vector<std::string> names;
  for (const codegen::Board& board : codegen::boards()) names.emplace_back(board.name);
  return names;
}
size_t skipping_layers(const codegen::ModelSource& source) {
  return static_cast<size_t>(std::count(source.layer_kernels.begin(), source.layer_kernels.end(),
                                         codegen::LayerKernel::kSkipping));
}
}  // namespace

CLI::App* add_generate(CLI::App& app, GenerateOptions& options) {
  CLI::App* command = app.add_subcommand("generate", "Write a firmware project (arm-none-eabi-gcc) for a board");
  command->add_option("model", options.model, "Model file (.tflite)")->required();
  command->add_option("--board", options.board, "Target board")->required()->check(CLI::IsMember(board_names()));
  command->add_option("-o,--output", options.output, "Directory of the firmware project")->required();
  command->add_option("--kernels", options.kernels,
                      "Kernels of the firmware: cortexm (DSP-optimised, reference where not covered) or reference")
      ->check(CLI::IsMember({"cortexm", "reference"}))
      ->capture_default_str();
  command->add_option("--approx", options.approx,
                      "Skip configuration (a point_K.json of frugal explore -o): the approximate model, with "
                      "computation-skipping kernels for its skipped weights");
  add_skip_kernel_option(*command, options.skip_kernel);
  add_pq_kernel_option(*command, options.pq_kernel);
  add_weights_option(*command, options.weights);
  command->add_flag("--json", options.json, "Print one JSON object instead of the text summary");
  return command;
}

int run_generate(const GenerateOptions& options) {
  const codegen::Board& board = codegen::find_board(options.board);
  check_output_path(options.output, "-o", OutputKind::kDirectory);
  if (auto bundle = load_bundle(options.model)) {
    if (!options.approx.empty()) throw ir::Error("--approx applies to a single model, not to a bundle");
    codegen::GenerateOptions generate = generate_options(options.kernels, options.skip_kernel, options.pq_kernel, options.weights);
    generate.codebooks = bundle->codebooks;
    StagedDirectory output(options.output);
    const codegen::GeneratedBundleFirmware firmware =
        codegen::generate_bundle_firmware(bundle->models, board, output.path(), generate);
    output.commit();
    const codegen::FitReport& fit = firmware.fit;
    Json list = Json::array();
    for (size_t i = 0; i < firmware.source.models.size(); ++i) {
      list.push_back({{"name", firmware.source.names[i]},
                      {"index", i},
                      {"layers", firmware.source.models[i].layer_names.size()},
                      {"constant_bytes", firmware.source.models[i].constant_bytes},
                      {"arena_bytes", firmware.source.models[i].arena_bytes}});
    }
    if (options.json) {
      Json json = {{"bundle", options.model},         {"board", board.name},
                   {"output", options.output},        {"models", list},
                   {"constant_bytes", fit.constant_bytes}, {"code_bytes_estimate", fit.code_bytes_estimate},
                   {"flash_available", fit.flash_available}, {"arena_bytes", fit.arena_bytes},
                   {"stack_bytes", fit.stack_bytes},   {"ram_available", fit.ram_available}};
      fmt::print("{}\n", json.dump());
      return 0;
    }
    fmt::print("wrote {} for {} ({}): {} models, select one with frugal_select() (frugal_model.h)\n", options.output,
               board.name, board.description, firmware.source.models.size());
    for (size_t i = 0; i < firmware.source.models.size(); ++i) {
      fmt::print("  {} {}: {} layers, {} B of constants, arena {} B\n", i, firmware.source.names[i],
                 firmware.source.models[i].layer_names.size(), with_commas(firmware.source.models[i].constant_bytes),
                 with_commas(firmware.source.models[i].arena_bytes));
    }
    fmt::print("  flash: {} B of constants + ~{} B of code, of {} B\n", with_commas(fit.constant_bytes),
               with_commas(fit.code_bytes_estimate), with_commas(fit.flash_available));
    fmt::print("  RAM:   {} B of shared arena + {} B of stack, of {} B\n", with_commas(fit.arena_bytes),
               with_commas(fit.stack_bytes), with_commas(fit.ram_available));
    fmt::print("build: make -C {} (board) or make -C {} qemu (QEMU {})\n", options.output, options.output,
               board.qemu_machine);
    return 0;
  }
  const ir::Graph graph = load_model(options.model, options.approx);
  require_single_input_output(graph, "generate");
  codegen::GenerateOptions generate = generate_options(options.kernels, options.skip_kernel, options.pq_kernel, options.weights);
  generate.codebooks = load_codebooks(options.model);
  StagedDirectory output(options.output);
  const codegen::GeneratedFirmware firmware = codegen::generate_firmware(graph, board, output.path(), generate);
  output.commit();
  const codegen::FitReport& fit = firmware.fit;
  if (options.json) {
    Json json = {{"model", options.model},
                 {"board", board.name},
                 {"output", options.output},
                 {"approx", options.approx.empty() ? Json(nullptr) : Json(options.approx)},
                 {"layers", firmware.source.layer_names.size()},
                 {"skipping_layers", skipping_layers(firmware.source)},
                 {"constant_bytes", fit.constant_bytes},
                 {"code_bytes_estimate", fit.code_bytes_estimate},
                 {"flash_available", fit.flash_available},
                 {"arena_bytes", fit.arena_bytes},
                 {"stack_bytes", fit.stack_bytes},
                 {"ram_available", fit.ram_available}};
    fmt::print("{}\n", json.dump());
    return 0;
  }
  fmt::print("wrote {} for {} ({})\n", options.output, board.name, board.description);
  for (size_t k = 0; k < firmware.source.layer_kernel_notes.size(); ++k) {
    const std::string& note = firmware.source.layer_kernel_notes[k];
    if (!note.empty()) fmt::print("  layer {} '{}': {}\n", k, firmware.source.layer_names[k], note);
  }
  fmt::print("  flash: {} B of constants + ~{} B of code, of {} B\n", with_commas(fit.constant_bytes),
             with_commas(fit.code_bytes_estimate), with_commas(fit.flash_available));
  fmt::print("  RAM:   {} B of arena + {} B of stack, of {} B\n", with_commas(fit.arena_bytes),
             with_commas(fit.stack_bytes), with_commas(fit.ram_available));
  fmt::print("build: make -C {} (board) or make -C {} qemu (QEMU {})\n", options.output, options.output,
             board.qemu_machine);
  return 0;
}

}  // namespace frugal::cli
