#include "pq/bundle.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "pq/compact.h"
#include "pq/subvectors.h"

namespace frugal::pq {
namespace detail {

std::optional<SubvectorGrid> subvector_grid(const std::vector<int32_t>& shape, ir::PqLayout layout,
                                            int32_t d, std::string& why) {
  const std::string shape_text = fmt::format("[{}]", fmt::join(shape, ","));
  if (d < 1) {
    why = fmt::format("sub-vector length d = {} must be positive", d);
    return std::nullopt;
  }
  // Shapes may come from a file: checked here so that the products below cannot overflow.
  int64_t elements = 1;
  for (int32_t dim : shape) {
    if (dim < 1) {
      why = fmt::format("dimension {} in shape {} must be positive", dim, shape_text);
      return std::nullopt;
    }
    elements *= dim;
    if (elements > std::numeric_limits<int32_t>::max()) {
      why = fmt::format("shape {} has more elements than 32-bit offsets can address", shape_text);
      return std::nullopt;
    }
  }
  switch (layout) {
    case ir::PqLayout::kKernel: {
      if (shape.size() != 4) {
        why = fmt::format("layout kernel needs a [O,kh,kw,I] filter, got shape {}", shape_text);
        return std::nullopt;
      }
      const int64_t taps = int64_t{shape[1]} * shape[2];
      if (taps != d) {
        why = fmt::format("layout kernel needs d = kh*kw = {} for shape {}, got d = {}", taps,
                          shape_text, d);
        return std::nullopt;
      }
      return SubvectorGrid{shape[0], shape[3]};
    }
    case ir::PqLayout::kRow: {
      if (shape.size() != 2 && shape.size() != 4) {
        why =
            fmt::format("layout row needs a [O,L] or [O,kh,kw,I] weight, got shape {}", shape_text);
        return std::nullopt;
      }
      const int64_t row = elements / shape[0];
      if (row % d != 0) {
        why =
            fmt::format("layout row needs the row length {} of shape {} to be a multiple of d = {}",
                        row, shape_text, d);
        return std::nullopt;
      }
      return SubvectorGrid{shape[0], row / d};
    }
  }
  why = fmt::format("unknown layout code {}", static_cast<int>(layout));
  return std::nullopt;
}

}  // namespace detail

namespace {

using ir::Error;

std::string codebook_problem(const Codebook& codebook) {
  if (codebook.kind != CodebookKind::kKernel3x3 && codebook.kind != CodebookKind::kRow)
    return fmt::format("unknown kind code {}", static_cast<int>(codebook.kind));
  if (codebook.codewords < 1 || codebook.codewords > kMaxCodewords)
    return fmt::format("K = {} codewords, expected 1 to {}", codebook.codewords, kMaxCodewords);
  if (codebook.subvector < 1)
    return fmt::format("sub-vector length d = {} must be positive", codebook.subvector);
  const int64_t expected = int64_t{codebook.codewords} * codebook.subvector;
  if (static_cast<int64_t>(codebook.words.size()) != expected)
    return fmt::format("{} words, expected K*d = {}*{} = {}", codebook.words.size(),
                       codebook.codewords, codebook.subvector, expected);
  return {};
}

// What makes `tensor`'s encoding undecodable with `codebook`, or "" when decode() can run.
std::string encoding_problem(const ir::Tensor& tensor, const Codebook& codebook,
                             detail::SubvectorGrid& grid) {
  const ir::PqEncoding& pq = *tensor.pq;
  if (std::string problem = codebook_problem(codebook); !problem.empty())
    return fmt::format("codebook {}: {}", pq.codebook, problem);
  if (pq.subvector != codebook.subvector)
    return fmt::format("sub-vector length d = {} differs from codebook {}'s d = {}", pq.subvector,
                       pq.codebook, codebook.subvector);
  std::string why;
  const std::optional<detail::SubvectorGrid> fitted =
      detail::subvector_grid(tensor.shape, pq.layout, pq.subvector, why);
  if (!fitted) return why;
  grid = *fitted;
  if (static_cast<int64_t>(pq.indices.size()) != grid.count())
    return fmt::format("{} indices, layout {} of shape [{}] with d = {} needs {}",
                       pq.indices.size(), ir::to_string(pq.layout), fmt::join(tensor.shape, ","),
                       pq.subvector, grid.count());
  for (size_t k = 0; k < pq.indices.size(); ++k)
    if (pq.indices[k] >= codebook.codewords)
      return fmt::format("index {} at position {} is out of range for codebook {} (K = {})",
                         pq.indices[k], k, pq.codebook, codebook.codewords);
  return {};
}

// Assumes encoding_problem() found nothing.
std::vector<int8_t> decode_checked(const ir::Tensor& tensor, const Codebook& codebook,
                                   const detail::SubvectorGrid& grid) {
  const ir::PqEncoding& pq = *tensor.pq;
  const auto d = static_cast<size_t>(pq.subvector);
  const auto rows = static_cast<size_t>(grid.rows);
  const auto cols = static_cast<size_t>(grid.cols);
  std::vector<int8_t> weights(rows * cols * d);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const std::span<const int8_t> word = codebook.word(pq.indices[r * cols + c]);
      if (pq.layout == ir::PqLayout::kKernel) {
        // [O,kh,kw,I]: tap t = y*kw + x of (o = r, i = c) sits at ((o*kh + y)*kw + x)*I + i,
        // that is (o*d + t)*I + i, since d = kh*kw.
        for (size_t t = 0; t < d; ++t) weights[(r * d + t) * cols + c] = word[t];
      } else {
        // A row is cols*d contiguous weights; sub-vector c is its c-th run of d.
        std::copy(word.begin(), word.end(),
                  weights.begin() + static_cast<ptrdiff_t>((r * cols + c) * d));
      }
    }
  }
  return weights;
}

