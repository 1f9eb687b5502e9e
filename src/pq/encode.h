// Which layers product quantization can encode, their sub-vectors, and encoding one layer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "pq/codebook.h"
#include "pq/input_statistics.h"

namespace frugal::pq {

// A layer with weights (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) and whether a shared
// codebook can serve it. Policy:
// - 3x3 CONV_2D: the kernel codebook, one codeword per (output, input) 3x3 kernel (d = 9);
// - FULLY_CONNECTED and other CONV_2D: the row codebook (d = row sub-vector) when the row
//   length is a multiple of d;
// - DEPTHWISE_CONV_2D: kept int8. Each output of a depthwise layer sums only kh*kw products,
//   so a codeword's error is not averaged out over input channels, and these layers hold few
//   weights (under 5% of the MobileNet's);
// - the first and last weight layers are marked: the selection encodes them last (they see
//   raw inputs / produce the logits, and usually hold few weights).
struct WeightLayer {
  int32_t op = -1;
  int32_t weights = -1;  // tensor index
  bool first = false, last = false;
  bool encodable = false;
  std::string reason;  // why not, when !encodable
  CodebookKind kind = CodebookKind::kRow;
  ir::PqLayout layout = ir::PqLayout::kRow;
  int32_t subvector = 0;
  int64_t elements = 0;
};

// 3x3 CONV_2D filters go to the 3x3 codebook: with kernel_subvector 9 as whole kernels (layout
// kKernel: the taps of one output/input channel pair), with any other d as rows cut into d
// consecutive weights (layout kRow, OHWI order), which lets a bundle spend more bits on 3x3 layers.
std::vector<WeightLayer> weight_layers(const ir::Graph& graph, int32_t row_subvector, int32_t kernel_subvector = 9);

// Sub-vectors of a weight tensor in index order (as in ir::PqEncoding), in int8 units, as
// count x d floats.
std::vector<float> subvectors(const ir::Tensor& weights, ir::PqLayout layout, int32_t subvector);
// The same, from tuned weights in the tensor's element order.
std::vector<float> subvectors(std::span<const float> values, const ir::Tensor& weights, ir::PqLayout layout,
                              int32_t subvector);

// Element offsets of the sub-vectors' values, offsets[s * d + j] (what training through the
// assignment gathers, finetune.h).
std::vector<int64_t> subvector_offsets(const ir::Tensor& weights, ir::PqLayout layout, int32_t subvector);

struct EncodeOptions {
  // Re-fit each output channel's weight scale by least squares (scale' = scale * <w,c>/<c,c>,
  // alternating with the assignment), rescaling the bias to match. The decoded weights stay the
  // codewords; only the real value each channel gives them moves closer to the original.
  bool refit_scales = true;
  // The layer's input statistics: with them, codewords are chosen to minimise the error in the
  // layer's OUTPUT (dw^T H dw), one sub-vector at a time, each choice's error compensated in the
  // row's later weights through H^-1 (GPTQ's rule, applied to codewords); the scale refit is
  // H-weighted too. Without them, plain nearest codewords.
  const InputStatistics* statistics = nullptr;
  // Added to H's diagonal, as a fraction of its mean, so that H is invertible and the updates stay
  // small where the inputs carry little energy. GPTQ's 0.01 let the compensation run away on
  // these small layers (ResNet-8: a 1x1 conv lost 71 points alone at 0.01, 42 at 0.1, 32 at 1).
  double damping = 0.1;
};

// Replaces the weights of `layer` in `graph` by codewords of `codebook` nearest to `target` (the
// weights to approximate, in int8 units under the tensor's current scales, element order of the
// tensor; the tensor's own data when empty) and records the encoding.
void encode_layer(ir::Graph& graph, const WeightLayer& layer, int32_t codebook_index, const Codebook& codebook,
                  const EncodeOptions& options = {}, std::span<const float> target = {});

// Multiplies the weight scale of each output channel of weight op `op` by `gains` (one per
// output channel, or one for the whole tensor) and divides its int32 bias by the same gain, so
// the bias keeps its real value. A per-tensor scale becomes per-channel when there is more than one gain.
void scale_output_channels(ir::Graph& graph, int32_t op, std::span<const double> gains);

}  // namespace frugal::pq
