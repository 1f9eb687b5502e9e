#include "import/tflite/tflite_importer.h"

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "import/flatbuffers_read.h"
#include "import/tflite/tflite_generated.h"

namespace frugal::import {
namespace {

namespace fb = frugal::tflite_schema;
using ir::Error;

constexpr uint32_t kSchemaVersion = 3;
constexpr const char* kSupportedOps =
    "CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, AVERAGE_POOL_2D, MAX_POOL_2D, "
    "RESHAPE, SOFTMAX, QUANTIZE, DEQUANTIZE, PAD, MEAN, CONCATENATION";

std::optional<ir::OpType> supported_op(int32_t code) {
  switch (static_cast<fb::BuiltinOperator>(code)) {
    case fb::BuiltinOperator::CONV_2D: return ir::OpType::kConv2D;
    case fb::BuiltinOperator::DEPTHWISE_CONV_2D: return ir::OpType::kDepthwiseConv2D;
    case fb::BuiltinOperator::FULLY_CONNECTED: return ir::OpType::kFullyConnected;
    case fb::BuiltinOperator::ADD: return ir::OpType::kAdd;
    case fb::BuiltinOperator::MUL: return ir::OpType::kMul;
    case fb::BuiltinOperator::AVERAGE_POOL_2D: return ir::OpType::kAveragePool2D;
    case fb::BuiltinOperator::MAX_POOL_2D: return ir::OpType::kMaxPool2D;
    case fb::BuiltinOperator::RESHAPE: return ir::OpType::kReshape;
    case fb::BuiltinOperator::SOFTMAX: return ir::OpType::kSoftmax;
    case fb::BuiltinOperator::QUANTIZE: return ir::OpType::kQuantize;
    case fb::BuiltinOperator::DEQUANTIZE: return ir::OpType::kDequantize;
    case fb::BuiltinOperator::PAD: return ir::OpType::kPad;
    case fb::BuiltinOperator::MEAN: return ir::OpType::kMean;
    case fb::BuiltinOperator::CONCATENATION: return ir::OpType::kConcatenation;
    default: return std::nullopt;
  }
}

bool is_control_flow(int32_t code) {
  switch (static_cast<fb::BuiltinOperator>(code)) {
    case fb::BuiltinOperator::CALL:
    case fb::BuiltinOperator::IF:
    case fb::BuiltinOperator::WHILE:
    case fb::BuiltinOperator::CALL_ONCE: return true;
    default: return false;
  }
}

// TFLite's name of a builtin operator code; the generated enum names cover codes 0..161.
std::string builtin_name(int32_t code) {
  if (code >= 0 && code <= static_cast<int32_t>(fb::BuiltinOperator::MAX)) {
    const char* name = fb::EnumNameBuiltinOperator(static_cast<fb::BuiltinOperator>(code));
    if (name != nullptr && *name != '\0') return name;
  }
  return fmt::format("builtin operator code {}", code);
}

std::string tensor_type_name(fb::TensorType type) {
  const auto raw = static_cast<int32_t>(type);
  if (raw >= 0 && raw <= static_cast<int32_t>(fb::TensorType::MAX)) {
    const char* name = fb::EnumNameTensorType(type);
    if (name != nullptr && *name != '\0') return name;
  }
  return fmt::format("tensor type code {}", raw);
}

std::optional<ir::DataType> data_type(fb::TensorType type) {
  switch (type) {
    case fb::TensorType::INT8: return ir::DataType::kInt8;
    case fb::TensorType::UINT8: return ir::DataType::kUInt8;
    case fb::TensorType::INT16: return ir::DataType::kInt16;
    case fb::TensorType::INT32: return ir::DataType::kInt32;
    case fb::TensorType::INT64: return ir::DataType::kInt64;
    case fb::TensorType::FLOAT32: return ir::DataType::kFloat32;
    default: return std::nullopt;
  }
}


class Importer {
 public:
  Importer(std::span<const uint8_t> file, const fb::Model& model) : file_(file), model_(model) {}

