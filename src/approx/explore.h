// Design-space exploration of skip configurations (issue 6, host side): per-layer skip levels,
// validation Top-1 of every visited configuration measured with the fast host kernels, latency
// from a per-layer cost model, and the Pareto front of (latency, validation Top-1), whose points
// are then re-measured on the test split.
//
// Latencies here are cost-model figures (`latency_source`); `frugal explore` re-measures every
// Pareto point as firmware under QEMU and keeps the front of the measured instructions
// (pareto_front with `measured`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "approx/significance.h"
#include "approx/skipping.h"
#include "data/eval_set.h"
#include "distributed/work_pool.h"
#include "ir/graph.h"

namespace frugal::approx {

// Latency of one op of the graph given the fraction of its multiply-accumulates that remain.
class LayerCostModel {
 public:
  virtual ~LayerCostModel() = default;
  // Instructions of op `op_index` (index into Graph::ops) when `kept_fraction` of its MACs remain.
  virtual double cost(size_t op_index, double kept_fraction) const = 0;
  // Estimated cycles of the same.
  virtual double cycles(size_t op_index, double kept_fraction) const = 0;
  // "cost-model" until latencies are measured.
  virtual std::string_view source() const { return "cost-model"; }
};

// Default cost model: the dense firmware's instructions D (and cycles C) of each op, of which
// the MAC part, A = min(D, k * MACs), shrinks with the kept fraction f:
//   cost(op, f) = D - A + s * A * f (f < 1),   cost(op, 1) = D,   cycles(op, f) = C * cost(op, f) / D,
// s = 1.12: a kept quad of the skipping kernel costs 15 instructions where the dense loop
// spends about 13.4 (its offset load and add; docs/approximate-kernels.md, bench_cortexm_sparse).
// k (instructions per MAC of the inner loop) is 1.0 for CONV_2D / FULLY_CONNECTED (one SMLAD
// and one load per two MACs) and 3.0 for DEPTHWISE_CONV_2D (no pairing: load, load, MLA).
// D and C come from a `frugal bench --json` file (layers[].instructions / cycles_estimate,
// matched by name) or, without one, from per-op-type estimates (docs/approximate-kernels.md).
// A dense layer measured on int16 weights (layers[].int16_weights) runs about 0.17 instructions
// per MAC under the int8 kernel the skipping kernels are measured against, so for f < 1 its D
// is raised by that much first.
struct DenseLayerCost {
  std::string name;
  ir::OpType type{};
  int64_t macs = 0;
  double instructions = 0.0;  // D
  double cycles = 0.0;        // C
  double mac_instructions = 0.0;  // A
  bool int16_weights = false;
};

// One layer of a measured dense firmware.
struct MeasuredLayerCost {
  double instructions = 0.0, cycles = 0.0;
  bool int16_weights = false;
};

class InstructionCostModel final : public LayerCostModel {
 public:
  explicit InstructionCostModel(std::vector<DenseLayerCost> layers) : layers_(std::move(layers)) {}
  // Per-op-type estimates: instructions per MAC 1.1 (conv), 3.6 (depthwise), 1.4 (FC), 10 per
  // output element for ops without MACs; cycles 1.5 per instruction (the ratios of the dense
  // firmware measured on nucleo-f446re, docs/mcu-backend.md).
  static InstructionCostModel estimate(const ir::Graph& graph);
  // From `frugal bench MODEL --board B --json` output. Throws ir::Error (one line) if the JSON
  // is malformed, was measured on another board (when `board` is not empty), or lacks one of the
  // graph's ops.
  static InstructionCostModel from_bench_json(const ir::Graph& graph, const std::string& text, std::string_view board);
  // From per-layer measurements by layer name. Throws ir::Error when one of the graph's ops has
  // none.
  static InstructionCostModel from_measured(const ir::Graph& graph,
                                            const std::unordered_map<std::string, MeasuredLayerCost>& measured);

  double cost(size_t op_index, double kept_fraction) const override;
  double cycles(size_t op_index, double kept_fraction) const override;
  const std::vector<DenseLayerCost>& layers() const { return layers_; }
  // "bench" or "estimate".
  std::string dense_source = "estimate";