// The kernel codebook cuts CONV_2D filters either way (compress --kernel-subvector; its shape
// rule is in tensor_problem); the row codebook only into rows.
bool layouts_match(CodebookKind kind, ir::PqLayout layout) {
  return kind == CodebookKind::kKernel3x3 ||
         (kind == CodebookKind::kRow && layout == ir::PqLayout::kRow);
}

// graph.h defines the layouts for the filters of CONV_2D (both) and FULLY_CONNECTED (rows) only:
// an encoding anywhere else has no agreed meaning for kernels that compute from the indices.
std::string use_problem(const ir::Graph& graph, int32_t index, ir::PqLayout layout) {
  bool used = false;
  for (size_t k = 0; k < graph.ops.size(); ++k) {
    const ir::Op& op = graph.ops[k];
    for (size_t slot = 0; slot < op.inputs.size(); ++slot) {
      if (op.inputs[slot] != index) continue;
      const bool filter =
          slot == 1 && (op.type == ir::OpType::kConv2D ||
                        (op.type == ir::OpType::kFullyConnected && layout == ir::PqLayout::kRow));
      if (!filter)
        return fmt::format(
            "layout {} is for the filter (input 1) of {}, but the tensor is input {} of op {} '{}' "
            "({})",
            ir::to_string(layout),
            layout == ir::PqLayout::kKernel ? "CONV_2D" : "CONV_2D or FULLY_CONNECTED", slot, k,
            op.name, ir::to_string(op.type));
      used = true;
    }
    if (std::find(op.outputs.begin(), op.outputs.end(), index) != op.outputs.end())
      return fmt::format("is an output of op {} '{}' ({})", k, op.name, ir::to_string(op.type));
  }
  if (!used) return "is not the filter of any op";
  return {};
}

std::string tensor_problem(const ir::Graph& graph, int32_t index,
                           std::span<const Codebook> codebooks) {
  const ir::Tensor& tensor = graph.tensor(index);
  const ir::PqEncoding& pq = *tensor.pq;
  if (pq.codebook < 0 || static_cast<size_t>(pq.codebook) >= codebooks.size())
    return fmt::format("codebook {} out of range (the bundle has {} codebooks)", pq.codebook,
                       codebooks.size());
  const Codebook& codebook = codebooks[static_cast<size_t>(pq.codebook)];
  if (!layouts_match(codebook.kind, pq.layout))
    return fmt::format("layout {} cannot use codebook {} of kind {}", ir::to_string(pq.layout),
                       pq.codebook, to_string(codebook.kind));
  if (codebook.kind == CodebookKind::kKernel3x3 && tensor.shape.size() != 4)
    return fmt::format("codebook {} of kind {} serves [O,kh,kw,I] filters, not shape {}", pq.codebook,
                       to_string(codebook.kind), fmt::format("[{}]", fmt::join(tensor.shape, ",")));
  if (tensor.type != ir::DataType::kInt8)
    return fmt::format("encoded weights must be int8, got {}", ir::to_string(tensor.type));
  if (!tensor.is_constant) return "encoded weights must be a constant tensor";
  if (std::string problem = use_problem(graph, index, pq.layout); !problem.empty()) return problem;
  detail::SubvectorGrid grid;
  if (std::string problem = encoding_problem(tensor, codebook, grid); !problem.empty())
    return problem;
  const std::vector<int8_t> decoded = decode_checked(tensor, codebook, grid);
  if (tensor.data.size() != decoded.size())
    return fmt::format("holds {} bytes of data, the decoding has {}", tensor.data.size(),
                       decoded.size());
  for (size_t k = 0; k < decoded.size(); ++k)
    if (static_cast<int8_t>(tensor.data[k]) != decoded[k])
      return fmt::format("data differs from the decoding at element {} ({} instead of {})", k,
                         static_cast<int8_t>(tensor.data[k]), decoded[k]);
  return {};
}

