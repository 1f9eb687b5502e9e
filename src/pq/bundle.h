// A bundle: several models whose product-quantized weights share codebooks, as one file.
//
// In memory every model is an ordinary IR graph whose encoded weight tensors carry an
// ir::PqEncoding and the decoded int8 weights, so the interpreter, the firmware generator and
// every other pass see a normal model. On disk (bundle.fbs) an encoded tensor keeps only its
// indices; reading a bundle decodes them again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "pq/codebook.h"

namespace frugal::pq {

struct BundleModel {
  std::string name;    // unique in the bundle; the firmware's model selector uses it
  std::string source;  // file it was compressed from (informative)
  ir::Graph graph;
};

struct Bundle {
  std::vector<Codebook> codebooks;
  std::vector<BundleModel> models;
};

// The int8 weights of `tensor` decoded from `codebook` and its encoding (shape-sized).
std::vector<int8_t> decode(const ir::Tensor& tensor, const Codebook& codebook);

// The rows (output channels) of an encoding whose sub-vectors are all the codebook's zero
// codeword, which the bundle file stores as a bitmap instead of their indices (version 3) when
// that takes fewer bytes: a pruned layer's dead channels. Empty when there is no such row or the
// bitmap would not pay. `shape` is the tensor's; the encoding must fit it.
std::vector<bool> stored_zero_rows(const ir::PqEncoding& encoding, const std::vector<int32_t>& shape,
                                   const Codebook& codebook);

// Bytes the bundle file takes for an encoding's indices: the bitmap of stored_zero_rows (one bit
// per row) and the other rows' indices packed at the codebook's index width.
size_t stored_index_bytes(const ir::PqEncoding& encoding, const std::vector<int32_t>& shape,
                          const Codebook& codebook);

// Throws ir::Error naming the model, tensor and rule when an encoding does not fit its tensor
// (codebook index, layout vs op, d, index count, index range) or its data differs from the decoding.
void check_encodings(const Bundle& bundle);

// What a bundle stores, in bytes: indices packed at the codebook's index width (all-zero rows as
// one bit each, stored_zero_rows), int8 codewords,
// every constant tensor left unencoded (int8 weights; int32 biases and shape operands at the
// fewest bytes per element that hold their values), and quantization parameters: per scale entry
// of every quantized tensor except biases (whose scale is input scale x weight scale), 2 bytes
// for a weight tensor whose scales have the compact form (compact.h; plus 2 for its exponent),
// 4 for other int8 weights with zero points all 0 (the float scale; the zero points are implied),
// else 8 (an activation's scale and zero point).
// The int8 side (ModelStorage::int8_bytes) counts int32 constants at 4 bytes and every scale
// entry at 8, as the original models store them.
struct Storage {
  size_t indices = 0, codebooks = 0, dense_weights = 0, biases = 0, quantization = 0;
  size_t total() const { return indices + codebooks + dense_weights + biases + quantization; }
};

struct ModelStorage {
  Storage pq;                // as stored in the bundle (codebooks not included; they are shared)
  size_t int8_bytes = 0;     // the same model with int8 weights (dense_weights + biases + quantization)
  // Of int8_bytes, what the all-zero rows (output channels) of its CONV_2D / FULLY_CONNECTED
  // weights take beyond one bit per row, where a bit per row is fewer bytes: what a format that
  // drops pruned channels would save on the int8 side (the bundle does so for encoded layers).
  size_t int8_zero_row_bytes = 0;
  size_t fp32_bytes = 0;     // every weight and bias as float32 (4 bytes per element)
  int64_t weights = 0;       // elements of weight tensors (conv, depthwise, FC)
  int64_t encoded_weights = 0;
};

ModelStorage model_storage(const ir::Graph& graph, std::span<const Codebook> codebooks);

struct BundleStorage {
  std::vector<ModelStorage> models;
  Storage total;             // all models plus the shared codebooks once
  size_t int8_bytes = 0, fp32_bytes = 0, int8_zero_row_bytes = 0;
  // Against the int8 models with their all-zero rows as one bit each.
  double ratio_vs_int8_without_zero_rows() const {
    return static_cast<double>(int8_bytes - int8_zero_row_bytes) / static_cast<double>(total.total());
  }
  double ratio_vs_int8() const { return static_cast<double>(int8_bytes) / static_cast<double>(total.total()); }
  double ratio_vs_fp32() const { return static_cast<double>(fp32_bytes) / static_cast<double>(total.total()); }
};

BundleStorage bundle_storage(const Bundle& bundle);

// Serialization (bundle_io.cpp). `write_bundle` returns the bytes of a .frugal file;
// `read_bundle` runs the flatbuffers Verifier first and then checks everything the schema
// cannot (tensor indices, shapes vs data sizes, encodings); it throws ir::Error with a one-line
// message naming what is wrong, never crashes on corrupt input.
std::vector<uint8_t> write_bundle(const Bundle& bundle);
Bundle read_bundle(std::span<const uint8_t> bytes);
Bundle read_bundle_file(const std::filesystem::path& path);
// True when `bytes` start like a bundle (file identifier "FRGB"), to tell it from a .tflite.
bool looks_like_bundle(std::span<const uint8_t> bytes);

}  // namespace frugal::pq
