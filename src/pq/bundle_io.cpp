// Reading and writing .frugal bundles (schema/bundle.fbs).
//
// A bundle file is untrusted input: the flatbuffers verifier only proves that offsets and
// vectors stay inside the buffer, so every enum, size, index and encoding is checked here before
// it is used, and every allocation is sized by something already checked against the buffer.
#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>

#include "pq/bundle.h"

#include "import/flatbuffers_read.h"
#include "pq/bundle_generated.h"
#include "pq/compact.h"
#include "pq/subvectors.h"

namespace frugal::pq {
namespace {

namespace fb = frugal::bundle_schema;
using ir::Error;

// 2: compact weight scales (16-bit codes) and int32 constants at their fewest bytes.
// Version 3 added PqEncoding.zero_rows; a version-2 file is read as well (it has none).
constexpr uint32_t kBundleVersion = 3;
constexpr uint32_t kOldestBundleVersion = 2;

// An encoded tensor decodes to up to 2*d weights per index byte, so a small corrupt file could
// otherwise ask for gigabytes; no model meant for a microcontroller comes near this.
constexpr size_t kMaxDecodedBytes = size_t{256} << 20;

// Zero points the file leaves out: one 0 per scale (the reader restores them). An empty list
// beside scales is written as it is, so that reading gives back exactly what was written.
bool zero_points_implied(const ir::Quantization& q) {
  return !q.scale.empty() && q.zero_point.size() == q.scale.size() &&
         std::all_of(q.zero_point.begin(), q.zero_point.end(), [](int64_t z) { return z == 0; });
}

// The values of an int32 tensor's little-endian bytes.
std::vector<int32_t> int32_values(const ir::Tensor& t) {
  std::vector<int32_t> values(t.data.size() / 4);
  std::memcpy(values.data(), t.data.data(), values.size() * 4);
  return values;
}

// `count` int32 values stored in `width` little-endian bytes each, sign-extended back to 4.
std::vector<uint8_t> widen_int32(const uint8_t* bytes, size_t count, uint32_t width) {
  std::vector<uint8_t> out(count * 4);
  for (size_t i = 0; i < count; ++i) {
    uint32_t v = 0;
    for (uint32_t k = 0; k < width; ++k) v |= static_cast<uint32_t>(bytes[i * width + k]) << (8 * k);
    const uint32_t sign = 1u << (8 * width - 1);
    v = (v ^ sign) - sign;  // sign-extends the top stored bit
    for (uint32_t k = 0; k < 4; ++k) out[i * 4 + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  return out;
}

// --- enums: the file's numbering is fixed by the schema, the IR's may change ----------------

fb::DataType to_file(ir::DataType type) {
  switch (type) {
    case ir::DataType::kInt8: return fb::DataType::INT8;
    case ir::DataType::kUInt8: return fb::DataType::UINT8;
    case ir::DataType::kInt16: return fb::DataType::INT16;
    case ir::DataType::kInt32: return fb::DataType::INT32;
    case ir::DataType::kInt64: return fb::DataType::INT64;
    case ir::DataType::kFloat32: return fb::DataType::FLOAT32;
  }
  throw Error(fmt::format("unknown data type code {}", static_cast<int>(type)));
}

std::optional<ir::DataType> from_file(fb::DataType type) {
  switch (type) {
    case fb::DataType::INT8: return ir::DataType::kInt8;
    case fb::DataType::UINT8: return ir::DataType::kUInt8;
    case fb::DataType::INT16: return ir::DataType::kInt16;
    case fb::DataType::INT32: return ir::DataType::kInt32;
    case fb::DataType::INT64: return ir::DataType::kInt64;
    case fb::DataType::FLOAT32: return ir::DataType::kFloat32;
  }
  return std::nullopt;
}

fb::OpType to_file(ir::OpType type) {
  switch (type) {
    case ir::OpType::kConv2D: return fb::OpType::CONV_2D;
    case ir::OpType::kDepthwiseConv2D: return fb::OpType::DEPTHWISE_CONV_2D;
    case ir::OpType::kFullyConnected: return fb::OpType::FULLY_CONNECTED;
    case ir::OpType::kAdd: return fb::OpType::ADD;
    case ir::OpType::kMul: return fb::OpType::MUL;
    case ir::OpType::kAveragePool2D: return fb::OpType::AVERAGE_POOL_2D;
    case ir::OpType::kMaxPool2D: return fb::OpType::MAX_POOL_2D;
    case ir::OpType::kReshape: return fb::OpType::RESHAPE;
    case ir::OpType::kSoftmax: return fb::OpType::SOFTMAX;
    case ir::OpType::kQuantize: return fb::OpType::QUANTIZE;
    case ir::OpType::kDequantize: return fb::OpType::DEQUANTIZE;
    case ir::OpType::kPad: return fb::OpType::PAD;
    case ir::OpType::kMean: return fb::OpType::MEAN;
    case ir::OpType::kConcatenation: return fb::OpType::CONCATENATION;
  }
  throw Error(fmt::format("unknown op type code {}", static_cast<int>(type)));
}

std::optional<ir::OpType> from_file(fb::OpType type) {
  switch (type) {
    case fb::OpType::CONV_2D: return ir::OpType::kConv2D;
    case fb::OpType::DEPTHWISE_CONV_2D: return ir::OpType::kDepthwiseConv2D;
    case fb::OpType::FULLY_CONNECTED: return ir::OpType::kFullyConnected;
    case fb::OpType::ADD: return ir::OpType::kAdd;
    case fb::OpType::MUL: return ir::OpType::kMul;
    case fb::OpType::AVERAGE_POOL_2D: return ir::OpType::kAveragePool2D;
    case fb::OpType::MAX_POOL_2D: return ir::OpType::kMaxPool2D;
    case fb::OpType::RESHAPE: return ir::OpType::kReshape;
    case fb::OpType::SOFTMAX: return ir::OpType::kSoftmax;
    case fb::OpType::QUANTIZE: return ir::OpType::kQuantize;
    case fb::OpType::DEQUANTIZE: return ir::OpType::kDequantize;
    case fb::OpType::PAD: return ir::OpType::kPad;
    case fb::OpType::MEAN: return ir::OpType::kMean;
    case fb::OpType::CONCATENATION: return ir::OpType::kConcatenation;
  }
  return std::nullopt;
}

fb::Padding to_file(ir::Padding padding) {
  switch (padding) {
    case ir::Padding::kSame: return fb::Padding::SAME;
    case ir::Padding::kValid: return fb::Padding::VALID;
  }
  throw Error(fmt::format("unknown padding code {}", static_cast<int>(padding)));
}

std::optional<ir::Padding> from_file(fb::Padding padding) {
  switch (padding) {
    case fb::Padding::SAME: return ir::Padding::kSame;
    case fb::Padding::VALID: return ir::Padding::kValid;
  }
  return std::nullopt;
}

fb::Activation to_file(ir::Activation activation) {
  switch (activation) {
    case ir::Activation::kNone: return fb::Activation::NONE;
    case ir::Activation::kRelu: return fb::Activation::RELU;
    case ir::Activation::kRelu6: return fb::Activation::RELU6;
    case ir::Activation::kReluN1To1: return fb::Activation::RELU_N1_TO_1;
  }
  throw Error(fmt::format("unknown activation code {}", static_cast<int>(activation)));
}

std::optional<ir::Activation> from_file(fb::Activation activation) {
  switch (activation) {
    case fb::Activation::NONE: return ir::Activation::kNone;
    case fb::Activation::RELU: return ir::Activation::kRelu;
    case fb::Activation::RELU6: return ir::Activation::kRelu6;
    case fb::Activation::RELU_N1_TO_1: return ir::Activation::kReluN1To1;
  }
  return std::nullopt;
}

fb::PqLayout to_file(ir::PqLayout layout) {
  switch (layout) {
    case ir::PqLayout::kKernel: return fb::PqLayout::KERNEL;
    case ir::PqLayout::kRow: return fb::PqLayout::ROW;
  }
  throw Error(fmt::format("unknown layout code {}", static_cast<int>(layout)));
}

std::optional<ir::PqLayout> from_file(fb::PqLayout layout) {
  switch (layout) {
    case fb::PqLayout::KERNEL: return ir::PqLayout::kKernel;
    case fb::PqLayout::ROW: return ir::PqLayout::kRow;
  }
  return std::nullopt;
}

fb::CodebookKind to_file(CodebookKind kind) {
  switch (kind) {
    case CodebookKind::kKernel3x3: return fb::CodebookKind::KERNEL_3X3;
    case CodebookKind::kRow: return fb::CodebookKind::ROW;
  }
  throw Error(fmt::format("unknown codebook kind code {}", static_cast<int>(kind)));
}

std::optional<CodebookKind> from_file(fb::CodebookKind kind) {
  switch (kind) {
    case fb::CodebookKind::KERNEL_3X3: return CodebookKind::kKernel3x3;
    case fb::CodebookKind::ROW: return CodebookKind::kRow;
  }
  return std::nullopt;
}

// --- index packing -----------------------------------------------------------------------

// Callers have checked every index against K, so 4-bit indices fit a nibble.
std::vector<uint8_t> pack_indices(const std::vector<uint16_t>& indices, int32_t bits) {
  std::vector<uint8_t> packed(detail::packed_index_bytes(indices.size(), bits), 0);
  for (size_t k = 0; k < indices.size(); ++k) {
    if (bits == 8)
      packed[k] = static_cast<uint8_t>(indices[k]);
    else
      packed[k / 2] = static_cast<uint8_t>(packed[k / 2] | (indices[k] & 0xF) << (4 * (k % 2)));
  }
  return packed;
}

// --- writing -----------------------------------------------------------------------------

class Writer {
 public:
  explicit Writer(const Bundle& bundle) : bundle_(bundle) {}

  std::vector<uint8_t> run() {
    std::vector<flatbuffers::Offset<fb::Codebook>> codebooks;
    for (const Codebook& c : bundle_.codebooks)
      codebooks.push_back(fb::CreateCodebook(b_, to_file(c.kind), c.subvector, c.codewords,
                                             b_.CreateVector(c.words)));
    std::vector<flatbuffers::Offset<fb::Model>> models;
    for (const BundleModel& m : bundle_.models) models.push_back(write_model(m));
    const auto root =
        fb::CreateBundle(b_, kBundleVersion, b_.CreateVector(codebooks), b_.CreateVector(models));
    fb::FinishSizePrefixedBundleBuffer(b_, root);
    return {b_.GetBufferPointer(), b_.GetBufferPointer() + b_.GetSize()};
  }

 private:
  flatbuffers::Offset<fb::Model> write_model(const BundleModel& m) {
    const ir::Graph& g = m.graph;
    std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
    for (const ir::Tensor& t : g.tensors) tensors.push_back(write_tensor(t));
    std::vector<flatbuffers::Offset<fb::Op>> ops;
    for (const ir::Op& op : g.ops) ops.push_back(write_op(op));
    return fb::CreateModel(b_, b_.CreateString(m.name), b_.CreateString(m.source),
                           b_.CreateString(g.name), b_.CreateVector(tensors), b_.CreateVector(ops),
                           b_.CreateVector(g.inputs), b_.CreateVector(g.outputs));
  }

  flatbuffers::Offset<fb::Tensor> write_tensor(const ir::Tensor& t) {
    flatbuffers::Offset<fb::Quantization> quant = 0;
    if (const std::optional<ScaleCodes> codes = stored_scale_codes(t))
      quant = fb::CreateQuantization(b_, 0, 0, t.quant.axis, codes->exponent,
                                     b_.CreateVector(codes->codes));
    else if (!t.quant.scale.empty() || !t.quant.zero_point.empty() || t.quant.axis != 0)
      quant = fb::CreateQuantization(
          b_, b_.CreateVector(t.quant.scale),
          zero_points_implied(t.quant) ? 0 : b_.CreateVector(t.quant.zero_point), t.quant.axis);
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data = 0;
    uint8_t element_bytes = 0;
    flatbuffers::Offset<fb::PqEncoding> pq = 0;
    if (t.pq) {
      // check_encodings() has run: the codebook exists and every index is below its K.
      const Codebook& codebook = bundle_.codebooks[static_cast<size_t>(t.pq->codebook)];
      const std::vector<bool> zero_rows = stored_zero_rows(*t.pq, t.shape, codebook);
      std::vector<uint16_t> kept;
      std::vector<uint8_t> bitmap(detail::row_bitmap_bytes(zero_rows.size()), 0);
      const size_t cols = zero_rows.empty() ? 0 : t.pq->indices.size() / zero_rows.size();
      for (size_t r = 0; r < zero_rows.size(); ++r) {
        if (zero_rows[r]) {
          bitmap[r / 8] = static_cast<uint8_t>(bitmap[r / 8] | 1u << (r % 8));
        } else {
          const auto row = t.pq->indices.begin() + static_cast<std::ptrdiff_t>(r * cols);
          kept.insert(kept.end(), row, row + static_cast<std::ptrdiff_t>(cols));
        }
      }
      pq = fb::CreatePqEncoding(
          b_, t.pq->codebook, to_file(t.pq->layout), t.pq->subvector,
          b_.CreateVector(pack_indices(zero_rows.empty() ? t.pq->indices : kept, codebook.index_bits())),
          zero_rows.empty() ? 0 : b_.CreateVector(bitmap));
    } else if (t.is_constant && t.type == ir::DataType::kInt32) {
      const std::vector<int32_t> values = int32_values(t);
      const int32_t width = int32_element_bytes(values);
      std::vector<uint8_t> bytes;
      bytes.reserve(values.size() * static_cast<size_t>(width));
      for (const int32_t v : values)
        for (int32_t k = 0; k < width; ++k)
          bytes.push_back(static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * k)));
      data = b_.CreateVector(bytes);
      element_bytes = width == 4 ? 0 : static_cast<uint8_t>(width);
    } else if (t.is_constant) {
      data = b_.CreateVector(t.data);
    }
    return fb::CreateTensor(b_, b_.CreateString(t.name), to_file(t.type), b_.CreateVector(t.shape),
                            quant, t.is_constant, data, pq, element_bytes);
  }

  flatbuffers::Offset<fb::Op> write_op(const ir::Op& op) {
    const ir::OpAttributes& a = op.attrs;
    const auto attributes =
        fb::CreateOpAttributes(b_, to_file(a.padding), a.stride_h, a.stride_w, a.dilation_h,
                               a.dilation_w, a.depth_multiplier, a.filter_h, a.filter_w,
                               to_file(a.activation), a.keep_num_dims, a.beta, a.axis, a.keep_dims);
    return fb::CreateOp(b_, to_file(op.type), b_.CreateString(op.name), b_.CreateVector(op.inputs),
                        b_.CreateVector(op.outputs), attributes);
  }

  const Bundle& bundle_;
  flatbuffers::FlatBufferBuilder b_;
};

// Bytes the builder will at least need; flatbuffers cannot address 2 GiB.
size_t payload_bytes(const Bundle& bundle) {
  size_t total = 0;
  for (const Codebook& c : bundle.codebooks) total += c.words.size();
  for (const BundleModel& m : bundle.models)
    for (const ir::Tensor& t : m.graph.tensors)
      total += (t.pq ? t.pq->indices.size() : t.data.size()) + 12 * t.quant.scale.size();
  return total;
}

// --- reading -----------------------------------------------------------------------------

using import::printable;
using import::printable_identifier;
using import::shape_str;
using import::to_vector;

class Reader {
 public:
  explicit Reader(const fb::Bundle& root) : root_(root) {}

