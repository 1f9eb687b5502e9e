// Accuracy recovery for product-quantized models (the paper's EM-like loop with fixed
// codewords): a float view of an IR graph in libtorch whose selected layers are fine-tuned by
// distillation from the original int8 model's outputs; pq::recover then re-assigns the tuned
// weights to their nearest codewords and keeps the result if the int8 model got better.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ir/graph.h"

namespace frugal::pq {

struct FineTuneOptions {
  int32_t epochs = 2;
  int32_t batch = 32;
  // Adam, on weights in int8 units: 0.1 moves a weight by about a tenth of a quantization step
  // per step, so that a few epochs can change its rounding (1e-3 could not).
  float learning_rate = 0.1f;
  unsigned threads = 0;         // 0: all cores
  uint64_t seed = 1;
  // Simulate the int8 activations in the float forward pass (round to the tensor's scale and
  // clamp, straight-through gradient), so the float view behaves like the deployed model.
  bool fake_quant_activations = true;
  // Learning rate falls along a half cosine to zero over the epochs: the late small steps let a
  // weight settle on one side of a codeword boundary instead of flipping between two.
  bool cosine_schedule = false;
  // Also tune the biases of the trained layers. Biases are stored as int32 whether or not the
  // weights are encoded, so they absorb the mean error of the codewords at no cost in flash.
  bool tune_biases = false;
  // Also tune each trained layer's weight scales (one gain per output channel, per tensor for a
  // per-tensor scale), in log space at kScaleRateFactor x the learning rate. The scales are
  // stored whether or not the weights are encoded, so with codewords fixed they are the
  // remaining continuous knob of an encoded channel.
  bool tune_scales = false;
};

// Log-gain steps are relative changes of a scale; a tenth of an int8 step on a weight of ~50
// is a 0.2% change, so the gains move at that pace.
inline constexpr double kScaleRateFactor = 0.02;

// Trains a layer's weights THROUGH its codeword assignment: the forward pass uses each
// sub-vector's nearest codeword, the gradient reaches the underlying float weights straight
// through, so training sees the weights the firmware will have (instead of drifting in float
// and losing most of it to a hard re-assignment afterwards).
struct CodewordProjection {
  const int8_t* words = nullptr;  // K x d
  int32_t codewords = 0, subvector = 0;
  // Element offsets (in the tensor's order) of sub-vector s's d values: offsets[s * d + j].
  std::vector<int64_t> offsets;
};

// The tensor the student is trained to match: the input of a final SOFTMAX (the logits, which
// carry more information than saturated int8 probabilities), else the graph's output.
int32_t distillation_target(const ir::Graph& graph);

// Real values of the distillation target of `teacher` for each of `count` inputs (`inputs` holds
// count x input-tensor bytes, in the graph's input type), run by the int8 interpreter; returns
// count x target-elements floats.
std::vector<float> teacher_targets(const ir::Graph& teacher, std::span<const uint8_t> inputs, size_t count,
                                   unsigned threads = 0);

// A trained layer's parameters: weights in int8 units (real weight / the channel's scale, the
// tensor's element order) and, with tune_biases, the bias in accumulator units (input scale x
// weight scale, as the int32 bias tensor stores it); both unrounded.
struct TunedLayer {
  std::vector<float> weights;
  std::vector<float> bias;  // empty: not tuned (tune_biases off, or the op has no bias)
  // With tune_scales: the factor each weight scale entry was multiplied by (the bias above is
  // still in units of the old scales); empty: not tuned.
  std::vector<float> scale_gains;
};

// Fine-tunes the weights of ops `layers` (CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op
// indices) of the float view of `graph`, starting from the graph's current int8 weights, so that
// its distillation target matches `targets` (MSE) on `inputs`; everything else is frozen.
// Returns, per layer, the tuned weights in int8 units (real weight / the channel's scale, same
// element order as the tensor), unrounded: the caller maps them back to codewords.
// `projections`: empty, or one per layer (a projection with no offsets: plain float weights).
std::vector<std::vector<float>> distill_layers(const ir::Graph& graph, std::span<const int32_t> layers,
                                               std::span<const uint8_t> inputs, size_t count,
                                               std::span<const float> targets, const FineTuneOptions& options = {},
                                               std::span<const CodewordProjection> projections = {});

// distill_layers with biases and a starting point: `start` (empty, or one per layer) replaces
// the graph's int8 weights (and biases, where given) as the initial parameters, so that
// training continues from the unrounded values of an earlier call instead of from their
// codewords.
std::vector<TunedLayer> fine_tune_layers(const ir::Graph& graph, std::span<const int32_t> layers,
                                         std::span<const uint8_t> inputs, size_t count, std::span<const float> targets,
                                         const FineTuneOptions& options = {},
                                         std::span<const CodewordProjection> projections = {},
                                         std::span<const TunedLayer> start = {});

}  // namespace frugal::pq
