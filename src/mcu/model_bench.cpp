#include "mcu/model_bench.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>

#include "mcu/qemu_runner.h"
#include "runtime/interpreter.h"

namespace frugal::mcu {

namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw ir::Error(fmt::format("cannot write '{}'", path.string()));
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ir::Error(fmt::format("the firmware wrote no '{}'", path.string()));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// How many of `count` outputs equal the host engine's (reference kernels).
size_t count_equal_outputs(const ir::Graph& graph, std::span<const uint8_t> inputs, size_t count,
                           std::span<const uint8_t> outputs) {
  const runtime::CompiledModel host(graph, runtime::KernelSet::kReference);
  runtime::Session session(host);
  const size_t in_bytes = host.input_bytes(0), out_bytes = host.output_bytes(0);
  size_t equal = 0;
  for (size_t r = 0; r < count; ++r) {
    std::memcpy(session.input(0), inputs.data() + r * in_bytes, in_bytes);
    session.invoke();
    if (outputs.size() >= (r + 1) * out_bytes &&
        std::memcmp(session.output(0), outputs.data() + r * out_bytes, out_bytes) == 0) {
      ++equal;
    }
  }
  return equal;
}

// Per-layer means of `count` inferences whose regions start at regions[first]: each inference
// is one region per layer then one for the harness.
void add_layer_regions(ModelMeasurement& m, const codegen::ModelSource& source, std::span<const Region> regions,
                       size_t first, size_t count) {
  const size_t layers = source.layer_names.size();
  m.layers.resize(layers);
  for (size_t k = 0; k < layers; ++k) {
    LayerMeasurement& l = m.layers[k];
    l.name = source.layer_names[k];
    l.op = source.layer_ops[k];
    l.kernel_note = k < source.layer_kernel_notes.size() ? source.layer_kernel_notes[k] : std::string();
    if (k < source.layer_kernels.size()) l.kernel = source.layer_kernels[k];
    l.int16_weights = k < source.layer_int16_weights.size() && source.layer_int16_weights[k] != 0;
    l.macs = source.layer_macs[k];
    for (size_t r = 0; r < count; ++r) {
      const Region& region = regions[first + r * (layers + 1) + k];
      l.instructions += region.instructions;
      l.cycles_estimate += region.cycles_estimate;
    }
    // The mean over the runs: kernels are data-independent but for clamps and pooling branches,
    // so this is usually the exact count of every run.
    l.instructions = (l.instructions + count / 2) / count;
    l.cycles_estimate = (l.cycles_estimate + count / 2) / count;
    m.total_instructions += l.instructions;
    m.total_cycles_estimate += l.cycles_estimate;
    m.total_macs += l.macs;
  }
}

RunResult run_or_throw(const codegen::Board& board, const fs::path& elf, const fs::path& directory, size_t count) {
  RunOptions run;
  run.working_directory = directory;
  run.timeout = std::chrono::seconds(60 + 10 * count);
  RunResult result = run_firmware(board, elf, run);
  if (result.timed_out) {
    throw ir::Error(fmt::format("firmware timed out under QEMU after {} s",
                                std::chrono::duration_cast<std::chrono::seconds>(run.timeout).count()));
  }
  if (result.exit_code != 0) {
    throw ir::Error(fmt::format("firmware exited with code {} under QEMU: {}", result.exit_code, result.guest_stderr));
  }
  return result;
}

}  // namespace

