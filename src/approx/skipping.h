// Skip configurations and the host-side transform that realises them: skipping an operand's
// multiply-accumulate equals zeroing its weight, so an approximate model is the original graph
// with the skipped weights set to 0 (and, optionally, each channel's bias raised by the skipped
// terms' expected value). Its accuracy is then measured with the ordinary interpreter.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "approx/significance.h"
#include "ir/graph.h"

namespace frugal::approx {

// Which statistic ranks a layer's operands (the least significant are skipped first).
enum class Measure : uint8_t {
  kContributionRatio,  // (a) the paper's mean |contribution / accumulator|
  kErrorMeasure,       // (b) mean squared contribution in output LSBs
  kResidualError,      // (b) minus the squared mean: the error left after bias compensation
};

std::string_view to_string(Measure measure);
std::optional<Measure> parse_measure(std::string_view name);

// Which operands are skipped together, so that the kernel that runs the layer really saves the
// work (kernels/cortexm/sparse_pack.h):
//   kOperand    groups of LayerSkip::group consecutive operands of one channel (host analysis);
//   kChannelQuad the channel-quad table kernel's unit: operands 4q..4q+3 of one channel;
//   kQuad       the pair-quad table kernel's unit: operands 4q..4q+3 of channels 2p, 2p+1;
//   kPairedQuad the same kernel over a channel pairing chosen for the layer (PairedQuadGemm):
//               the cheapest channel quads are found first, channels that share them are
//               paired (kernels::cortexm::pair_channels), then pair quads are chosen;
//   kSmladPair  the unrolled kernel's unit: one SMLAD, operands 4q+j and 4q+j+2 of one channel.
// The kernel units apply to CONV_2D and FULLY_CONNECTED only (no skipping depthwise kernel).
enum class Granularity : uint8_t { kOperand, kQuad, kSmladPair, kChannelQuad, kPairedQuad };

std::string_view to_string(Granularity granularity);
std::optional<Granularity> parse_granularity(std::string_view name);

struct LayerSkip {
  std::string layer;  // op name, as in the report
  // Exactly one of the three: a fraction of the layer's operands (rounded to the nearest
  // count), a count, or the explicit operand indices (ascending; a *resolved* entry, which
  // needs no significance report: see resolve_config).
  std::optional<double> fraction;
  std::optional<int64_t> count;
  Measure measure = Measure::kErrorMeasure;
  // Skip granularity: groups of this many consecutive operands of one channel ([g*j, g*j + g),
  // the last group of a channel may be shorter) are skipped whole, ranked by the sum of their
  // members' measure. 2 models the paper's SMLAD pairs (an instruction disappears only when
  // both of its weights are skipped). Groups are taken in ranking order, passing over any that
  // would exceed the requested count, so a layer may skip slightly fewer operands than asked.
  int32_t group = 1;
  Granularity granularity = Granularity::kOperand;
  std::optional<std::vector<int64_t>> operands{};
  // Resolved entries only: int32 added to each output channel's bias (bias compensation).
  std::optional<std::vector<int32_t>> bias_delta{};
};

// Layers not listed are exact.
struct SkipConfig {
  std::vector<LayerSkip> layers;
};

// {"format": "frugal-skip-config", "version": 1, "layers": [{"layer": "conv_2", "fraction": 0.3,
// "measure": "error", "granularity": "quad"}, {"layer": "fc", "count": 12, "measure": "ratio",
// "group": 2}, {"layer": "conv_3", "operands": [0, 5, 9], "bias_delta": [3, -1]}]}; "measure"
// defaults to "error", "granularity" to "operand", "group" to 1. Parsing checks the JSON's
// shape (ir::Error naming the entry); validate_config / validate_resolved check it against a
// model.
std::string config_to_json(const SkipConfig& config);
SkipConfig config_from_json(const std::string& text);
void save_config(const SkipConfig& config, const std::filesystem::path& file);
SkipConfig load_config(const std::filesystem::path& file);

// The same fraction (and group size) for every approximable layer of the report.
SkipConfig uniform_skip(const SignificanceReport& report, double fraction, Measure measure, int32_t group = 1);

// Skipped operands of one layer: indices [channel * operands_per_channel + operand], ascending.
struct LayerSelection {
  size_t report_layer = 0;  // index into SignificanceReport::layers
  int32_t op_index = -1;
  std::vector<int64_t> operands;
};

// Throws ir::Error (one line naming the layer and the problem) for a report that does not match
// the graph, unknown or repeated layer names, non-approximable layers, fractions outside [0, 1],
// counts outside [0, operands], groups below 1, and entries with neither or both of fraction and
// count.
void validate_config(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config);

// Per configured layer, its least significant operands by the layer's measure; ties go to the
// lower index, so the choice is deterministic.
std::vector<LayerSelection> select_skipped(const ir::Graph& graph, const SignificanceReport& report,
                                           const SkipConfig& config);

// The same configuration with every entry resolved: explicit skipped operands and, with
// `compensate_bias`, the per-channel bias deltas. The result applies to the graph without the
// report (apply_resolved), so a chosen point can be stored and turned into firmware later.
SkipConfig resolve_config(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config,
                          bool compensate_bias);

// Throws ir::Error (one line naming the layer) unless every entry is resolved and matches the
// graph: a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op of that name with int8 weights,
// operand indices ascending, unique and inside the layer, bias_delta one per output channel.
void validate_resolved(const ir::Graph& graph, const SkipConfig& config);

// A copy of `graph` with the resolved entries' weights set to 0 and their bias deltas added
// (saturating). Validates first.
ir::Graph apply_resolved(const ir::Graph& graph, const SkipConfig& config);

// A copy of `graph` with the selected weights set to 0. With `compensate_bias`, each output
// channel's int32 bias also grows by round(sum of its skipped operands' mean contributions)
// (saturating; a zero bias tensor is added to ops without one). Weight or bias tensors that
// another op also reads are duplicated first, so only the configured ops change.
ir::Graph apply_skipping(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config,
                         bool compensate_bias);

// Multiply-accumulates the configuration removes: each selected operand once per output pixel
// (as ir::macs counts, padded taps included).
int64_t skipped_macs(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config);

}  // namespace frugal::approx