// The tensors a CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED reads at input `slot`.
std::set<int32_t> operands_of_weighted_ops(const ir::Graph& graph, size_t slot) {
  std::set<int32_t> found;
  for (const ir::Op& op : graph.ops) {
    const bool weighted = op.type == ir::OpType::kConv2D ||
                          op.type == ir::OpType::kDepthwiseConv2D ||
                          op.type == ir::OpType::kFullyConnected;
    if (weighted && slot < op.inputs.size() && op.inputs[slot] >= 0) found.insert(op.inputs[slot]);
  }
  return found;
}

}  // namespace

std::string_view to_string(CodebookKind kind) {
  switch (kind) {
    case CodebookKind::kKernel3x3: return "kernel3x3";
    case CodebookKind::kRow: return "row";
  }
  return "unknown";
}

std::vector<int8_t> decode(const ir::Tensor& tensor, const Codebook& codebook) {
  if (!tensor.pq) throw Error(fmt::format("tensor '{}' is not product-quantized", tensor.name));
  detail::SubvectorGrid grid;
  if (std::string problem = encoding_problem(tensor, codebook, grid); !problem.empty())
    throw Error(fmt::format("tensor '{}': {}", tensor.name, problem));
  return decode_checked(tensor, codebook, grid);
}

void check_encodings(const Bundle& bundle) {
  for (size_t c = 0; c < bundle.codebooks.size(); ++c)
    if (std::string problem = codebook_problem(bundle.codebooks[c]); !problem.empty())
      throw Error(fmt::format("codebook {}: {}", c, problem));
  for (const BundleModel& model : bundle.models) {
    const ir::Graph& graph = model.graph;
    for (size_t i = 0; i < graph.tensors.size(); ++i) {
      if (!graph.tensors[i].pq) continue;
      const std::string problem = tensor_problem(graph, static_cast<int32_t>(i), bundle.codebooks);
      if (!problem.empty())
        throw Error(fmt::format("model '{}': tensor {} '{}': {}", model.name, i,
                                graph.tensors[i].name, problem));
    }
  }
}

std::vector<bool> stored_zero_rows(const ir::PqEncoding& encoding, const std::vector<int32_t>& shape,
                                   const Codebook& codebook) {
  const int32_t zero = zero_codeword(codebook);
  std::string why;
  const std::optional<detail::SubvectorGrid> grid = detail::subvector_grid(shape, encoding.layout, encoding.subvector, why);
  if (zero < 0 || !grid || static_cast<size_t>(grid->count()) != encoding.indices.size()) return {};
  const auto rows = static_cast<size_t>(grid->rows), cols = static_cast<size_t>(grid->cols);
  const std::vector<bool> marked = detail::rows_all_equal(encoding.indices, rows, static_cast<uint16_t>(zero));
  const auto count = static_cast<size_t>(std::count(marked.begin(), marked.end(), true));
  const int32_t bits = codebook.index_bits();
  const size_t plain = detail::packed_index_bytes(encoding.indices.size(), bits);
  const size_t with_bitmap = detail::row_bitmap_bytes(rows) + detail::packed_index_bytes((rows - count) * cols, bits);
  if (count == 0 || with_bitmap >= plain) return {};
  return marked;
}

size_t stored_index_bytes(const ir::PqEncoding& encoding, const std::vector<int32_t>& shape,
                          const Codebook& codebook) {
  const std::vector<bool> marked = stored_zero_rows(encoding, shape, codebook);
  const int32_t bits = codebook.index_bits();
  if (marked.empty()) return detail::packed_index_bytes(encoding.indices.size(), bits);
  const auto count = static_cast<size_t>(std::count(marked.begin(), marked.end(), true));
  const size_t cols = encoding.indices.size() / marked.size();
  return detail::row_bitmap_bytes(marked.size()) + detail::packed_index_bytes((marked.size() - count) * cols, bits);
}

