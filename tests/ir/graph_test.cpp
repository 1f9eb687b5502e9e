// ir::validate, window_geometry and macs on hand-built graphs. Expected values are worked out
// by hand from TFLite's padding rules (see the comments next to each case).
#include "ir/graph.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

namespace frugal::ir {
namespace {

// --- window_geometry -------------------------------------------------------------------------

TEST(WindowGeometry, SameStride1KeepsSizeAndPadsHalfTheFilter) {
  // 3x3 on 32x32: total padding (32-1)*1 + 3 - 32 = 2, leading 1.
  const WindowGeometry g = window_geometry(Padding::kSame, 32, 32, 3, 3, 1, 1, 1, 1);
  EXPECT_EQ(g.out_h, 32);
  EXPECT_EQ(g.out_w, 32);
  EXPECT_EQ(g.pad_top, 1);
  EXPECT_EQ(g.pad_left, 1);
}

TEST(WindowGeometry, SameStride2PutsOddPaddingAtTheEnd) {
  // 3x3 stride 2 on 32: out 16, total (16-1)*2 + 3 - 32 = 1, leading 0 (the extra row goes last).
  const WindowGeometry g = window_geometry(Padding::kSame, 32, 32, 3, 3, 2, 2, 1, 1);
  EXPECT_EQ(g.out_h, 16);
  EXPECT_EQ(g.pad_top, 0);
  // 1x1 stride 2 on 32: out 16, total (15*2 + 1 - 32) < 0 -> 0.
  const WindowGeometry p = window_geometry(Padding::kSame, 32, 32, 1, 1, 2, 2, 1, 1);
  EXPECT_EQ(p.out_h, 16);
  EXPECT_EQ(p.pad_top, 0);
}

TEST(WindowGeometry, SameWithRectangularFilterAndOddInput) {
  // DS-CNN stem: 49x10 input, 10x4 filter, stride 2.
  // h: out ceil(49/2) = 25, total 24*2 + 10 - 49 = 9, leading 4.
  // w: out ceil(10/2) = 5, total 4*2 + 4 - 10 = 2, leading 1.
  const WindowGeometry g = window_geometry(Padding::kSame, 49, 10, 10, 4, 2, 2, 1, 1);
  EXPECT_EQ(g.out_h, 25);
  EXPECT_EQ(g.out_w, 5);
  EXPECT_EQ(g.pad_top, 4);
  EXPECT_EQ(g.pad_left, 1);
}

TEST(WindowGeometry, Valid) {
  // 3x3 on 32: ceil((32-3+1)/1) = 30; 2x2 stride 2 on 13: ceil(12/2) = 6.
  const WindowGeometry a = window_geometry(Padding::kValid, 32, 13, 3, 2, 1, 2, 1, 1);
  EXPECT_EQ(a.out_h, 30);
  EXPECT_EQ(a.out_w, 6);
  EXPECT_EQ(a.pad_top, 0);
  EXPECT_EQ(a.pad_left, 0);
  // Filter larger than the input: nothing fits.
  const WindowGeometry b = window_geometry(Padding::kValid, 2, 2, 3, 3, 1, 1, 1, 1);
  EXPECT_EQ(b.out_h, 0);
  EXPECT_EQ(b.out_w, 0);
}

TEST(WindowGeometry, DilationWidensTheFilter) {
  // 3x3 dilated by 2 covers 5x5. VALID on 10: 10-5+1 = 6. SAME: out 10, total 9+5-10 = 4 -> 2.
  const WindowGeometry v = window_geometry(Padding::kValid, 10, 10, 3, 3, 1, 1, 2, 2);
  EXPECT_EQ(v.out_h, 6);
  const WindowGeometry s = window_geometry(Padding::kSame, 10, 10, 3, 3, 1, 1, 2, 2);
  EXPECT_EQ(s.out_h, 10);
  EXPECT_EQ(s.pad_top, 2);
}

// --- a small valid graph ---------------------------------------------------------------------

Tensor activation(std::string name, std::vector<int32_t> shape, float scale = 0.5f,
                  int64_t zero_point = -10) {
  Tensor t;
  t.name = std::move(name);
  t.type = DataType::kInt8;
  t.shape = std::move(shape);
  t.quant.scale = {scale};
  t.quant.zero_point = {zero_point};
  return t;
}

Tensor constant(std::string name, DataType type, std::vector<int32_t> shape) {
  Tensor t;
  t.name = std::move(name);
  t.type = type;
  t.shape = std::move(shape);
  t.is_constant = true;
  t.data.assign(t.num_bytes(), 0);
  return t;
}

Tensor weights(std::string name, std::vector<int32_t> shape, size_t channels, int32_t axis) {
  Tensor t = constant(std::move(name), DataType::kInt8, std::move(shape));
  t.quant.scale.assign(channels, 0.25f);
  t.quant.zero_point.assign(channels, 0);
  t.quant.axis = axis;
  return t;
}

// Bias with scale input_scale * filter_scale = 0.5 * 0.25.
Tensor bias(std::string name, int32_t channels) {
  Tensor t = constant(std::move(name), DataType::kInt32, {channels});
  t.quant.scale.assign(static_cast<size_t>(channels), 0.125f);
  t.quant.zero_point.assign(static_cast<size_t>(channels), 0);
  return t;
}

int32_t add(Graph& g, Tensor t) {
  g.tensors.push_back(std::move(t));
  return static_cast<int32_t>(g.tensors.size() - 1);
}

// input [1,8,8,3] -> conv 3x3x4 SAME s1 -> dw 3x3 x2 VALID s1 -> maxpool 2x2 s2 -> reshape
// -> fc 8->5 -> softmax. Sizes: conv out 8x8x4; dw out 6x6x8; pool out 3x3x8 = 72; fc in 72.
Graph small_cnn() {
  Graph g;
  g.name = "small";
  const int32_t in = add(g, activation("in", {1, 8, 8, 3}));
  const int32_t cw = add(g, weights("conv_w", {4, 3, 3, 3}, 4, 0));
  const int32_t cb = add(g, bias("conv_b", 4));
  const int32_t c = add(g, activation("conv", {1, 8, 8, 4}));
  const int32_t dw = add(g, weights("dw_w", {1, 3, 3, 8}, 8, 3));
  const int32_t db = add(g, bias("dw_b", 8));
  const int32_t d = add(g, activation("dw", {1, 6, 6, 8}));
  const int32_t p = add(g, activation("pool", {1, 3, 3, 8}));
  const int32_t shape = add(g, constant("shape", DataType::kInt32, {2}));
  const int32_t r = add(g, activation("flat", {1, 72}));
  const int32_t fw = add(g, weights("fc_w", {5, 72}, 1, 0));
  const int32_t fb = add(g, bias("fc_b", 5));
  const int32_t f = add(g, activation("fc", {1, 5}));
  const int32_t s = add(g, activation("prob", {1, 5}, 1.0f / 256, -128));
  g.inputs = {in};
  g.outputs = {s};

  Op conv{OpType::kConv2D, "conv", {in, cw, cb}, {c}, {}};
  conv.attrs.padding = Padding::kSame;
  conv.attrs.activation = Activation::kRelu;
  Op depthwise{OpType::kDepthwiseConv2D, "dw", {c, dw, db}, {d}, {}};
  depthwise.attrs.depth_multiplier = 2;
  Op pool{OpType::kMaxPool2D, "pool", {d}, {p}, {}};
  pool.attrs.filter_h = pool.attrs.filter_w = 2;
  pool.attrs.stride_h = pool.attrs.stride_w = 2;
  Op reshape{OpType::kReshape, "flat", {p, shape}, {r}, {}};
  Op fc{OpType::kFullyConnected, "fc", {r, fw, fb}, {f}, {}};
  Op softmax{OpType::kSoftmax, "prob", {f}, {s}, {}};
  g.ops = {conv, depthwise, pool, reshape, fc, softmax};
  return g;
}

// Runs validate and returns its message ("" when it passes).
std::string validation_error(const Graph& g) {
  try {
    validate(g);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_INVALID(graph, substring)                                    \
  do {                                                                      \
    const std::string message = validation_error(graph);                    \
    EXPECT_NE(message, "") << "expected an error containing: " << substring; \
    EXPECT_NE(message.find(substring), std::string::npos) << message;       \
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;            \
  } while (0)

TEST(Validate, AcceptsSmallCnn) { EXPECT_EQ(validation_error(small_cnn()), ""); }

TEST(Macs, HandCountedPerOp) {
  const Graph g = small_cnn();
  // conv: 8*8*4 outputs x 3*3*3 window = 6912; dw: 6*6*8 outputs x 3*3 = 2592;
  // fc: 5 x 72 = 360; pool, reshape, softmax: 0.
  EXPECT_EQ(macs(g, g.ops[0]), 6912);
  EXPECT_EQ(macs(g, g.ops[1]), 2592);
  EXPECT_EQ(macs(g, g.ops[2]), 0);
  EXPECT_EQ(macs(g, g.ops[3]), 0);
  EXPECT_EQ(macs(g, g.ops[4]), 360);
  EXPECT_EQ(macs(g, g.ops[5]), 0);
}

TEST(Macs, ElementwiseOpsCountNothing) {
  Graph g;
  const int32_t a = add(g, activation("a", {1, 4, 4, 8}));
  const int32_t b = add(g, activation("b", {1, 4, 4, 8}));
  const int32_t o = add(g, activation("o", {1, 4, 4, 8}));
  g.inputs = {a, b};
  g.outputs = {o};
  g.ops = {Op{OpType::kMul, "mul", {a, b}, {o}, {}}};
  EXPECT_EQ(validation_error(g), "");
  EXPECT_EQ(macs(g, g.ops[0]), 0);
}

TEST(Validate, FilterZeroPointMustBeZero) {
  Graph g = small_cnn();
  g.tensors[1].quant.zero_point[2] = 5;
  const std::string message = validation_error(g);
  EXPECT_EQ(message, "op 0 'conv' (CONV_2D): filter zero point must be 0, got 5");
}

TEST(Validate, PerChannelAxisMustBeTheOutputChannel) {
  // A filter with as many input as output channels, so that both axes have a matching size
  // and only the axis rule can reject it.
  Graph conv_axis = small_cnn();
  conv_axis.tensors[0].shape = {1, 8, 8, 4};
  conv_axis.tensors[1] = weights("conv_w", {4, 3, 3, 4}, 4, 3);
  EXPECT_INVALID(conv_axis, "op 0 'conv' (CONV_2D): filter 'conv_w' is quantized per channel "
                            "along axis 3, expected axis 0");

  Graph per_tensor_dw = small_cnn();
  per_tensor_dw.tensors[4] = weights("dw_w", {1, 3, 3, 8}, 1, 0);
  EXPECT_EQ(validation_error(per_tensor_dw), "");
}

TEST(Validate, DepthwisePerChannelAlongAxis0IsRefused) {
  // Depthwise filters are [1,H,W,C]: per-channel scales along axis 0 cannot match dimension 0,
  // so the mistake surfaces as a scale count mismatch on the tensor.
  Graph g;
  const int32_t in = add(g, activation("in", {1, 4, 4, 1}));
  Tensor w = weights("w", {1, 3, 3, 2}, 2, 0);
  const int32_t wi = add(g, w);
  const int32_t out = add(g, activation("out", {1, 2, 2, 2}));
  g.inputs = {in};
  g.outputs = {out};
  Op op{OpType::kDepthwiseConv2D, "dw", {in, wi}, {out}, {}};
  op.attrs.depth_multiplier = 2;
  g.ops = {op};
  EXPECT_INVALID(g, "has 2 quantization scales but dimension 0 has size 1");
  g.tensors[1].quant.axis = 3;
  EXPECT_EQ(validation_error(g), "");
}

TEST(Validate, ActivationsMustBePerTensorInt8) {
  Graph g = small_cnn();
  g.tensors[3].quant.scale = {0.5f, 0.5f, 0.5f, 0.5f};
  g.tensors[3].quant.zero_point = {0, 0, 0, 0};
  g.tensors[3].quant.axis = 3;
  EXPECT_INVALID(g, "op 0 'conv' (CONV_2D): output 'conv' must have per-tensor quantization");

  Graph u8 = small_cnn();
  u8.tensors[0].type = DataType::kUInt8;
  EXPECT_INVALID(u8, "op 0 'conv' (CONV_2D): input 'in' must be int8, got uint8");

  Graph i16 = small_cnn();
  i16.tensors[12].type = DataType::kInt16;
  EXPECT_INVALID(i16, "op 4 'fc' (FULLY_CONNECTED): output 'fc' must be int8, got int16");

  Graph unquantized = small_cnn();
  unquantized.tensors[7].quant = {};
  EXPECT_INVALID(unquantized, "output 'pool' has no quantization parameters");
}

TEST(Validate, BiasMustBeInt32WithMatchingScale) {
  Graph g = small_cnn();
  g.tensors[2] = weights("conv_b", {4}, 4, 0);
  EXPECT_INVALID(g, "op 0 'conv' (CONV_2D): bias 'conv_b' must be int32, got int8");

  Graph scale = small_cnn();
  scale.tensors[2].quant.scale[1] = 0.3f;
  EXPECT_INVALID(scale, "bias scale 0.3 of channel 1 must equal input scale x filter scale");

  Graph count = small_cnn();
  count.tensors[11] = bias("fc_b", 6);
  EXPECT_INVALID(count, "bias 'fc_b' must have shape [5]");

  Graph no_bias = small_cnn();
  no_bias.ops[0].inputs.pop_back();
  no_bias.ops[4].inputs[2] = -1;
  EXPECT_EQ(validation_error(no_bias), "");
}

TEST(Validate, ConvShapesFollowTheAttributes) {
  Graph g = small_cnn();
  g.ops[0].attrs.padding = Padding::kValid;  // 8x8 -> 6x6, but the output says 8x8
  EXPECT_INVALID(g, "output shape [1,8,8,4] does not match the expected [1,6,6,4]");

  Graph stride = small_cnn();
  stride.ops[0].attrs.stride_w = 0;
  EXPECT_INVALID(stride, "strides must be positive");

  Graph channels = small_cnn();
  channels.tensors[0].shape = {1, 8, 8, 2};
  EXPECT_INVALID(channels, "filter 'conv_w' has 3 input channels but input 'in' has 2");

  Graph multiplier = small_cnn();
  multiplier.ops[1].attrs.depth_multiplier = 1;
  EXPECT_INVALID(multiplier, "op 1 'dw' (DEPTHWISE_CONV_2D): filter 'dw_w' has 8 channels");

  Graph too_big = small_cnn();
  too_big.tensors[1] = weights("conv_w", {4, 9, 9, 3}, 4, 0);
  too_big.ops[0].attrs.padding = Padding::kValid;
  EXPECT_INVALID(too_big, "window (dilation 1x1) does not fit the 8x8 input");
}

TEST(Validate, FullyConnectedDepthMustMatch) {
  Graph g = small_cnn();
  g.tensors[10] = weights("fc_w", {5, 71}, 1, 0);
  EXPECT_INVALID(g, "op 4 'fc' (FULLY_CONNECTED): input 'flat' shape [1,72] is not a whole "
                    "number of rows of depth 71");

  Graph rows = small_cnn();
  rows.tensors[10] = weights("fc_w", {5, 36}, 1, 0);  // 72 = 2 rows of 36 -> output [2,5]
  EXPECT_INVALID(rows, "output shape [1,5] does not match the expected [2,5]");
}

TEST(Validate, ElementwiseBroadcasting) {
  Graph g;
  const int32_t a = add(g, activation("a", {1, 4, 4, 8}));
  const int32_t b = add(g, activation("b", {1, 1, 1, 8}));
  const int32_t o = add(g, activation("o", {1, 4, 4, 8}));
  g.inputs = {a, b};
  g.outputs = {o};
  g.ops = {Op{OpType::kAdd, "add", {a, b}, {o}, {}}};
  EXPECT_EQ(validation_error(g), "");
  g.tensors[1].shape = {8};  // rank-1 against rank-4 broadcasts too
  EXPECT_EQ(validation_error(g), "");
  g.tensors[1].shape = {1, 4, 1, 3};
  EXPECT_INVALID(g, "op 0 'add' (ADD): input shapes [1,4,4,8] and [1,4,1,3] are not broadcastable");
  g.tensors[1].shape = {2, 1, 1, 1};
  EXPECT_INVALID(g, "output shape [1,4,4,8] does not match the broadcast shape [2,4,4,8]");
}

TEST(Validate, SoftmaxOutputQuantization) {
  Graph g = small_cnn();
  g.tensors[13].quant.scale = {1.0f / 128};
  EXPECT_INVALID(g, "op 5 'prob' (SOFTMAX): int8 output must have scale 1/256, got 0.0078125");
  Graph zp = small_cnn();
  zp.tensors[13].quant.zero_point = {0};
  EXPECT_INVALID(zp, "int8 output must have zero point -128, got 0");
}

TEST(Validate, QuantizeAndDequantizeTypes) {
  Graph g;
  Tensor f;
  f.name = "f";
  f.type = DataType::kFloat32;
  f.shape = {1, 4};
  const int32_t in = add(g, f);
  const int32_t q = add(g, activation("q", {1, 4}));
  const int32_t r = add(g, activation("r", {1, 4}, 0.25f, 3));
  Tensor back = f;
  back.name = "back";
  const int32_t d = add(g, back);
  g.inputs = {in};
  g.outputs = {d};
  g.ops = {Op{OpType::kQuantize, "q", {in}, {q}, {}}, Op{OpType::kQuantize, "r", {q}, {r}, {}},
           Op{OpType::kDequantize, "back", {r}, {d}, {}}};
  EXPECT_EQ(validation_error(g), "");

  Graph i16 = g;
  i16.tensors[0].type = DataType::kInt16;
  EXPECT_INVALID(i16, "op 0 'q' (QUANTIZE): input 'f' must be float32 or int8, got int16");

  Graph to_int8 = g;
  to_int8.tensors[3] = activation("back", {1, 4});
  EXPECT_INVALID(to_int8, "op 2 'back' (DEQUANTIZE): output 'back' must be float32, got int8");
}

TEST(Validate, TopologicalOrderAndIndices) {
  Graph g = small_cnn();
  std::swap(g.ops[1], g.ops[2]);
  EXPECT_INVALID(g, "op 1 'pool' (MAX_POOL_2D): input 0 'dw' is not a constant, not a graph "
                    "input and not produced by an earlier op");

  Graph range = small_cnn();
  range.ops[2].inputs[0] = 99;
  EXPECT_INVALID(range, "op 2 'pool' (MAX_POOL_2D): input 0 refers to tensor 99, out of range "
                        "(graph has 14 tensors)");

  Graph out_range = small_cnn();
  out_range.outputs = {-3};
  EXPECT_INVALID(out_range, "graph output 0 refers to tensor -3, out of range");

  Graph twice = small_cnn();
  twice.ops[1].outputs = {3};
  EXPECT_INVALID(twice, "output 0 'conv' is already produced by an earlier op");

  Graph never = small_cnn();
  never.ops.pop_back();
  EXPECT_INVALID(never, "graph output 'prob' is never produced");

  Graph names = small_cnn();
  names.ops[2].name = "conv";
  EXPECT_INVALID(names, "op 2 'conv' (MAX_POOL_2D): op name is not unique");
}

TEST(Validate, OperandCounts) {
  Graph g = small_cnn();
  g.ops[0].outputs.push_back(6);
  EXPECT_INVALID(g, "op 0 'conv' (CONV_2D): expects 1 output, got 2");
  Graph few = small_cnn();
  few.ops[0].inputs.resize(1);
  EXPECT_INVALID(few, "op 0 'conv' (CONV_2D): expects 2 to 3 inputs, got 1");
  Graph missing = small_cnn();
  missing.ops[0].inputs[1] = -1;
  EXPECT_INVALID(missing, "required input 1 is missing");
}

TEST(Validate, ConstantData) {
  Graph g = small_cnn();
  g.tensors[1].data.pop_back();
  EXPECT_INVALID(g, "tensor 1 'conv_w': holds 107 bytes of data, shape [4,3,3,3] of int8 needs 108");
  Graph not_const = small_cnn();
  not_const.tensors[1].is_constant = false;
  not_const.tensors[1].data.clear();
  EXPECT_INVALID(not_const, "input 1 'conv_w' is not a constant, not a graph input");
  // A filter fed as a graph input is well-formed data flow, but frugal needs weights at
  // compile time.
  not_const.inputs.push_back(1);
  EXPECT_INVALID(not_const, "filter 'conv_w' must be a constant tensor");
}

TEST(Validate, PoolsAndReshapeKeepQuantization) {
  Graph g = small_cnn();
  g.tensors[7].quant.zero_point = {0};
  EXPECT_INVALID(g, "op 2 'pool' (MAX_POOL_2D): input 'dw' (scale 0.5, zero point -10) and "
                    "output 'pool' (scale 0.5, zero point 0) must share quantization");
  Graph elements = small_cnn();
  elements.tensors[9].shape = {1, 70};
  EXPECT_INVALID(elements, "op 3 'flat' (RESHAPE): input shape [1,3,3,8] and output shape "
                           "[1,70] have different element counts");
}

Tensor int32_constant(std::string name, std::vector<int32_t> shape, std::vector<int32_t> values) {
  Tensor t = constant(std::move(name), DataType::kInt32, std::move(shape));
  std::memcpy(t.data.data(), values.data(), values.size() * sizeof(int32_t));
  return t;
}

TEST(Validate, PadMeanConcatenation) {
  Graph g;
  const int32_t in = add(g, activation("in", {1, 4, 4, 2}));
  const int32_t pads = add(g, int32_constant("pads", {4, 2}, {0, 0, 1, 2, 0, 1, 0, 0}));
  const int32_t padded = add(g, activation("padded", {1, 7, 5, 2}));
  const int32_t axes = add(g, int32_constant("axes", {2}, {1, -2}));
  const int32_t mean = add(g, activation("mean", {1, 1, 1, 2}));
  const int32_t other = add(g, activation("other", {1, 1, 1, 3}));
  const int32_t cat = add(g, activation("cat", {1, 1, 1, 5}));
  g.inputs = {in, other};
  g.outputs = {cat};
  Op pad{OpType::kPad, "padded", {in, pads}, {padded}, {}};
  Op reduce{OpType::kMean, "mean", {padded, axes}, {mean}, {}};
  reduce.attrs.keep_dims = true;
  Op concat{OpType::kConcatenation, "cat", {mean, other}, {cat}, {}};
  concat.attrs.axis = -1;
  g.ops = {pad, reduce, concat};
  EXPECT_EQ(validation_error(g), "");

  Graph bad_pad = g;
  bad_pad.tensors[2].shape = {1, 7, 6, 2};
  EXPECT_INVALID(bad_pad, "op 0 'padded' (PAD): output shape [1,7,6,2] does not match the padded "
                          "shape [1,7,5,2]");

  Graph drop = g;
  drop.ops[1].attrs.keep_dims = false;
  EXPECT_INVALID(drop, "op 1 'mean' (MEAN): output shape [1,1,1,2] does not match the reduced "
                       "shape [1,2]");

  Graph axis = g;
  axis.tensors[3] = int32_constant("axes", {2}, {1, 4});
  EXPECT_INVALID(axis, "axis 4 out of range");

  Graph cat_sum = g;
  cat_sum.tensors[6].shape = {1, 1, 1, 6};
  EXPECT_INVALID(cat_sum, "op 2 'cat' (CONCATENATION): inputs sum to 5 along axis 3 but the "
                          "output has 6");

  Graph cat_quant = g;
  cat_quant.tensors[5].quant.scale = {0.1f};
  EXPECT_INVALID(cat_quant, "op 2 'cat' (CONCATENATION): input 'other' (scale 0.1, zero point "
                            "-10) and output 'cat' (scale 0.5, zero point -10) must share "
                            "quantization");

  Graph cat_relu = g;
  cat_relu.ops[2].attrs.activation = Activation::kRelu;
  EXPECT_INVALID(cat_relu, "op 2 'cat' (CONCATENATION): fused activation RELU is not supported");

  // MEAN requantizes, so its output may differ from its input.
  Graph mean_quant = g;
  mean_quant.tensors[4].quant.scale = {0.1f};
  mean_quant.tensors[6].quant.scale = {0.1f};
  mean_quant.tensors[5].quant.scale = {0.1f};
  EXPECT_EQ(validation_error(mean_quant), "");
}

TEST(Validate, ConstantGraphInputIsRefused) {
  Graph g = small_cnn();
  g.inputs.push_back(1);
  EXPECT_INVALID(g, "graph input 'conv_w' is a constant tensor");
}

TEST(Validate, TensorsMustFitInt32Offsets) {
  Graph g = small_cnn();
  g.tensors[13].shape = {65536, 32768};  // 2^31 elements
  EXPECT_INVALID(g, "tensor 13 'prob': shape [65536,32768] has 2147483648 elements");
}

TEST(Tensor, ElementCountOverflowIsAnError) {
  Tensor t = activation("huge", {1 << 30, 1 << 30, 1 << 30});
  EXPECT_THROW(t.num_elements(), Error);
  Tensor scalar = activation("scalar", {});
  EXPECT_EQ(scalar.num_elements(), 1);
}

}  // namespace
}  // namespace frugal::ir
