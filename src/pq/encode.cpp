#include "pq/encode.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace frugal::pq {

namespace {

bool has_weights(ir::OpType type) {
  return type == ir::OpType::kConv2D || type == ir::OpType::kDepthwiseConv2D || type == ir::OpType::kFullyConnected;
}

// Element offset in the tensor of value j of sub-vector s: the one place that defines the layouts
// (see ir::PqLayout).
struct SubvectorIndexer {
  ir::PqLayout layout;
  size_t d, outputs, per_output, inputs;

  SubvectorIndexer(const ir::Tensor& weights, ir::PqLayout l, int32_t subvector)
      : layout(l), d(static_cast<size_t>(subvector)) {
    const auto elements = static_cast<size_t>(weights.num_elements());
    outputs = static_cast<size_t>(weights.shape.at(0));
    const size_t row = elements / outputs;
    per_output = row / d;
    inputs = layout == ir::PqLayout::kKernel ? static_cast<size_t>(weights.shape.back()) : 0;
  }
  size_t count() const { return outputs * per_output; }
  size_t offset(size_t s, size_t j) const {
    const size_t o = s / per_output, g = s % per_output;
    if (layout == ir::PqLayout::kRow) return (o * per_output + g) * d + j;
    // kKernel: sub-vector (o, i = g), tap j of the kh*kw window; OHWI puts taps I apart.
    return o * d * inputs + j * inputs + g;
  }
};

template <typename Value>
std::vector<float> gather(const Value* values, const SubvectorIndexer& ix) {
  std::vector<float> out(ix.count() * ix.d);
  for (size_t s = 0; s < ix.count(); ++s) {
    for (size_t j = 0; j < ix.d; ++j) out[s * ix.d + j] = static_cast<float>(values[ix.offset(s, j)]);
  }
  return out;
}

// In-place Cholesky factor of a symmetric positive definite n x n matrix: lower L with A = L L^T
// (upper triangle zeroed). Returns false if A is not positive definite.
bool cholesky(std::vector<double>& a, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double diag = a[j * n + j];
    for (size_t k = 0; k < j; ++k) diag -= a[j * n + k] * a[j * n + k];
    if (diag <= 0.0) return false;
    diag = std::sqrt(diag);
    a[j * n + j] = diag;
    for (size_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (size_t k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = v / diag;
    }
    for (size_t k = j + 1; k < n; ++k) a[j * n + k] = 0.0;
  }
  return true;
}

// U upper triangular with H^-1 = U^T U, from H (n x n): what GPTQ's error propagation reads. Row j
// of U, divided by U[j][j], is how the optimal correction of the later weights depends on the
// error made at weight j once the earlier ones are fixed.
std::vector<double> inverse_factor(std::vector<double> h, size_t n) {
  if (!cholesky(h, n)) throw ir::Error("input statistics are not positive definite");
  // inv(L) by forward substitution, then H^-1 = inv(L)^T inv(L).
  std::vector<double> li(n * n, 0.0);
  for (size_t c = 0; c < n; ++c) {
    for (size_t i = c; i < n; ++i) {
      double v = i == c ? 1.0 : 0.0;
      for (size_t k = c; k < i; ++k) v -= h[i * n + k] * li[k * n + c];
      li[i * n + c] = v / h[i * n + i];
    }
  }
  std::vector<double> inv(n * n, 0.0);
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = a; b < n; ++b) {
      double v = 0.0;
      for (size_t k = b; k < n; ++k) v += li[k * n + a] * li[k * n + b];
      inv[a * n + b] = inv[b * n + a] = v;
    }
  }
  if (!cholesky(inv, n)) throw ir::Error("inverse input statistics are not positive definite");
  std::vector<double> u(n * n, 0.0);  // transpose of the lower factor
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j <= i; ++j) u[j * n + i] = inv[i * n + j];
  return u;
}

uint16_t nearest_weighted(const Codebook& codebook, const double* v, const double* weight) {
  const auto d = static_cast<size_t>(codebook.subvector);
  double best = std::numeric_limits<double>::max();
  uint16_t best_k = 0;
  for (size_t c = 0; c < static_cast<size_t>(codebook.codewords); ++c) {
    const int8_t* w = codebook.words.data() + c * d;
    double dist = 0.0;
    for (size_t j = 0; j < d && dist < best; ++j) {
      const double diff = v[j] - w[j];
      dist += diff * diff * weight[j];
    }
    if (dist < best) {
      best = dist;
      best_k = static_cast<uint16_t>(c);
    }
  }
  return best_k;
}