  ir::Graph run() {
    if (model_.version() != kSchemaVersion)
      throw Error(fmt::format("unsupported TFLite schema version {} (expected {})",
                              model_.version(), kSchemaVersion));
    const auto* subgraphs = model_.subgraphs();
    if (subgraphs == nullptr || subgraphs->size() == 0) throw Error("model has no subgraphs");
    sub_ = subgraphs->Get(0);
    tensors_ = sub_->tensors();
    num_tensors_ = tensors_ == nullptr ? 0 : tensors_->size();
    operators_ = sub_->operators();
    num_ops_ = operators_ == nullptr ? 0 : operators_->size();

    // Operators are checked before tensors so that a model with an unsupported operator is
    // reported as such, not by a side effect of it (e.g. the variable tensors of an LSTM).
    resolve_op_types();
    name_ops();
    for (uint32_t i = 0; i < num_tensors_; ++i) graph_.tensors.push_back(import_tensor(i));
    graph_.inputs = io_list(sub_->inputs(), "input");
    graph_.outputs = io_list(sub_->outputs(), "output");
    for (uint32_t k = 0; k < num_ops_; ++k) graph_.ops.push_back(import_op(k));
    ir::validate(graph_);
    return std::move(graph_);
  }

 private:
  // --- operators: codes and names ----------------------------------------------------------

  void resolve_op_types() {
    const auto* codes = model_.operator_codes();
    const uint32_t num_codes = codes == nullptr ? 0 : codes->size();
    for (uint32_t k = 0; k < num_ops_; ++k) {
      const fb::Operator* op = operators_->Get(k);
      if (op->opcode_index() >= num_codes)
        throw Error(fmt::format("operator {}: opcode index {} out of range (model has {} "
                                "operator codes)",
                                k, op->opcode_index(), num_codes));
      const fb::OperatorCode* code = codes->Get(op->opcode_index());
      // Old files only set the byte field, new files set both for codes below 127 and only
      // the int field above it; the larger of the two is the real code.
      const int32_t builtin = std::max<int32_t>(code->deprecated_builtin_code(),
                                                static_cast<int32_t>(code->builtin_code()));
      const std::string where = fmt::format("operator {}{}", k, output_hint(op));
      if (builtin == static_cast<int32_t>(fb::BuiltinOperator::CUSTOM)) {
        const std::string custom = printable(code->custom_code());
        throw Error(fmt::format("{} is the custom operator '{}', which frugal does not support "
                                "(supported: {})",
                                where, custom, kSupportedOps));
      }
      if (is_control_flow(builtin))
        throw Error(fmt::format("{} is the control-flow operator {}, which frugal does not "
                                "support: only models whose main subgraph runs straight "
                                "through are supported",
                                where, builtin_name(builtin)));
      const std::optional<ir::OpType> type = supported_op(builtin);
      if (!type)
        throw Error(fmt::format("{} is {}, which frugal does not support (supported: {})", where,
                                builtin_name(builtin), kSupportedOps));
      op_types_.push_back(*type);
    }
  }

  // " ('name')" for the op's first output, when it has a valid one; for messages only.
  std::string output_hint(const fb::Operator* op) const {
    const auto* outputs = op->outputs();
    if (outputs == nullptr || outputs->size() == 0) return "";
    const int32_t t = outputs->Get(0);
    if (t < 0 || static_cast<uint32_t>(t) >= num_tensors_) return "";
    const auto* name = tensors_->Get(static_cast<uint32_t>(t))->name();
    return name ? fmt::format(" ('{}')", printable(name)) : "";
  }

  // Op names are the names of their first output tensors, made unique.
  void name_ops() {
    std::set<std::string> used;
    for (uint32_t k = 0; k < num_ops_; ++k) {
      const fb::Operator* op = operators_->Get(k);
      std::string name;
      const auto* outputs = op->outputs();
      if (outputs != nullptr && outputs->size() > 0) {
        const int32_t t = outputs->Get(0);
        if (t >= 0 && static_cast<uint32_t>(t) < num_tensors_) {
          const auto* tensor_name = tensors_->Get(static_cast<uint32_t>(t))->name();
          name = printable(tensor_name);
        }
      }
      if (name.empty()) name = fmt::format("op{}", k);
      if (used.count(name) != 0) {
        std::string unique;
        int suffix = 1;
        do {
          unique = fmt::format("{}_{}", name, suffix++);
        } while (used.count(unique) != 0);
        name = unique;
      }
      used.insert(name);
      op_names_.push_back(std::move(name));
    }
  }

  // The op (index and name) that first uses tensor i, for messages about that tensor.
  std::string first_user(uint32_t tensor) const {
    for (uint32_t k = 0; k < num_ops_; ++k) {
      const fb::Operator* op = operators_->Get(k);
      for (const auto* list : {op->inputs(), op->outputs()}) {
        if (list == nullptr) continue;
        for (int32_t t : *list)
          if (t == static_cast<int32_t>(tensor))
            return fmt::format("used by op {} '{}' ({})", k, op_names_[k],
                               ir::to_string(op_types_[k]));
      }
    }
    return "not used by any op";
  }

