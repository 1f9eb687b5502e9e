// Significance analysis for approximate kernels (DESIGN.md, "Seed method 1").
//
// An operand is one weight of one output channel's filter: (ky, kx, ic) for CONV_2D (OHWI row
// order), (ky, kx) for DEPTHWISE_CONV_2D, the input index for FULLY_CONNECTED. Skipping an
// operand's multiply-accumulate is arithmetically the same as setting that weight to 0, so the
// statistics below predict what zeroing it does to the layer's int32 accumulators.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/interpreter.h"

namespace frugal::approx {

// Statistics of one CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED op. Per-operand vectors are
// indexed [channel * operands_per_channel + operand]. A contribution is w * (x + input_offset)
// (0 at padded taps); the accumulator is the int32 sum of all contributions plus the bias.
struct LayerSignificance {
  int32_t op_index = -1;
  std::string name;
  // The first conv-like layer is never approximated (the paper's rule): it sees raw pixels and
  // has few operands, so skipping there costs much accuracy for few MACs.
  bool approximable = true;
  int32_t channels = 0, operands_per_channel = 0;
  // (a) The paper's measure: mean over images and output pixels of |contribution / accumulator|,
  // over the outputs whose accumulator is not 0.
  std::vector<float> contribution_ratio;
  // (b) Mean squared contribution in output LSBs, E[(contribution * M)^2] with M = input_scale *
  // weight_scale / output_scale: the mean squared error that skipping this operand alone adds
  // to the requantized output. Unlike (a) it does not divide by the accumulator (small
  // accumulators make (a) explode although the output barely moves), it is in the units the
  // next layer sees (comparable across channels with different weight scales), and the squared
  // errors of independently skipped operands add, so the sum over a skip set predicts the
  // layer's output error.
  std::vector<float> error_measure;
  // E[contribution] per output pixel, in accumulator units: what bias compensation adds back.
  std::vector<float> mean_contribution;
  // M per channel, so that E[(M * contribution)^2] - (M * mean)^2 (the error left after bias
  // compensation) can be ranked without the graph.
  std::vector<double> output_multiplier;

  size_t operands() const { return static_cast<size_t>(channels) * static_cast<size_t>(operands_per_channel); }
};

struct SignificanceReport {
  std::vector<LayerSignificance> layers;  // in execution order
  size_t images = 0;                      // calibration inputs the statistics average over
};

struct AnalysisOptions {
  size_t threads = 0;  // 0: std::thread::hardware_concurrency()
};

// Runs the model on every calibration input (`inputs` holds them back to back, each
// model.input_bytes(0) bytes, already in the model's input type) and gathers the statistics of
// every conv-like layer. The model must have one input. Results are deterministic for a given
// thread count (threads take contiguous slices and are merged in order).
SignificanceReport analyze_significance(const runtime::CompiledModel& model, std::span<const uint8_t> inputs,
                                        const AnalysisOptions& options = {});

// The conv-like ops of a graph, in execution order (the layers a report describes).
std::vector<int32_t> conv_like_ops(const ir::Graph& graph);

// Throws ir::Error (one line, naming the layer and field) if `report` was not computed for a
// graph with this structure: same conv-like layers (order, op index, name), channel and
// operand counts, vector sizes.
void check_report_matches(const SignificanceReport& report, const ir::Graph& graph);

std::string report_to_json(const SignificanceReport& report);
// Throws ir::Error for malformed JSON or missing/mistyped fields.
SignificanceReport report_from_json(const std::string& text);
void save_report(const SignificanceReport& report, const std::filesystem::path& file);
SignificanceReport load_report(const std::filesystem::path& file);

}  // namespace frugal::approx
