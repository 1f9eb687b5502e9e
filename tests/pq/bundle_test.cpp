// Bundles: decoding of both layouts, encoding checks, storage accounting, write/read round trips
// and damaged files.
//
// Expected weights and byte counts are worked out by hand in the comments. Damaged files are
// built with the generated flatbuffers API (RawBundle below), not with write_bundle, so the
// reader is tested against files its own writer would never produce.
#include "pq/bundle.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "import/tflite/tflite_importer.h"
#include "pq/bundle_generated.h"
#include "pq/compact.h"

namespace frugal::pq {
namespace {

namespace fb = frugal::bundle_schema;
using ir::DataType;
using ir::OpType;
using ir::PqLayout;

const std::filesystem::path kKwsModel = std::filesystem::path(FRUGAL_SOURCE_DIR) / "fixtures" /
                                        "data" / "mlperf_tiny" / "keyword_spotting" /
                                        "kws_ref_model_int8.tflite";

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// --- building blocks ---------------------------------------------------------------------

Codebook make_codebook(CodebookKind kind, int32_t d, int32_t k, std::vector<int8_t> words) {
  Codebook c;
  c.kind = kind;
  c.subvector = d;
  c.codewords = k;
  c.words = std::move(words);
  return c;
}

// d = 2, K = 3: w0 = {1, 2}, w1 = {-3, 4}, w2 = {5, -6}.
Codebook small_codebook(CodebookKind kind = CodebookKind::kRow) {
  return make_codebook(kind, 2, 3, {1, 2, -3, 4, 5, -6});
}

ir::Tensor encoded(std::vector<int32_t> shape, PqLayout layout, int32_t d,
                   std::vector<uint16_t> indices, int32_t codebook = 0) {
  ir::Tensor t;
  t.name = "w";
  t.type = DataType::kInt8;
  t.shape = std::move(shape);
  t.is_constant = true;
  t.pq = ir::PqEncoding{codebook, layout, d, std::move(indices)};
  return t;
}

ir::Tensor activation(std::string name, std::vector<int32_t> shape, float scale,
                      int64_t zero_point) {
  ir::Tensor t;
  t.name = std::move(name);
  t.type = DataType::kInt8;
  t.shape = std::move(shape);
  t.quant.scale = {scale};
  t.quant.zero_point = {zero_point};
  return t;
}

// int8 symmetric weights quantized per channel along `axis`; data is filled in by the caller.
ir::Tensor filter(std::string name, std::vector<int32_t> shape, std::vector<float> scales,
                  int32_t axis = 0) {
  ir::Tensor t;
  t.name = std::move(name);
  t.type = DataType::kInt8;
  t.shape = std::move(shape);
  t.quant.zero_point.assign(scales.size(), 0);
  t.quant.scale = std::move(scales);
  t.quant.axis = axis;
  t.is_constant = true;
  return t;
}

template <typename T>
ir::Tensor constant(std::string name, DataType type, const std::vector<T>& values,
                    std::vector<float> scales = {}) {
  ir::Tensor t;
  t.name = std::move(name);
  t.type = type;
  t.shape = {static_cast<int32_t>(values.size())};
  t.is_constant = true;
  t.data.resize(values.size() * sizeof(T));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  if (!scales.empty()) {
    t.quant.zero_point.assign(scales.size(), 0);
    t.quant.scale = std::move(scales);
  }
  return t;
}

std::vector<int8_t> as_int8(const std::vector<uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

// The two layouts exactly as graph.h words them, written out independently of pq::decode.
std::vector<uint8_t> reference_decode(const ir::Tensor& t, const Codebook& codebook) {
  const ir::PqEncoding& pq = *t.pq;
  const auto d = static_cast<size_t>(pq.subvector);
  std::vector<uint8_t> out(static_cast<size_t>(t.num_elements()));
  const auto word = [&](size_t index, size_t j) {
    return static_cast<uint8_t>(codebook.words[pq.indices[index] * d + j]);
  };
  const auto O = static_cast<size_t>(t.shape[0]);
  if (pq.layout == PqLayout::kKernel) {
    const auto kh = static_cast<size_t>(t.shape[1]), kw = static_cast<size_t>(t.shape[2]),
               I = static_cast<size_t>(t.shape[3]);
    for (size_t o = 0; o < O; ++o)
      for (size_t i = 0; i < I; ++i)
        for (size_t y = 0; y < kh; ++y)
          for (size_t x = 0; x < kw; ++x)
            out[((o * kh + y) * kw + x) * I + i] = word(o * I + i, y * kw + x);
  } else {
    const size_t L = out.size() / O, groups = L / d;
    for (size_t o = 0; o < O; ++o)
      for (size_t g = 0; g < groups; ++g)
        for (size_t j = 0; j < d; ++j) out[o * L + g * d + j] = word(o * groups + g, j);
  }
  return out;
}

// --- the hand-built model ----------------------------------------------------------------

// Codebook 0: 3x3 kernels, d = 9, K = 17 (8-bit indices). Codebook 1: rows, d = 4, K = 3 (4-bit).
std::vector<Codebook> tiny_codebooks() {
  std::vector<int8_t> kernel_words(17 * 9);
  for (size_t j = 0; j < kernel_words.size(); ++j)
    kernel_words[j] = static_cast<int8_t>(static_cast<int>((j * 37) % 255) - 127);
  return {make_codebook(CodebookKind::kKernel3x3, 9, 17, kernel_words),
          make_codebook(CodebookKind::kRow, 4, 3, {1, -1, 2, -2, 3, -3, 4, -4, 127, -128, 0, 5})};
}

// input [1,4,4,2] -> CONV_2D 3x3 VALID, 3 outputs, filter encoded with codebook 0 (kernel layout)
// -> RESHAPE to [1,12] -> FULLY_CONNECTED to 2 units, weights [2,12] encoded with codebook 1
// (row layout, 3 sub-vectors of 4 per row) unless `encode_fc` is false. Tensors:
//   0 input [1,4,4,2]          1 scale        activation
//   1 conv/filter [3,3,3,2]    3 scales       54 int8 weights, 6 indices of 8 bits
//   2 conv/bias [3]            3 scales       int32, 12 bytes
//   3 conv/out [1,2,2,3]       1 scale        activation
//   4 reshape/shape [2]        no scale       int32 (8 bytes) or int64 (16 bytes)
//   5 reshape/out [1,12]       1 scale        activation
//   6 fc/weights [2,12]        2 scales       24 int8 weights, 6 indices of 4 bits = 3 bytes
//   7 fc/bias [2]              2 scales       int32, 8 bytes
//   8 fc/out [1,2]             1 scale        activation
// RESHAPE carries a non-default value in every attribute it ignores, so that a round trip
// covers each field of OpAttributes.
ir::Graph tiny_graph(const std::vector<Codebook>& codebooks, bool encode_fc = true,
                     bool int64_shape = false) {
  ir::Graph g;
  g.name = "tiny_graph";
  g.tensors.push_back(activation("input", {1, 4, 4, 2}, 0.5f, -1));
  ir::Tensor conv_filter = filter("conv/filter", {3, 3, 3, 2}, {0.01f, 0.02f, 0.03f});
  conv_filter.pq = ir::PqEncoding{0, PqLayout::kKernel, 9, {16, 0, 5, 9, 1, 12}};
  conv_filter.data = reference_decode(conv_filter, codebooks[0]);
  g.tensors.push_back(conv_filter);
  g.tensors.push_back(
      constant<int32_t>("conv/bias", DataType::kInt32, {100, -200, 300}, {0.005f, 0.01f, 0.015f}));
  g.tensors.push_back(activation("conv/out", {1, 2, 2, 3}, 0.25f, 3));
  if (int64_shape)
    g.tensors.push_back(constant<int64_t>("reshape/shape", DataType::kInt64, {1, 12}));
  else
    g.tensors.push_back(constant<int32_t>("reshape/shape", DataType::kInt32, {1, 12}));
  g.tensors.push_back(activation("reshape/out", {1, 12}, 0.25f, 3));
  ir::Tensor fc_weights = filter("fc/weights", {2, 12}, {0.04f, 0.05f});
  fc_weights.pq = ir::PqEncoding{1, PqLayout::kRow, 4, {2, 0, 1, 1, 2, 0}};
  fc_weights.data = reference_decode(fc_weights, codebooks[1]);
  if (!encode_fc) fc_weights.pq.reset();
  g.tensors.push_back(fc_weights);
  g.tensors.push_back(constant<int32_t>("fc/bias", DataType::kInt32, {-7, 7}, {0.01f, 0.0125f}));
  g.tensors.push_back(activation("fc/out", {1, 2}, 0.1f, 0));

  ir::Op conv{OpType::kConv2D, "conv", {0, 1, 2}, {3}, {}};
  conv.attrs.activation = ir::Activation::kRelu;
  ir::Op reshape{OpType::kReshape, "reshape", {3, 4}, {5}, {}};
  ir::OpAttributes& r = reshape.attrs;
  r.padding = ir::Padding::kSame;
  r.stride_h = 2;
  r.stride_w = 3;
  r.dilation_h = 4;
  r.dilation_w = 5;
  r.depth_multiplier = 6;
  r.filter_h = 7;
  r.filter_w = 8;
  r.activation = ir::Activation::kRelu6;
  r.keep_num_dims = true;
  r.beta = 0.75f;
  r.axis = -1;
  r.keep_dims = true;
  ir::Op fc{OpType::kFullyConnected, "fc", {5, 6, 7}, {8}, {}};
  fc.attrs.activation = ir::Activation::kReluN1To1;
  g.ops = {conv, reshape, fc};
  g.inputs = {0};
  g.outputs = {8};
  return g;
}

Bundle tiny_bundle() {
  Bundle b;
  b.codebooks = tiny_codebooks();
  b.models.push_back({"tiny", "hand-built", tiny_graph(b.codebooks)});
  return b;
}

// --- comparing graphs field by field -------------------------------------------------------

void expect_same_graph(const ir::Graph& a, const ir::Graph& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const ir::Tensor& x = a.tensors[i];
    const ir::Tensor& y = b.tensors[i];
    SCOPED_TRACE("tensor " + std::to_string(i) + " '" + x.name + "'");
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.shape, y.shape);
    EXPECT_EQ(x.quant.scale, y.quant.scale);  // exact: scales must survive bit for bit
    EXPECT_EQ(x.quant.zero_point, y.quant.zero_point);
    EXPECT_EQ(x.quant.axis, y.quant.axis);
    EXPECT_EQ(x.is_constant, y.is_constant);
    EXPECT_EQ(x.data, y.data);
    ASSERT_EQ(x.pq.has_value(), y.pq.has_value());
    if (x.pq) {
      EXPECT_EQ(x.pq->codebook, y.pq->codebook);
      EXPECT_EQ(x.pq->layout, y.pq->layout);
      EXPECT_EQ(x.pq->subvector, y.pq->subvector);
      EXPECT_EQ(x.pq->indices, y.pq->indices);
    }
  }
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t k = 0; k < a.ops.size(); ++k) {
    const ir::Op& x = a.ops[k];
    const ir::Op& y = b.ops[k];
    SCOPED_TRACE("op " + std::to_string(k) + " '" + x.name + "'");
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.outputs, y.outputs);
    EXPECT_EQ(x.attrs.padding, y.attrs.padding);
    EXPECT_EQ(x.attrs.stride_h, y.attrs.stride_h);
    EXPECT_EQ(x.attrs.stride_w, y.attrs.stride_w);
    EXPECT_EQ(x.attrs.dilation_h, y.attrs.dilation_h);
    EXPECT_EQ(x.attrs.dilation_w, y.attrs.dilation_w);
    EXPECT_EQ(x.attrs.depth_multiplier, y.attrs.depth_multiplier);
    EXPECT_EQ(x.attrs.filter_h, y.attrs.filter_h);
    EXPECT_EQ(x.attrs.filter_w, y.attrs.filter_w);
    EXPECT_EQ(x.attrs.activation, y.attrs.activation);
    EXPECT_EQ(x.attrs.keep_num_dims, y.attrs.keep_num_dims);
    EXPECT_EQ(x.attrs.beta, y.attrs.beta);
    EXPECT_EQ(x.attrs.axis, y.attrs.axis);
    EXPECT_EQ(x.attrs.keep_dims, y.attrs.keep_dims);
  }
}