  Bundle run() {
    if (root_.version() < kOldestBundleVersion || root_.version() > kBundleVersion)
      throw Error(fmt::format("unsupported bundle version {} (this frugal reads versions {} to {})",
                              root_.version(), kOldestBundleVersion, kBundleVersion));
    Bundle bundle;
    if (const auto* codebooks = root_.codebooks())
      for (uint32_t c = 0; c < codebooks->size(); ++c)
        bundle.codebooks.push_back(read_codebook(c, *codebooks->Get(c)));

    const auto* models = root_.models();
    const uint32_t count = models == nullptr ? 0 : models->size();
    std::map<std::string, uint32_t> seen;
    for (uint32_t m = 0; m < count; ++m) {
      const std::string name = printable(models->Get(m)->name());
      if (name.empty()) throw Error(fmt::format("model {} has no name", m));
      if (const auto [it, added] = seen.emplace(name, m); !added)
        throw Error(fmt::format("models {} and {} are both named '{}'", it->second, m, name));
    }
    for (uint32_t m = 0; m < count; ++m) {
      const fb::Model& file_model = *models->Get(m);
      BundleModel model;
      model.name = printable(file_model.name());
      try {
        model.source = printable(file_model.source());
        model.graph = read_graph(file_model, bundle.codebooks);
      } catch (const Error& e) {
        throw Error(fmt::format("model '{}': {}", model.name, e.what()));
      }
      bundle.models.push_back(std::move(model));
    }
    check_encodings(bundle);
    return bundle;
  }