  // --- tensors -----------------------------------------------------------------------------

  ir::Tensor import_tensor(uint32_t index) {
    const fb::Tensor* t = tensors_->Get(index);
    ir::Tensor out;
    out.name = t->name() ? printable(t->name()) : fmt::format("tensor{}", index);
    const std::string label = fmt::format("tensor {} '{}'", index, out.name);

    const std::optional<ir::DataType> type = data_type(t->type());
    if (!type)
      throw Error(fmt::format("{} has type {}, which frugal does not support ({})", label,
                              tensor_type_name(t->type()), first_user(index)));
    out.type = *type;
    if (t->is_variable())
      throw Error(fmt::format("{} is a variable (stateful) tensor, which frugal does not "
                              "support ({})",
                              label, first_user(index)));
    if (t->sparsity() != nullptr)
      throw Error(fmt::format("{} is sparse, which frugal does not support", label));

    out.shape = to_vector(t->shape());
    for (int32_t d : out.shape)
      if (d < 0)
        throw Error(fmt::format("{} has a dynamic or negative dimension in shape {}", label,
                                shape_str(out.shape)));

    if (const fb::QuantizationParameters* q = t->quantization()) {
      if (q->details_type() != fb::QuantizationDetails::NONE)
        throw Error(fmt::format("{} uses custom quantization, which frugal does not support",
                                label));
      out.quant.scale = to_vector(q->scale());
      if (!out.quant.scale.empty()) {
        out.quant.zero_point = to_vector(q->zero_point());
        if (out.quant.zero_point.size() != out.quant.scale.size())
          throw Error(fmt::format("{} has {} quantization scales but {} zero points", label,
                                  out.quant.scale.size(), out.quant.zero_point.size()));
        out.quant.axis = q->quantized_dimension();
      }
    }

    const std::span<const uint8_t> data = buffer_data(t->buffer(), label);
    if (!data.empty()) {
      const size_t expected = static_cast<size_t>(out.num_elements()) * ir::element_size(out.type);
      if (data.size() != expected)
        throw Error(fmt::format("{} has buffer {} of {} bytes, but shape {} of {} needs {} bytes",
                                label, t->buffer(), data.size(), shape_str(out.shape),
                                ir::to_string(out.type), expected));
      out.data.assign(data.begin(), data.end());
      out.is_constant = true;
    }
    return out;
  }

  std::span<const uint8_t> buffer_data(uint32_t index, const std::string& label) const {
    const auto* buffers = model_.buffers();
    const uint32_t count = buffers == nullptr ? 0 : buffers->size();
    if (index >= count) {
      // Buffer 0 is the conventional "no data" entry; tolerate files that leave it out.
      if (index == 0) return {};
      throw Error(fmt::format("{} refers to buffer {}, out of range (model has {} buffers)", label,
                              index, count));
    }
    const fb::Buffer* buffer = buffers->Get(index);
    if (buffer->data() != nullptr && buffer->data()->size() > 0)
      return {buffer->data()->data(), buffer->data()->size()};
    // Models over 2 GB keep tensor data after the flatbuffer; offset 0/1 mean "not used".
    if (buffer->offset() > 1) {
      const uint64_t offset = buffer->offset();
      const uint64_t size = buffer->size();
      if (offset > file_.size() || size > file_.size() - offset)
        throw Error(fmt::format("{}: buffer {} points outside the file (offset {}, size {}, file "
                                "size {})",
                                label, index, offset, size, file_.size()));
      return file_.subspan(static_cast<size_t>(offset), static_cast<size_t>(size));
    }
    return {};
  }

  std::vector<int32_t> io_list(const flatbuffers::Vector<int32_t>* list, std::string_view what) {
    std::vector<int32_t> out = to_vector(list);
    for (size_t k = 0; k < out.size(); ++k)
      if (out[k] < 0 || static_cast<uint32_t>(out[k]) >= num_tensors_)
        throw Error(fmt::format("graph {} {} refers to tensor {}, out of range (subgraph has {} "
                                "tensors)",
                                what, k, out[k], num_tensors_));
    return out;
  }

  // --- operators: operands and options -----------------------------------------------------

  [[noreturn]] void fail_op(uint32_t k, const std::string& what) const {
    throw Error(fmt::format("op {} '{}' ({}): {}", k, op_names_[k], ir::to_string(op_types_[k]),
                            what));
  }

