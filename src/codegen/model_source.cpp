#include "codegen/model_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <variant>

#include "kernels/cortexm/conv.h"
#include "kernels/cortexm/fully_connected.h"
#include "kernels/cortexm/pack.h"
#include "kernels/cortexm/pq_pack.h"
#include "kernels/cortexm/sparse_pack.h"
#include "kernels/cortexm/sparse_unrolled.h"
#include "runtime/interpreter.h"
#include "runtime/lowering.h"

namespace frugal::codegen {
namespace {

using kernels::Dims4;
using kernels::QuantizedMultiplier;
using runtime::LoweredOp;

// Exact float literal (hexadecimal), so the firmware sees the very bits the host used.
std::string float_literal(float value) { return fmt::format("{:a}f", value); }

std::string dims(const Dims4& d) { return fmt::format("k::Dims4{{{}, {}, {}, {}}}", d.n, d.h, d.w, d.c); }

std::string multiplier(const QuantizedMultiplier& m) { return fmt::format("{{{}, {}}}", m.multiplier, m.shift); }

// Host-side shapes with the member names the Cortex-M kernels read, to size their scratch
// buffers at generation time (the firmware instantiates them with static constexpr members).
struct ConvShape {
  int32_t kh, kw, in_c, out_c;
};
struct FcShape {
  int32_t depth, out_depth;
};

std::string requant_type(kernels::cortexm::RequantKind kind) {
  return kind == kernels::cortexm::RequantKind::kFast ? "kc::RequantFast" : "kc::RequantExact";
}

// Comma-separated values, a fixed number per line, so large weight arrays stay diffable.
template <typename T>
std::string value_list(const T* values, size_t count, size_t per_line = 24) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i % per_line == 0) out += "\n    ";
    if constexpr (std::is_same_v<T, float>) {
      out += float_literal(values[i]);
    } else {
      out += fmt::format("{}", static_cast<int64_t>(values[i]));
    }
    out += ", ";
  }
  return out;
}

std::string c_type(ir::DataType type) {
  switch (type) {
    case ir::DataType::kInt8: return "int8_t";
    case ir::DataType::kUInt8: return "uint8_t";
    case ir::DataType::kInt16: return "int16_t";
    case ir::DataType::kInt32: return "int32_t";
    case ir::DataType::kInt64: return "int64_t";
    case ir::DataType::kFloat32: return "float";
  }
  return "uint8_t";
}

// A conv / FC layer's zero-weight pattern as the two skipping forms see it.
struct SkipCandidate {
  size_t op = 0;
  double table_cost = 0.0, unrolled_cost = 0.0;  // estimated instructions
  int64_t kept_smlads = 0;
};

// The weight matrix ([rows][k]: OHWI filter rows or FC rows) of a conv / FC op the Cortex-M
// backend runs with its own kernels; nullopt for the rest.
struct WeightMatrix {
  const int8_t* data = nullptr;
  int32_t rows = 0, k = 0;
  int64_t macs = 0;
};

std::optional<WeightMatrix> weight_matrix(const ir::Graph& graph, const LoweredOp& lowered, const ir::Op& op) {
  if (const auto* conv = std::get_if<runtime::LoweredConv>(&lowered.params)) {
    if (conv->depthwise || conv->input.n != 1 || conv->filter.c != conv->input.c) return std::nullopt;
    return WeightMatrix{conv->filter_data, conv->output.c, conv->filter.h * conv->filter.w * conv->input.c,
                        ir::macs(graph, op)};
  }
  if (const auto* fc = std::get_if<runtime::LoweredFullyConnected>(&lowered.params)) {
    return WeightMatrix{fc->weights, fc->out_depth, fc->depth, ir::macs(graph, op)};
  }
  return std::nullopt;
}

class Emitter {
 public:
  Emitter(const ir::Graph& graph, const ModelSourceOptions& options)
      : graph_(graph), flavor_(options.flavor), options_(options), model_(graph, runtime::KernelSet::kReference) {}

  ModelSource run() {
    ModelSource source;
    if (flavor_ == KernelFlavor::kCortexM && options_.skip_kernel != SkipKernel::kTable) plan_unrolled();
    if (flavor_ == KernelFlavor::kCortexM && options_.dense_weights != DenseWeights::kInt8) plan_int16();
    source.arena_bytes = model_.arena_bytes();
    std::string body;
    for (size_t i = 0; i < graph_.ops.size(); ++i) {
      const ir::Op& op = graph_.ops[i];
      const LoweredOp lowered = runtime::lower_op(graph_, op);
      body += fmt::format("  // layer {}: {} '{}'\n  {{\n", i, ir::to_string(op.type), escape_comment(op.name));
      kernel_note_.clear();
      kept_quads_ = total_quads_ = 0;
      int16_layer_ = false;
      layer_kernel_ = LayerKernel::kDense;
      body += emit_layer(i, op, lowered);
      source.layer_kernels.push_back(layer_kernel_);
      source.layer_int16_weights.push_back(int16_layer_ ? 1 : 0);
      source.layer_kernel_notes.push_back(kernel_note_);
      source.layer_kept_quads.push_back(kept_quads_);
      source.layer_total_quads.push_back(total_quads_);
      body += "  }\n  frugal_mark();\n";
      source.layer_names.push_back(op.name);
      source.layer_ops.emplace_back(ir::to_string(op.type));
      source.layer_macs.push_back(ir::macs(graph_, op));
    }
    source.constant_bytes = constant_bytes_;
    source.scratch_bytes = scratch_bytes_;
    source.unrolled_code_bytes_estimate = unrolled_code_bytes_;
    if (!options_.shared_buffers) source.files["frugal_model.h"] = header();
    source.files[options_.file_stem + ".cc"] = model_cc(body);
    return source;
  }

 private:
  static std::string escape_comment(const std::string& text) {
    std::string out;
    for (char c : text) out += (c == '\n' || c == '\r' || c == '*' || c == '/') ? '_' : c;
    return out;
  }