 private:
  static Codebook read_codebook(uint32_t c, const fb::Codebook& file) {
    auto fail = [c](const std::string& rule) {
      return Error(fmt::format("codebook {}: {}", c, rule));
    };
    const std::optional<CodebookKind> kind = from_file(file.kind());
    if (!kind) throw fail(fmt::format("unknown kind code {}", static_cast<int>(file.kind())));
    Codebook out;
    out.kind = *kind;
    out.subvector = file.subvector();
    out.codewords = file.codewords();
    if (out.codewords < 1 || out.codewords > kMaxCodewords)
      throw fail(fmt::format("K = {} codewords, expected 1 to {}", out.codewords, kMaxCodewords));
    if (out.subvector < 1)
      throw fail(fmt::format("sub-vector length d = {} must be positive", out.subvector));
    const size_t words = file.words() == nullptr ? 0 : file.words()->size();
    const int64_t expected = int64_t{out.codewords} * out.subvector;
    if (static_cast<int64_t>(words) != expected)
      throw fail(fmt::format("{} words, expected K*d = {}*{} = {}", words, out.codewords,
                             out.subvector, expected));
    out.words = to_vector(file.words());
    return out;
  }

  ir::Graph read_graph(const fb::Model& file, const std::vector<Codebook>& codebooks) {
    ir::Graph g;
    g.name = printable(file.graph_name());
    const auto* tensors = file.tensors();
    const uint32_t num_tensors = tensors == nullptr ? 0 : tensors->size();
    for (uint32_t i = 0; i < num_tensors; ++i)
      g.tensors.push_back(read_tensor(i, *tensors->Get(i), codebooks));

    auto check_index = [num_tensors](int32_t t, bool optional) {
      return (optional && t == -1) || (t >= 0 && static_cast<uint32_t>(t) < num_tensors);
    };
    if (const auto* ops = file.ops())
      for (uint32_t k = 0; k < ops->size(); ++k) {
        ir::Op op = read_op(k, *ops->Get(k));
        auto fail = [&](const std::string& rule) {
          return Error(
              fmt::format("op {} '{}' ({}): {}", k, op.name, ir::to_string(op.type), rule));
        };
        for (size_t s = 0; s < op.inputs.size(); ++s)
          if (!check_index(op.inputs[s], true))
            throw fail(
                fmt::format("input {} refers to tensor {}, out of range (model has {} tensors)", s,
                            op.inputs[s], num_tensors));
        for (size_t s = 0; s < op.outputs.size(); ++s)
          if (!check_index(op.outputs[s], false))
            throw fail(
                fmt::format("output {} refers to tensor {}, out of range (model has {} tensors)", s,
                            op.outputs[s], num_tensors));
        g.ops.push_back(std::move(op));
      }
    g.inputs = to_vector(file.inputs());
    g.outputs = to_vector(file.outputs());
    for (const auto& [list, what] :
         {std::pair{&g.inputs, "input"}, std::pair{&g.outputs, "output"}})
      for (size_t k = 0; k < list->size(); ++k)
        if (!check_index((*list)[k], false))
          throw Error(
              fmt::format("graph {} {} refers to tensor {}, out of range (model has {} tensors)",
                          what, k, (*list)[k], num_tensors));
    ir::validate(g);
    return g;
  }