  template <typename Options>
  const Options* options(uint32_t k, bool required) const {
    const fb::Operator* op = operators_->Get(k);
    const fb::BuiltinOptions expected = fb::BuiltinOptionsTraits<Options>::enum_value;
    const fb::BuiltinOptions actual = op->builtin_options_type();
    if (actual == expected && op->builtin_options() != nullptr)
      return static_cast<const Options*>(op->builtin_options());
    if (actual != fb::BuiltinOptions::NONE)
      fail_op(k, fmt::format("carries builtin options of union type {}, expected {}",
                             static_cast<int>(actual), fb::EnumNameBuiltinOptions(expected)));
    if (required) fail_op(k, fmt::format("has no {}", fb::EnumNameBuiltinOptions(expected)));
    return nullptr;
  }

  ir::Activation activation(uint32_t k, fb::ActivationFunctionType f) const {
    switch (f) {
      case fb::ActivationFunctionType::NONE: return ir::Activation::kNone;
      case fb::ActivationFunctionType::RELU: return ir::Activation::kRelu;
      case fb::ActivationFunctionType::RELU6: return ir::Activation::kRelu6;
      case fb::ActivationFunctionType::RELU_N1_TO_1: return ir::Activation::kReluN1To1;
      case fb::ActivationFunctionType::TANH:
      case fb::ActivationFunctionType::SIGN_BIT:
        fail_op(k, fmt::format("fused activation {} is not supported (supported: NONE, RELU, "
                               "RELU6, RELU_N1_TO_1)",
                               fb::EnumNameActivationFunctionType(f)));
    }
    fail_op(k, fmt::format("unknown fused activation code {}", static_cast<int>(f)));
  }

  ir::Padding padding(uint32_t k, fb::Padding p) const {
    switch (p) {
      case fb::Padding::SAME: return ir::Padding::kSame;
      case fb::Padding::VALID: return ir::Padding::kValid;
    }
    fail_op(k, fmt::format("unknown padding code {}", static_cast<int>(p)));
  }

  void expect_int32_bias_type(uint32_t k, fb::TensorType bias_type) const {
    // FLOAT32 (the default, 0) means "not set": the bias type then follows the input type.
    if (bias_type != fb::TensorType::FLOAT32 && bias_type != fb::TensorType::INT32)
      fail_op(k, fmt::format("quantized bias type {} is not supported (int8 models use INT32)",
                             tensor_type_name(bias_type)));
  }

  // Constant integer operand (PAD paddings, MEAN axes) as int32; int64 ones are narrowed in
  // place so that the IR and the kernels only deal with int32.
  void expect_int32_constant(uint32_t k, const ir::Op& op, size_t input, std::string_view role) {
    if (op.inputs.size() <= input || op.inputs[input] < 0)
      fail_op(k, fmt::format("{} operand (input {}) is missing", role, input));
    ir::Tensor& t = graph_.tensor(op.inputs[input]);
    if (!t.is_constant)
      fail_op(k, fmt::format("{} operand '{}' must be constant", role, t.name));
    if (t.type == ir::DataType::kInt64) {
      const auto count = static_cast<size_t>(t.num_elements());
      std::vector<uint8_t> narrowed(count * sizeof(int32_t));
      for (size_t i = 0; i < count; ++i) {
        int64_t v = 0;
        std::memcpy(&v, t.data.data() + i * sizeof(int64_t), sizeof v);
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
          fail_op(k, fmt::format("{} operand '{}' value {} does not fit in int32", role, t.name, v));
        const auto v32 = static_cast<int32_t>(v);
        std::memcpy(narrowed.data() + i * sizeof(int32_t), &v32, sizeof v32);
      }
      t.data = std::move(narrowed);
      t.type = ir::DataType::kInt32;
    }
  }