 private:
  std::vector<DenseLayerCost> layers_;
};

struct ExploreProgress {
  std::string_view phase;  // "baseline", "sensitivity", "walk", "refine", "exhaustive", "test"
  size_t done = 0;
  size_t total = 0;  // 0 when not known in advance
  size_t evaluations = 0;
  size_t front_size = 0;
};

struct ExploreOptions {
  std::vector<double> levels = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  // Residual ranking with bias compensation was the most accurate in src/approx/README.md.
  Measure measure = Measure::kResidualError;
  bool compensate_bias = true;
  int32_t group = 1;
  // What the Cortex-M skipping kernel removes: by default quads of channel pairs chosen per layer
  // (PairedQuadGemm, sparse_gemm.h), the form with the fewest instructions and cycles per kept
  // MAC, over the pairs that share the least significant quads (docs/approximate-kernels.md).
  // With a kernel granularity only CONV_2D and FULLY_CONNECTED layers are explored: depthwise
  // layers have no skipping kernel, so skipping there would cost accuracy and save nothing.
  Granularity granularity = Granularity::kPairedQuad;
  bool exhaustive = false;
  size_t max_exhaustive_configs = 1'000'000;
  // Configurations more than this below the baseline's validation Top-1 are not on the front
  // (both modes), and the fast search does not walk past them.
  double front_loss_limit = 0.10;
  // Greedy walk: per step, the candidates (one layer one level further) best by predicted
  // loss per instruction saved that are evaluated for real.
  size_t beam = 3;
  // Refinement expands the front and every point at most this many correct validation samples
  // below the best point that is not slower (0: the front and the points it weakly dominates).
  size_t expand_margin = 0;
  // Stop the refinement after this many evaluations in all (0: until it converges).
  size_t max_evaluations = 0;
  size_t threads = 0;  // per process; 0: hardware concurrency
  std::function<void(const ExploreProgress&)> progress;
  // Where the validation and test evaluations run (nullptr: this process). The search hands
  // its candidates over in batches (the sensitivity curves level by level, a walk step's beam, a
  // refinement round's neighbours) and decides only from results keyed by configuration, so
  // every rank of a pool takes the same path and gets the same result as one process.
  distributed::WorkPool* pool = nullptr;
};

struct ExplorePoint {
  std::vector<int32_t> levels;  // level index per approximable layer (ExploreResult::layers)
  SkipConfig config;
  size_t validation_correct = 0;
  double validation_top1 = 0.0;
  double instructions = 0.0;
  double cycles = 0.0;
  int64_t skipped_macs = 0;
  std::optional<size_t> test_correct;
  std::optional<double> test_top1;
  std::optional<double> heldout_top1;  // on the test records the search did not see
  // Under QEMU (the CLI's re-measurement): per inference, and whether the firmware's outputs
  // equalled the host's bit for bit.
  std::optional<uint64_t> measured_instructions, measured_cycles;
  std::optional<bool> bit_exact;
  std::optional<uint64_t> flash_bytes;
};

struct ExploreResult {
  std::vector<std::string> layers;  // approximable layers, in execution order
  std::vector<double> levels;       // sorted, starting with 0
  int64_t total_macs = 0;
  size_t validation_samples = 0, test_samples = 0;
  ExplorePoint baseline;
  std::vector<ExplorePoint> pareto;  // by instructions ascending (validation Top-1 ascending too)
  size_t evaluations = 0;            // distinct configurations whose validation Top-1 was measured
  size_t search_space = 0;           // levels ^ layers (saturating)
  double search_seconds = 0.0, test_seconds = 0.0;
  std::string latency_source = "cost-model";
};

// Throws ir::Error for levels outside [0, 1], repeated levels, or a report without approximable
// layers; returns the sorted levels with 0 added if absent.
std::vector<double> normalized_levels(std::vector<double> levels);

// The search on the validation split. `report` must match `graph` (check_report_matches).
// With options.pool, collective: every rank calls it with the same arguments.
ExploreResult explore(const ir::Graph& graph, const SignificanceReport& report, const LayerCostModel& costs,
                      const data::EvalSet& validation, const ExploreOptions& options);

// Test-split Top-1 of the baseline and every Pareto point (collective like explore()).
void measure_test(ExploreResult& result, const ir::Graph& graph, const SignificanceReport& report,
                  const data::EvalSet& test, const ExploreOptions& options);

// The lowest-latency Pareto point whose VALIDATION Top-1 >= baseline validation Top-1 -
// max_loss (index into result.pareto; the baseline is on the front, so always found).
size_t select_point(const ExploreResult& result, double max_loss);

// Points of `points` not dominated by another (fewer or equal instructions and more or equal
// correct validation samples, one strictly); of equal (instructions, correct) pairs the one with
// the lexicographically smallest levels is kept. Sorted by instructions. With `measured`, the
// QEMU instruction counts replace the cost model's (points without one are dropped).
std::vector<ExplorePoint> pareto_front(std::vector<ExplorePoint> points, bool measured = false);

// Correct Top-1 predictions of `graph` on `set` (fast kernels, one Session per thread).
size_t count_correct(const ir::Graph& graph, const data::EvalSet& set, size_t threads);

// The splits of docs/approximate-kernels.md. CIFAR-10: calibration = data_batch_1 (first 1,000;
// images the models were trained on, which is fine for statistics), validation = test_batch
// records 0 .. `validation_limit` - 1 (default 2,000: the training images are no proxy for the
// accuracy loss, the models fit them too well), test = test_batch (first `test_limit`, default
// all), so the records of the test split past the validation ones are held out from the search.
// kws01 / vww01: records 0-199 / 200-499 / 500-999 (limits cut the latter two). Throws ir::Error
// for data sets without Top-1 (ad01) or missing files.
struct ExploreSplits {
  data::EvalSet calibration, validation, test;
  // The validation split is test records [0, validation_in_test) (0: disjoint from the test split).
  size_t validation_in_test = 0;
  std::string description;  // one line: which records each split holds
};
ExploreSplits load_explore_splits(data::Dataset dataset, const data::DataRoot& root, const ir::Tensor& input,
                                  size_t validation_limit = 0, size_t test_limit = 0);

}  // namespace frugal::approx