ModelMeasurement measure_model(const ir::Graph& graph, const codegen::Board& board, std::span<const uint8_t> inputs,
                               size_t count, const fs::path& directory, const ModelBenchOptions& options) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  if (graph.inputs.size() != 1 || graph.outputs.size() != 1) {
    throw ir::Error("measuring under QEMU needs a model with one input and one output");
  }
  const size_t in_bytes = graph.tensor(graph.inputs[0]).num_bytes();
  if (count == 0 || inputs.size() < count * in_bytes) {
    throw ir::Error(fmt::format("{} input bytes hold fewer than {} inputs of {} bytes", inputs.size(), count, in_bytes));
  }
  log(fmt::format("generating firmware for {} in {}", board.name, directory.string()));
  const codegen::GeneratedFirmware firmware = codegen::generate_firmware(graph, board, directory, options.generate);
  log("building (arm-none-eabi-g++)");
  const fs::path qemu_elf = build_firmware(directory, FirmwareTarget::kQemu);
  ModelMeasurement m;
  m.fit = firmware.fit;
  m.memory = firmware_memory_usage(build_firmware(directory, FirmwareTarget::kBoard));
  write_bytes(directory / "input.bin", inputs.first(count * in_bytes));

  log(fmt::format("running {} inference(s) on QEMU {}", count, board.qemu_machine));
  const RunResult result = run_or_throw(board, qemu_elf, directory, count);

  m.count = count;
  m.outputs_equal = count_equal_outputs(graph, inputs, count, read_bytes(directory / "output.bin"));
  m.bit_exact = m.outputs_equal == count;

  // Regions: per inference one per layer and one for the harness between inferences (the last
  // one is the plugin's "after" region, not listed).
  const codegen::ModelSource& source = firmware.source;
  const size_t layers = source.layer_names.size();
  if (result.regions.size() != count * (layers + 1)) {
    throw ir::Error(fmt::format("expected {} measured regions, the plugin reported {}", count * (layers + 1),
                                result.regions.size()));
  }
  add_layer_regions(m, source, result.regions, 1, count);
  return m;
}

BundleMeasurement measure_bundle(const std::vector<std::pair<std::string, ir::Graph>>& models,
                                 const codegen::Board& board, const std::vector<std::vector<uint8_t>>& inputs,
                                 size_t count, const fs::path& directory, const ModelBenchOptions& options) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  if (inputs.size() != models.size()) {
    throw ir::Error(fmt::format("{} input sets for {} models", inputs.size(), models.size()));
  }
  for (size_t i = 0; i < models.size(); ++i) {
    const size_t in_bytes = models[i].second.tensor(models[i].second.inputs.at(0)).num_bytes();
    if (count == 0 || inputs[i].size() < count * in_bytes) {
      throw ir::Error(fmt::format("model '{}': {} input bytes hold fewer than {} inputs of {} bytes", models[i].first,
                                  inputs[i].size(), count, in_bytes));
    }
  }
  log(fmt::format("generating the firmware of {} models for {} in {}", models.size(), board.name, directory.string()));
  const codegen::GeneratedBundleFirmware firmware =
      codegen::generate_bundle_firmware(models, board, directory, options.generate);
  log("building (arm-none-eabi-g++)");
  const fs::path qemu_elf = build_firmware(directory, FirmwareTarget::kQemu);
  BundleMeasurement b;
  b.fit = firmware.fit;
  b.firmware = firmware;
  b.memory = firmware_memory_usage(build_firmware(directory, FirmwareTarget::kBoard));
  for (size_t i = 0; i < models.size(); ++i) {
    const size_t in_bytes = models[i].second.tensor(models[i].second.inputs[0]).num_bytes();
    write_bytes(directory / fmt::format("input_{}.bin", i), std::span(inputs[i]).first(count * in_bytes));
  }
  log(fmt::format("running {} inference(s) of each model on QEMU {}", count, board.qemu_machine));
  const RunResult result = run_or_throw(board, qemu_elf, directory, count * models.size());

  // Regions: the harness before the first mark; then per model the switch, the harness that
  // opens its files, and per inference its layers and the harness after it (the very last one
  // is the plugin's "after" region, not listed).
  size_t expected = 0;
  for (const codegen::ModelSource& m : firmware.source.models) expected += 2 + count * (m.layer_names.size() + 1);
  if (result.regions.size() != expected) {
    throw ir::Error(fmt::format("expected {} measured regions, the plugin reported {}", expected,
                                result.regions.size()));
  }
  b.bit_exact = true;
  size_t next = 1;
  for (size_t i = 0; i < models.size(); ++i) {
    const codegen::ModelSource& source = firmware.source.models[i];
    BundleModelMeasurement mm;
    mm.name = models[i].first;
    mm.switch_instructions = result.regions[next].instructions;
    mm.switch_cycles_estimate = result.regions[next].cycles_estimate;
    add_layer_regions(mm.model, source, result.regions, next + 2, count);
    next += 2 + count * (source.layer_names.size() + 1);
    mm.model.count = count;
    mm.model.outputs_equal = count_equal_outputs(models[i].second, inputs[i], count,
                                                 read_bytes(directory / fmt::format("output_{}.bin", i)));
    mm.model.bit_exact = mm.model.outputs_equal == count;
    b.bit_exact = b.bit_exact && mm.model.bit_exact;
    b.models.push_back(std::move(mm));
  }
  return b;
}

}  // namespace frugal::mcu
