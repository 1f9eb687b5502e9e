#include "pq/compact.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pq/encode.h"

namespace frugal::pq {
namespace {

// The binade of a positive finite value: v in [2^b, 2^(b + 1)).
int32_t binade(double v) {
  int e = 0;
  std::frexp(v, &e);
  return e - 1;
}

bool has_weights(ir::OpType type) {
  return type == ir::OpType::kConv2D || type == ir::OpType::kDepthwiseConv2D || type == ir::OpType::kFullyConnected;
}

}  // namespace

std::optional<ScaleCodes> scale_codes(std::span<const float> scales) {
  if (scales.empty()) return std::nullopt;
  int32_t top = std::numeric_limits<int32_t>::min();
  for (const float s : scales) {
    if (!std::isfinite(s) || !(s >= std::numeric_limits<float>::min())) return std::nullopt;
    top = std::max(top, binade(s));
  }
  if (top < kMinScaleExponent || top > kMaxScaleExponent) return std::nullopt;
  ScaleCodes out;
  out.exponent = top;
  out.codes.reserve(scales.size());
  for (const float s : scales) {
    const int32_t k = top - binade(s);
    if (k >= kScaleBinades) return std::nullopt;
    // s = t * 2^(binade - 11) with t in [2048, 4096): representable when t is a whole number.
    const double t = std::ldexp(static_cast<double>(s), kScaleSignificandBits - 1 - binade(s));
    if (t != std::floor(t)) return std::nullopt;
    const auto m = static_cast<uint32_t>(t) - (1u << (kScaleSignificandBits - 1));
    out.codes.push_back(static_cast<uint16_t>(static_cast<uint32_t>(k) << (kScaleSignificandBits - 1) | m));
  }
  return out;
}

std::optional<ScaleCodes> stored_scale_codes(const ir::Tensor& tensor) {
  const ir::Quantization& q = tensor.quant;
  if (!tensor.is_constant || tensor.type != ir::DataType::kInt8 || q.zero_point.size() != q.scale.size() ||
      std::any_of(q.zero_point.begin(), q.zero_point.end(), [](int64_t z) { return z != 0; }))
    return std::nullopt;
  return scale_codes(q.scale);
}

std::vector<float> scales_from_codes(int32_t exponent, std::span<const uint16_t> codes) {
  constexpr int32_t kMantissaBits = kScaleSignificandBits - 1;
  std::vector<float> out;
  out.reserve(codes.size());
  for (const uint16_t c : codes) {
    const int32_t k = c >> kMantissaBits;
    const int32_t m = c & ((1 << kMantissaBits) - 1);
    out.push_back(static_cast<float>(std::ldexp(static_cast<double>((1 << kMantissaBits) + m), exponent - k - kMantissaBits)));
  }
  return out;
}

float round_scale(float scale) {
  if (!std::isfinite(scale) || scale == 0.0f) return scale;
  int e = 0;
  const double f = std::frexp(static_cast<double>(scale), &e);  // |f| in [0.5, 1)
  return static_cast<float>(std::ldexp(std::round(std::ldexp(f, kScaleSignificandBits)), e - kScaleSignificandBits));
}

size_t round_weight_scales(ir::Graph& graph) {
  size_t moved = 0;
  for (size_t o = 0; o < graph.ops.size(); ++o) {
    const ir::Op& op = graph.ops[o];
    if (!has_weights(op.type) || op.inputs.size() < 2 || op.inputs[1] < 0) continue;
    ir::Tensor& weights = graph.tensor(op.inputs[1]);
    const std::vector<float>& scales = weights.quant.scale;
    if (!weights.pq || weights.type != ir::DataType::kInt8 || scales.empty()) continue;
    // Zero, negative or non-finite scales are not ours to change; such a tensor keeps its floats.
    if (std::any_of(scales.begin(), scales.end(), [](float s) { return !std::isfinite(s) || !(s > 0.0f); })) continue;
    std::vector<float> target(scales.size());
    std::transform(scales.begin(), scales.end(), target.begin(), round_scale);
    const float largest = *std::max_element(target.begin(), target.end());
    const auto lowest =
        static_cast<float>(std::max(std::ldexp(1.0, binade(largest) - (kScaleBinades - 1)),
                                    static_cast<double>(std::numeric_limits<float>::min())));
    for (float& t : target) t = std::max(t, lowest);
    std::vector<double> gains(scales.size());
    size_t changed = 0;
    for (size_t c = 0; c < scales.size(); ++c) {
      gains[c] = static_cast<double>(target[c]) / static_cast<double>(scales[c]);
      changed += target[c] != scales[c] ? 1 : 0;
    }
    if (changed == 0) continue;
    scale_output_channels(graph, static_cast<int32_t>(o), gains);
    weights.quant.scale = target;  // scale x (target / scale) is target again in float; this makes sure
    moved += changed;
  }
  return moved;
}

int32_t int32_element_bytes(std::span<const int32_t> values) {
  int32_t bytes = 1;
  for (const int32_t v : values) {
    const int64_t x = v;
    const int32_t need = (x >= -128 && x <= 127) ? 1 : (x >= -32768 && x <= 32767) ? 2 : (x >= -(int64_t{1} << 23) && x < (int64_t{1} << 23)) ? 3 : 4;
    bytes = std::max(bytes, need);
  }
  return bytes;
}

}  // namespace frugal::pq
