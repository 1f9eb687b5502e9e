// C++ source of one model for the firmware: constants in flash, one static arena laid out by
// the memory planner, and a straight-line invoke that calls a kernel per layer with every
// parameter a compile-time constant. The same source compiles for Cortex-M and for the host
// (tests run it on the host against the interpreter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace frugal::codegen {

// Which kernels the generated invoke calls for the ops that have Cortex-M versions.
enum class KernelFlavor : uint8_t { kReference, kCortexM };

struct ModelSource {
  // File name (relative to the firmware directory) -> contents: frugal_model.h, model.cc.
  // The kernels they call are kernel_source_files() (codegen/kernel_sources.h).
  std::map<std::string, std::string> files;
  size_t arena_bytes = 0;
  size_t constant_bytes = 0;  // weights, biases, multipliers and other tables in flash
  size_t scratch_bytes = 0;   // static RAM of the kernels besides the arena (im2col columns)
  std::vector<std::string> layer_names;
  std::vector<std::string> layer_ops;
  std::vector<int64_t> layer_macs;
  // Per layer: "" for the dense kernels, else what the computation-skipping kernel leaves out;
  // weight quads kept / in all (0 / 0 for dense layers).
  std::vector<std::string> layer_kernel_notes;
  std::vector<int64_t> layer_kept_quads, layer_total_quads;
};

ModelSource generate_model_source(const ir::Graph& graph, KernelFlavor flavor);

}  // namespace frugal::codegen