  ir::Op import_op(uint32_t k) {
    const fb::Operator* fop = operators_->Get(k);
    ir::Op op;
    op.type = op_types_[k];
    op.name = op_names_[k];
    op.inputs = to_vector(fop->inputs());
    op.outputs = to_vector(fop->outputs());
    for (size_t i = 0; i < op.inputs.size(); ++i)
      if (op.inputs[i] < -1 || (op.inputs[i] >= 0 && static_cast<uint32_t>(op.inputs[i]) >= num_tensors_))
        fail_op(k, fmt::format("input {} refers to tensor {}, out of range (subgraph has {} "
                               "tensors)",
                               i, op.inputs[i], num_tensors_));
    for (size_t i = 0; i < op.outputs.size(); ++i)
      if (op.outputs[i] < 0 || static_cast<uint32_t>(op.outputs[i]) >= num_tensors_)
        fail_op(k, fmt::format("output {} refers to tensor {}, out of range (subgraph has {} "
                               "tensors)",
                               i, op.outputs[i], num_tensors_));

    ir::OpAttributes& a = op.attrs;
    switch (op.type) {
      case ir::OpType::kConv2D: {
        const auto* o = options<fb::Conv2DOptions>(k, true);
        a.padding = padding(k, o->padding());
        a.stride_h = o->stride_h();
        a.stride_w = o->stride_w();
        a.dilation_h = o->dilation_h_factor();
        a.dilation_w = o->dilation_w_factor();
        a.activation = activation(k, o->fused_activation_function());
        expect_int32_bias_type(k, o->quantized_bias_type());
        break;
      }
      case ir::OpType::kDepthwiseConv2D: {
        const auto* o = options<fb::DepthwiseConv2DOptions>(k, true);
        a.padding = padding(k, o->padding());
        a.stride_h = o->stride_h();
        a.stride_w = o->stride_w();
        a.dilation_h = o->dilation_h_factor();
        a.dilation_w = o->dilation_w_factor();
        a.activation = activation(k, o->fused_activation_function());
        // TFLite ignores the stored multiplier (older converters wrote wrong values) and
        // derives it from the channel counts; do the same when the shapes allow it.
        a.depth_multiplier = o->depth_multiplier();
        if (op.inputs.size() >= 2 && op.inputs[0] >= 0 && op.inputs[1] >= 0) {
          const ir::Tensor& input = graph_.tensor(op.inputs[0]);
          const ir::Tensor& filter = graph_.tensor(op.inputs[1]);
          if (input.shape.size() == 4 && filter.shape.size() == 4 && input.shape[3] > 0 &&
              filter.shape[3] % input.shape[3] == 0)
            a.depth_multiplier = filter.shape[3] / input.shape[3];
        }
        break;
      }
      case ir::OpType::kFullyConnected: {
        if (const auto* o = options<fb::FullyConnectedOptions>(k, false)) {
          a.activation = activation(k, o->fused_activation_function());
          if (o->weights_format() != fb::FullyConnectedOptionsWeightsFormat::DEFAULT)
            fail_op(k, "shuffled weights format is not supported");
          a.keep_num_dims = o->keep_num_dims();
          expect_int32_bias_type(k, o->quantized_bias_type());
        }
        break;
      }
      case ir::OpType::kAdd:
        if (const auto* o = options<fb::AddOptions>(k, false))
          a.activation = activation(k, o->fused_activation_function());
        break;
      case ir::OpType::kMul:
        if (const auto* o = options<fb::MulOptions>(k, false))
          a.activation = activation(k, o->fused_activation_function());
        break;
      case ir::OpType::kAveragePool2D:
      case ir::OpType::kMaxPool2D: {
        const auto* o = options<fb::Pool2DOptions>(k, true);
        a.padding = padding(k, o->padding());
        a.stride_h = o->stride_h();
        a.stride_w = o->stride_w();
        a.filter_h = o->filter_height();
        a.filter_w = o->filter_width();
        a.activation = activation(k, o->fused_activation_function());
        break;
      }
      case ir::OpType::kReshape:
        import_reshape(k, op);
        break;
      case ir::OpType::kSoftmax:
        if (const auto* o = options<fb::SoftmaxOptions>(k, false)) a.beta = o->beta();
        break;
      case ir::OpType::kConcatenation:
        if (const auto* o = options<fb::ConcatenationOptions>(k, false)) {
          a.axis = o->axis();
          a.activation = activation(k, o->fused_activation_function());
        }
        break;
      case ir::OpType::kPad:
        options<fb::PadOptions>(k, false);
        expect_int32_constant(k, op, 1, "paddings");
        break;
      case ir::OpType::kMean:
        if (const auto* o = options<fb::ReducerOptions>(k, false)) a.keep_dims = o->keep_dims();
        expect_int32_constant(k, op, 1, "axes");
        break;
      case ir::OpType::kQuantize:
        options<fb::QuantizeOptions>(k, false);
        break;
      case ir::OpType::kDequantize:
        options<fb::DequantizeOptions>(k, false);
        break;
    }
    return op;
  }

