// `frugal generate`: a model becomes a self-contained firmware project for a board, after a
// check that it fits the board's flash and RAM.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "codegen/boards.h"
#include "codegen/model_source.h"
#include "ir/graph.h"

namespace frugal::codegen {

// What the firmware needs against what the board has. Flash = constants (weights, biases,
// multipliers) + an estimate of the code; RAM = arena + stack + the kernels' static scratch.
// The estimate is checked before anything is written; bench reports the linked figures.
struct FitReport {
  uint64_t constant_bytes = 0;
  uint64_t code_bytes_estimate = 0;
  uint64_t flash_available = 0;
  uint64_t arena_bytes = 0;
  uint64_t scratch_bytes = 0;
  uint64_t stack_bytes = 0;
  uint64_t ram_available = 0;

  uint64_t flash_needed() const { return constant_bytes + code_bytes_estimate; }
  uint64_t ram_needed() const { return arena_bytes + scratch_bytes + stack_bytes; }
  bool fits() const { return flash_needed() <= flash_available && ram_needed() <= ram_available; }
  // "flash: needs 612,000 B (weights 580,000 + code ~32,000) of 524,288 B; RAM: ..." for
  // each section that does not fit.
  std::string shortfall(const Board& board) const;
};

FitReport check_fit(const ModelSource& source, const Board& board, uint32_t stack_bytes);

struct GenerateOptions {
  KernelFlavor flavor = KernelFlavor::kCortexM;
  SkipKernel skip_kernel = SkipKernel::kTable;
  std::vector<PqCodebookData> codebooks;  // a bundle's shared codebooks (model_source.h)
  PqKernel pq_kernel = PqKernel::kAuto;
  // Single models: kAuto gives the dense layers int16 weights, most reuse first, while the
  // firmware stays within 3/4 of the board's flash (the rest is the application's); kInt16
  // widens every dense layer or refuses when that does not fit. Bundles keep int8: they exist
  // to save flash. int8 is the default: int16 weights cut instructions (ResNet-8: 15%) but the
  // estimated cycles far less (3%), and on a board that reads flash with wait states the doubled
  // weight traffic may cost more than that (docs/cortexm-kernels.md).
  DenseWeights dense_weights = DenseWeights::kInt8;
  uint32_t stack_bytes = 8 * 1024;
};

struct GeneratedFirmware {
  ModelSource source;
  FitReport fit;
};

// Refuses (ir::Error with the numbers, nothing written) when the model does not fit; otherwise
// writes the project: model (frugal_model.h, model.cc), kernels, platform, linker scripts,
// Makefile (`make` for the board, `make qemu` for its QEMU stand-in), a QEMU bench harness
// (bench_main.cc: inputs from input.bin, outputs to output.bin via semihosting) and an example
// board main (example_main.cc).
GeneratedFirmware generate_firmware(const ir::Graph& graph, const Board& board,
                                    const std::filesystem::path& directory,
                                    const GenerateOptions& options = {});

struct GeneratedBundleFirmware {
  BundleSource source;
  FitReport fit;  // constants of all models, the largest arena and scratch
};

// A firmware with every model of `models` (name, graph) and the bundle C API of
// generate_bundle_source; the QEMU harness runs input_<m>.bin through model m into
// output_<m>.bin, marking each switch. Refuses (nothing written) when it does not fit.
GeneratedBundleFirmware generate_bundle_firmware(const std::vector<std::pair<std::string, ir::Graph>>& models,
                                                 const Board& board, const std::filesystem::path& directory,
                                                 const GenerateOptions& options = {});

}  // namespace frugal::codegen
