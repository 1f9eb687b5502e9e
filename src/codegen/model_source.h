// C++ source of one model for the firmware: constants in flash, one static arena laid out by
// the memory planner, and a straight-line invoke that calls a kernel per layer with every
// parameter a compile-time constant. The same source compiles for Cortex-M and for the host
// (tests run it on the host against the interpreter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace frugal::codegen {

// Which kernels the generated invoke calls for the ops that have Cortex-M versions.
enum class KernelFlavor : uint8_t { kReference, kCortexM };

// How a CONV_2D / FULLY_CONNECTED layer with skipped (zero) weights runs on Cortex-M:
//   kTable     the table-driven kernel (sparse_gemm.h): skips whole weight quads, code size
//              independent of the layer;
//   kUnrolled  the paper's fully unrolled GEMM (emit_unrolled_gemm): kept weight pairs as SMLAD
//              constants, skips single SMLADs, code grows with the layer (~22 B per kept SMLAD);
//   kAuto      per layer the form with the lower estimated instructions (bench_cortexm_sparse's
//              measured ratios), unrolled only within `unrolled_flash_budget`, largest saving
//              per byte first.
enum class SkipKernel : uint8_t { kTable, kUnrolled, kAuto };

// A product-quantization codebook as the firmware needs it (pq::Codebook's words, K x d int8).
struct PqCodebookData {
  int32_t codewords = 0, subvector = 0;
  std::vector<int8_t> words;
};

// How a product-quantized CONV_2D / FULLY_CONNECTED layer runs on Cortex-M: from codebook +
// indices in the direct or the lookup-table form (kernels/cortexm/pq_*.h), per layer the one the
// packer estimates cheaper (kAuto), or on its decoded int8 weights with the dense kernels.
enum class PqKernel : uint8_t { kAuto, kDirect, kTable, kDecoded };

// The weights of a dense CONV_2D / FULLY_CONNECTED layer on Cortex-M: int8, expanded to int16
// pairs by SXTB16 in the inner loop, or pre-expanded int16 in flash: twice the bytes, about a
// sixth fewer instructions per MAC (docs/cortexm-kernels.md). kAuto widens the layers with the
// most MACs per weight byte first (reuse), within int16_flash_budget extra bytes, and leaves
// single-column layers (FC with one batch row) int8, where int16 costs estimated cycles.
enum class DenseWeights : uint8_t { kInt8, kInt16, kAuto };

struct ModelSourceOptions {
  KernelFlavor flavor = KernelFlavor::kCortexM;
  SkipKernel skip_kernel = SkipKernel::kTable;
  uint64_t unrolled_flash_budget = 0;  // kAuto only: bytes of flash the unrolled code may take
  // Bundles (several models in one firmware): the model's C functions are <api_prefix>init,
  // <api_prefix>input, ... in <file_stem>.cc, no frugal_model.h is written (the bundle writes
  // one for all models), and with shared_buffers the model runs in the bundle's arena and
  // scratch (frugal_bundle_arena / frugal_bundle_scratch) instead of its own, so that all
  // models share one RAM area and switching copies nothing.
  std::string api_prefix = "frugal_";
  std::string file_stem = "model";
  bool shared_buffers = false;
  // The codebooks the graph's encoded weights index (ir::PqEncoding::codebook). Layers whose
  // codebook is not here run on their decoded weights. With shared_buffers the arrays are the
  // bundle's (frugal_pq_codebook_<k>, defined once in bundle.cc), else the model's own.
  std::vector<PqCodebookData> codebooks;
  PqKernel pq_kernel = PqKernel::kAuto;
  DenseWeights dense_weights = DenseWeights::kInt8;
  uint64_t int16_flash_budget = 0;  // kAuto only: extra bytes the int16 weights may take
};

// What runs a layer: the dense kernels (Cortex-M, or reference where those do not cover it), a
// computation-skipping kernel (table-driven or unrolled), or the product-quantization kernels.
enum class LayerKernel : uint8_t { kDense, kSkipping, kProductQuantized };
// "dense", "skipping", "product-quantized" (bench --json's layers[].kernel).
const char* to_string(LayerKernel kernel);

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
  std::vector<LayerKernel> layer_kernels;
  std::vector<int64_t> layer_kept_quads, layer_total_quads;
  std::vector<uint8_t> layer_int16_weights;  // 1: a dense conv / FC layer with int16 weights
  uint64_t unrolled_code_bytes_estimate = 0;  // the unrolled layers' code, for the flash check
};

ModelSource generate_model_source(const ir::Graph& graph, KernelFlavor flavor);
ModelSource generate_model_source(const ir::Graph& graph, const ModelSourceOptions& options);

// One firmware running several models (a bundle), one at a time, with a C API to select the
// model and invoke it (frugal_model.h): each model's source (options.api_prefix "frugal_m<i>_")
// in model_<i>.cc, and bundle.cc with the shared arena / scratch (the largest model's) and the
// selection. Switching models writes one index: weights stay in flash, nothing is copied.
struct BundleSource {
  std::map<std::string, std::string> files;
  std::vector<std::string> names;
  std::vector<ModelSource> models;
  size_t arena_bytes = 0, scratch_bytes = 0, constant_bytes = 0;
};

BundleSource generate_bundle_source(const std::vector<std::pair<std::string, ir::Graph>>& models,
                                    const ModelSourceOptions& options);

// Estimated flash of one unrolled GEMM (its two- and one-column functions).
constexpr uint64_t unrolled_code_bytes(int64_t kept_smlads) { return 22 * static_cast<uint64_t>(kept_smlads); }

}  // namespace frugal::codegen
