// The model IR: every importer produces it, every pass and backend consumes it.
//
// It is deliberately close to TFLite's int8 model (NHWC activations, OHWI conv filters,
// [1,H,W,C*M] depthwise filters, [OUT,IN] fully connected weights) so that importing a
// .tflite file is a translation, not a re-layout, and bit-exactness is easy to reason about.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::ir {

// Host-side failure with a one-line, user-facing message (the CLI prints "error: <what()>").
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class DataType : uint8_t { kInt8, kUInt8, kInt16, kInt32, kInt64, kFloat32 };

std::string_view to_string(DataType type);
size_t element_size(DataType type);

// Affine quantization: real = scale * (q - zero_point). Per-tensor when scale.size() == 1,
// per-channel along `axis` otherwise. Empty for float and for unquantized int32/int64 tensors.
struct Quantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t axis = 0;

  bool empty() const { return scale.empty(); }
  bool per_channel() const { return scale.size() > 1; }
};

// How a product-quantized weight tensor is stored (issue 7, "YONO"): each sub-vector of the
// int8 weights is the index of a codeword in a codebook shared by every model of a bundle.
enum class PqLayout : uint8_t {
  // CONV_2D [O,kh,kw,I]: sub-vector (o, i) = the kh*kw taps of output o on input channel i, in
  // (kh, kw) order; d = kh*kw; indices [O][I]. The paper's "3x3 kernel" codebook.
  kKernel,
  // FULLY_CONNECTED [O,L] and CONV_2D [O,kh,kw,I] (L = kh*kw*I): sub-vector (o, g) = elements
  // g*d .. g*d+d-1 of row o in the stored order; indices [O][L/d]. 1x1 conv and FC weights.
  kRow,
};

std::string_view to_string(PqLayout layout);

struct PqEncoding {
  int32_t codebook = 0;  // index into the bundle's codebooks
  PqLayout layout = PqLayout::kRow;
  int32_t subvector = 0;         // d, the codebook's codeword length
  std::vector<uint16_t> indices;  // one per sub-vector, row-major as the layout says
};

struct Tensor {
  std::string name;
  DataType type = DataType::kInt8;
  std::vector<int32_t> shape;
  Quantization quant;
  // Constant tensors (weights, biases, shape operands) own their bytes here, little-endian,
  // row-major. Activations have no data.
  std::vector<uint8_t> data;
  bool is_constant = false;
  // Set on product-quantized weights. `data` then holds the decoded int8 weights (codeword values
  // under the tensor's own per-channel scales): what kernels that ignore the encoding run on, and
  // the definition of correct for the kernels that compute from codebook + indices.
  std::optional<PqEncoding> pq;

  int64_t num_elements() const;
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * element_size(type); }
  template <typename T>
  const T* data_as() const {
    return reinterpret_cast<const T*>(data.data());
  }
};

enum class OpType : uint8_t {
  kConv2D,
  kDepthwiseConv2D,
  kFullyConnected,
  kAdd,
  kMul,
  kAveragePool2D,
  kMaxPool2D,
  kReshape,
  kSoftmax,
  kQuantize,
  kDequantize,
  kPad,
  kMean,
  kConcatenation,
};

std::string_view to_string(OpType type);

enum class Padding : uint8_t { kSame, kValid };
// Fused activation: the op clamps its output to the quantized image of this range.
enum class Activation : uint8_t { kNone, kRelu, kRelu6, kReluN1To1 };

std::string_view to_string(Padding padding);
std::string_view to_string(Activation activation);

// Attributes of all ops in one plain struct: each op reads the fields that concern it
// (documented per field); the rest keep their defaults.
struct OpAttributes {
  // CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D
  Padding padding = Padding::kValid;
  int32_t stride_h = 1, stride_w = 1;
  // CONV_2D, DEPTHWISE_CONV_2D
  int32_t dilation_h = 1, dilation_w = 1;
  // DEPTHWISE_CONV_2D
  int32_t depth_multiplier = 1;
  // AVERAGE_POOL_2D, MAX_POOL_2D
  int32_t filter_h = 1, filter_w = 1;
  // CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, pools, CONCATENATION
  Activation activation = Activation::kNone;
  // FULLY_CONNECTED: output keeps the input's leading dims instead of being flattened to 2-D
  bool keep_num_dims = false;
  // SOFTMAX
  float beta = 1.0f;
  // CONCATENATION: axis (negative counts from the end); MEAN takes its axes from input 1
  int32_t axis = 0;
  // MEAN
  bool keep_dims = false;
};

struct Op {
  OpType type;
  std::string name;  // unique in the graph; importers derive it from the output tensor
  // Indices into Graph::tensors; -1 marks an omitted optional input (e.g. no bias).
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  OpAttributes attrs;
};

struct Graph {
  std::string name;
  std::vector<Tensor> tensors;
  std::vector<Op> ops;  // in execution order (topologically sorted)
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;

  const Tensor& tensor(int32_t index) const { return tensors.at(static_cast<size_t>(index)); }
  Tensor& tensor(int32_t index) { return tensors.at(static_cast<size_t>(index)); }
  // Input i of op, or nullptr when the optional input is omitted or absent.
  const Tensor* input(const Op& op, size_t i) const;
  const Tensor& output(const Op& op, size_t i = 0) const;
};

// Checks that the graph is well formed and that every op is something frugal can run
// bit-exactly: tensor indices in range, ops in topological order, shapes consistent with the
// op's attributes, int8 activations with per-tensor quantization, int8 symmetric weights
// (per-tensor or per-channel along the output channel), int32 biases with scale
// input_scale * weight_scale, etc. Throws ir::Error naming the op (index and name) and the
// rule it breaks.
void validate(const Graph& graph);

// Output spatial size and leading (top/left) padding of a windowed op, as TFLite computes them.
struct WindowGeometry {
  int32_t out_h, out_w;
  int32_t pad_top, pad_left;
};
WindowGeometry window_geometry(Padding padding, int32_t in_h, int32_t in_w, int32_t filter_h,
                               int32_t filter_w, int32_t stride_h, int32_t stride_w,
                               int32_t dilation_h, int32_t dilation_w);

// A name read from a file, made safe for one-line messages and reports: control characters become
// \xNN, so that a name cannot break a line or a terminal. Importers and the bundle reader apply
// it alike, so names round trip unchanged between them.
std::string printable(std::string_view name);

// Multiply-accumulates of one op (0 for data movement ops).
int64_t macs(const Graph& graph, const Op& op);

}  // namespace frugal::ir
