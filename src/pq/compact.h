// Compact forms of the parameters a bundle stores beside its indices.
//
// Once the weights are 2 bits or less per weight, the per-channel parameters are a large part of
// what is left: a .tflite holds a 4-byte float scale and an 8-byte zero point per weight channel
// and a 4-byte int32 bias, which the five models of docs/reproduction-yono.md spend 61 KB on.
// A bundle stores
// - a weight tensor's scales as 16-bit codes under one exponent per tensor, once every scale has
//   12 significant bits and lies within 32 binades of the largest (round_weight_scales makes it
//   so for encoded layers; the multiplier of each channel then moves by at most 2^-13 of itself);
//   other weight scales as floats, without their zero points when those are all 0;
// - every constant int32 tensor (biases, shape operands) at the fewest whole bytes that hold all
//   its values, losslessly.
// The reader expands both back, so the in-memory graph, the interpreter and the firmware see the
// same floats and int32 values the writer had.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ir/graph.h"

namespace frugal::pq {

// scale = (2048 + m) * 2^(exponent - k - 11) with code = k << 11 | m: k (5 bits) counts the
// binades below the tensor's largest, m (11 bits) is the significand after its leading 1.
struct ScaleCodes {
  int32_t exponent = 0;  // binade of the largest scale: it lies in [2^exponent, 2^(exponent + 1))
  std::vector<uint16_t> codes;
};

inline constexpr int32_t kScaleSignificandBits = 12;
inline constexpr int32_t kScaleBinades = 32;
// Exponents whose every code decodes to a normal float: 2^(exponent - 31) >= 2^-126.
inline constexpr int32_t kMinScaleExponent = -126 + kScaleBinades - 1;
inline constexpr int32_t kMaxScaleExponent = 127;

// The codes of `scales` when every one is exactly representable (positive, normal, 12
// significant bits, within kScaleBinades of the largest); otherwise none. Empty input: none.
std::optional<ScaleCodes> scale_codes(std::span<const float> scales);
// The codes a bundle stores for `tensor`'s scales: only a constant int8 tensor's, only when every
// zero point is 0 (the reader restores them as zeros) and scale_codes accepts its scales.
std::optional<ScaleCodes> stored_scale_codes(const ir::Tensor& tensor);
// The scales the codes stand for (exact). The exponent must lie in [kMinScaleExponent,
// kMaxScaleExponent]; the reader checks it.
std::vector<float> scales_from_codes(int32_t exponent, std::span<const uint16_t> codes);

// `scale` rounded to kScaleSignificandBits significant bits (to nearest, ties away from zero).
float round_scale(float scale);

// Rounds the weight scales of every product-quantized CONV_2D, DEPTHWISE_CONV_2D and
// FULLY_CONNECTED weight tensor to scales scale_codes accepts: each to 12 significant bits, any
// below 2^-31 of the tensor's largest up to that floor. Each int32 bias is rescaled so that it
// keeps its real value (scale_output_channels' rule). Returns the scale entries that moved.
// Layers left int8 keep their scales: any change to them, however small, breaks the exact
// rounding ties their integer arithmetic produces (the VWW MobileNet's first convolution, whose
// scales moved by 1e-7 of themselves, changed 3 of 500 evaluation decisions), whereas an encoded
// layer's scales were refitted anyway (docs/product-quantization.md, "Compact parameters").
size_t round_weight_scales(ir::Graph& graph);

// The fewest bytes (1 to 4) per element that hold every value in two's complement; 1 for none.
int32_t int32_element_bytes(std::span<const int32_t> values);

}  // namespace frugal::pq