  // The output tensor's shape is authoritative. The requested shape (options or constant
  // input 1) only fills it in when a converter left the output shape empty.
  void import_reshape(uint32_t k, const ir::Op& op) {
    std::vector<int64_t> requested;
    if (const auto* o = options<fb::ReshapeOptions>(k, false); o && o->new_shape())
      for (int32_t d : to_vector(o->new_shape())) requested.push_back(d);
    if (requested.empty() && op.inputs.size() >= 2 && op.inputs[1] >= 0) {
      const ir::Tensor& shape = graph_.tensor(op.inputs[1]);
      if (shape.is_constant && shape.type == ir::DataType::kInt32)
        requested.assign(shape.data_as<int32_t>(), shape.data_as<int32_t>() + shape.num_elements());
      else if (shape.is_constant && shape.type == ir::DataType::kInt64)
        requested.assign(shape.data_as<int64_t>(), shape.data_as<int64_t>() + shape.num_elements());
    }
    if (op.outputs.empty() || op.inputs.empty() || op.inputs[0] < 0) return;
    ir::Tensor& output = graph_.tensor(op.outputs[0]);
    if (!output.shape.empty() || requested.empty()) return;
    const int64_t elements = graph_.tensor(op.inputs[0]).num_elements();
    int64_t known = 1;
    int unknown = 0;
    for (int64_t d : requested) {
      if (d == -1)
        ++unknown;
      else if (d < 1 || d > std::numeric_limits<int32_t>::max())
        fail_op(k, fmt::format("requested shape has invalid dimension {}", d));
      else
        known *= d;
      if (known > elements) fail_op(k, "requested shape has more elements than the input");
    }
    if (unknown > 1) fail_op(k, "requested shape has more than one -1 dimension");
    std::vector<int32_t> resolved;
    for (int64_t d : requested)
      resolved.push_back(static_cast<int32_t>(d == -1 ? elements / known : d));
    output.shape = std::move(resolved);
  }

  std::span<const uint8_t> file_;
  const fb::Model& model_;
  const fb::SubGraph* sub_ = nullptr;
  const flatbuffers::Vector<flatbuffers::Offset<fb::Tensor>>* tensors_ = nullptr;
  const flatbuffers::Vector<flatbuffers::Offset<fb::Operator>>* operators_ = nullptr;
  uint32_t num_tensors_ = 0;
  uint32_t num_ops_ = 0;
  std::vector<ir::OpType> op_types_;
  std::vector<std::string> op_names_;
  ir::Graph graph_;
};

ir::Graph import_verified(std::span<const uint8_t> bytes) {
  if (bytes.empty()) throw Error("file is empty");
  if (bytes.size() < 8)
    throw Error(fmt::format("too small to be a TFLite model ({} bytes)", bytes.size()));
  if (!flatbuffers::BufferHasIdentifier(bytes.data(), fb::ModelIdentifier()))
    throw Error(fmt::format("not a TFLite model: file identifier is \"{}\", expected \"{}\"",
                            printable_identifier(bytes.data() + 4), fb::ModelIdentifier()));
  if (bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    throw Error(fmt::format("too large for a flatbuffer ({} bytes)", bytes.size()));
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!fb::VerifyModelBuffer(verifier))
    throw Error("corrupt flatbuffer: the TFLite model failed structural verification");
  return Importer(bytes, *fb::GetModel(bytes.data())).run();
}

}  // namespace

ir::Graph import_tflite_buffer(std::span<const uint8_t> bytes, std::string name) {
  try {
    // flatbuffers reads scalars in place, so the buffer must be aligned like the largest
    // scalar; a caller's span (e.g. into a memory-mapped file) need not be.
    ir::Graph graph;
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(std::max_align_t) != 0) {
      const std::vector<uint8_t> aligned(bytes.begin(), bytes.end());
      graph = import_verified(aligned);
    } else {
      graph = import_verified(bytes);
    }
    graph.name = std::move(name);
    return graph;
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", name, e.what()));
  }
}

ir::Graph import_tflite_file(const std::filesystem::path& path) {
  const std::string label = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw Error(fmt::format("{}: cannot open model: no such file", label));
  if (std::filesystem::is_directory(status))
    throw Error(fmt::format("{}: cannot open model: is a directory", label));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open model: {}", label, std::strerror(errno)));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(fmt::format("{}: error while reading the model", label));
  return import_tflite_buffer(bytes, label);
}

}  // namespace frugal::import