// Output-error-aware assignment of every row (see EncodeOptions::statistics). Rows are permuted
// into sub-vector order so that each sub-vector is a block of consecutive columns.
class HessianAssigner {
 public:
  HessianAssigner(const SubvectorIndexer& ix, const InputStatistics& stats, double damping)
      : ix_(ix), n_(ix.per_output * ix.d), perm_(n_) {
    if (stats.length != n_) {
      throw ir::Error(fmt::format("input statistics of length {} for rows of {}", stats.length, n_));
    }
    for (size_t g = 0; g < ix.per_output; ++g)
      for (size_t j = 0; j < ix.d; ++j) perm_[g * ix.d + j] = ix.offset(g, j);
    hp_.resize(n_ * n_);
    double mean_diag = 0.0;
    for (size_t a = 0; a < n_; ++a) mean_diag += stats.hessian[perm_[a] * n_ + perm_[a]];
    mean_diag = std::max(mean_diag / static_cast<double>(n_), 1e-12);
    for (size_t a = 0; a < n_; ++a) {
      for (size_t b = 0; b < n_; ++b) hp_[a * n_ + b] = stats.hessian[perm_[a] * n_ + perm_[b]];
      // An input that never fires gets a unit diagonal: its weights then cost their plain error.
      if (hp_[a * n_ + a] == 0.0) hp_[a * n_ + a] = mean_diag;
      hp_[a * n_ + a] += damping * mean_diag;
    }
    u_ = inverse_factor(hp_, n_);
    inv_diag2_.resize(n_);
    for (size_t a = 0; a < n_; ++a) inv_diag2_[a] = 1.0 / (u_[a * n_ + a] * u_[a * n_ + a]);
  }

  // Indices of row o's sub-vectors approximating `target` (the row in sub-vector order).
  void assign(std::vector<double> w, const Codebook& codebook, uint16_t* indices) const {
    const size_t d = ix_.d;
    for (size_t g = 0; g < ix_.per_output; ++g) {
      const size_t b = g * d;
      const uint16_t k = nearest_weighted(codebook, w.data() + b, inv_diag2_.data() + b);
      indices[g] = k;
      const std::span<const int8_t> c = codebook.word(k);
      for (size_t j = 0; j < d; ++j) {
        const size_t col = b + j;
        const double err = (w[col] - c[j]) / u_[col * n_ + col];
        const double* urow = u_.data() + col * n_;
        for (size_t later = col + 1; later < n_; ++later) w[later] -= err * urow[later];
      }
    }
  }

  // H-weighted least-squares alpha: argmin (w - a c)^T H (w - a c).
  double refit(const std::vector<double>& w, const std::vector<double>& c) const {
    double whc = 0.0, chc = 0.0;
    for (size_t a = 0; a < n_; ++a) {
      double hc = 0.0;
      const double* row = hp_.data() + a * n_;
      for (size_t b = 0; b < n_; ++b) hc += row[b] * c[b];
      whc += w[a] * hc;
      chc += c[a] * hc;
    }
    return chc > 0.0 && whc > 0.0 ? whc / chc : 0.0;
  }

  size_t length() const { return n_; }

 private:
  const SubvectorIndexer& ix_;
  size_t n_;
  std::vector<size_t> perm_;
  std::vector<double> hp_, u_, inv_diag2_;
};

}  // namespace