  ir::Tensor read_tensor(uint32_t index, const fb::Tensor& file,
                         const std::vector<Codebook>& codebooks) {
    ir::Tensor t;
    t.name = printable(file.name());
    auto fail = [&](const std::string& rule) {
      return Error(fmt::format("tensor {} '{}': {}", index, t.name, rule));
    };
    const std::optional<ir::DataType> type = from_file(file.type());
    if (!type) throw fail(fmt::format("unknown data type code {}", static_cast<int>(file.type())));
    t.type = *type;
    t.shape = to_vector(file.shape());
    int64_t elements = 1;
    for (int32_t dim : t.shape) {
      if (dim < 1)
        throw fail(
            fmt::format("dimension {} in shape {} must be positive", dim, shape_str(t.shape)));
      elements *= dim;
      // Caps the running product as well, so it cannot overflow on the next dimension.
      if (elements > std::numeric_limits<int32_t>::max())
        throw fail(fmt::format("shape {} has more elements than 32-bit offsets can address",
                               shape_str(t.shape)));
    }
    if (const fb::Quantization* q = file.quantization()) {
      if (q->scale_codes() != nullptr) {
        if (q->scale() != nullptr)
          throw fail("stores its scales twice, as floats and as 16-bit codes");
        if (q->scale_exponent() < kMinScaleExponent || q->scale_exponent() > kMaxScaleExponent)
          throw fail(fmt::format("scale exponent {} is outside [{}, {}]", q->scale_exponent(),
                                 kMinScaleExponent, kMaxScaleExponent));
        const std::vector<uint16_t> codes = to_vector(q->scale_codes());
        t.quant.scale = scales_from_codes(q->scale_exponent(), codes);
        t.quant.zero_point = q->zero_point() != nullptr ? to_vector(q->zero_point())
                                                        : std::vector<int64_t>(codes.size(), 0);
      } else {
        t.quant.scale = to_vector(q->scale());
        t.quant.zero_point = q->zero_point() != nullptr
                                 ? to_vector(q->zero_point())
                                 : std::vector<int64_t>(t.quant.scale.size(), 0);
      }
      t.quant.axis = q->axis();
    }
    t.is_constant = file.is_constant();
    const size_t data_bytes = file.data() == nullptr ? 0 : file.data()->size();
    const uint32_t element_bytes = file.element_bytes();
    if (element_bytes != 0) {
      if (t.type != ir::DataType::kInt32 || !t.is_constant || file.pq() != nullptr)
        throw fail(fmt::format("element width {} is only for unencoded int32 constants, not {}",
                               element_bytes, ir::to_string(t.type)));
      if (element_bytes > 3)
        throw fail(fmt::format("element width {} is not 1, 2 or 3 bytes", element_bytes));
    }

    if (const fb::PqEncoding* pq = file.pq()) {
      if (data_bytes != 0)
        throw fail(fmt::format("is encoded but also stores {} bytes of data", data_bytes));
      if (!t.is_constant) throw fail("is encoded but not marked constant");
      if (t.type != ir::DataType::kInt8)
        throw fail(fmt::format("encoded weights must be int8, got {}", ir::to_string(t.type)));
      t.pq = read_encoding(*pq, t.shape, codebooks, fail);
      decoded_bytes_ += static_cast<size_t>(elements);
      if (decoded_bytes_ > kMaxDecodedBytes)
        throw fail(fmt::format("the bundle's encoded weights decode to more than {} MiB",
                               kMaxDecodedBytes >> 20));
      const std::vector<int8_t> weights = decode(t, codebooks[static_cast<size_t>(t.pq->codebook)]);
      t.data.assign(weights.begin(), weights.end());
    } else if (t.is_constant && element_bytes != 0) {
      const size_t expected = static_cast<size_t>(elements) * element_bytes;
      if (data_bytes != expected)
        throw fail(fmt::format("holds {} bytes of data, shape {} of {} at {} bytes each needs {}",
                               data_bytes, shape_str(t.shape), ir::to_string(t.type),
                               element_bytes, expected));
      t.data = widen_int32(file.data()->data(), static_cast<size_t>(elements), element_bytes);
    } else if (t.is_constant) {
      const size_t expected = static_cast<size_t>(elements) * ir::element_size(t.type);
      if (data_bytes != expected)
        throw fail(fmt::format("holds {} bytes of data, shape {} of {} needs {}", data_bytes,
                               shape_str(t.shape), ir::to_string(t.type), expected));
      t.data = to_vector(file.data());
    } else if (data_bytes != 0) {
      throw fail(fmt::format("has {} bytes of data but is not marked constant", data_bytes));
    }
    return t;
  }