  // Pointer expression for an operand the kernel reads.
  std::string input_pointer(int32_t tensor, const char* type) {
    const ir::Tensor& t = graph_.tensor(tensor);
    if (t.is_constant) return fmt::format("reinterpret_cast<const {}*>({})", type, constant(tensor));
    return fmt::format("reinterpret_cast<const {}*>(arena + {})", type, model_.tensor_offset(tensor));
  }
  std::string output_pointer(int32_t tensor, const char* type) {
    return fmt::format("reinterpret_cast<{}*>(arena + {})", type, model_.tensor_offset(tensor));
  }

  // Name of the flash array holding a constant tensor (emitted once).
  std::string constant(int32_t tensor) {
    const std::string name = fmt::format("t{}", tensor);
    if (emitted_.insert(tensor).second) {
      const ir::Tensor& t = graph_.tensor(tensor);
      const size_t n = static_cast<size_t>(t.num_elements());
      std::string values;
      switch (t.type) {
        case ir::DataType::kInt8: values = value_list(t.data_as<int8_t>(), n); break;
        case ir::DataType::kUInt8: values = value_list(t.data_as<uint8_t>(), n); break;
        case ir::DataType::kInt16: values = value_list(t.data_as<int16_t>(), n); break;
        case ir::DataType::kInt32: values = value_list(t.data_as<int32_t>(), n); break;
        case ir::DataType::kInt64: values = value_list(t.data_as<int64_t>(), n); break;
        case ir::DataType::kFloat32: values = value_list(t.data_as<float>(), n); break;
      }
      constants_ += fmt::format("// tensor {} '{}'\nalignas(4) const {} {}[{}] = {{{}\n}};\n\n", tensor,
                                escape_comment(t.name), c_type(t.type), name, n, values);
      constant_bytes_ += t.num_bytes();
    }
    return name;
  }

  template <typename T>
  std::string packed_array(size_t layer, const char* what, const char* type, const std::vector<T>& values) {
    const std::string name = fmt::format("l{}_{}", layer, what);
    constants_ += fmt::format("alignas(4) const {} {}[{}] = {{{}\n}};\n\n", type, name, values.size(),
                              value_list(values.data(), values.size()));
    constant_bytes_ += values.size() * sizeof(T);
    return name;
  }

  std::string channel_quant(size_t layer, const std::vector<kernels::cortexm::ChannelQuant>& quant) {
    const std::string name = fmt::format("l{}_quant", layer);
    std::string list;
    for (const kernels::cortexm::ChannelQuant& q : quant) {
      list += fmt::format("\n    {{{}, {}, {}}},", q.bias, q.multiplier, q.shift);
    }
    constants_ += fmt::format("const kc::ChannelQuant {}[{}] = {{{}\n}};\n\n", name, quant.size(), list);
    constant_bytes_ += quant.size() * sizeof(kernels::cortexm::ChannelQuant);
    return name;
  }

  // A struct of static constexpr members: the kernel is specialised on this layer's shape.
  std::string shape_struct(size_t layer, const std::vector<std::pair<const char*, int64_t>>& members) {
    const std::string name = fmt::format("L{}Shape", layer);
    std::string body;
    for (const auto& [member, value] : members) body += fmt::format("  static constexpr int32_t {} = {};\n", member, value);
    constants_ += fmt::format("struct {} {{\n{}}};\n\n", name, body);
    return name;
  }

  void need_scratch(size_t bytes) { scratch_bytes_ = std::max(scratch_bytes_, bytes); }

  static std::string gemm_policy(const kernels::cortexm::PackedSparseConv& table,
                                 const kernels::cortexm::PackedSparseConv& channels) {
    if (&table == &channels) return ", kc::ChannelQuadGemm";
    return table.paired ? ", kc::PairedQuadGemm" : "";
  }

  // Skipping a multiply-accumulate equals a zero weight, so every quad of 8 zero weights
  // (an approximation's skipped operands, or zeros the model already had) is left out by the
  // computation-skipping kernels: bit-exact with the dense arithmetic by construction.
  static std::vector<uint8_t> zero_mask(const int8_t* weights, int32_t rows, int32_t k) {
    std::vector<uint8_t> mask(static_cast<size_t>(rows) * static_cast<size_t>(k));
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = weights[i] == 0 ? 1 : 0;
    return mask;
  }