ModelStorage model_storage(const ir::Graph& graph, std::span<const Codebook> codebooks) {
  ModelStorage out;
  size_t encoded_as_int8 = 0, int8_int32 = 0, int8_quantization = 0;
  // A bias's scale is input scale x weight scale by construction, so nothing stores it. Every
  // other scale entry costs 8 bytes in the int8 model (the kernels' multiplier and shift per
  // weight channel, or an activation's scale and zero point). The bundle stores a weight tensor's
  // scales as 2-byte codes plus a 2-byte exponent when they have that form, else as 4-byte
  // floats (its zero points are all 0 and not stored; compact.h).
  const std::set<int32_t> biases = operands_of_weighted_ops(graph, 2);
  for (size_t i = 0; i < graph.tensors.size(); ++i) {
    const ir::Tensor& t = graph.tensors[i];
    if (!biases.contains(static_cast<int32_t>(i)) && !t.quant.scale.empty()) {
      const size_t entries = t.quant.scale.size();
      int8_quantization += 8 * entries;
      const bool symmetric_weights =
          t.is_constant && t.type == ir::DataType::kInt8 && t.quant.zero_point.size() == entries &&
          std::all_of(t.quant.zero_point.begin(), t.quant.zero_point.end(), [](int64_t z) { return z == 0; });
      out.pq.quantization += stored_scale_codes(t) ? 2 * entries + 2 : symmetric_weights ? 4 * entries : 8 * entries;
    }
    if (t.pq) {
      const int32_t c = t.pq->codebook;
      if (c < 0 || static_cast<size_t>(c) >= codebooks.size())
        throw Error(fmt::format("tensor {} '{}': codebook {} out of range ({} codebooks)", i,
                                t.name, c, codebooks.size()));
      out.pq.indices += stored_index_bytes(*t.pq, t.shape, codebooks[static_cast<size_t>(c)]);
      encoded_as_int8 += static_cast<size_t>(t.num_elements());
    } else if (t.is_constant && t.type == ir::DataType::kInt32) {
      // Stored at the fewest bytes that hold every value (bundle_io.cpp), like the bundle file.
      std::vector<int32_t> values(t.data.size() / 4);
      std::memcpy(values.data(), t.data.data(), values.size() * 4);
      out.pq.biases += values.size() * static_cast<size_t>(int32_element_bytes(values));
      int8_int32 += t.num_bytes();
    } else if (t.is_constant) {
      out.pq.dense_weights += t.num_bytes();
    }
  }
  out.int8_bytes = encoded_as_int8 + out.pq.dense_weights + int8_int32 + int8_quantization;

  for (const ir::Op& op : graph.ops) {
    if (op.type != ir::OpType::kConv2D && op.type != ir::OpType::kFullyConnected) continue;
    const ir::Tensor& w = graph.tensor(op.inputs.at(1));
    if (!w.is_constant || w.type != ir::DataType::kInt8 || w.shape.empty() || w.shape[0] < 1) continue;
    const auto rows = static_cast<size_t>(w.shape[0]), cols = w.data.size() / rows;
    const std::vector<bool> zero_rows = detail::rows_all_equal(w.data, rows, uint8_t{0});
    const auto zero = static_cast<size_t>(std::count(zero_rows.begin(), zero_rows.end(), true));
    if (zero * cols > detail::row_bitmap_bytes(rows)) out.int8_zero_row_bytes += zero * cols - detail::row_bitmap_bytes(rows);
  }

  const std::set<int32_t> weights = operands_of_weighted_ops(graph, 1);
  std::set<int32_t> float_view = weights;
  float_view.merge(operands_of_weighted_ops(graph, 2));
  for (int32_t w : weights) {
    const ir::Tensor& t = graph.tensor(w);
    out.weights += t.num_elements();
    if (t.pq) out.encoded_weights += t.num_elements();
  }
  for (int32_t f : float_view) {
    const ir::Tensor& t = graph.tensor(f);
    if (t.is_constant) out.fp32_bytes += 4 * static_cast<size_t>(t.num_elements());
  }
  return out;
}

BundleStorage bundle_storage(const Bundle& bundle) {
  BundleStorage out;
  for (const BundleModel& model : bundle.models) {
    ModelStorage m = model_storage(model.graph, bundle.codebooks);
    out.total.indices += m.pq.indices;
    out.total.dense_weights += m.pq.dense_weights;
    out.total.biases += m.pq.biases;
    out.total.quantization += m.pq.quantization;
    out.int8_bytes += m.int8_bytes;
    out.int8_zero_row_bytes += m.int8_zero_row_bytes;
    out.fp32_bytes += m.fp32_bytes;
    out.models.push_back(m);
  }
  for (const Codebook& codebook : bundle.codebooks) out.total.codebooks += codebook.bytes();
  return out;
}

}  // namespace frugal::pq