  template <typename Fail>
  ir::PqEncoding read_encoding(const fb::PqEncoding& file, const std::vector<int32_t>& shape,
                                      const std::vector<Codebook>& codebooks, const Fail& fail) {
    ir::PqEncoding out;
    out.codebook = file.codebook();
    if (out.codebook < 0 || static_cast<size_t>(out.codebook) >= codebooks.size())
      throw fail(fmt::format("codebook {} out of range (the bundle has {} codebooks)", out.codebook,
                             codebooks.size()));
    const Codebook& codebook = codebooks[static_cast<size_t>(out.codebook)];
    const std::optional<ir::PqLayout> layout = from_file(file.layout());
    if (!layout) throw fail(fmt::format("unknown layout code {}", static_cast<int>(file.layout())));
    out.layout = *layout;
    out.subvector = file.subvector();
    if (out.subvector != codebook.subvector)
      throw fail(fmt::format("sub-vector length d = {} differs from codebook {}'s d = {}",
                             out.subvector, out.codebook, codebook.subvector));
    std::string why;
    const std::optional<detail::SubvectorGrid> grid =
        detail::subvector_grid(shape, out.layout, out.subvector, why);
    if (!grid) throw fail(why);

    const auto rows = static_cast<size_t>(grid->rows), cols = static_cast<size_t>(grid->cols);
    // Rows stored as one bit each (all the zero codeword), then the other rows' indices.
    std::vector<bool> zero_rows;
    size_t marked = 0;
    int32_t zero = -1;
    if (const auto* bitmap = file.zero_rows()) {
      if (root_.version() < 3)
        throw fail(fmt::format("has a zero-row bitmap, which bundle version {} does not have", root_.version()));
      zero = zero_codeword(codebook);
      if (zero < 0)
        throw fail(fmt::format("marks all-zero rows, but codebook {} has no all-zero codeword", out.codebook));
      if (bitmap->size() != detail::row_bitmap_bytes(rows))
        throw fail(fmt::format("{} bytes of zero-row bitmap, expected {} ({} rows)", bitmap->size(),
                               detail::row_bitmap_bytes(rows), rows));
      zero_rows.resize(rows);
      for (size_t r = 0; r < rows; ++r) marked += zero_rows[r] = ((bitmap->Get(static_cast<uint32_t>(r / 8)) >> (r % 8)) & 1u) != 0;
      if (rows % 8 != 0 && (bitmap->Get(static_cast<uint32_t>(rows / 8)) >> (rows % 8)) != 0)
        throw fail(fmt::format("bits past row {} of the zero-row bitmap are set", rows));
    }
    const size_t count = (rows - marked) * cols;
    const int32_t bits = codebook.index_bits();
    const size_t expected = detail::packed_index_bytes(count, bits);
    const size_t actual = file.indices() == nullptr ? 0 : file.indices()->size();
    if (actual != expected)
      throw fail(fmt::format("{} index bytes, expected {} ({} indices of {} bits{})", actual, expected, count, bits,
                             marked == 0 ? std::string() : fmt::format(", {} of {} rows all-zero", marked, rows)));
    const uint8_t* packed = actual == 0 ? nullptr : file.indices()->data();
    out.indices.resize(rows * cols);
    size_t k = 0;  // position in the stored indices
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < cols; ++c) {
        if (!zero_rows.empty() && zero_rows[r]) {
          out.indices[r * cols + c] = static_cast<uint16_t>(zero);
          continue;
        }
        const auto index =
            static_cast<uint16_t>(bits == 8 ? packed[k] : (packed[k / 2] >> (4 * (k % 2))) & 0xF);
        if (index >= codebook.codewords)
          throw fail(fmt::format("index {} at position {} is out of range for codebook {} (K = {})",
                                 index, k, out.codebook, codebook.codewords));
        out.indices[r * cols + c] = index;
        ++k;
      }
    }
    // Exactly one byte string per encoding, so that equal bundles are equal files.
    if (bits == 4 && count % 2 == 1 && (packed[count / 2] >> 4) != 0)
      throw fail(fmt::format("the unused high nibble of the last index byte is {}, expected 0",
                             packed[count / 2] >> 4));
    if (root_.version() >= 3 && stored_zero_rows(out, shape, codebook) != zero_rows)
      throw fail(zero_rows.empty() ? std::string("has all-zero rows that a zero-row bitmap would store in fewer bytes")
                                   : std::string("its zero-row bitmap is not the one the writer makes (every all-zero "
                                                 "row marked, and only where it saves bytes)"));
    return out;
  }

