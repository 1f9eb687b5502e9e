// A data set prepared for one model: every record converted to the model's input tensor type and
// layout, ready to be copied into a Session's input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/data_root.h"
#include "data/readers.h"
#include "ir/graph.h"

namespace frugal::data {

enum class Dataset : uint8_t { kCifar10, kKws01, kVww01, kAd01 };

std::string_view to_string(Dataset dataset);
std::optional<Dataset> parse_dataset(std::string_view name);
std::vector<std::string> dataset_names();

// ad01: the autoencoder sees 5 consecutive frames (640 floats), sliding by one frame.
inline constexpr int32_t kAd01WindowFrames = 5;

// "int8[1,49,10,1]"
std::string describe_tensor(const ir::Tensor& tensor);

// Throws ir::Error naming both sides if records of `dataset` cannot feed `input`.
void check_model_input(Dataset dataset, const ir::Tensor& input);

// One u8 HWC image into `dst` (input.num_bytes() bytes): int8 inputs get pixel - 128 (what both
// the ResNet-8 (scale 1, zp -128) and VWW (scale 1/255, zp -128) quantizations map the pixel to),
// uint8 inputs the pixel, float32 inputs pixel / 255.
void prepare_image(std::span<const uint8_t> hwc, const ir::Tensor& input, std::span<uint8_t> dst);

// TFLite's float -> int8 quantization: round(x / scale) (half away from zero, in float) + zero
// point, clamped to [-128, 127].
int8_t quantize_int8(float x, float scale, int64_t zero_point);

// Float features into `dst`: quantized with the input's parameters for int8, copied for float32.
void prepare_features(std::span<const float> values, const ir::Tensor& input, std::span<uint8_t> dst);

struct EvalSet {
  Dataset dataset = Dataset::kCifar10;
  size_t input_bytes = 0;         // one model input tensor
  size_t windows_per_sample = 1;  // model invocations per labelled sample (196 for ad01)
  std::vector<uint8_t> inputs;    // samples x windows x input_bytes, in the model's input type
  std::vector<int32_t> labels;    // one per sample

  size_t num_samples() const { return labels.size(); }
  size_t num_inferences() const { return labels.size() * windows_per_sample; }
  std::span<const uint8_t> input(size_t inference) const {
    return {inputs.data() + inference * input_bytes, input_bytes};
  }
};

// Samples [begin, end) of `set` (clamped to its size), every window of each.
EvalSet slice(const EvalSet& set, size_t begin, size_t end);
// Samples begin, begin + step, begin + 2 step, ... of `set` (a split that keeps the class mix of
// a set ordered by class, such as ad01's 36 normal then 36 anomalous samples).
EvalSet stride(const EvalSet& set, size_t begin, size_t step);
// The samples i with first <= i % period < last: a split that keeps the class mix of a set
// ordered by class (vww01: 500 person, then 500 no-person images).
EvalSet interleaved(const EvalSet& set, size_t period, size_t first, size_t last);

// The first `limit` images of a CIFAR-10 training batch (`file` under cifar10/, e.g.
// "data_batch_1.bin") prepared for `input`; throws ir::Error naming the file when it is absent
// (the repo's fixtures hold no training batches).
EvalSet load_cifar10_training(const DataRoot& root, const char* file, const ir::Tensor& input,
                              size_t limit = kAllRecords);

// Reads the data set under `root` (at most `limit` labelled samples) and prepares it for `input`.
EvalSet load_eval_set(Dataset dataset, const DataRoot& root, const ir::Tensor& input,
                      size_t limit = kAllRecords);

}  // namespace frugal::data
