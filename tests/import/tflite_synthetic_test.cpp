// Models written in the test with the flatbuffers builder: attribute mapping of valid models,
// and one clear ir::Error per kind of malformed or unsupported model.
#include <gtest/gtest.h>

#include "import/tflite/tflite_importer.h"
#include "model_files.h"
#include "synthetic_model.h"

namespace frugal::import {
namespace {

using frugal::testing::SynthModel;
using frugal::testing::SynthOp;
using frugal::testing::SynthTensor;
using frugal::testing::builtin;
namespace fb = frugal::tflite_schema;

std::string import_error(const std::vector<uint8_t>& bytes, const std::string& name = "synth") {
  try {
    import_tflite_buffer(bytes, name);
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_IMPORT_ERROR(bytes, substring)                                 \
  do {                                                                        \
    const std::string message = import_error(bytes);                          \
    EXPECT_NE(message, "") << "expected an error containing: " << substring;   \
    EXPECT_NE(message.find(substring), std::string::npos) << message;         \
    EXPECT_EQ(message.rfind("synth: ", 0), 0u) << message;                    \
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;              \
  } while (0)

// x [1,4,4,2] -> CONV 3x3 2->3 VALID RELU6 -> c [1,2,2,3] -> RESHAPE -> r [1,12]
//   -> FULLY_CONNECTED 12->2 -> y [1,2] -> SOFTMAX -> p [1,2]
struct ConvModel {
  SynthModel m;
  int32_t x, w, b, c, shape, r, fw, fbias, y, p;

  ConvModel() {
    x = m.activation("x", {1, 4, 4, 2}, 0.5f, -3);
    w = m.add_tensor({"w", fb::TensorType::INT8, {3, 3, 3, 2}, {0.25f, 0.5f, 0.125f}, {0, 0, 0},
                      0, m.add_buffer(std::vector<uint8_t>(54, 1)), false});
    b = m.add_tensor({"b", fb::TensorType::INT32, {3}, {0.125f, 0.25f, 0.0625f}, {0, 0, 0}, 0,
                      m.add_buffer_of(std::vector<int32_t>{7, -8, 9}), false});
    c = m.activation("c", {1, 2, 2, 3}, 0.75f, -128);
    shape = m.add_tensor({"shape", fb::TensorType::INT32, {2}, {}, {}, 0,
                          m.add_buffer_of(std::vector<int32_t>{-1, 12}), false});
    r = m.activation("r", {1, 12}, 0.75f, -128);
    fw = m.add_tensor({"fw", fb::TensorType::INT8, {2, 12}, {0.5f}, {0}, 0,
                       m.add_buffer(std::vector<uint8_t>(24, 2)), false});
    fbias = m.add_tensor({"fb", fb::TensorType::INT32, {2}, {0.375f}, {0}, 0,
                          m.add_buffer_of(std::vector<int32_t>{1, 2}), false});
    y = m.activation("y", {1, 2}, 0.2f, 5);
    p = m.activation("p", {1, 2}, 1.0f / 256, -128);
    m.inputs = {x};
    m.outputs = {p};

    SynthOp conv = builtin(fb::BuiltinOperator::CONV_2D, {x, w, b}, {c});
    conv.options_type = fb::BuiltinOptions::Conv2DOptions;
    conv.options = [](flatbuffers::FlatBufferBuilder& fbb) {
      return fb::CreateConv2DOptions(fbb, fb::Padding::VALID, 1, 1,
                                     fb::ActivationFunctionType::RELU6)
          .Union();
    };
    m.add_op(conv);
    m.add_op(builtin(fb::BuiltinOperator::RESHAPE, {c, shape}, {r}));
    SynthOp fc = builtin(fb::BuiltinOperator::FULLY_CONNECTED, {r, fw, fbias}, {y});
    m.add_op(fc);
    SynthOp softmax = builtin(fb::BuiltinOperator::SOFTMAX, {y}, {p});
    softmax.options_type = fb::BuiltinOptions::SoftmaxOptions;
    softmax.options = [](flatbuffers::FlatBufferBuilder& fbb) {
      return fb::CreateSoftmaxOptions(fbb, 1.0f).Union();
    };
    m.add_op(softmax);
  }
};

TEST(SyntheticImport, ValidConvModel) {
  ConvModel model;
  const ir::Graph g = import_tflite_buffer(model.m.finish(), "conv");
  ASSERT_EQ(g.ops.size(), 4u);
  EXPECT_EQ(g.name, "conv");
  const ir::Op& conv = g.ops[0];
  EXPECT_EQ(conv.type, ir::OpType::kConv2D);
  EXPECT_EQ(conv.name, "c");
  EXPECT_EQ(conv.attrs.padding, ir::Padding::kValid);
  EXPECT_EQ(conv.attrs.activation, ir::Activation::kRelu6);
  EXPECT_EQ(conv.attrs.dilation_h, 1);  // schema default when the field is absent
  EXPECT_EQ(conv.inputs, (std::vector<int32_t>{0, 1, 2}));
  const ir::Tensor& w = g.tensor(1);
  EXPECT_TRUE(w.is_constant);
  EXPECT_EQ(w.data, std::vector<uint8_t>(54, 1));
  EXPECT_EQ(w.quant.scale, (std::vector<float>{0.25f, 0.5f, 0.125f}));
  EXPECT_EQ(g.tensor(2).data_as<int32_t>()[1], -8);
  EXPECT_FALSE(g.tensor(0).is_constant);
  EXPECT_EQ(g.tensor(0).quant.zero_point, (std::vector<int64_t>{-3}));
  EXPECT_EQ(g.ops[1].type, ir::OpType::kReshape);
  EXPECT_EQ(g.ops[2].attrs.activation, ir::Activation::kNone);  // FC without options
  EXPECT_FLOAT_EQ(g.ops[3].attrs.beta, 1.0f);
  // 2*2*3 outputs x 3*3*2 window = 216; FC 2 x 12 = 24.
  EXPECT_EQ(ir::macs(g, g.ops[0]), 216);
  EXPECT_EQ(ir::macs(g, g.ops[2]), 24);
}

TEST(SyntheticImport, OperatorCodeFields) {
  // Old files: only the byte field. Codes >= 127: byte field 127, real code in the int field.
  {
    ConvModel model;
    model.m.op(2).builtin_code = -1;
    EXPECT_EQ(import_tflite_buffer(model.m.finish(), "old").ops[2].type,
              ir::OpType::kFullyConnected);
  }
  {
    ConvModel model;
    model.m.op(2).deprecated_code = -1;
    EXPECT_EQ(import_tflite_buffer(model.m.finish(), "new").ops[2].type,
              ir::OpType::kFullyConnected);
  }
  {
    ConvModel model;
    model.m.op(2).builtin_code = static_cast<int32_t>(fb::BuiltinOperator::GELU);
    model.m.op(2).deprecated_code = 127;
    EXPECT_IMPORT_ERROR(model.m.finish(), "operator 2 ('y') is GELU, which frugal does not "
                                          "support (supported: CONV_2D, DEPTHWISE_CONV_2D");
  }
  {
    ConvModel model;
    model.m.op(2).builtin_code = 1000;
    model.m.op(2).deprecated_code = 127;
    EXPECT_IMPORT_ERROR(model.m.finish(), "operator 2 ('y') is builtin operator code 1000");
  }
}

TEST(SyntheticImport, ExtraSubgraphsAreIgnored) {
  ConvModel model;
  model.m.extra_subgraphs = 2;
  EXPECT_EQ(import_tflite_buffer(model.m.finish(), "multi").ops.size(), 4u);
}

TEST(SyntheticImport, DuplicateOutputNamesGiveUniqueOpNames) {
  ConvModel model;
  model.m.tensor(model.y).name = "c";
  const ir::Graph g = import_tflite_buffer(model.m.finish(), "dup");
  EXPECT_EQ(g.ops[0].name, "c");
  EXPECT_EQ(g.ops[2].name, "c_1");
}

TEST(SyntheticImport, ReshapeFillsAnEmptyOutputShapeFromOptions) {
  ConvModel model;
  model.m.tensor(model.r).shape = {};
  model.m.op(1).inputs = {model.c};
  model.m.op(1).options_type = fb::BuiltinOptions::ReshapeOptions;
  model.m.op(1).options = [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateReshapeOptions(fbb, fbb.CreateVector(std::vector<int32_t>{1, -1})).Union();
  };
  const ir::Graph g = import_tflite_buffer(model.m.finish(), "reshape");
  EXPECT_EQ(g.tensor(model.r).shape, (std::vector<int32_t>{1, 12}));
  EXPECT_EQ(g.ops[1].inputs.size(), 1u);
}

// x [1,3,3,2] -> PAD (int64 paddings) -> [1,5,4,2] -> MEAN over (1,2) keep_dims -> [1,1,1,2]
// -> CONCATENATION with z [1,1,1,3] on axis -1 -> [1,1,1,5]
TEST(SyntheticImport, PadMeanConcatenationWithInt64Operands) {
  SynthModel m;
  const int32_t x = m.activation("x", {1, 3, 3, 2});
  const int32_t pads = m.add_tensor(
      {"pads", fb::TensorType::INT64, {4, 2}, {}, {}, 0,
       m.add_buffer_of(std::vector<int64_t>{0, 0, 1, 1, 0, 2, 0, 0}), false});
  const int32_t padded = m.activation("padded", {1, 5, 5, 2});
  const int32_t axes = m.add_tensor({"axes", fb::TensorType::INT64, {2}, {}, {}, 0,
                                     m.add_buffer_of(std::vector<int64_t>{1, 2}), false});
  const int32_t mean = m.activation("mean", {1, 1, 1, 2});
  const int32_t z = m.activation("z", {1, 1, 1, 3});
  const int32_t cat = m.activation("cat", {1, 1, 1, 5});
  m.inputs = {x, z};
  m.outputs = {cat};
  m.add_op(builtin(fb::BuiltinOperator::PAD, {x, pads}, {padded}));
  SynthOp reduce = builtin(fb::BuiltinOperator::MEAN, {padded, axes}, {mean});
  reduce.options_type = fb::BuiltinOptions::ReducerOptions;
  reduce.options = [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateReducerOptions(fbb, true).Union();
  };
  m.add_op(reduce);
  SynthOp concat = builtin(fb::BuiltinOperator::CONCATENATION, {mean, z}, {cat});
  concat.options_type = fb::BuiltinOptions::ConcatenationOptions;
  concat.options = [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateConcatenationOptions(fbb, -1).Union();
  };
  m.add_op(concat);

  // Padded width 3 + 0 + 2 = 5.
  const ir::Graph g = import_tflite_buffer(m.finish(), "pmc");
  EXPECT_EQ(g.tensor(pads).type, ir::DataType::kInt32);
  EXPECT_EQ(g.tensor(pads).data_as<int32_t>()[5], 2);
  EXPECT_EQ(g.tensor(axes).type, ir::DataType::kInt32);
  EXPECT_EQ(g.tensor(axes).data_as<int32_t>()[1], 2);
  EXPECT_TRUE(g.ops[1].attrs.keep_dims);
  EXPECT_EQ(g.ops[2].attrs.axis, -1);
}

TEST(SyntheticImport, DepthMultiplierComesFromTheShapes) {
  SynthModel m;
  const int32_t x = m.activation("x", {1, 3, 3, 2});
  const int32_t w = m.add_tensor({"w", fb::TensorType::INT8, {1, 3, 3, 6}, {0.5f}, {0}, 3,
                                  m.add_buffer(std::vector<uint8_t>(54, 3)), false});
  const int32_t y = m.activation("y", {1, 3, 3, 6});
  m.inputs = {x};
  m.outputs = {y};
  SynthOp dw = builtin(fb::BuiltinOperator::DEPTHWISE_CONV_2D, {x, w, -1}, {y});
  dw.options_type = fb::BuiltinOptions::DepthwiseConv2DOptions;
  dw.options = [](flatbuffers::FlatBufferBuilder& fbb) {
    // depth_multiplier 0: a stale value, as some converters write it.
    return fb::CreateDepthwiseConv2DOptions(fbb, fb::Padding::SAME, 1, 1, 0).Union();
  };
  m.add_op(dw);
  const ir::Graph g = import_tflite_buffer(m.finish(), "dw");
  EXPECT_EQ(g.ops[0].attrs.depth_multiplier, 3);
  EXPECT_EQ(g.ops[0].inputs[2], -1);
  EXPECT_EQ(ir::macs(g, g.ops[0]), 3 * 3 * 6 * 9);
}

// --- errors ----------------------------------------------------------------------------------

TEST(SyntheticErrors, BufferIndexOutOfRange) {
  ConvModel model;
  model.m.tensor(model.w).buffer = 99;
  EXPECT_IMPORT_ERROR(model.m.finish(),
                      "tensor 1 'w' refers to buffer 99, out of range (model has 6 buffers)");
}

TEST(SyntheticErrors, BufferSizeMustMatchTheShape) {
  ConvModel model;
  model.m.tensor(model.w).shape = {3, 3, 3, 3};
  EXPECT_IMPORT_ERROR(model.m.finish(), "tensor 1 'w' has buffer 1 of 54 bytes, but shape "
                                        "[3,3,3,3] of int8 needs 81 bytes");
}

TEST(SyntheticErrors, TensorIndexOutOfRange) {
  ConvModel model;
  model.m.op(0).inputs[1] = 57;
  EXPECT_IMPORT_ERROR(model.m.finish(), "op 0 'c' (CONV_2D): input 1 refers to tensor 57, out "
                                        "of range (subgraph has 10 tensors)");
  ConvModel outputs;
  outputs.m.op(3).outputs[0] = -1;
  EXPECT_IMPORT_ERROR(outputs.m.finish(), "output 0 refers to tensor -1");
  ConvModel graph_input;
  graph_input.m.inputs = {42};
  EXPECT_IMPORT_ERROR(graph_input.m.finish(),
                      "graph input 0 refers to tensor 42, out of range (subgraph has 10 tensors)");
}

TEST(SyntheticErrors, UnsupportedOperator) {
  ConvModel model;
  model.m.op(3) = builtin(fb::BuiltinOperator::TANH, {model.y}, {model.p});
  EXPECT_IMPORT_ERROR(model.m.finish(),
                      "operator 3 ('p') is TANH, which frugal does not support (supported: "
                      "CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, AVERAGE_POOL_2D, "
                      "MAX_POOL_2D, RESHAPE, SOFTMAX, QUANTIZE, DEQUANTIZE, PAD, MEAN, "
                      "CONCATENATION)");
}

TEST(SyntheticErrors, CustomOperator) {
  ConvModel model;
  SynthOp custom = builtin(fb::BuiltinOperator::CUSTOM, {model.y}, {model.p});
  custom.custom_code = "MyFancyOp";
  model.m.op(3) = custom;
  EXPECT_IMPORT_ERROR(model.m.finish(), "operator 3 ('p') is the custom operator 'MyFancyOp'");
}

TEST(SyntheticErrors, ControlFlow) {
  ConvModel model;
  model.m.op(3) = builtin(fb::BuiltinOperator::WHILE, {model.y}, {model.p});
  model.m.extra_subgraphs = 2;
  EXPECT_IMPORT_ERROR(model.m.finish(), "operator 3 ('p') is the control-flow operator WHILE");
}

TEST(SyntheticErrors, Int16Activations) {
  ConvModel model;
  model.m.tensor(model.r).type = fb::TensorType::INT16;
  EXPECT_IMPORT_ERROR(model.m.finish(),
                      "op 1 'r' (RESHAPE): output 'r' must be int8, got int16");
  ConvModel fc;
  fc.m.tensor(fc.y).type = fb::TensorType::INT16;
  EXPECT_IMPORT_ERROR(fc.m.finish(),
                      "op 2 'y' (FULLY_CONNECTED): output 'y' must be int8, got int16");
}

TEST(SyntheticErrors, TensorTypeOutsideTheIr) {
  ConvModel model;
  model.m.tensor(model.fw).type = fb::TensorType::FLOAT16;
  EXPECT_IMPORT_ERROR(model.m.finish(), "tensor 6 'fw' has type FLOAT16, which frugal does not "
                                        "support (used by op 2 'y' (FULLY_CONNECTED))");
}

TEST(SyntheticErrors, FusedActivationOutsideTheSupportedSet) {
  ConvModel model;
  model.m.op(0).options = [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreateConv2DOptions(fbb, fb::Padding::VALID, 1, 1,
                                   fb::ActivationFunctionType::TANH)
        .Union();
  };
  EXPECT_IMPORT_ERROR(model.m.finish(),
                      "op 0 'c' (CONV_2D): fused activation TANH is not supported");
}

TEST(SyntheticErrors, OptionsOfTheWrongKindOrMissing) {
  ConvModel wrong;
  wrong.m.op(0).options_type = fb::BuiltinOptions::Pool2DOptions;
  wrong.m.op(0).options = [](flatbuffers::FlatBufferBuilder& fbb) {
    return fb::CreatePool2DOptions(fbb).Union();
  };
  EXPECT_IMPORT_ERROR(wrong.m.finish(), "op 0 'c' (CONV_2D): carries builtin options of union "
                                        "type 5, expected Conv2DOptions");
  ConvModel missing;
  missing.m.op(0).options_type = fb::BuiltinOptions::NONE;
  missing.m.op(0).options = nullptr;
  EXPECT_IMPORT_ERROR(missing.m.finish(), "op 0 'c' (CONV_2D): has no Conv2DOptions");
}

TEST(SyntheticErrors, ModelLevelProblems) {
  ConvModel version;
  version.m.version = 2;
  EXPECT_IMPORT_ERROR(version.m.finish(), "unsupported TFLite schema version 2 (expected 3)");
  ConvModel none;
  none.m.extra_subgraphs = -1;
  EXPECT_IMPORT_ERROR(none.m.finish(), "model has no subgraphs");
}

TEST(SyntheticErrors, TensorProblems) {
  ConvModel variable;
  variable.m.tensor(variable.c).is_variable = true;
  EXPECT_IMPORT_ERROR(variable.m.finish(), "tensor 3 'c' is a variable (stateful) tensor");
  ConvModel zero_points;
  zero_points.m.tensor(zero_points.x).zero_point = {0, 1};
  EXPECT_IMPORT_ERROR(zero_points.m.finish(),
                      "tensor 0 'x' has 1 quantization scales but 2 zero points");
  ConvModel dynamic;
  dynamic.m.tensor(dynamic.x).shape = {-1, 4, 4, 2};
  EXPECT_IMPORT_ERROR(dynamic.m.finish(), "tensor 0 'x' has a dynamic or negative dimension");
  // Found by fuzz_tflite_import: a product of dimensions past 2^63 overflowed (UB) before the
  // size limit was checked; each dimension alone is a valid int32.
  ConvModel huge;
  huge.m.tensor(huge.x).shape = {1769238117, 1769238117, 1769238117, 2};
  EXPECT_IMPORT_ERROR(huge.m.finish(), "tensor 'x' has too many elements (shape [1769238117,1769238117,1769238117,2])");
}

TEST(SyntheticErrors, ControlCharactersInNamesAreEscaped) {
  ConvModel model;
  model.m.tensor(model.w).name = "w\nnext line";
  model.m.tensor(model.w).buffer = 99;
  EXPECT_IMPORT_ERROR(model.m.finish(), "tensor 1 'w\\x0anext line' refers to buffer 99");
  ConvModel names;
  names.m.tensor(names.c).name = "c\n";
  EXPECT_EQ(import_tflite_buffer(names.m.finish(), "names").ops[0].name, "c\\x0a");
}

TEST(SyntheticErrors, ValidationErrorsNameTheFile) {
  ConvModel model;
  model.m.tensor(model.w).zero_point = {0, 3, 0};
  EXPECT_EQ(import_error(model.m.finish(), "model.tflite"),
            "model.tflite: op 0 'c' (CONV_2D): filter zero point must be 0, got 3");
}

}  // namespace
}  // namespace frugal::import