  // Which layers get the unrolled form. Estimated instructions per layer of M MACs, fitted to
  // the ratios to the dense kernel measured by bench_cortexm_sparse (docs/approximate-kernels.md):
  // table form (0.10 + 0.93 f) M for a kept-quad fraction f < 1; unrolled
  // (22.7 / K + 2.28 / C + 1.15 g) M for a kept-SMLAD fraction g, K operands and C channels
  // (its per-column work, im2col and accumulator set-up, weighs more in short or narrow layers);
  // the dense kernel ~1.0 M.
  void plan_unrolled() {
    namespace kc = kernels::cortexm;
    std::vector<SkipCandidate> candidates;
    for (size_t i = 0; i < graph_.ops.size(); ++i) {
      const LoweredOp lowered = runtime::lower_op(graph_, graph_.ops[i]);
      const std::optional<WeightMatrix> m = weight_matrix(graph_, lowered, graph_.ops[i]);
      if (!m) continue;
      const std::vector<uint8_t> zeros = zero_mask(m->data, m->rows, m->k);
      const std::vector<uint8_t> quads = kc::realize_skip_mask(zeros.data(), m->rows, m->k, kc::SkipGranularity::kQuad);
      const std::vector<uint8_t> pairs =
          kc::realize_skip_mask(zeros.data(), m->rows, m->k, kc::SkipGranularity::kSmladPair);
      const double total = static_cast<double>(zeros.size());
      const double f = 1.0 - static_cast<double>(std::count(quads.begin(), quads.end(), 1)) / total;
      const double g = 1.0 - static_cast<double>(std::count(pairs.begin(), pairs.end(), 1)) / total;
      if (g >= 1.0) continue;  // nothing to skip: the dense kernel
      const double macs = static_cast<double>(m->macs);
      SkipCandidate c;
      c.op = i;
      c.table_cost = (f < 1.0 ? 0.10 + 0.93 * f : 1.0) * macs;
      c.unrolled_cost = (22.7 / m->k + 2.28 / m->rows + 1.15 * g) * macs;
      const int64_t quads_per_row = (m->k + 3) / 4;
      c.kept_smlads = static_cast<int64_t>(std::llround(g * static_cast<double>(int64_t{m->rows} * quads_per_row * 2)));
      if (options_.skip_kernel == SkipKernel::kUnrolled || c.unrolled_cost < c.table_cost) candidates.push_back(c);
    }
    if (options_.skip_kernel == SkipKernel::kAuto) {
      std::sort(candidates.begin(), candidates.end(), [](const SkipCandidate& a, const SkipCandidate& b) {
        const double sa = (a.table_cost - a.unrolled_cost) / static_cast<double>(unrolled_code_bytes(a.kept_smlads) + 1);
        const double sb = (b.table_cost - b.unrolled_cost) / static_cast<double>(unrolled_code_bytes(b.kept_smlads) + 1);
        return sa != sb ? sa > sb : a.op < b.op;
      });
    }
    uint64_t used = 0;
    for (const SkipCandidate& c : candidates) {
      const uint64_t bytes = unrolled_code_bytes(c.kept_smlads);
      if (options_.skip_kernel == SkipKernel::kAuto && used + bytes > options_.unrolled_flash_budget) continue;
      used += bytes;
      unrolled_.insert(c.op);
    }
  }