std::vector<WeightLayer> weight_layers(const ir::Graph& graph, int32_t row_subvector, int32_t kernel_subvector) {
  std::vector<WeightLayer> layers;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const ir::Op& op = graph.ops[i];
    if (!has_weights(op.type)) continue;
    WeightLayer layer;
    layer.op = static_cast<int32_t>(i);
    layer.weights = op.inputs.at(1);
    const ir::Tensor& w = graph.tensor(layer.weights);
    layer.elements = w.num_elements();
    const int64_t row = layer.elements / std::max<int64_t>(1, w.shape.at(0));
    if (w.type != ir::DataType::kInt8 || !w.is_constant) {
      layer.reason = "weights are not constant int8";
    } else if (op.type == ir::OpType::kDepthwiseConv2D) {
      layer.reason = "depthwise layers stay int8";
    } else if (op.type == ir::OpType::kConv2D && w.shape.size() == 4 && w.shape[1] == 3 && w.shape[2] == 3) {
      if (kernel_subvector != 9 && row % kernel_subvector != 0) {
        layer.reason = fmt::format("3x3 filter row length {} is not a multiple of the kernel sub-vector length {}", row,
                                   kernel_subvector);
      } else {
        layer.encodable = true;
        layer.kind = CodebookKind::kKernel3x3;
        layer.layout = kernel_subvector == 9 ? ir::PqLayout::kKernel : ir::PqLayout::kRow;
        layer.subvector = kernel_subvector;
      }
    } else if (row % row_subvector != 0) {
      layer.reason = fmt::format("row length {} is not a multiple of the sub-vector length {}", row, row_subvector);
    } else {
      layer.encodable = true;
      layer.kind = CodebookKind::kRow;
      layer.layout = ir::PqLayout::kRow;
      layer.subvector = row_subvector;
    }
    layers.push_back(std::move(layer));
  }
  if (!layers.empty()) {
    layers.front().first = true;
    layers.back().last = true;
  }
  return layers;
}

std::vector<float> subvectors(const ir::Tensor& weights, ir::PqLayout layout, int32_t subvector) {
  return gather(weights.data_as<int8_t>(), SubvectorIndexer(weights, layout, subvector));
}

std::vector<float> subvectors(std::span<const float> values, const ir::Tensor& weights, ir::PqLayout layout,
                              int32_t subvector) {
  if (values.size() != static_cast<size_t>(weights.num_elements())) {
    throw ir::Error(fmt::format("{} values for tensor '{}' of {} elements", values.size(), weights.name,
                                weights.num_elements()));
  }
  return gather(values.data(), SubvectorIndexer(weights, layout, subvector));
}

std::vector<int64_t> subvector_offsets(const ir::Tensor& weights, ir::PqLayout layout, int32_t subvector) {
  const SubvectorIndexer ix(weights, layout, subvector);
  std::vector<int64_t> out(ix.count() * ix.d);
  for (size_t s = 0; s < ix.count(); ++s)
    for (size_t j = 0; j < ix.d; ++j) out[s * ix.d + j] = static_cast<int64_t>(ix.offset(s, j));
  return out;
}