  static ir::Op read_op(uint32_t k, const fb::Op& file) {
    ir::Op op;
    op.name = printable(file.name());
    auto fail = [&](const std::string& rule) {
      return Error(fmt::format("op {} '{}': {}", k, op.name, rule));
    };
    const std::optional<ir::OpType> type = from_file(file.type());
    if (!type) throw fail(fmt::format("unknown op type code {}", static_cast<int>(file.type())));
    op.type = *type;
    op.inputs = to_vector(file.inputs());
    op.outputs = to_vector(file.outputs());
    // Required by the schema, so the verifier has already refused a file without it.
    const fb::OpAttributes& a = *file.attributes();
    const std::optional<ir::Padding> padding = from_file(a.padding());
    if (!padding) throw fail(fmt::format("unknown padding code {}", static_cast<int>(a.padding())));
    const std::optional<ir::Activation> activation = from_file(a.activation());
    if (!activation)
      throw fail(fmt::format("unknown activation code {}", static_cast<int>(a.activation())));
    op.attrs.padding = *padding;
    op.attrs.stride_h = a.stride_h();
    op.attrs.stride_w = a.stride_w();
    op.attrs.dilation_h = a.dilation_h();
    op.attrs.dilation_w = a.dilation_w();
    op.attrs.depth_multiplier = a.depth_multiplier();
    op.attrs.filter_h = a.filter_h();
    op.attrs.filter_w = a.filter_w();
    op.attrs.activation = *activation;
    op.attrs.keep_num_dims = a.keep_num_dims();
    op.attrs.beta = a.beta();
    op.attrs.axis = a.axis();
    op.attrs.keep_dims = a.keep_dims();
    return op;
  }