  // Which dense layers get int16 weights (DenseWeights). Per MAC the int16 inner loop saves
  // about 0.17 instructions (3 of 14 per 16 MACs, bench_cortexm: 0.15-0.18 on conv, 1x1 and FC)
  // and per weight it costs one byte more, so with a budget the layers with the most MACs per
  // weight (output pixels) go first. kAuto leaves out layers with a single column (FC with one
  // batch row, 1x1 outputs): there the int16 loop saves instructions but costs estimated cycles
  // (FC 256 -> 10: 2.49 against 2.11 per MAC; its four-word weight loads are not shared by a
  // second column). A layer that then runs a skipping kernel leaves its share unused: the
  // skipping kernels read int8 quads.
  void plan_int16() {
    struct Candidate {
      size_t op;
      int64_t macs;
      uint64_t extra_bytes;
    };
    std::vector<Candidate> candidates;
    for (size_t i = 0; i < graph_.ops.size(); ++i) {
      const ir::Op& op = graph_.ops[i];
      const LoweredOp lowered = runtime::lower_op(graph_, op);
      const std::optional<WeightMatrix> m = weight_matrix(graph_, lowered, op);
      if (!m || pq_codebook(graph_.tensor(op.inputs.at(1))) != nullptr) continue;
      const int64_t columns = m->macs / (int64_t{m->rows} * m->k);
      if (options_.dense_weights == DenseWeights::kAuto && columns < 2) continue;
      // The int8 layout's bytes: channel pairs x quads of k, 8 bytes per pair quad.
      const uint64_t bytes = static_cast<uint64_t>((m->rows + 1) / 2 * 2) * static_cast<uint64_t>((m->k + 3) / 4 * 4);
      candidates.push_back({i, m->macs, bytes});
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      const double ra = static_cast<double>(a.macs) / static_cast<double>(a.extra_bytes + 1);
      const double rb = static_cast<double>(b.macs) / static_cast<double>(b.extra_bytes + 1);
      return ra != rb ? ra > rb : a.op < b.op;
    });
    uint64_t used = 0;
    for (const Candidate& c : candidates) {
      if (options_.dense_weights == DenseWeights::kAuto && used + c.extra_bytes > options_.int16_flash_budget) continue;
      used += c.extra_bytes;
      int16_.insert(c.op);
    }
  }

  // Relative instructions of the dense kernel the skipping kernels compete with: the int8 one is
  // the unit of their fitted costs (choose_table); the int16 one runs about 0.83 of it.
  double dense_cost(size_t layer) const { return int16_.count(layer) != 0 ? 0.83 : 1.0; }

  // The computation-skipping kernel call for a conv / FC layer (`kernel`: "conv2d" or
  // "fully_connected") whose weight matrix has whole zero skip units; "" when it has none, for
  // the dense kernel. The conv packers are the matrix packers with k = kh kw in_c, so the FC ones
  // serve both.
  std::string emit_skipping(size_t layer, const WeightMatrix& m, const int32_t* bias,
                            const std::vector<QuantizedMultiplier>& multipliers, int32_t input_offset,
                            const std::string& kernel, const std::string& shape, const std::string& input,
                            const std::string& output, size_t unrolled_scratch_bytes) {
    namespace kc = kernels::cortexm;
    const std::vector<uint8_t> zeros = zero_mask(m.data, m.rows, m.k);
    const auto pack = [&](auto packer) {
      return packer(m.data, m.rows, m.k, bias, multipliers.data(), input_offset, zeros.data());
    };
    if (unrolled_.count(layer) != 0) {
      // The table packer only for the quantization and the requantization the weights allow.
      const kc::PackedSparseConv quantized = pack(kc::pack_sparse_fully_connected);
      need_scratch(unrolled_scratch_bytes);
      const std::string gemm = fmt::format("L{}Gemm", layer);
      const kc::UnrolledGemmSource code = kc::emit_unrolled_gemm(gemm, m.data, m.rows, m.k, zeros.data());
      constants_ += code.code + "\n";
      unrolled_code_bytes_ += unrolled_code_bytes(code.kept_smlads);
      kernel_note_ = fmt::format("unrolled, {} of {} SMLADs kept", code.kept_smlads, code.total_smlads);
      layer_kernel_ = LayerKernel::kSkipping;
      return fmt::format("    kc::unrolled_{}<{}, {}>({}{{}}, {}, {}, {}, scratch);\n", kernel,
                         requant_type(quantized.requant), gemm, shape, input, channel_quant(layer, quantized.quant),
                         output);
    }
    // A channel quad is the finest table unit: without a zero one no table form skips anything.
    const std::vector<uint8_t> finest = kc::realize_skip_mask(zeros.data(), m.rows, m.k, kc::SkipGranularity::kChannelQuad);
    if (std::find(finest.begin(), finest.end(), 1) == finest.end()) return "";
    const kc::PackedSparseConv natural = pack(kc::pack_sparse_fully_connected);
    const kc::PackedSparseConv paired = pack(kc::pack_paired_sparse_fully_connected);
    const kc::PackedSparseConv channel = pack(kc::pack_channel_sparse_fully_connected);
    const kc::PackedSparseConv* table = choose_table(natural, paired, channel, dense_cost(layer));
    if (table == nullptr) return "";
    return fmt::format("    kc::sparse_{}<{}{}>({}{{}}, {}, {}, {}, {}, {}, scratch);\n", kernel,
                       requant_type(table->requant), gemm_policy(*table, channel), shape, input,
                       packed_array(layer, "stream", "int32_t", table->stream),
                       packed_array(layer, "quads", "uint16_t", table->pair_quads), channel_quant(layer, table->quant),
                       output);
  }

  // The table-driven form with the fewer estimated instructions (per MAC of the int8 dense
  // kernel, fitted to bench_cortexm_sparse and whole-model runs: pair quads 0.10 + 0.93 f,
  // channel quads 0.12 + 1.19 f for the kept fraction f), or nullptr when the dense kernel
  // (`dense`, same unit) is estimated faster.
  // The pair form over the natural channel pairs or, when it skips more, over the pairing
  // pair_channels chose (a channel-order lookup per output, nothing per MAC).
  const kernels::cortexm::PackedSparseConv* choose_table(const kernels::cortexm::PackedSparseConv& natural,
                                                         const kernels::cortexm::PackedSparseConv& paired,
                                                         const kernels::cortexm::PackedSparseConv& channels,
                                                         double dense) {
    const auto kept = [](const kernels::cortexm::PackedSparseConv& p) {
      return p.total_quads > 0 ? static_cast<double>(p.kept_quads) / static_cast<double>(p.total_quads) : 1.0;
    };
    const kernels::cortexm::PackedSparseConv& pairs = paired.kept_quads < natural.kept_quads ? paired : natural;
    const double pair_cost = pairs.kept_quads < pairs.total_quads ? 0.10 + 0.93 * kept(pairs) : dense;
    const double channel_cost = 0.12 + 1.19 * kept(channels);
    const kernels::cortexm::PackedSparseConv* chosen = nullptr;
    if (pair_cost < dense) chosen = &pairs;
    if (channel_cost < std::min(pair_cost, dense)) chosen = &channels;
    if (chosen != nullptr) {
      layer_kernel_ = LayerKernel::kSkipping;
      kernel_note_ = fmt::format("skipping {} of {} {} quads", chosen->total_quads - chosen->kept_quads,
                                 chosen->total_quads,
                                 chosen == &channels ? "channel" : chosen->paired ? "paired-channel" : "channel-pair");
      kept_quads_ = chosen->kept_quads;
      total_quads_ = chosen->total_quads;
    }
    return chosen;
  }

  kernels::cortexm::WeightFormat weight_format(size_t layer) const {
    return int16_.count(layer) != 0 ? kernels::cortexm::WeightFormat::kInt16 : kernels::cortexm::WeightFormat::kInt8;
  }
  // The flash array of a dense layer's packed weights, in the format weight_format chose.
  std::string dense_weights(size_t layer, const kernels::cortexm::PackedConv& packed) {
    if (int16_.count(layer) == 0) return packed_array(layer, "weights", "int8_t", packed.weights);
    int16_layer_ = true;
    return packed_array(layer, "weights", "int16_t", packed.weights16);
  }

  std::string multipliers(size_t layer, const std::vector<QuantizedMultiplier>& values) {
    const std::string name = fmt::format("l{}_multipliers", layer);
    std::string list;
    for (size_t i = 0; i < values.size(); ++i) list += (i % 8 == 0 ? "\n    " : "") + multiplier(values[i]) + ", ";
    constants_ += fmt::format("const k::QuantizedMultiplier {}[{}] = {{{}\n}};\n\n", name, values.size(), list);
    constant_bytes_ += values.size() * sizeof(QuantizedMultiplier);
    return name;
  }

  std::string bias(const ir::Op& op) {
    return op.inputs.size() > 2 && op.inputs[2] >= 0 ? constant(op.inputs[2]) : "nullptr";
  }

  std::string emit_layer(size_t layer, const ir::Op& op, const LoweredOp& lowered) {
    if (flavor_ == KernelFlavor::kCortexM) {
      std::string code = emit_cortexm_layer(layer, lowered);
      if (!code.empty()) return code;
    }
    return emit_reference_layer(layer, op, lowered);
  }

  // The codebook an encoded weight tensor's kernels read, or nullptr when the layer runs on its
  // decoded weights (not encoded, no codebook given, or PqKernel::kDecoded).
  const PqCodebookData* pq_codebook(const ir::Tensor& w) const {
    if (!w.pq || options_.pq_kernel == PqKernel::kDecoded) return nullptr;
    const auto k = static_cast<size_t>(w.pq->codebook);
    if (k >= options_.codebooks.size() || options_.codebooks[k].subvector != w.pq->subvector) return nullptr;
    return &options_.codebooks[k];
  }
  kernels::cortexm::PqCodebookView pq_view(const ir::Tensor& w) const {
    const PqCodebookData& cb = *pq_codebook(w);
    return {cb.words.data(), cb.codewords, cb.subvector};
  }

  // Name of the int16 codebook array of codebook k: the bundle's shared one, or the model's own
  // (emitted once).
  std::string codebook_array(int32_t k) {
    if (options_.shared_buffers) return fmt::format("frugal_pq_codebook_{}", k);
    const std::string name = fmt::format("pq_codebook_{}", k);
    if (emitted_codebooks_.insert(k).second) {
      const PqCodebookData& cb = options_.codebooks[static_cast<size_t>(k)];
      const std::vector<int16_t> words =
          kernels::cortexm::pack_pq_codebook({cb.words.data(), cb.codewords, cb.subvector});
      constants_ += fmt::format("// shared codebook {}: {} codewords of {}\nalignas(4) const int16_t {}[{}] = {{{}\n}};\n\n",
                                k, cb.codewords, cb.subvector, name, words.size(),
                                value_list(words.data(), words.size()));
      constant_bytes_ += words.size() * sizeof(int16_t);
    }
    return name;
  }

  // A product-quantized conv / FC layer computed from codebook + indices in flash.
  std::string emit_pq(size_t layer, const ir::Tensor& w, const kernels::cortexm::PackedPqLayer& packed,
                      const std::string& kernel, const std::string& shape, const std::string& input,
                      const std::string& output) {
    namespace kc = kernels::cortexm;
    const kc::PqForm form = options_.pq_kernel == PqKernel::kDirect  ? kc::PqForm::kDirect
                            : options_.pq_kernel == PqKernel::kTable ? kc::PqForm::kTable
                                                                     : packed.cheaper;
    need_scratch(packed.scratch_bytes(form));
    const bool table = form == kc::PqForm::kTable;
    layer_kernel_ = LayerKernel::kProductQuantized;
    kernel_note_ = fmt::format("product-quantized, {} form, {} codewords of {}", table ? "table" : "direct",
                               w.pq->indices.empty() ? 0 : options_.codebooks[static_cast<size_t>(w.pq->codebook)].codewords,
                               w.pq->subvector);
    if (!table && packed.skip_zero_codeword) {
      kernel_note_ += fmt::format(", skipping the zero codeword ({:.0f}% of sub-vectors)",
                                  100.0 * static_cast<double>(packed.zero_groups) /
                                      static_cast<double>(w.pq->indices.size()));
    }
    return fmt::format("    kc::pq_{}_{}<{}>({}{{}}, {}, {}, {}, {}, {}, scratch);\n", kernel, table ? "table" : "direct",
                       requant_type(packed.requant), shape, input, codebook_array(w.pq->codebook),
                       packed_array(layer, "indices", "uint8_t", packed.indices(form)), channel_quant(layer, packed.quant),
                       output);
  }

  // The Cortex-M kernel call for ops and shapes it covers (batch 1 conv/depthwise/pools,
  // ungrouped conv, same-shape ADD, any FULLY_CONNECTED); "" for the rest, which fall back to
  // the reference kernels.
  std::string emit_cortexm_layer(size_t layer, const LoweredOp& lowered) {
    namespace kc = kernels::cortexm;
    const int32_t out = lowered.output;
    const auto& in = lowered.inputs;
    if (const auto* conv = std::get_if<runtime::LoweredConv>(&lowered.params)) {
      const auto& p = conv->params;
      if (conv->input.n != 1) return "";
      std::vector<std::pair<const char*, int64_t>> members = {
          {"in_h", conv->input.h},       {"in_w", conv->input.w},       {"in_c", conv->input.c},
          {"out_h", conv->output.h},     {"out_w", conv->output.w},     {"out_c", conv->output.c},
          {"kh", conv->filter.h},        {"kw", conv->filter.w},        {"stride_h", p.stride_h},
          {"stride_w", p.stride_w},      {"pad_h", p.pad_h},            {"pad_w", p.pad_w},
          {"dilation_h", p.dilation_h},  {"dilation_w", p.dilation_w},  {"input_offset", p.input_offset},
          {"output_offset", p.output_offset}, {"act_min", p.act_min},   {"act_max", p.act_max}};
      if (conv->depthwise) {
        members.push_back({"depth_multiplier", p.depth_multiplier});
        const kc::PackedDepthwise packed = kc::pack_depthwise(conv->filter_data, conv->filter.h, conv->filter.w,
                                                              conv->output.c, conv->bias, conv->multipliers.data(),
                                                              p.input_offset);
        return fmt::format("    kc::depthwise_conv2d<{}>({}{{}}, {}, {}, {}, {});\n", requant_type(packed.requant),
                           shape_struct(layer, members), input_pointer(in[0], "int8_t"),
                           packed_array(layer, "weights", "int16_t", packed.weights), channel_quant(layer, packed.quant),
                           output_pointer(out, "int8_t"));
      }
      if (conv->filter.c != conv->input.c) return "";  // grouped convolution
      const ConvShape host_shape{conv->filter.h, conv->filter.w, conv->input.c, conv->output.c};
      if (const ir::Tensor& w = graph_.tensor(graph_.ops[layer].inputs.at(1)); pq_codebook(w) != nullptr) {
        const ir::PqEncoding& e = *w.pq;
        const kc::PqCodebookView view = pq_view(w);
        const kc::PackedPqLayer packed = kc::pack_pq_conv(
            view, e.layout == ir::PqLayout::kKernel ? kc::kPqKernel : kc::kPqRow, e.indices.data(), conv->output.c,
            conv->filter.h, conv->filter.w, conv->input.c, conv->output.h * conv->output.w, conv->bias,
            conv->multipliers.data(), p.input_offset);
        members.push_back({"subvector", view.subvector});
        members.push_back({"codewords", view.codewords});
        members.push_back({"layout", e.layout == ir::PqLayout::kKernel ? kc::kPqKernel : kc::kPqRow});
        members.push_back({"skip_zero_codeword", packed.skip_zero_codeword ? 1 : 0});
        return emit_pq(layer, w, packed, "conv2d", shape_struct(layer, members), input_pointer(in[0], "int8_t"),
                       output_pointer(out, "int8_t"));
      }
      // Below the PQ branch: the codebook kernels size their own scratch (emit_pq).
      need_scratch(kc::conv2d_scratch_bytes(host_shape));
      const std::string shape = shape_struct(layer, members);
      const WeightMatrix matrix{conv->filter_data, conv->output.c, conv->filter.h * conv->filter.w * conv->input.c, 0};
      const std::string skipping =
          emit_skipping(layer, matrix, conv->bias, conv->multipliers, p.input_offset, "conv2d", shape,
                        input_pointer(in[0], "int8_t"), output_pointer(out, "int8_t"),
                        kc::unrolled_conv2d_scratch_bytes(host_shape));
      if (!skipping.empty()) return skipping;
      const kc::PackedConv packed =
          kc::pack_conv(conv->filter_data, conv->output.c, conv->filter.h, conv->filter.w, conv->input.c, conv->bias,
                        conv->multipliers.data(), p.input_offset, weight_format(layer));
      return fmt::format("    kc::conv2d<{}>({}{{}}, {}, {}, {}, {}, scratch);\n", requant_type(packed.requant),
                         shape, input_pointer(in[0], "int8_t"), dense_weights(layer, packed),
                         channel_quant(layer, packed.quant), output_pointer(out, "int8_t"));
    }
    if (const auto* fc = std::get_if<runtime::LoweredFullyConnected>(&lowered.params)) {
      const auto& p = fc->params;
      if (const ir::Tensor& w = graph_.tensor(graph_.ops[layer].inputs.at(1)); pq_codebook(w) != nullptr) {
        const kc::PqCodebookView view = pq_view(w);
        const kc::PackedPqLayer packed =
            kc::pack_pq_fully_connected(view, w.pq->indices.data(), fc->out_depth, fc->depth, fc->batches, fc->bias,
                                        fc->multipliers.data(), p.input_offset);
        const std::string shape = shape_struct(
            layer, {{"batches", fc->batches}, {"depth", fc->depth}, {"out_depth", fc->out_depth},
                    {"subvector", view.subvector}, {"codewords", view.codewords}, {"input_offset", p.input_offset},
                    {"output_offset", p.output_offset}, {"act_min", p.act_min}, {"act_max", p.act_max},
                    {"skip_zero_codeword", packed.skip_zero_codeword ? 1 : 0}});
        return emit_pq(layer, w, packed, "fully_connected", shape, input_pointer(in[0], "int8_t"),
                       output_pointer(out, "int8_t"));
      }
      const FcShape host_shape{fc->depth, fc->out_depth};
      need_scratch(kc::fully_connected_scratch_bytes(host_shape));
      const std::string shape =
          shape_struct(layer, {{"batches", fc->batches}, {"depth", fc->depth}, {"out_depth", fc->out_depth},
                               {"input_offset", p.input_offset}, {"output_offset", p.output_offset},
                               {"act_min", p.act_min}, {"act_max", p.act_max}});
      const std::string skipping = emit_skipping(
          layer, WeightMatrix{fc->weights, fc->out_depth, fc->depth, 0}, fc->bias, fc->multipliers, p.input_offset,
          "fully_connected", shape, input_pointer(in[0], "int8_t"), output_pointer(out, "int8_t"),
          kc::unrolled_fully_connected_scratch_bytes(host_shape));
      if (!skipping.empty()) return skipping;
      const kc::PackedConv packed = kc::pack_fully_connected(fc->weights, fc->out_depth, fc->depth, fc->bias,
                                                             fc->multipliers.data(), p.input_offset, weight_format(layer));
      return fmt::format("    kc::fully_connected<{}>({}{{}}, {}, {}, {}, {}, scratch);\n", requant_type(packed.requant),
                         shape, input_pointer(in[0], "int8_t"), dense_weights(layer, packed),
                         channel_quant(layer, packed.quant), output_pointer(out, "int8_t"));
    }
    if (const auto* pool = std::get_if<runtime::LoweredPool>(&lowered.params)) {
      const auto& p = pool->params;
      if (pool->input.n != 1) return "";
      const std::string shape = shape_struct(
          layer, {{"in_h", pool->input.h}, {"in_w", pool->input.w}, {"channels", pool->input.c},
                  {"out_h", pool->output.h}, {"out_w", pool->output.w}, {"filter_h", p.filter_h},
                  {"filter_w", p.filter_w}, {"stride_h", p.stride_h}, {"stride_w", p.stride_w},
                  {"pad_h", p.pad_h}, {"pad_w", p.pad_w}, {"act_min", p.act_min}, {"act_max", p.act_max}});
      return fmt::format("    kc::{}({}{{}}, {}, {});\n", pool->average ? "average_pool" : "max_pool", shape,
                         input_pointer(in[0], "int8_t"), output_pointer(out, "int8_t"));
    }
    if (const auto* add = std::get_if<runtime::LoweredAdd>(&lowered.params)) {
      const auto same = [](const Dims4& a, const Dims4& b) { return a.n == b.n && a.h == b.h && a.w == b.w && a.c == b.c; };
      if (!same(add->input1, add->output) || !same(add->input2, add->output)) return "";
      const kc::AddQuant q = kc::pack_add(add->params);
      const auto& p = q.params;
      auto scale = [](const kc::AddScale& a) {
        return fmt::format("{{{}, {}, {}, {}}}", a.multiplier, a.right_shift, a.nudge, a.sign_mask);
      };
      const std::string quant = fmt::format("l{}_add", layer);
      constants_ += fmt::format(
          "const kc::AddQuant {} = {{{{{}, {}, {}, {}, {}, {}, {}, {}, {}}}, {}, {}, {}, {}, {}}};\n\n", quant,
          p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, multiplier(p.input1), multiplier(p.input2),
          multiplier(p.output), p.act_min, p.act_max, q.fast, q.pre_shift, scale(q.input1), scale(q.input2),
          scale(q.output));
      constant_bytes_ += sizeof(kc::AddQuant);
      const std::string shape = shape_struct(layer, {{"elements", add->output.elements()}});
      return fmt::format("    kc::add({}{{}}, {}, {}, {}, {});\n", shape, quant, input_pointer(in[0], "int8_t"),
                         input_pointer(in[1], "int8_t"), output_pointer(out, "int8_t"));
    }
    return "";
  }

  std::string emit_reference_layer(size_t layer, const ir::Op& op, const LoweredOp& lowered) {
    const int32_t out = lowered.output;
    const auto& in = lowered.inputs;
    return std::visit(
        [&](const auto& l) -> std::string {
          using L = std::decay_t<decltype(l)>;
          if constexpr (std::is_same_v<L, runtime::LoweredConv>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::ConvParams p = {{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::{}(p, {}, {}, {}, {}, {}, {}, {}, {});\n",
                p.input_offset, p.output_offset, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.pad_h,
                p.pad_w, p.depth_multiplier, p.act_min, p.act_max, l.depthwise ? "depthwise_conv2d" : "conv2d",
                multipliers(layer, l.multipliers), dims(l.input), input_pointer(in[0], "int8_t"), dims(l.filter),
                input_pointer(op.inputs[1], "int8_t"), bias(op), dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredFullyConnected>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::FullyConnectedParams p = {{{}, {}, {}, {}}};\n"
                "    k::reference::fully_connected(p, {}, {}, {}, {}, {}, {}, {}, {});\n",
                p.input_offset, p.output_offset, p.act_min, p.act_max, multipliers(layer, l.multipliers), l.batches,
                l.depth, input_pointer(in[0], "int8_t"), l.out_depth, input_pointer(op.inputs[1], "int8_t"),
                bias(op), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredAdd>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::AddParams p = {{{}, {}, {}, {}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::add(p, {}, {}, {}, {}, {}, {});\n",
                p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, multiplier(p.input1),
                multiplier(p.input2), multiplier(p.output), p.act_min, p.act_max, dims(l.input1),
                input_pointer(in[0], "int8_t"), dims(l.input2), input_pointer(in[1], "int8_t"), dims(l.output),
                output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredMul>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::MulParams p = {{{}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::mul(p, {}, {}, {}, {}, {}, {});\n",
                p.input1_offset, p.input2_offset, p.output_offset, multiplier(p.output), p.act_min, p.act_max,
                dims(l.input1), input_pointer(in[0], "int8_t"), dims(l.input2), input_pointer(in[1], "int8_t"),
                dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredPool>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::PoolParams p = {{{}, {}, {}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::{}(p, {}, {}, {}, {});\n",
                p.stride_h, p.stride_w, p.filter_h, p.filter_w, p.pad_h, p.pad_w, p.act_min, p.act_max,
                l.average ? "average_pool" : "max_pool", dims(l.input), input_pointer(in[0], "int8_t"),
                dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredSoftmax>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::SoftmaxParams p = {{{}, {}, {}}};\n"
                "    k::reference::softmax(p, {}, {}, {}, {});\n",
                p.input_multiplier, p.input_left_shift, p.diff_min, l.outer, l.depth, input_pointer(in[0], "int8_t"),
                output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredQuantize>) {
            return fmt::format("    k::reference::quantize_float_to_int8({}, {}, {}, {}, {});\n",
                               float_literal(l.scale), l.zero_point, l.count, input_pointer(in[0], "float"),
                               output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredRequantize>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::RequantizeParams p = {{{}, {}, {}}};\n"
                "    k::reference::requantize_int8(p, {}, {}, {});\n",
                p.input_zero_point, p.output_zero_point, multiplier(p.multiplier), l.count,
                input_pointer(in[0], "int8_t"), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredDequantize>) {
            return fmt::format("    k::reference::dequantize_int8_to_float({}, {}, {}, {}, {});\n",
                               float_literal(l.scale), l.zero_point, l.count, input_pointer(in[0], "int8_t"),
                               output_pointer(out, "float"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredPad>) {
            return fmt::format("    k::reference::pad({}, {}, {}, {}, {}, {}, {});\n", dims(l.input),
                               input_pointer(in[0], "int8_t"), dims(l.before), dims(l.after), l.value,
                               dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredMean>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::MeanParams p = {{{}, {}, {}}};\n"
                "    k::reference::mean(p, {}, {}, {}u, {});\n",
                p.input_zero_point, p.output_zero_point, multiplier(p.multiplier), dims(l.input),
                input_pointer(in[0], "int8_t"), l.reduce_mask, output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredConcatenation>) {
            std::string pointers, extents;
            for (size_t i = 0; i < in.size(); ++i) {
              pointers += input_pointer(in[i], "int8_t") + ", ";
              extents += dims(l.inputs[i]) + ", ";
            }
            return fmt::format(
                "    const int8_t* const inputs[] = {{{}}};\n"
                "    static constexpr k::Dims4 extents[] = {{{}}};\n"
                "    k::reference::concatenation({}, extents, inputs, {}, {}, {});\n",
                pointers, extents, in.size(), l.axis, dims(l.output), output_pointer(out, "int8_t"));
          } else {
            static_assert(std::is_same_v<L, runtime::LoweredCopy>);
            const ir::Tensor& source = graph_.tensor(in[0]);
            if (!source.is_constant && model_.tensor_offset(in[0]) == model_.tensor_offset(out)) {
              return "    // the planner aliased this RESHAPE: nothing to move\n";
            }
            return fmt::format("    __builtin_memmove(arena + {}, {}, {});\n", model_.tensor_offset(out),
                               input_pointer(in[0], "uint8_t"), l.bytes);
          }
        },
        lowered.params);
  }

  std::string header() const {
    std::string sizes;
    for (size_t i = 0; i < graph_.inputs.size(); ++i) {
      sizes += fmt::format("#define FRUGAL_INPUT{}_BYTES {}u\n", i, graph_.tensor(graph_.inputs[i]).num_bytes());
    }
    for (size_t i = 0; i < graph_.outputs.size(); ++i) {
      sizes += fmt::format("#define FRUGAL_OUTPUT{}_BYTES {}u\n", i, graph_.tensor(graph_.outputs[i]).num_bytes());
    }
    return fmt::format(
        "// Generated by frugal from '{}'. The C API of the model.\n"
        "#ifndef FRUGAL_MODEL_H_\n#define FRUGAL_MODEL_H_\n\n#include <stdint.h>\n\n"
        "#define FRUGAL_ARENA_BYTES {}u\n#define FRUGAL_NUM_LAYERS {}u\n"
        "#define FRUGAL_NUM_INPUTS {}u\n#define FRUGAL_NUM_OUTPUTS {}u\n{}\n"
        "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
        "/* Prepares the model; 0 on success. */\nint frugal_init(void);\n"
        "/* The arena bytes of graph input / output `index` (NULL if out of range). */\n"
        "void* frugal_input(int index);\nconst void* frugal_output(int index);\n"
        "/* Runs every layer once; 0 on success. */\nint frugal_invoke(void);\n"
        "/* Called before the first layer and after every layer (per-layer measurement). */\n"
        "void frugal_mark(void);\n\n"
        "#ifdef __cplusplus\n}}\n#endif\n\n#endif  // FRUGAL_MODEL_H_\n",
        escape_comment(graph_.name), model_.arena_bytes(), graph_.ops.size(), graph_.inputs.size(),
        graph_.outputs.size(), sizes);
  }

  std::string model_cc(const std::string& body) const {
    std::string input_cases, output_cases;
    for (size_t i = 0; i < graph_.inputs.size(); ++i) {
      input_cases += fmt::format("    case {}: return arena + {};\n", i, model_.tensor_offset(graph_.inputs[i]));
    }
    for (size_t i = 0; i < graph_.outputs.size(); ++i) {
      output_cases += fmt::format("    case {}: return arena + {};\n", i, model_.tensor_offset(graph_.outputs[i]));
    }
    return fmt::format(
        "// Generated by frugal from '{}': weights in flash, one static arena, a straight-line invoke.\n"
        "#include \"frugal_model.h\"\n\n#include <stddef.h>\n\n{}#include \"kernels/reference/reference.h\"\n\n"
        "namespace {{\n\nnamespace k = frugal::kernels;\n{}\n"
        "{}\n{}\n{}}}  // namespace\n\n"
        "extern \"C\" int {}init(void) {{ return 0; }}\n\n"
        "extern \"C\" void* {}input(int index) {{\n  switch (index) {{\n{}    default: return NULL;\n  }}\n}}\n\n"
        "extern \"C\" const void* {}output(int index) {{\n  switch (index) {{\n{}    default: return NULL;\n  }}\n}}\n\n"
        "extern \"C\" int {}invoke(void) {{\n  frugal_mark();\n{}  return 0;\n}}\n",
        escape_comment(graph_.name),
        flavor_ == KernelFlavor::kCortexM ? "#include \"kernels/cortexm/kernels.h\"\n" : "",
        flavor_ == KernelFlavor::kCortexM ? "namespace kc = frugal::kernels::cortexm;\n" : "",
        // In a bundle the model borrows the bundle's buffers; constant pointers keep every
        // arena offset a link-time constant.
        options_.shared_buffers ? "uint8_t* const arena = frugal_bundle_arena;"
                                : "alignas(16) uint8_t arena[FRUGAL_ARENA_BYTES];",
        scratch_bytes_ == 0 ? std::string()
        : options_.shared_buffers
            ? std::string("int16_t* const scratch = frugal_bundle_scratch;\n")
            : fmt::format("// im2col columns of the Cortex-M conv / FC kernels\n"
                          "alignas(4) int16_t scratch[{}];\n", (scratch_bytes_ + 1) / 2),
        constants_, options_.api_prefix, options_.api_prefix, input_cases, options_.api_prefix, output_cases,
        options_.api_prefix, body);
  }

  const ir::Graph& graph_;
  KernelFlavor flavor_;
  ModelSourceOptions options_;
  runtime::CompiledModel model_;
  std::set<size_t> unrolled_;  // op indices that get the unrolled form
  std::set<size_t> int16_;     // op indices whose dense kernel reads int16 weights
  bool int16_layer_ = false;   // the layer being emitted runs on int16 weights
  LayerKernel layer_kernel_ = LayerKernel::kDense;  // what runs the layer being emitted
  uint64_t unrolled_code_bytes_ = 0;
  std::set<int32_t> emitted_;
  std::set<int32_t> emitted_codebooks_;
  std::string constants_;
  size_t constant_bytes_ = 0;
  size_t scratch_bytes_ = 0;
  std::string kernel_note_;
  int64_t kept_quads_ = 0, total_quads_ = 0;
};

}  // namespace

const char* to_string(LayerKernel kernel) {
  switch (kernel) {
    case LayerKernel::kDense: return "dense";
    case LayerKernel::kSkipping: return "skipping";
    case LayerKernel::kProductQuantized: return "product-quantized";
  }
  return "dense";
}

ModelSource generate_model_source(const ir::Graph& graph, const ModelSourceOptions& options) {
  return Emitter(graph, options).run();
}

ModelSource generate_model_source(const ir::Graph& graph, KernelFlavor flavor) {
  ModelSourceOptions options;
  options.flavor = flavor;
  return generate_model_source(graph, options);
}

}  // namespace frugal::codegen