void expect_same_bundle(const Bundle& a, const Bundle& b) {
  ASSERT_EQ(a.codebooks.size(), b.codebooks.size());
  for (size_t c = 0; c < a.codebooks.size(); ++c) {
    SCOPED_TRACE("codebook " + std::to_string(c));
    EXPECT_EQ(a.codebooks[c].kind, b.codebooks[c].kind);
    EXPECT_EQ(a.codebooks[c].subvector, b.codebooks[c].subvector);
    EXPECT_EQ(a.codebooks[c].codewords, b.codebooks[c].codewords);
    EXPECT_EQ(a.codebooks[c].words, b.codebooks[c].words);
  }
  ASSERT_EQ(a.models.size(), b.models.size());
  for (size_t m = 0; m < a.models.size(); ++m) {
    SCOPED_TRACE("model '" + a.models[m].name + "'");
    EXPECT_EQ(a.models[m].name, b.models[m].name);
    EXPECT_EQ(a.models[m].source, b.models[m].source);
    expect_same_graph(a.models[m].graph, b.models[m].graph);
  }
}

std::string read_error(std::span<const uint8_t> bytes) {
  try {
    read_bundle(bytes);
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

std::string check_error(const Bundle& bundle) {
  try {
    check_encodings(bundle);
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

std::string write_error(const Bundle& bundle) {
  try {
    write_bundle(bundle);
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

// --- decode ------------------------------------------------------------------------------

TEST(PqDecode, KernelLayout) {
  // [O=2, kh=1, kw=2, I=2], d = kh*kw = 2, indices [O][I] = {{2, 0}, {1, 2}}. Tap x of (o, i)
  // sits at ((o*1 + 0)*2 + x)*2 + i:
  //   o=0: (0,0) = w2 = {5,-6} -> [0]=5, [2]=-6; (0,1) = w0 = {1,2} -> [1]=1, [3]=2
  //   o=1: (1,0) = w1 = {-3,4} -> [4]=-3, [6]=4; (1,1) = w2 = {5,-6} -> [5]=5, [7]=-6
  const ir::Tensor t = encoded({2, 1, 2, 2}, PqLayout::kKernel, 2, {2, 0, 1, 2});
  EXPECT_EQ(decode(t, small_codebook(CodebookKind::kKernel3x3)),
            (std::vector<int8_t>{5, 1, -6, 2, -3, 5, 4, -6}));
}

TEST(PqDecode, RowLayoutOfFullyConnectedWeights) {
  // [2,4], d = 2: row 0 = w1 w0 = -3 4 1 2, row 1 = w2 w2 = 5 -6 5 -6.
  const ir::Tensor t = encoded({2, 4}, PqLayout::kRow, 2, {1, 0, 2, 2});
  EXPECT_EQ(decode(t, small_codebook()), (std::vector<int8_t>{-3, 4, 1, 2, 5, -6, 5, -6}));
}

TEST(PqDecode, RowAndKernelLayoutsCutAConvDifferently) {
  // The same [O=1, kh=2, kw=1, I=2] filter and indices {2, 1}, d = 2.
  // Row: the stored order is one row of 4 = w2 w1 = 5 -6 -3 4.
  const ir::Tensor row = encoded({1, 2, 1, 2}, PqLayout::kRow, 2, {2, 1});
  EXPECT_EQ(decode(row, small_codebook()), (std::vector<int8_t>{5, -6, -3, 4}));
  // Kernel: (o=0, i=0) = w2 fills taps y=0,1 of channel 0 -> [0]=5, [2]=-6; (0, 1) = w1 fills
  // channel 1 -> [1]=-3, [3]=4.
  const ir::Tensor kernel = encoded({1, 2, 1, 2}, PqLayout::kKernel, 2, {2, 1});
  EXPECT_EQ(decode(kernel, small_codebook(CodebookKind::kKernel3x3)),
            (std::vector<int8_t>{5, -3, -6, 4}));
}

TEST(PqDecode, ThreeByThreeKernelWithFourBitCodebook) {
  // [O=1, 3, 3, I=2], d = 9, K = 2: (0,0) = word 1 = 10..18, (0,1) = word 0 = -1..-9. The
  // taps of channel 0 sit at even offsets, those of channel 1 at odd ones.
  Codebook c =
      make_codebook(CodebookKind::kKernel3x3, 9, 2,
                    {-1, -2, -3, -4, -5, -6, -7, -8, -9, 10, 11, 12, 13, 14, 15, 16, 17, 18});
  const ir::Tensor t = encoded({1, 3, 3, 2}, PqLayout::kKernel, 9, {1, 0});
  EXPECT_EQ(decode(t, c), (std::vector<int8_t>{10, -1, 11, -2, 12, -3, 13, -4, 14, -5, 15, -6, 16,
                                               -7, 17, -8, 18, -9}));
}

TEST(PqDecode, RefusesEncodingsThatDoNotFit) {
  auto error = [](const ir::Tensor& t, const Codebook& c) -> std::string {
    try {
      decode(t, c);
    } catch (const ir::Error& e) {
      return e.what();
    }
    return "";
  };
  const Codebook c = small_codebook();
  EXPECT_EQ(error(encoded({2, 4}, PqLayout::kRow, 2, {1, 0, 3, 2}), c),
            "tensor 'w': index 3 at position 2 is out of range for codebook 0 (K = 3)");
  EXPECT_EQ(error(encoded({2, 4}, PqLayout::kRow, 2, {1, 0, 2}), c),
            "tensor 'w': 3 indices, layout row of shape [2,4] with d = 2 needs 4");
  EXPECT_EQ(error(encoded({2, 6}, PqLayout::kRow, 3, {0, 0, 0, 0}), c),
            "tensor 'w': sub-vector length d = 3 differs from codebook 0's d = 2");
  EXPECT_EQ(
      error(encoded({2, 3}, PqLayout::kRow, 2, {0, 0, 0}), c),
      "tensor 'w': layout row needs the row length 3 of shape [2,3] to be a multiple of d = 2");
  EXPECT_EQ(error(encoded({2, 3, 3, 1}, PqLayout::kKernel, 2, {0, 0}), c),
            "tensor 'w': layout kernel needs d = kh*kw = 9 for shape [2,3,3,1], got d = 2");
  EXPECT_EQ(error(encoded({2, 4}, PqLayout::kKernel, 2, {0, 0, 0, 0}), c),
            "tensor 'w': layout kernel needs a [O,kh,kw,I] filter, got shape [2,4]");
  EXPECT_EQ(error(encoded({2, 0}, PqLayout::kRow, 2, {}), c),
            "tensor 'w': dimension 0 in shape [2,0] must be positive");
  Codebook short_words = c;
  short_words.words.pop_back();
  EXPECT_EQ(error(encoded({2, 4}, PqLayout::kRow, 2, {0, 0, 0, 0}), short_words),
            "tensor 'w': codebook 0: 5 words, expected K*d = 3*2 = 6");
  ir::Tensor plain = encoded({2, 4}, PqLayout::kRow, 2, {0, 0, 0, 0});
  plain.pq.reset();
  EXPECT_EQ(error(plain, c), "tensor 'w' is not product-quantized");
}

TEST(PqCodebookKind, Names) {
  EXPECT_EQ(to_string(CodebookKind::kKernel3x3), "kernel3x3");
  EXPECT_EQ(to_string(CodebookKind::kRow), "row");
}

// --- check_encodings ---------------------------------------------------------------------

TEST(PqCheckEncodings, AcceptsTheHandBuiltBundle) {
  const Bundle b = tiny_bundle();
  EXPECT_NO_THROW(ir::validate(b.models[0].graph));
  EXPECT_EQ(check_error(b), "");
}

TEST(PqCheckEncodings, NamesModelTensorAndRule) {
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[6].pq->indices[4] = 3;
    EXPECT_EQ(check_error(b),
              "model 'tiny': tensor 6 'fc/weights': index 3 at position 4 is out "
              "of range for codebook 1 (K = 3)");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[6].data[5] ^= 1;
    EXPECT_TRUE(contains(check_error(b),
                         "model 'tiny': tensor 6 'fc/weights': data differs from the decoding at "
                         "element 5"))
        << check_error(b);
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[6].pq->codebook = 2;
    EXPECT_EQ(check_error(b),
              "model 'tiny': tensor 6 'fc/weights': codebook 2 out of range (the "
              "bundle has 2 codebooks)");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[6].pq->codebook = 0;
    EXPECT_EQ(check_error(b),
              "model 'tiny': tensor 6 'fc/weights': codebook 0 of kind kernel3x3 serves "
              "[O,kh,kw,I] filters, not shape [2,12]");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[6].pq->subvector = 3;
    EXPECT_EQ(check_error(b),
              "model 'tiny': tensor 6 'fc/weights': sub-vector length d = 3 "
              "differs from codebook 1's d = 4");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[1].pq->indices.pop_back();
    EXPECT_EQ(check_error(b),
              "model 'tiny': tensor 1 'conv/filter': 5 indices, layout kernel of "
              "shape [3,3,3,2] with d = 9 needs 6");
  }
  {
    Bundle b = tiny_bundle();
    b.codebooks[1].words.pop_back();
    EXPECT_EQ(check_error(b), "codebook 1: 11 words, expected K*d = 3*4 = 12");
  }
  {
    Bundle b = tiny_bundle();
    b.codebooks[1].codewords = 0;
    b.codebooks[1].words.clear();
    EXPECT_EQ(check_error(b), "codebook 1: K = 0 codewords, expected 1 to 256");
  }
  {
    // The FC weights moved to the bias slot: encoded weights must be an op's filter.
    Bundle b = tiny_bundle();
    b.models[0].graph.ops[2].inputs = {5, 7, 6};
    EXPECT_EQ(check_error(b),
              "model 'tiny': tensor 6 'fc/weights': layout row is for the filter "
              "(input 1) of CONV_2D or FULLY_CONNECTED, but the tensor is input 2 "
              "of op 2 'fc' (FULLY_CONNECTED)");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.ops.pop_back();
    EXPECT_EQ(check_error(b), "model 'tiny': tensor 6 'fc/weights': is not the filter of any op");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[6].type = DataType::kUInt8;
    EXPECT_EQ(check_error(b),
              "model 'tiny': tensor 6 'fc/weights': encoded weights must be int8, got uint8");
  }
}

TEST(PqCheckEncodings, KernelLayoutOnlyForConv2D) {
  // A 3x3 depthwise filter [1,3,3,2] fits the kernel layout's shape rule but is not a CONV_2D.
  Bundle b;
  b.codebooks = tiny_codebooks();
  ir::Graph& g = b.models.emplace_back(BundleModel{"dw", "", {}}).graph;
  g.tensors.push_back(activation("in", {1, 4, 4, 2}, 0.5f, 0));
  ir::Tensor w = filter("dw/filter", {1, 3, 3, 2}, {0.1f, 0.1f}, 3);
  w.pq = ir::PqEncoding{0, PqLayout::kKernel, 9, {3, 4}};
  w.data = reference_decode(w, b.codebooks[0]);
  g.tensors.push_back(w);
  g.tensors.push_back(activation("out", {1, 2, 2, 2}, 0.5f, 0));
  g.ops.push_back({OpType::kDepthwiseConv2D, "dw", {0, 1}, {2}, {}});
  g.inputs = {0};
  g.outputs = {2};
  EXPECT_NO_THROW(ir::validate(g));
  EXPECT_EQ(check_error(b),
            "model 'dw': tensor 1 'dw/filter': layout kernel is for the filter "
            "(input 1) of CONV_2D, but the tensor is input 1 of op 0 'dw' "
            "(DEPTHWISE_CONV_2D)");
}

TEST(PqCheckEncodings, TheThreeByThreeCodebookMayCutFiltersIntoRows) {
  // compress --kernel-subvector: the conv filter [3,3,3,2] by codebook 0 (d = 9) as rows of 18,
  // two sub-vectors each: (o = 0) elements 0-8 and 9-17 in OHWI order, not the taps of a channel.
  Bundle b = tiny_bundle();
  ir::Tensor& w = b.models[0].graph.tensors[1];
  w.pq = ir::PqEncoding{0, PqLayout::kRow, 9, {16, 0, 5, 9, 1, 12}};
  w.data = reference_decode(w, b.codebooks[0]);
  const auto word = b.codebooks[0].word(0);  // second sub-vector of output 0
  EXPECT_EQ(std::vector<int8_t>(w.data_as<int8_t>() + 9, w.data_as<int8_t>() + 18),
            std::vector<int8_t>(word.begin(), word.end()));
  EXPECT_EQ(check_error(b), "");
  expect_same_bundle(b, read_bundle(write_bundle(b)));
}

// --- storage accounting ------------------------------------------------------------------

TEST(PqStorage, HandCountedBundle) {
  Bundle b;
  b.codebooks = tiny_codebooks();
  b.models.push_back({"tiny", "", tiny_graph(b.codebooks)});
  b.models.push_back({"tiny_dense", "", tiny_graph(b.codebooks, false, true)});
  const BundleStorage s = bundle_storage(b);
  ASSERT_EQ(s.models.size(), 2u);

  // Scale entries of every tensor but the two biases (table above): 4 activations at 8 bytes
  // = 32, 3 + 2 weight scales at 4 bytes (floats: 0.01, 0.02, ... have more than 12 significant
  // bits, so no codes; their zero points are 0, implied) = 20; 52 in all (72 for the int8 side).
  // "tiny": indices 6 (conv, 8-bit) + ceil(6*4/8) = 3 (fc) = 9; no unencoded int8 constants;
  // int32 constants at their fewest bytes: conv bias {100, -200, 300} 2 each = 6, shape {1, 12}
  // 1 each = 2, fc bias {-7, 7} 1 each = 2; 10 in all (28 at 4 bytes).
  const ModelStorage& tiny = s.models[0];
  EXPECT_EQ(tiny.pq.indices, 9u);
  EXPECT_EQ(tiny.pq.codebooks, 0u);
  EXPECT_EQ(tiny.pq.dense_weights, 0u);
  EXPECT_EQ(tiny.pq.biases, 10u);
  EXPECT_EQ(tiny.pq.quantization, 52u);
  EXPECT_EQ(tiny.pq.total(), 71u);
  // int8 (int32 constants at 4 bytes): 54 + 24 weights + 28 + 72 = 178. fp32: (54 + 3 + 24 + 2)
  // * 4 = 332 (the shape operand is neither a weight nor a bias).
  EXPECT_EQ(tiny.int8_bytes, 178u);
  EXPECT_EQ(tiny.fp32_bytes, 332u);
  EXPECT_EQ(tiny.weights, 78);
  EXPECT_EQ(tiny.encoded_weights, 78);

  // "tiny_dense": only the conv is encoded (6 index bytes); dense: 24 fc weights + 16 for the
  // int64 shape operand = 40; int32: 6 + 2 = 8 (12 + 8 = 20 at 4 bytes).
  const ModelStorage& dense = s.models[1];
  EXPECT_EQ(dense.pq.indices, 6u);
  EXPECT_EQ(dense.pq.dense_weights, 40u);
  EXPECT_EQ(dense.pq.biases, 8u);
  EXPECT_EQ(dense.pq.quantization, 52u);
  EXPECT_EQ(dense.pq.total(), 106u);
  EXPECT_EQ(dense.int8_bytes, 54u + 40u + 20u + 72u);
  EXPECT_EQ(dense.fp32_bytes, 332u);
  EXPECT_EQ(dense.weights, 78);
  EXPECT_EQ(dense.encoded_weights, 54);

  // Codebooks once: 17*9 + 3*4 = 165.
  EXPECT_EQ(s.total.indices, 15u);
  EXPECT_EQ(s.total.codebooks, 165u);
  EXPECT_EQ(s.total.dense_weights, 40u);
  EXPECT_EQ(s.total.biases, 18u);
  EXPECT_EQ(s.total.quantization, 104u);
  EXPECT_EQ(s.total.total(), 342u);
  EXPECT_EQ(s.int8_bytes, 364u);
  EXPECT_EQ(s.fp32_bytes, 664u);
  EXPECT_DOUBLE_EQ(s.ratio_vs_int8(), 364.0 / 342.0);
  EXPECT_DOUBLE_EQ(s.ratio_vs_fp32(), 664.0 / 342.0);
}

TEST(PqStorage, AllZeroRowsOfTheInt8Side) {
  std::vector<Codebook> codebooks = tiny_codebooks();
  ir::Graph g = tiny_graph(codebooks, false, true);  // the FC [2, 12] left int8
  EXPECT_EQ(model_storage(g, codebooks).int8_zero_row_bytes, 0u);
  ir::Tensor& fc = g.tensors[6];
  ASSERT_EQ(fc.shape, (std::vector<int32_t>{2, 12}));
  std::fill(fc.data.begin(), fc.data.begin() + 12, uint8_t{0});  // row 0 pruned
  // 12 bytes, less one byte for the 2-bit bitmap.
  EXPECT_EQ(model_storage(g, codebooks).int8_zero_row_bytes, 11u);
}

TEST(PqStorage, CompactWeightScalesCostTwoBytesEach) {
  // fc/weights' scales 0.5 and 0.375 (= 3072 * 2^-13) have 12 significant bits: 2 codes of 2
  // bytes plus 2 for the exponent = 6, where 2 floats counted 8. The int8 side still counts 16.
  Bundle b;
  b.codebooks = tiny_codebooks();
  b.models.push_back({"tiny", "", tiny_graph(b.codebooks)});
  b.models[0].graph.tensors[6].quant.scale = {0.5f, 0.375f};
  const ModelStorage s = model_storage(b.models[0].graph, b.codebooks);
  EXPECT_EQ(s.pq.quantization, 52u - 8u + 6u);
  EXPECT_EQ(s.int8_bytes, 178u);
  // A weight zero point other than 0 must be stored: 8 bytes per entry, no codes.
  b.models[0].graph.tensors[6].quant.zero_point = {0, 1};
  EXPECT_EQ(model_storage(b.models[0].graph, b.codebooks).pq.quantization, 52u - 8u + 16u);
}

TEST(PqStorage, OddFourBitIndexCountRoundsUp) {
  // 3 indices of 4 bits take 2 bytes; the same 3 under a 17-word codebook take 3.
  ir::Graph g;
  g.tensors.push_back(activation("in", {1, 6}, 0.5f, 0));
  ir::Tensor w = filter("w", {1, 6}, {0.1f});
  w.pq = ir::PqEncoding{0, PqLayout::kRow, 2, {0, 1, 2}};
  g.tensors.push_back(w);
  g.tensors.push_back(activation("out", {1, 1}, 0.5f, 0));
  g.ops.push_back({OpType::kFullyConnected, "fc", {0, 1}, {2}, {}});
  const std::vector<Codebook> four_bit = {small_codebook()};
  EXPECT_EQ(model_storage(g, four_bit).pq.indices, 2u);
  const std::vector<Codebook> eight_bit = {
      make_codebook(CodebookKind::kRow, 2, 17, std::vector<int8_t>(34, 0))};
  EXPECT_EQ(model_storage(g, eight_bit).pq.indices, 3u);
}

// --- round trips -------------------------------------------------------------------------

TEST(BundleRoundTrip, ImportedAndHandBuiltModels) {
  ASSERT_TRUE(std::filesystem::exists(kKwsModel)) << kKwsModel;
  Bundle b = tiny_bundle();
  b.models.insert(b.models.begin(),
                  BundleModel{"kws", kKwsModel.string(), import::import_tflite_file(kKwsModel)});
  const std::vector<uint8_t> bytes = write_bundle(b);
  EXPECT_TRUE(looks_like_bundle(bytes));
  const Bundle back = read_bundle(bytes);
  expect_same_bundle(b, back);
  // Writing is deterministic and reading loses nothing: the same bytes again.
  EXPECT_EQ(write_bundle(back), bytes);
}

TEST(BundleRoundTrip, EncodedWeightsStoreNoDataAndPackLowNibbleFirst) {
  const std::vector<uint8_t> bytes = write_bundle(tiny_bundle());
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  ASSERT_TRUE(fb::VerifySizePrefixedBundleBuffer(verifier));
  const fb::Bundle* root = fb::GetSizePrefixedBundle(bytes.data());
  EXPECT_EQ(root->version(), 3u);
  const auto* tensors = root->models()->Get(0)->tensors();
  const fb::Tensor* conv = tensors->Get(1);
  const fb::Tensor* fc = tensors->Get(6);
  EXPECT_EQ(conv->data(), nullptr);
  EXPECT_EQ(fc->data(), nullptr);
  // 8 bits (K = 17): one byte per index.
  EXPECT_EQ(std::vector<uint8_t>(conv->pq()->indices()->begin(), conv->pq()->indices()->end()),
            (std::vector<uint8_t>{16, 0, 5, 9, 1, 12}));
  // 4 bits (K = 3): {2,0}, {1,1}, {2,0} -> 0x02, 0x11, 0x02.
  EXPECT_EQ(std::vector<uint8_t>(fc->pq()->indices()->begin(), fc->pq()->indices()->end()),
            (std::vector<uint8_t>{0x02, 0x11, 0x02}));
  // Unencoded int32 constants keep their values in the fewest bytes: fc bias {-7, 7}, 1 each.
  EXPECT_EQ(tensors->Get(7)->data()->size(), 2u);
  EXPECT_EQ(tensors->Get(7)->element_bytes(), 1);
}

// Encodes every CONV_2D and FULLY_CONNECTED filter of the keyword-spotting model without loss:
// 1x1 convs and FC rows with d = 1 over a codebook holding all 256 int8 values, larger conv
// kernels with a kernel codebook made of exactly their own O*I kernels.
TEST(BundleRoundTrip, LosslessEncodingOfARealModel) {
  ASSERT_TRUE(std::filesystem::exists(kKwsModel)) << kKwsModel;
  const ir::Graph original = import::import_tflite_file(kKwsModel);
  Bundle b;
  std::vector<int8_t> all_values(256);
  for (int v = 0; v < 256; ++v) all_values[static_cast<size_t>(v)] = static_cast<int8_t>(v - 128);
  b.codebooks.push_back(make_codebook(CodebookKind::kRow, 1, 256, all_values));
  ir::Graph g = original;
  int64_t encoded_elements = 0, kernel_layouts = 0;
  for (const ir::Op& op : g.ops) {
    if (op.type != OpType::kConv2D && op.type != OpType::kFullyConnected) continue;
    ir::Tensor& w = g.tensor(op.inputs[1]);
    const bool big_kernel = op.type == OpType::kConv2D && w.shape[1] * w.shape[2] > 1;
    if (big_kernel) {
      const int32_t O = w.shape[0], d = w.shape[1] * w.shape[2], I = w.shape[3];
      ASSERT_LE(O * I, 256);
      Codebook c;
      c.kind = CodebookKind::kKernel3x3;
      c.subvector = d;
      c.codewords = O * I;
      ir::PqEncoding pq{static_cast<int32_t>(b.codebooks.size()), PqLayout::kKernel, d, {}};
      for (int32_t o = 0; o < O; ++o)
        for (int32_t i = 0; i < I; ++i) {
          for (int32_t t = 0; t < d; ++t)
            c.words.push_back(
                static_cast<int8_t>(w.data[static_cast<size_t>((o * d + t) * I + i)]));
          pq.indices.push_back(static_cast<uint16_t>(o * I + i));
        }
      b.codebooks.push_back(c);
      w.pq = pq;
      ++kernel_layouts;
    } else {
      ir::PqEncoding pq{0, PqLayout::kRow, 1, {}};
      for (uint8_t byte : w.data)
        pq.indices.push_back(static_cast<uint16_t>(static_cast<int8_t>(byte) + 128));
      w.pq = pq;
    }
    encoded_elements += w.num_elements();
  }
  EXPECT_EQ(kernel_layouts, 1);  // the 10x4 stem; the other 3x3 filters are depthwise
  b.models.push_back({"kws_pq", kKwsModel.string(), g});
  EXPECT_EQ(check_error(b), "");

  const Bundle back = read_bundle(write_bundle(b));
  expect_same_bundle(b, back);
  for (size_t i = 0; i < original.tensors.size(); ++i)
    EXPECT_EQ(back.models[0].graph.tensors[i].data, original.tensors[i].data) << "tensor " << i;
  const ModelStorage s = model_storage(back.models[0].graph, back.codebooks);
  EXPECT_EQ(s.encoded_weights, encoded_elements);
  EXPECT_GT(s.weights, s.encoded_weights);  // the depthwise filters stay dense

  // Rounded as compress stores it: the encoded layers' scales become codes, the depthwise
  // layers keep their floats; the file gives back the same graph.
  Bundle rounded = b;
  EXPECT_GT(round_weight_scales(rounded.models[0].graph), 0u);
  size_t coded = 0, floats = 0;
  for (const ir::Tensor& t : rounded.models[0].graph.tensors) {
    if (!t.is_constant || t.type != DataType::kInt8) continue;
    EXPECT_EQ(stored_scale_codes(t).has_value(), t.pq.has_value()) << t.name;
    (t.pq ? coded : floats) += 1;
  }
  EXPECT_EQ(coded, 6u);   // the stem, 4 pointwise convolutions, the FC
  EXPECT_EQ(floats, 4u);  // the 4 depthwise convolutions
  expect_same_bundle(rounded, read_bundle(write_bundle(rounded)));
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("frugal_bundle_test_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string file_error(const std::filesystem::path& path) {
  try {
    read_bundle_file(path);
  } catch (const ir::Error& e) {
    return e.what();
  }
  return "";
}

TEST(BundleRoundTrip, CompactScalesAndNarrowInt32Constants) {
  // fc/weights' scales as codes; int32 constants at 1 byte (shape {1, 12}), 2 (fc bias) and 3
  // (conv bias, -2^23 and 2^23 - 1 at the ends of its range).
  Bundle b = tiny_bundle();
  ir::Graph& g = b.models[0].graph;
  g.tensors[6].quant.scale = {0.5f, 0.375f};
  g.tensors[7].quant.scale = {0.125f, 0.09375f};  // input scale 0.25 x the filter's
  const std::vector<int32_t> conv_bias = {-8388608, 8388607, 300}, fc_bias = {-300, 32767};
  std::memcpy(g.tensors[2].data.data(), conv_bias.data(), 12);
  std::memcpy(g.tensors[7].data.data(), fc_bias.data(), 8);
  const std::vector<uint8_t> bytes = write_bundle(b);
  expect_same_bundle(b, read_bundle(bytes));

  // The file holds them so.
  auto stored = [](const std::vector<uint8_t>& file, size_t tensor) {
    return fb::GetSizePrefixedBundle(file.data())->models()->Get(0)->tensors()->Get(static_cast<uint32_t>(tensor));
  };
  EXPECT_EQ(stored(bytes, 2)->element_bytes(), 3);
  EXPECT_EQ(stored(bytes, 2)->data()->size(), 9u);
  EXPECT_EQ(stored(bytes, 4)->element_bytes(), 1);
  EXPECT_EQ(stored(bytes, 7)->element_bytes(), 2);
  EXPECT_EQ(stored(bytes, 6)->quantization()->scale(), nullptr);
  EXPECT_EQ(stored(bytes, 6)->quantization()->scale_codes()->size(), 2u);
  EXPECT_EQ(stored(bytes, 1)->quantization()->scale_codes(), nullptr);  // 0.01, 0.02, 0.03: floats

  // One value past 3 bytes: all at 4 (element_bytes 0, the type's own width).
  Bundle wide = b;
  const std::vector<int32_t> wider = {-8388609, 8388607, 300};
  std::memcpy(wide.models[0].graph.tensors[2].data.data(), wider.data(), 12);
  const std::vector<uint8_t> wide_bytes = write_bundle(wide);
  expect_same_bundle(wide, read_bundle(wide_bytes));
  EXPECT_EQ(stored(wide_bytes, 2)->element_bytes(), 0);
  EXPECT_EQ(stored(wide_bytes, 2)->data()->size(), 12u);
}

TEST(BundleRoundTrip, ThroughAFile) {
  TempDir dir;
  const Bundle b = tiny_bundle();
  const auto path = dir.path() / "tiny.frugal";
  const std::vector<uint8_t> bytes = write_bundle(b);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  expect_same_bundle(b, read_bundle_file(path));

  EXPECT_EQ(file_error(dir.path() / "nope.frugal"),
            (dir.path() / "nope.frugal").string() + ": cannot open bundle: no such file");
  EXPECT_EQ(file_error(dir.path()), dir.path().string() + ": cannot open bundle: is a directory");
  const auto empty = dir.path() / "empty.frugal";
  { std::ofstream create(empty); }
  EXPECT_EQ(file_error(empty), empty.string() + ": bundle: file is empty");
}

TEST(BundleRoundTrip, MisalignedInputIsCopiedNotReadInPlace) {
  const std::vector<uint8_t> bytes = write_bundle(tiny_bundle());
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
  expect_same_bundle(tiny_bundle(), read_bundle(std::span(shifted).subspan(1)));
}

TEST(BundleLooksLike, ChecksTheIdentifier) {
  EXPECT_TRUE(looks_like_bundle(write_bundle(tiny_bundle())));
  EXPECT_FALSE(looks_like_bundle({}));
  const std::vector<uint8_t> cut_header = {0, 0, 0, 0, 0, 0, 0, 0, 'F', 'R', 'G'};
  EXPECT_FALSE(looks_like_bundle(cut_header));
  std::ifstream in(kKwsModel, std::ios::binary);
  const std::vector<uint8_t> tflite((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
  ASSERT_FALSE(tflite.empty());
  EXPECT_FALSE(looks_like_bundle(tflite));
  EXPECT_EQ(read_error(tflite),
            "bundle: not a frugal bundle but a TFLite model (file identifier \"TFL3\")");
}

TEST(BundleWrite, RefusesWhatCouldNotBeReadBack) {
  {
    Bundle b = tiny_bundle();
    b.models.push_back(b.models[0]);
    EXPECT_EQ(write_error(b), "cannot write bundle: models 0 and 1 are both named 'tiny'");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].name.clear();
    EXPECT_EQ(write_error(b), "cannot write bundle: model 0 has no name");
  }
  {
    // 4-bit packing would silently truncate index 16.
    Bundle b = tiny_bundle();
    b.models[0].graph.tensors[6].pq->indices[0] = 16;
    EXPECT_EQ(write_error(b),
              "cannot write bundle: model 'tiny': tensor 6 'fc/weights': index 16 "
              "at position 0 is out of range for codebook 1 (K = 3)");
  }
  {
    Bundle b = tiny_bundle();
    b.models[0].graph.outputs = {9};
    EXPECT_EQ(write_error(b),
              "cannot write bundle: model 'tiny': graph output 0 refers to tensor "
              "9, out of range (graph has 9 tensors)");
  }
}

// --- damaged and hand-written files ------------------------------------------------------

// One FULLY_CONNECTED model written field by field with the generated API; every field can be
// set to something write_bundle would never write. The defaults form a valid bundle:
// weights [2,4] encoded in row layout with d = 2 over w0 = {1,2}, w1 = {-3,4}, w2 = {5,-6}.
struct RawBundle {
  uint32_t version = 2;
  int8_t codebook_kind = 1;  // ROW
  int32_t codebook_d = 2, codewords = 3;
  std::vector<int8_t> words = {1, 2, -3, 4, 5, -6};
  std::vector<int32_t> weight_shape = {2, 4};
  int8_t weight_type = 0;  // INT8
  bool weight_constant = true;
  bool encoded = true;
  int32_t encoding_codebook = 0;
  int8_t layout = 1;  // ROW
  int32_t encoding_d = 2;
  std::vector<uint8_t> indices = {0x21, 0x10};  // 1 2 | 0 1, low nibble first
  std::vector<uint8_t> zero_rows;               // written when not empty
  std::vector<uint8_t> weight_data;             // written when not empty
  uint8_t weight_element_bytes = 0;
  // The weights' scale as 16-bit codes when not empty (no zero points), the float 0.1 as well
  // when weight_float_scale.
  std::vector<uint16_t> weight_scale_codes;
  int32_t weight_scale_exponent = -3;
  bool weight_float_scale = true;
  int8_t op_type = 2;                           // FULLY_CONNECTED
  std::vector<int32_t> op_inputs = {0, 1}, op_outputs = {2};
  bool attributes = true;
  int8_t padding = 1, activation = 0;
  std::vector<int32_t> output_shape;  // [1, O] when empty
  std::vector<int32_t> graph_inputs = {0}, graph_outputs = {2};
  std::vector<std::string> model_names = {"m"};

  std::vector<uint8_t> bytes() const {
    flatbuffers::FlatBufferBuilder b;
    const auto codebook = fb::CreateCodebook(b, static_cast<fb::CodebookKind>(codebook_kind),
                                             codebook_d, codewords, b.CreateVector(words));
    int64_t row = 1;
    for (size_t k = 1; k < weight_shape.size(); ++k) row *= weight_shape[k];
    const int32_t units = weight_shape.empty() ? 1 : weight_shape[0];
    const std::vector<int32_t> in_shape = {1, static_cast<int32_t>(row)};
    const std::vector<int32_t> out_shape =
        output_shape.empty() ? std::vector<int32_t>{1, units} : output_shape;
    auto quant = [&](float scale) {
      return fb::CreateQuantization(b, b.CreateVector(std::vector<float>{scale}),
                                    b.CreateVector(std::vector<int64_t>{0}), 0);
    };
    auto weight_quant = [&]() {
      if (weight_scale_codes.empty()) return quant(0.1f);
      return fb::CreateQuantization(
          b, weight_float_scale ? b.CreateVector(std::vector<float>{0.1f}) : 0, 0, 0,
          weight_scale_exponent, b.CreateVector(weight_scale_codes));
    };
    std::vector<flatbuffers::Offset<fb::Model>> models;
    for (const std::string& name : model_names) {
      const auto pq =
          encoded ? fb::CreatePqEncoding(b, encoding_codebook, static_cast<fb::PqLayout>(layout),
                                         encoding_d, b.CreateVector(indices),
                                         zero_rows.empty() ? 0 : b.CreateVector(zero_rows))
                  : 0;
      const std::vector<flatbuffers::Offset<fb::Tensor>> tensors = {
          fb::CreateTensor(b, b.CreateString("x"), fb::DataType::INT8, b.CreateVector(in_shape),
                           quant(0.5f)),
          fb::CreateTensor(b, b.CreateString("w"), static_cast<fb::DataType>(weight_type),
                           b.CreateVector(weight_shape), weight_quant(), weight_constant,
                           weight_data.empty() ? 0 : b.CreateVector(weight_data), pq,
                           weight_element_bytes),
          fb::CreateTensor(b, b.CreateString("y"), fb::DataType::INT8, b.CreateVector(out_shape),
                           quant(0.25f)),
      };
      const auto attrs =
          attributes ? fb::CreateOpAttributes(b, static_cast<fb::Padding>(padding), 1, 1, 1, 1, 1,
                                              1, 1, static_cast<fb::Activation>(activation))
                     : 0;
      const std::vector<flatbuffers::Offset<fb::Op>> ops = {
          fb::CreateOp(b, static_cast<fb::OpType>(op_type), b.CreateString("fc"),
                       b.CreateVector(op_inputs), b.CreateVector(op_outputs), attrs)};
      models.push_back(fb::CreateModel(b, b.CreateString(name), b.CreateString("raw"),
                                       b.CreateString("g"), b.CreateVector(tensors),
                                       b.CreateVector(ops), b.CreateVector(graph_inputs),
                                       b.CreateVector(graph_outputs)));
    }
    const auto root =
        fb::CreateBundle(b, version, b.CreateVector(std::vector{codebook}), b.CreateVector(models));
    fb::FinishSizePrefixedBundleBuffer(b, root);
    return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
  }
};

TEST(BundleReadRaw, DefaultIsValidAndUnpacksLowNibbleFirst) {
  const Bundle b = read_bundle(RawBundle{}.bytes());
  ASSERT_EQ(b.models.size(), 1u);
  const ir::Tensor& w = b.models[0].graph.tensors[1];
  ASSERT_TRUE(w.pq.has_value());
  EXPECT_EQ(w.pq->indices, (std::vector<uint16_t>{1, 2, 0, 1}));
  // Row 0 = w1 w2, row 1 = w0 w1.
  EXPECT_EQ(as_int8(w.data), (std::vector<int8_t>{-3, 4, 5, -6, 1, 2, -3, 4}));
  EXPECT_EQ(b.models[0].source, "raw");
  EXPECT_EQ(b.models[0].graph.name, "g");
}

TEST(BundleReadRaw, OddFourBitCountNeedsAZeroPadNibble) {
  RawBundle raw;
  raw.weight_shape = {1, 6};  // 3 indices: 1 2 | 0 -
  raw.indices = {0x21, 0x00};
  const Bundle b = read_bundle(raw.bytes());
  EXPECT_EQ(b.models[0].graph.tensors[1].pq->indices, (std::vector<uint16_t>{1, 2, 0}));
  raw.indices = {0x21, 0x20};
  EXPECT_EQ(read_error(raw.bytes()),
            "bundle: model 'm': tensor 1 'w': the unused high nibble of "
            "the last index byte is 2, expected 0");
}

// Version 3: weights [2, 8], d = 2, codeword 0 all zero; row 0 is all codeword 0, stored as one
// bit (1 byte of bitmap + 2 bytes for row 1's four 4-bit indices, against 4 bytes for all eight).
RawBundle pruned_raw() {
  RawBundle raw;
  raw.version = 3;
  raw.words = {0, 0, -3, 4, 5, -6};
  raw.weight_shape = {2, 8};
  raw.zero_rows = {0x01};
  raw.indices = {0x21, 0x21};  // row 1: 1 2 1 2
  return raw;
}

TEST(BundleReadRaw, AllZeroRowsStoredAsBits) {
  const Bundle b = read_bundle(pruned_raw().bytes());
  const ir::Tensor& w = b.models[0].graph.tensors[1];
  EXPECT_EQ(w.pq->indices, (std::vector<uint16_t>{0, 0, 0, 0, 1, 2, 1, 2}));
  EXPECT_EQ(as_int8(w.data), (std::vector<int8_t>{0, 0, 0, 0, 0, 0, 0, 0, -3, 4, 5, -6, -3, 4, 5, -6}));
  // The writer stores it the same way, and counts what it stores.
  const auto stored_encoding = [](const std::vector<uint8_t>& bytes) {
    return fb::GetSizePrefixedBundle(bytes.data())->models()->Get(0)->tensors()->Get(1)->pq();
  };
  const std::vector<uint8_t> written = write_bundle(b);
  const fb::PqEncoding* e = stored_encoding(written);
  ASSERT_NE(e->zero_rows(), nullptr);
  EXPECT_EQ(std::vector<uint8_t>(e->zero_rows()->begin(), e->zero_rows()->end()), (std::vector<uint8_t>{0x01}));
  EXPECT_EQ(std::vector<uint8_t>(e->indices()->begin(), e->indices()->end()), (std::vector<uint8_t>{0x21, 0x21}));
  EXPECT_EQ(read_bundle(written).models[0].graph.tensors[1].pq->indices, w.pq->indices);
  EXPECT_EQ(stored_index_bytes(*w.pq, w.shape, b.codebooks[0]), 3u);
  EXPECT_EQ(model_storage(b.models[0].graph, b.codebooks).pq.indices, 3u);

  const struct {
    const char* what;
    std::function<void(RawBundle&)> damage;
    const char* message;
  } cases[] = {
      {"version 2", [](RawBundle& r) { r.version = 2; },
       "has a zero-row bitmap, which bundle version 2 does not have"},
      {"no zero codeword", [](RawBundle& r) { r.words = {1, 0, -3, 4, 5, -6}; },
       "marks all-zero rows, but codebook 0 has no all-zero codeword"},
      {"bitmap size", [](RawBundle& r) { r.zero_rows = {0x01, 0x00}; },
       "2 bytes of zero-row bitmap, expected 1 (2 rows)"},
      {"bits past the rows", [](RawBundle& r) { r.zero_rows = {0x05}; },
       "bits past row 2 of the zero-row bitmap are set"},
      {"index count", [](RawBundle& r) { r.indices = {0x21, 0x21, 0x21}; },
       "3 index bytes, expected 2 (4 indices of 4 bits, 1 of 2 rows all-zero)"},
      {"an all-zero row left unmarked",
       [](RawBundle& r) {
         r.zero_rows.clear();
         r.indices = {0x00, 0x00, 0x21, 0x21};
       },
       "has all-zero rows that a zero-row bitmap would store in fewer bytes"},
      {"a bitmap that misses a row", [](RawBundle& r) { r.indices = {0x00, 0x00}; },
       "its zero-row bitmap is not the one the writer makes (every all-zero row marked, and only where "
       "it saves bytes)"},
  };
  for (const auto& c : cases) {
    RawBundle raw = pruned_raw();
    c.damage(raw);
    EXPECT_EQ(read_error(raw.bytes()), std::string("bundle: model 'm': tensor 1 'w': ") + c.message) << c.what;
  }
  // Where the bitmap does not pay (weights [2, 4]: 1 + 1 bytes against 2), there is none.
  RawBundle small;
  small.version = 3;
  small.words = {0, 0, -3, 4, 5, -6};
  small.indices = {0x00, 0x21};
  const Bundle s = read_bundle(small.bytes());
  EXPECT_TRUE(stored_zero_rows(*s.models[0].graph.tensors[1].pq, {2, 4}, s.codebooks[0]).empty());
  EXPECT_EQ(stored_encoding(write_bundle(s))->zero_rows(), nullptr);
}

TEST(BundleReadRaw, EightBitIndices) {
  RawBundle raw;
  raw.codewords = 17;
  raw.words.assign(34, 0);
  raw.words[32] = 7;  // word 16 = {7, -7}
  raw.words[33] = -7;
  raw.indices = {16, 0, 0, 16};
  const Bundle b = read_bundle(raw.bytes());
  EXPECT_EQ(as_int8(b.models[0].graph.tensors[1].data),
            (std::vector<int8_t>{7, -7, 0, 0, 0, 0, 7, -7}));
  raw.indices = {16, 0, 17, 16};
  EXPECT_EQ(read_error(raw.bytes()),
            "bundle: model 'm': tensor 1 'w': index 17 at position 2 is "
            "out of range for codebook 0 (K = 17)");
}

TEST(BundleRoundTrip, ZeroPointsAreImpliedOnlyWhenAllZero) {
  // The fc weights' zero points {0, 0} are left out of the file and come back as they were.
  Bundle b = tiny_bundle();
  auto stored_zero_points = [](const std::vector<uint8_t>& file) {
    return fb::GetSizePrefixedBundle(file.data())->models()->Get(0)->tensors()->Get(6)->quantization()->zero_point();
  };
  const std::vector<uint8_t> implied = write_bundle(b);
  EXPECT_EQ(stored_zero_points(implied), nullptr);
  expect_same_bundle(b, read_bundle(implied));
  // An activation's zero point is stored like any other: conv/out's 3.
  EXPECT_NE(fb::GetSizePrefixedBundle(implied.data())->models()->Get(0)->tensors()->Get(3)->quantization()->zero_point(),
            nullptr);
}

TEST(BundleReadRaw, ScaleCodesWithoutZeroPoints) {
  // Exponent -3, code 0x0800 (k 1, m 0): 2048 * 2^(-3 - 1 - 11) = 2^-4; zero point restored as 0.
  RawBundle raw;
  raw.weight_scale_codes = {0x0800};
  raw.weight_float_scale = false;
  const Bundle b = read_bundle(raw.bytes());
  const ir::Tensor& w = b.models[0].graph.tensors[1];
  EXPECT_EQ(w.quant.scale, (std::vector<float>{0.0625f}));
  EXPECT_EQ(w.quant.zero_point, (std::vector<int64_t>{0}));
}

TEST(BundleReadRaw, EachDamageIsNamed) {
  struct Case {
    std::string what;
    std::function<void(RawBundle&)> damage;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"index >= K",
       [](RawBundle& r) {
         r.indices = {0x23, 0x10};
       },
       "bundle: model 'm': tensor 1 'w': index 3 at position 0 is out of range for codebook 0 (K = "
       "3)"},
      {"too few index bytes", [](RawBundle& r) { r.indices = {0x21}; },
       "bundle: model 'm': tensor 1 'w': 1 index bytes, expected 2 (4 indices of 4 bits)"},
      {"too many index bytes",
       [](RawBundle& r) {
         r.indices = {0x21, 0x10, 0x00};
       },
       "bundle: model 'm': tensor 1 'w': 3 index bytes, expected 2 (4 indices of 4 bits)"},
      {"no indices", [](RawBundle& r) { r.indices.clear(); },
       "bundle: model 'm': tensor 1 'w': 0 index bytes, expected 2 (4 indices of 4 bits)"},
      {"codebook words", [](RawBundle& r) { r.words.pop_back(); },
       "bundle: codebook 0: 5 words, expected K*d = 3*2 = 6"},
      {"K = 0", [](RawBundle& r) { r.codewords = 0; },
       "bundle: codebook 0: K = 0 codewords, expected 1 to 256"},
      {"K = 257",
       [](RawBundle& r) {
         r.codewords = 257;
         r.words.assign(514, 0);
       },
       "bundle: codebook 0: K = 257 codewords, expected 1 to 256"},
      {"d = 0",
       [](RawBundle& r) {
         r.codebook_d = 0;
         r.words.clear();
       },
       "bundle: codebook 0: sub-vector length d = 0 must be positive"},
      {"codebook kind", [](RawBundle& r) { r.codebook_kind = 5; },
       "bundle: codebook 0: unknown kind code 5"},
      {"version", [](RawBundle& r) { r.version = 1; },
       "bundle: unsupported bundle version 1 (this frugal reads versions 2 to 3)"},
      {"version 4", [](RawBundle& r) { r.version = 4; },
       "bundle: unsupported bundle version 4 (this frugal reads versions 2 to 3)"},
      {"scales twice", [](RawBundle& r) { r.weight_scale_codes = {0}; },
       "bundle: model 'm': tensor 1 'w': stores its scales twice, as floats and as 16-bit codes"},
      {"scale exponent",
       [](RawBundle& r) {
         r.weight_scale_codes = {0};
         r.weight_float_scale = false;
         r.weight_scale_exponent = -96;
       },
       "bundle: model 'm': tensor 1 'w': scale exponent -96 is outside [-95, 127]"},
      {"element width of int8", [](RawBundle& r) { r.weight_element_bytes = 2; },
       "bundle: model 'm': tensor 1 'w': element width 2 is only for unencoded int32 constants, "
       "not int8"},
      {"element width 4",
       [](RawBundle& r) {
         r.encoded = false;
         r.weight_type = 3;  // INT32
         r.weight_data.assign(32, 0);
         r.weight_element_bytes = 4;
       },
       "bundle: model 'm': tensor 1 'w': element width 4 is not 1, 2 or 3 bytes"},
      {"narrow int32 data size",
       [](RawBundle& r) {
         r.encoded = false;
         r.weight_type = 3;
         r.weight_data.assign(15, 0);
         r.weight_element_bytes = 2;
       },
       "bundle: model 'm': tensor 1 'w': holds 15 bytes of data, shape [2,4] of int32 at 2 bytes "
       "each needs 16"},
      {"op input",
       [](RawBundle& r) {
         r.op_inputs = {0, 7};
       },
       "bundle: model 'm': op 0 'fc' (FULLY_CONNECTED): input 1 refers to tensor 7, out of range "
       "(model has 3 tensors)"},
      {"negative op input",
       [](RawBundle& r) {
         r.op_inputs = {-2, 1};
       },
       "bundle: model 'm': op 0 'fc' (FULLY_CONNECTED): input 0 refers to tensor -2, out of range "
       "(model has 3 tensors)"},
      {"op output", [](RawBundle& r) { r.op_outputs = {-1}; },
       "bundle: model 'm': op 0 'fc' (FULLY_CONNECTED): output 0 refers to tensor -1, out of range "
       "(model has 3 tensors)"},
      {"graph input", [](RawBundle& r) { r.graph_inputs = {3}; },
       "bundle: model 'm': graph input 0 refers to tensor 3, out of range (model has 3 tensors)"},
      {"graph output",
       [](RawBundle& r) {
         r.graph_outputs = {2, 99};
       },
       "bundle: model 'm': graph output 1 refers to tensor 99, out of range (model has 3 tensors)"},
      {"data type", [](RawBundle& r) { r.weight_type = 17; },
       "bundle: model 'm': tensor 1 'w': unknown data type code 17"},
      {"op type", [](RawBundle& r) { r.op_type = 14; },
       "bundle: model 'm': op 0 'fc': unknown op type code 14"},
      {"padding", [](RawBundle& r) { r.padding = -1; },
       "bundle: model 'm': op 0 'fc': unknown padding code -1"},
      {"activation", [](RawBundle& r) { r.activation = 4; },
       "bundle: model 'm': op 0 'fc': unknown activation code 4"},
      {"layout", [](RawBundle& r) { r.layout = 2; },
       "bundle: model 'm': tensor 1 'w': unknown layout code 2"},
      {"encoding codebook", [](RawBundle& r) { r.encoding_codebook = 1; },
       "bundle: model 'm': tensor 1 'w': codebook 1 out of range (the bundle has 1 codebooks)"},
      {"encoding d", [](RawBundle& r) { r.encoding_d = 4; },
       "bundle: model 'm': tensor 1 'w': sub-vector length d = 4 differs from codebook 0's d = 2"},
      {"kernel layout on a matrix", [](RawBundle& r) { r.layout = 0; },
       "bundle: model 'm': tensor 1 'w': layout kernel needs a [O,kh,kw,I] filter, got shape "
       "[2,4]"},
      {"zero dimension",
       [](RawBundle& r) {
         r.weight_shape = {0, 4};
       },
       "bundle: model 'm': tensor 1 'w': dimension 0 in shape [0,4] must be positive"},
      {"element count overflow",
       [](RawBundle& r) {
         r.weight_shape = {65536, 65536};
       },
       "bundle: model 'm': tensor 1 'w': shape [65536,65536] has more elements than 32-bit offsets "
       "can address"},
      {"encoded and dense", [](RawBundle& r) { r.weight_data.assign(8, 0); },
       "bundle: model 'm': tensor 1 'w': is encoded but also stores 8 bytes of data"},
      {"encoded but not constant", [](RawBundle& r) { r.weight_constant = false; },
       "bundle: model 'm': tensor 1 'w': is encoded but not marked constant"},
      {"encoded int16", [](RawBundle& r) { r.weight_type = 2; },
       "bundle: model 'm': tensor 1 'w': encoded weights must be int8, got int16"},
      {"dense data size",
       [](RawBundle& r) {
         r.encoded = false;
         r.weight_data.assign(3, 0);
       },
       "bundle: model 'm': tensor 1 'w': holds 3 bytes of data, shape [2,4] of int8 needs 8"},
      {"dense data missing", [](RawBundle& r) { r.encoded = false; },
       "bundle: model 'm': tensor 1 'w': holds 0 bytes of data, shape [2,4] of int8 needs 8"},
      {"activation with data",
       [](RawBundle& r) {
         r.encoded = false;
         r.weight_constant = false;
         r.weight_data.assign(8, 0);
       },
       "bundle: model 'm': tensor 1 'w': has 8 bytes of data but is not marked constant"},
      {"graph rule",
       [](RawBundle& r) {
         r.output_shape = {1, 3};
       },
       "bundle: model 'm': op 0 'fc' (FULLY_CONNECTED): output shape [1,3] does not match the "
       "expected [1,2]"},
      {"no attributes", [](RawBundle& r) { r.attributes = false; },
       "bundle: corrupt flatbuffer: the bundle failed structural verification"},
      {"same name twice",
       [](RawBundle& r) {
         r.model_names = {"m", "m"};
       },
       "bundle: models 0 and 1 are both named 'm'"},
      {"no name", [](RawBundle& r) { r.model_names = {""}; }, "bundle: model 0 has no name"},
      {"control characters in names",
       [](RawBundle& r) {
         r.model_names = {"a\nb"};
         r.indices = {0x03, 0x00};
       },
       "bundle: model 'a\\x0ab': tensor 1 'w': index 3 at position 0 is out of range for codebook "
       "0 (K = 3)"},
  };
  for (const Case& c : cases) {
    RawBundle raw;
    c.damage(raw);
    EXPECT_EQ(read_error(raw.bytes()), c.message) << c.what;
  }
}

// A 70 KB file whose one index per row stands for a 65536-weight codeword would decode to
// 4097 * 65536 bytes (just over 256 MiB): refused before anything is allocated for it.
TEST(BundleReadDamaged, DecodedSizeIsCapped) {
  RawBundle raw;
  raw.codewords = 1;
  raw.codebook_d = 65536;
  raw.encoding_d = 65536;
  raw.words.assign(65536, 1);
  raw.weight_shape = {4097, 65536};
  raw.indices.assign(2049, 0);
  EXPECT_EQ(read_error(raw.bytes()),
            "bundle: model 'm': tensor 1 'w': the bundle's encoded "
            "weights decode to more than 256 MiB");
}

TEST(BundleReadDamaged, EmptyShortAndForeign) {
  EXPECT_EQ(read_error({}), "bundle: file is empty");
  const std::vector<uint8_t> five = {1, 2, 3, 4, 5};
  EXPECT_EQ(read_error(five), "bundle: too small to be a bundle (5 bytes)");
  const std::vector<uint8_t> eleven(11, 0);
  EXPECT_EQ(read_error(eleven), "bundle: too small to be a bundle (11 bytes)");
  std::vector<uint8_t> bytes = RawBundle{}.bytes();
  bytes[8] = 'X';
  bytes[11] = 0x01;
  EXPECT_EQ(read_error(bytes),
            "bundle: not a frugal bundle: file identifier is \"XRG\\x01\", expected \"FRGB\"");
}

TEST(BundleReadDamaged, SizeFieldMustMatchTheFile) {
  std::vector<uint8_t> bytes = RawBundle{}.bytes();
  const size_t size = bytes.size();
  bytes.push_back(0);
  EXPECT_EQ(read_error(bytes), "bundle: file is " + std::to_string(size + 1) +
                                   " bytes but its size field says " + std::to_string(size) +
                                   " (truncated, or followed by other data)");
  bytes.resize(size - 4);
  EXPECT_EQ(read_error(bytes), "bundle: file is " + std::to_string(size - 4) +
                                   " bytes but its size field says " + std::to_string(size) +
                                   " (truncated, or followed by other data)");
}

// Every proper prefix of a valid bundle must be refused with ir::Error; anything else (another
// exception, a crash, a sanitizer report) fails the test.
TEST(BundleReadDamaged, EveryTruncationIsRefused) {
  const std::vector<uint8_t> bytes = write_bundle(tiny_bundle());
  ASSERT_NO_THROW(read_bundle(bytes));
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    try {
      read_bundle(prefix);
      ADD_FAILURE() << "a prefix of " << n << " of " << bytes.size() << " bytes was accepted";
    } catch (const ir::Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

// The same cuts with the size field rewritten to match, so that the verifier and the checks
// behind it see the damage: a cut that only loses trailing alignment padding may load (and must
// then pass every check), any other must be refused with ir::Error.
TEST(BundleReadDamaged, EveryTruncationWithAMatchingSizeFieldLoadsCleanlyOrIsRefused) {
  const std::vector<uint8_t> bytes = write_bundle(tiny_bundle());
  size_t loaded = 0;
  for (size_t n = 12; n < bytes.size(); ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    const auto rest = static_cast<uint32_t>(n - 4);
    std::memcpy(prefix.data(), &rest, sizeof rest);  // little-endian hosts only, like flatbuffers
    try {
      const Bundle b = read_bundle(prefix);
      expect_same_bundle(tiny_bundle(), b);
      ++loaded;
    } catch (const ir::Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "prefix of " << n << " bytes: " << e.what();
    }
  }
  EXPECT_LE(loaded, 3u);  // at most the alignment padding after the last object
}

// Flipping any byte must give either a bundle that passes every check or an ir::Error: the
// tiny bundle, and one whose encoding stores an all-zero row as a bit (version 3).
void expect_every_byte_flip_loads_cleanly_or_is_refused(const std::vector<uint8_t>& bytes) {
  size_t loaded = 0, refused = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    for (const uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::vector<uint8_t> damaged = bytes;
      damaged[at] ^= mask;
      try {
        const Bundle b = read_bundle(damaged);
        for (const BundleModel& m : b.models) ir::validate(m.graph);
        check_encodings(b);
        ++loaded;
      } catch (const ir::Error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        ++refused;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "byte " << at << " ^ " << int{mask} << ": " << e.what();
      }
    }
  }
  // Both outcomes occur: names and index bytes may change freely, offsets may not.
  EXPECT_GT(loaded, 0u);
  EXPECT_GT(refused, 0u);
}

TEST(BundleReadDamaged, EveryByteFlipLoadsCleanlyOrIsRefused) {
  expect_every_byte_flip_loads_cleanly_or_is_refused(write_bundle(tiny_bundle()));
}

TEST(BundleReadDamaged, EveryByteFlipOfAZeroRowBitmapBundleLoadsCleanlyOrIsRefused) {
  const std::vector<uint8_t> bytes = write_bundle(read_bundle(pruned_raw().bytes()));
  ASSERT_NE(fb::GetSizePrefixedBundle(bytes.data())->models()->Get(0)->tensors()->Get(1)->pq()->zero_rows(), nullptr);
  expect_every_byte_flip_loads_cleanly_or_is_refused(bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {  // and every truncation is refused
    EXPECT_THROW(read_bundle(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n))),
                 ir::Error);
  }
}

}  // namespace
}  // namespace frugal::pq
