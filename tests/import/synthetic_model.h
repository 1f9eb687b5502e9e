// Writes small .tflite flatbuffers for tests with the generated flatbuffers builder API: a path
// to model bytes that shares nothing with the importer's reading code.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "import/tflite/tflite_generated.h"

namespace frugal::testing {

namespace fb = frugal::tflite_schema;

struct SynthTensor {
  std::string name;
  fb::TensorType type = fb::TensorType::INT8;
  std::vector<int32_t> shape;
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t quantized_dimension = 0;
  uint32_t buffer = 0;
  bool is_variable = false;
};

using OptionsWriter =
    std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)>;

struct SynthOp {
  // Written as TFLite does for codes below 127: both fields; deprecated_code < 0 means
  // "write only the int field" (as for codes >= 127), builtin_code < 0 "only the byte field".
  int32_t builtin_code = 0;
  int32_t deprecated_code = 0;
  std::string custom_code;
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  fb::BuiltinOptions options_type = fb::BuiltinOptions::NONE;
  OptionsWriter options;
};

class SynthModel {
 public:
  SynthModel() { buffers_.emplace_back(); }  // buffer 0: the empty sentinel

  uint32_t add_buffer(std::vector<uint8_t> bytes) {
    buffers_.push_back(std::move(bytes));
    return static_cast<uint32_t>(buffers_.size() - 1);
  }

  template <typename T>
  uint32_t add_buffer_of(const std::vector<T>& values) {
    std::vector<uint8_t> bytes(values.size() * sizeof(T));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return add_buffer(std::move(bytes));
  }

  int32_t add_tensor(SynthTensor t) {
    tensors_.push_back(std::move(t));
    return static_cast<int32_t>(tensors_.size() - 1);
  }

  // int8 activation, per-tensor.
  int32_t activation(std::string name, std::vector<int32_t> shape, float scale = 0.5f,
                     int64_t zero_point = 0) {
    return add_tensor({std::move(name), fb::TensorType::INT8, std::move(shape), {scale},
                       {zero_point}, 0, 0, false});
  }

  void add_op(SynthOp op) { ops_.push_back(std::move(op)); }

  SynthTensor& tensor(int32_t i) { return tensors_.at(static_cast<size_t>(i)); }
  SynthOp& op(size_t k) { return ops_.at(k); }

  std::vector<int32_t> inputs, outputs;
  uint32_t version = 3;
  // Extra subgraphs (empty) after the main one; -1 writes no subgraph at all.
  int extra_subgraphs = 0;

  std::vector<uint8_t> finish() const {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::Buffer>> buffers;
    for (const auto& bytes : buffers_) {
      b.ForceVectorAlignment(bytes.size(), sizeof(uint8_t), 16);
      auto data = bytes.empty() ? 0 : b.CreateVector(bytes);
      buffers.push_back(fb::CreateBuffer(b, data));
    }
    std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
    for (const SynthTensor& t : tensors_) {
      flatbuffers::Offset<fb::QuantizationParameters> q = 0;
      if (!t.scale.empty() || !t.zero_point.empty())
        q = fb::CreateQuantizationParameters(b, 0, 0, b.CreateVector(t.scale),
                                             b.CreateVector(t.zero_point),
                                             fb::QuantizationDetails::NONE, 0,
                                             t.quantized_dimension);
      tensors.push_back(fb::CreateTensor(b, b.CreateVector(t.shape), t.type, t.buffer,
                                         b.CreateString(t.name), q, t.is_variable));
    }
    std::vector<flatbuffers::Offset<fb::OperatorCode>> codes;
    std::vector<flatbuffers::Offset<fb::Operator>> ops;
    for (size_t k = 0; k < ops_.size(); ++k) {
      const SynthOp& op = ops_[k];
      const auto deprecated = static_cast<int8_t>(op.deprecated_code < 0 ? 0 : op.deprecated_code);
      const auto builtin = static_cast<fb::BuiltinOperator>(op.builtin_code < 0 ? 0 : op.builtin_code);
      codes.push_back(fb::CreateOperatorCode(
          b, deprecated, op.custom_code.empty() ? 0 : b.CreateString(op.custom_code), 1, builtin));
      ops.push_back(fb::CreateOperator(b, static_cast<uint32_t>(k), b.CreateVector(op.inputs),
                                       b.CreateVector(op.outputs), op.options_type,
                                       op.options ? op.options(b) : 0));
    }
    std::vector<flatbuffers::Offset<fb::SubGraph>> subgraphs;
    if (extra_subgraphs >= 0)
      subgraphs.push_back(fb::CreateSubGraph(b, b.CreateVector(tensors), b.CreateVector(inputs),
                                           b.CreateVector(outputs), b.CreateVector(ops),
                                           b.CreateString("main")));
    for (int i = 0; i < extra_subgraphs; ++i) subgraphs.push_back(fb::CreateSubGraph(b));
    auto model = fb::CreateModel(b, version, b.CreateVector(codes), b.CreateVector(subgraphs),
                                 b.CreateString("synthetic"), b.CreateVector(buffers));
    fb::FinishModelBuffer(b, model);
    return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
  }

 private:
  std::vector<std::vector<uint8_t>> buffers_;
  std::vector<SynthTensor> tensors_;
  std::vector<SynthOp> ops_;
};

// An op with a builtin code, written as converters write it: both code fields below 127,
// the byte field saturated at 127 (PLACEHOLDER_FOR_GREATER_OP_CODES) above.
inline SynthOp builtin(fb::BuiltinOperator code, std::vector<int32_t> inputs,
                       std::vector<int32_t> outputs) {
  SynthOp op;
  op.builtin_code = static_cast<int32_t>(code);
  op.deprecated_code = op.builtin_code < 127 ? op.builtin_code : 127;
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  return op;
}

}  // namespace frugal::testing
