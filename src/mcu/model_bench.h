// Whole-model measurement under QEMU: generate a model's firmware, build it, run it on the
// board's QEMU stand-in with the counting plugin, check every output against the host engine
// bit for bit, and split the executed instructions (exact) and estimated cycles per layer.
// `frugal bench` prints it; `frugal explore` re-measures its Pareto points with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codegen/boards.h"
#include "codegen/firmware_project.h"
#include "ir/graph.h"
#include "mcu/firmware.h"

namespace frugal::mcu {

struct LayerMeasurement {
  std::string name, op;
  std::string kernel_note;  // "" for the dense kernels (codegen::ModelSource::layer_kernel_notes)
  codegen::LayerKernel kernel = codegen::LayerKernel::kDense;
  bool int16_weights = false;  // a dense conv / FC kernel on int16 weights
  int64_t macs = 0;
  uint64_t instructions = 0;  // per inference (mean over the runs)
  uint64_t cycles_estimate = 0;
};

struct ModelMeasurement {
  std::vector<LayerMeasurement> layers;
  uint64_t total_instructions = 0, total_cycles_estimate = 0;
  int64_t total_macs = 0;
  size_t count = 0, outputs_equal = 0;
  bool bit_exact = false;
  MemoryUsage memory;        // the board build's ELF
  codegen::FitReport fit;
};

struct ModelBenchOptions {
  codegen::GenerateOptions generate;
  std::function<void(std::string_view)> log;  // progress lines (none when empty)
};

// `inputs` holds `count` raw input tensors back to back. The project is written into
// `directory` (left there). Throws ir::Error when the model does not fit the board, the build
// fails, QEMU fails or times out, or the plugin's regions do not match the layers.
ModelMeasurement measure_model(const ir::Graph& graph, const codegen::Board& board, std::span<const uint8_t> inputs,
                               size_t count, const std::filesystem::path& directory,
                               const ModelBenchOptions& options = {});

struct BundleModelMeasurement {
  std::string name;
  ModelMeasurement model;  // layers, totals and bit-exactness (memory and fit are the bundle's)
  // frugal_select() switching to this model, measured between two marks.
  uint64_t switch_instructions = 0, switch_cycles_estimate = 0;
};

struct BundleMeasurement {
  std::vector<BundleModelMeasurement> models;
  bool bit_exact = false;  // every output of every model
  MemoryUsage memory;      // the board build's ELF
  codegen::FitReport fit;
  codegen::GeneratedBundleFirmware firmware;  // per-model sources (constant bytes, layers)
};

// One firmware with every model of `models` (codegen::generate_bundle_firmware), `count`
// inferences of each (inputs[i]: count raw inputs of model i back to back), each model's
// outputs checked against the host engine and its layers and switch counted.
BundleMeasurement measure_bundle(const std::vector<std::pair<std::string, ir::Graph>>& models,
                                 const codegen::Board& board, const std::vector<std::vector<uint8_t>>& inputs,
                                 size_t count, const std::filesystem::path& directory,
                                 const ModelBenchOptions& options = {});

}  // namespace frugal::mcu