  const fb::Bundle& root_;
  size_t decoded_bytes_ = 0;
};

// Bytes before the identifier: the size prefix and the root offset.
constexpr size_t kIdentifierOffset = 2 * sizeof(flatbuffers::uoffset_t);
constexpr size_t kHeaderBytes = kIdentifierOffset + flatbuffers::kFileIdentifierLength;

Bundle read_verified(std::span<const uint8_t> bytes) {
  if (bytes.empty()) throw Error("file is empty");
  if (bytes.size() < kHeaderBytes)
    throw Error(fmt::format("too small to be a bundle ({} bytes)", bytes.size()));
  if (!looks_like_bundle(bytes)) {
    if (flatbuffers::BufferHasIdentifier(bytes.data(), "TFL3"))
      throw Error("not a frugal bundle but a TFLite model (file identifier \"TFL3\")");
    throw Error(fmt::format("not a frugal bundle: file identifier is \"{}\", expected \"{}\"",
                            printable_identifier(bytes.data() + kIdentifierOffset),
                            fb::BundleIdentifier()));
  }
  if (bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    throw Error(fmt::format("too large for a flatbuffer ({} bytes)", bytes.size()));
  const size_t declared = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(bytes.data()) +
                          sizeof(flatbuffers::uoffset_t);
  if (declared != bytes.size())
    throw Error(
        fmt::format("file is {} bytes but its size field says {} (truncated, or followed "
                    "by other data)",
                    bytes.size(), declared));
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!fb::VerifySizePrefixedBundleBuffer(verifier))
    throw Error("corrupt flatbuffer: the bundle failed structural verification");
  return Reader(*fb::GetSizePrefixedBundle(bytes.data())).run();
}

}  // namespace