void encode_layer(ir::Graph& graph, const WeightLayer& layer, int32_t codebook_index, const Codebook& codebook,
                  const EncodeOptions& options, std::span<const float> target) {
  ir::Tensor& w = graph.tensor(layer.weights);
  if (!layer.encodable) throw ir::Error(fmt::format("layer '{}' cannot be encoded: {}", w.name, layer.reason));
  if (codebook.subvector != layer.subvector) {
    throw ir::Error(fmt::format("layer '{}' needs {}-value codewords, the codebook has {}", w.name, layer.subvector,
                                codebook.subvector));
  }
  const SubvectorIndexer ix(w, layer.layout, layer.subvector);
  const std::vector<float> t = target.empty() ? subvectors(w, layer.layout, layer.subvector)
                                              : subvectors(target, w, layer.layout, layer.subvector);
  const size_t d = ix.d, outputs = ix.outputs, per_output = ix.per_output;

  // Per output channel: alternate the assignment of target / alpha with the least squares alpha
  // for that assignment; alpha = 1 throughout without refitting.
  std::vector<double> alpha(outputs, 1.0);
  std::vector<uint16_t> indices(ix.count());
  const int rounds = options.refit_scales ? 4 : 1;
  if (options.statistics != nullptr) {
    const HessianAssigner assigner(ix, *options.statistics, options.damping);
    const size_t n = assigner.length();
    std::vector<double> row(n), scaled(n), decoded(n);
    for (size_t o = 0; o < outputs; ++o) {
      for (size_t k = 0; k < n; ++k) row[k] = t[o * n + k];
      for (int round = 0; round < rounds; ++round) {
        for (size_t k = 0; k < n; ++k) scaled[k] = row[k] / alpha[o];
        assigner.assign(scaled, codebook, indices.data() + o * per_output);
        if (!options.refit_scales) break;
        for (size_t g = 0; g < per_output; ++g) {
          const std::span<const int8_t> c = codebook.word(indices[o * per_output + g]);
          for (size_t j = 0; j < d; ++j) decoded[g * d + j] = c[j];
        }
        const double a = assigner.refit(row, decoded);
        if (a > 0.0) alpha[o] = a;
      }
    }
  } else {
    std::vector<float> scaled(d);
    for (int round = 0; round < rounds; ++round) {
      for (size_t o = 0; o < outputs; ++o) {
        double dot = 0.0, norm = 0.0;
        for (size_t g = 0; g < per_output; ++g) {
          const size_t s = o * per_output + g;
          for (size_t j = 0; j < d; ++j) scaled[j] = static_cast<float>(t[s * d + j] / alpha[o]);
          indices[s] = nearest_codeword(codebook, scaled);
          const std::span<const int8_t> c = codebook.word(indices[s]);
          for (size_t j = 0; j < d; ++j) {
            dot += static_cast<double>(t[s * d + j]) * c[j];
            norm += static_cast<double>(c[j]) * c[j];
          }
        }
        if (options.refit_scales && norm > 0.0 && dot > 0.0) alpha[o] = dot / norm;
      }
    }
  }

  std::vector<uint8_t> data(w.data.size());
  auto* decoded = reinterpret_cast<int8_t*>(data.data());
  for (size_t s = 0; s < ix.count(); ++s) {
    const std::span<const int8_t> c = codebook.word(indices[s]);
    for (size_t j = 0; j < d; ++j) decoded[ix.offset(s, j)] = c[j];
  }
  w.data = std::move(data);
  w.pq = ir::PqEncoding{codebook_index, layer.layout, layer.subvector, std::move(indices)};

  if (options.refit_scales) scale_output_channels(graph, layer.op, alpha);
}

void scale_output_channels(ir::Graph& graph, int32_t op_index, std::span<const double> gains) {
  const ir::Op& op = graph.ops.at(static_cast<size_t>(op_index));
  ir::Quantization& q = graph.tensor(op.inputs[1]).quant;
  const size_t outputs = q.per_channel() ? q.scale.size() : std::max<size_t>(gains.size(), 1);
  if (gains.size() != outputs && gains.size() != 1)
    throw ir::Error(fmt::format("op '{}': {} channel gains for {} output channels", op.name, gains.size(), outputs));
  auto gain = [&](size_t o) { return gains.size() == 1 ? gains[0] : gains[o]; };
  if (!q.per_channel() && outputs > 1) {
    q.scale.assign(outputs, q.scale.at(0));
    q.zero_point.assign(outputs, 0);
    q.axis = 0;
  }
  for (size_t o = 0; o < q.scale.size(); ++o) q.scale[o] = static_cast<float>(q.scale[o] * gain(o));
  // The bias is in units of input scale x weight scale, so it is divided by the same gain to
  // keep its real value.
  if (op.inputs.size() < 3 || op.inputs[2] < 0) return;
  ir::Tensor& bias = graph.tensor(op.inputs[2]);
  auto* b = reinterpret_cast<int32_t*>(bias.data.data());
  const auto channels = static_cast<size_t>(bias.num_elements());
  for (size_t o = 0; o < channels; ++o) {
    const double value = std::round(static_cast<double>(b[o]) / gain(q.per_channel() ? o : 0));
    b[o] = static_cast<int32_t>(std::clamp(value, double{std::numeric_limits<int32_t>::min()},
                                           double{std::numeric_limits<int32_t>::max()}));
  }
  if (!bias.quant.empty()) {
    const double input_scale = graph.tensor(op.inputs[0]).quant.scale.at(0);
    bias.quant.scale.assign(channels, 0.0f);
    bias.quant.zero_point.assign(channels, 0);
    for (size_t o = 0; o < channels; ++o)
      bias.quant.scale[o] = static_cast<float>(input_scale * q.scale[q.per_channel() ? o : 0]);
  }
}

}  // namespace frugal::pq