std::vector<uint8_t> write_bundle(const Bundle& bundle) {
  try {
    // Refusing here what read_bundle would refuse means every file written can be read back.
    std::map<std::string_view, size_t> seen;
    for (size_t m = 0; m < bundle.models.size(); ++m) {
      const BundleModel& model = bundle.models[m];
      if (model.name.empty()) throw Error(fmt::format("model {} has no name", m));
      if (const auto [it, added] = seen.emplace(model.name, m); !added)
        throw Error(fmt::format("models {} and {} are both named '{}'", it->second, m, model.name));
      try {
        ir::validate(model.graph);
      } catch (const Error& e) {
        throw Error(fmt::format("model '{}': {}", model.name, e.what()));
      }
    }
    check_encodings(bundle);
    if (const size_t payload = payload_bytes(bundle); payload >= FLATBUFFERS_MAX_BUFFER_SIZE / 2)
      throw Error(fmt::format("{} bytes of weights are too many for one flatbuffer", payload));
    return Writer(bundle).run();
  } catch (const Error& e) {
    throw Error(fmt::format("cannot write bundle: {}", e.what()));
  }
}

Bundle read_bundle(std::span<const uint8_t> bytes) {
  try {
    // flatbuffers reads scalars in place and its verifier checks alignment relative to the
    // start of the buffer, so the start itself must be aligned; a caller's span need not be.
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(std::max_align_t) != 0) {
      const std::vector<uint8_t> aligned(bytes.begin(), bytes.end());
      return read_verified(aligned);
    }
    return read_verified(bytes);
  } catch (const Error& e) {
    throw Error(fmt::format("bundle: {}", e.what()));
  }
}

Bundle read_bundle_file(const std::filesystem::path& path) {
  const std::string label = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw Error(fmt::format("{}: cannot open bundle: no such file", label));
  if (std::filesystem::is_directory(status))
    throw Error(fmt::format("{}: cannot open bundle: is a directory", label));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open bundle: {}", label, std::strerror(errno)));
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(fmt::format("{}: error while reading the bundle", label));
  try {
    return read_bundle(bytes);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", label, e.what()));
  }
}

bool looks_like_bundle(std::span<const uint8_t> bytes) {
  return bytes.size() >= kHeaderBytes && fb::SizePrefixedBundleBufferHasIdentifier(bytes.data());
}

}  // namespace frugal::pq
