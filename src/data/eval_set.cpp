#include "data/eval_set.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace frugal::data {

namespace {

// Local copies of the IR helpers keep this library usable before graph.cpp links in.
size_t bytes_per_element(ir::DataType type) {
  switch (type) {
    case ir::DataType::kInt8:
    case ir::DataType::kUInt8: return 1;
    case ir::DataType::kInt16: return 2;
    case ir::DataType::kInt32:
    case ir::DataType::kFloat32: return 4;
    case ir::DataType::kInt64: return 8;
  }
  return 1;
}

std::string_view type_name(ir::DataType type) {
  switch (type) {
    case ir::DataType::kInt8: return "int8";
    case ir::DataType::kUInt8: return "uint8";
    case ir::DataType::kInt16: return "int16";
    case ir::DataType::kInt32: return "int32";
    case ir::DataType::kInt64: return "int64";
    case ir::DataType::kFloat32: return "float32";
  }
  return "?";
}

size_t element_count(const ir::Tensor& tensor) {
  size_t count = 1;
  for (int32_t dim : tensor.shape) count *= static_cast<size_t>(std::max(dim, 0));
  return count;
}

size_t tensor_bytes(const ir::Tensor& tensor) { return element_count(tensor) * bytes_per_element(tensor.type); }

struct DatasetInfo {
  Dataset dataset;
  std::string_view name;
  std::string_view record_description;
};

constexpr DatasetInfo kDatasets[] = {
    {Dataset::kCifar10, "cifar10", "32x32x3 images"},
    {Dataset::kKws01, "kws01", "int8 49x10 MFCC features"},
    {Dataset::kVww01, "vww01", "96x96x3 images"},
    {Dataset::kAd01, "ad01", "windows of 5x128 float32 log-mel frames (640 values)"},
};

const DatasetInfo& info(Dataset dataset) {
  for (const DatasetInfo& entry : kDatasets) {
    if (entry.dataset == dataset) return entry;
  }
  return kDatasets[0];
}

[[noreturn]] void mismatch(Dataset dataset, const ir::Tensor& input, std::string_view why = {}) {
  std::string message = "model input is " + describe_tensor(input) + " but " + std::string(info(dataset).name) +
                        " records are " + std::string(info(dataset).record_description);
  if (!why.empty()) message += " (" + std::string(why) + ")";
  throw ir::Error(message);
}

// [1,H,W,C] or [H,W,C]
bool is_image_shape(const std::vector<int32_t>& shape, int32_t height, int32_t width, int32_t channels) {
  std::vector<int32_t> expected = {height, width, channels};
  if (shape.size() == 4 && shape[0] == 1) return std::equal(shape.begin() + 1, shape.end(), expected.begin());
  return shape == expected;
}

bool has_per_tensor_quantization(const ir::Tensor& tensor) {
  return tensor.quant.scale.size() == 1 && tensor.quant.zero_point.size() == 1 && tensor.quant.scale[0] > 0.0f;
}

}  // namespace

std::string_view to_string(Dataset dataset) { return info(dataset).name; }

std::optional<Dataset> parse_dataset(std::string_view name) {
  for (const DatasetInfo& entry : kDatasets) {
    if (entry.name == name) return entry.dataset;
  }
  return std::nullopt;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const DatasetInfo& entry : kDatasets) names.emplace_back(entry.name);
  return names;
}

std::string describe_tensor(const ir::Tensor& tensor) {
  std::string text(type_name(tensor.type));
  text += '[';
  for (size_t i = 0; i < tensor.shape.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(tensor.shape[i]);
  }
  return text + ']';
}

void check_model_input(Dataset dataset, const ir::Tensor& input) {
  switch (dataset) {
    case Dataset::kCifar10:
    case Dataset::kVww01: {
      int32_t side = dataset == Dataset::kCifar10 ? 32 : 96;
      if (!is_image_shape(input.shape, side, side, 3)) mismatch(dataset, input);
      if (input.type != ir::DataType::kInt8 && input.type != ir::DataType::kUInt8 &&
          input.type != ir::DataType::kFloat32) {
        mismatch(dataset, input, "image inputs must be int8, uint8 or float32");
      }
      return;
    }
    case Dataset::kKws01:
      if (element_count(input) != 490) mismatch(dataset, input);
      // The stored features are already quantized with the int8 DS-CNN's input parameters.
      if (input.type != ir::DataType::kInt8) mismatch(dataset, input, "the features are stored as int8");
      return;
    case Dataset::kAd01:
      if (element_count(input) != static_cast<size_t>(kAd01WindowFrames) * 128) mismatch(dataset, input);
      if (input.type == ir::DataType::kFloat32) return;
      if (input.type != ir::DataType::kInt8) mismatch(dataset, input, "inputs must be int8 or float32");
      if (!has_per_tensor_quantization(input)) mismatch(dataset, input, "int8 input without per-tensor quantization");
      return;
  }
}

void prepare_image(std::span<const uint8_t> hwc, const ir::Tensor& input, std::span<uint8_t> dst) {
  switch (input.type) {
    case ir::DataType::kInt8:
      for (size_t i = 0; i < hwc.size(); ++i) {
        dst[i] = static_cast<uint8_t>(static_cast<int8_t>(static_cast<int32_t>(hwc[i]) - 128));
      }
      return;
    case ir::DataType::kUInt8:
      std::copy(hwc.begin(), hwc.end(), dst.begin());
      return;
    case ir::DataType::kFloat32:
      for (size_t i = 0; i < hwc.size(); ++i) {
        float value = static_cast<float>(hwc[i]) / 255.0f;
        std::memcpy(dst.data() + i * sizeof(float), &value, sizeof(float));
      }
      return;
    default:
      throw ir::Error("cannot feed images to a " + describe_tensor(input) + " input");
  }
}

int8_t quantize_int8(float x, float scale, int64_t zero_point) {
  float rounded = std::round(x / scale);
  // Clamp in float first so that huge values do not overflow the integer conversion.
  rounded = std::clamp(rounded, -1.0e6f, 1.0e6f);
  int64_t q = static_cast<int64_t>(rounded) + zero_point;
  return static_cast<int8_t>(std::clamp<int64_t>(q, -128, 127));
}

void prepare_features(std::span<const float> values, const ir::Tensor& input, std::span<uint8_t> dst) {
  if (input.type == ir::DataType::kFloat32) {
    std::memcpy(dst.data(), values.data(), values.size() * sizeof(float));
    return;
  }
  if (input.type != ir::DataType::kInt8 || !has_per_tensor_quantization(input)) {
    throw ir::Error("cannot quantize float features for a " + describe_tensor(input) + " input");
  }
  float scale = input.quant.scale[0];
  int64_t zero_point = input.quant.zero_point[0];
  for (size_t i = 0; i < values.size(); ++i) {
    dst[i] = static_cast<uint8_t>(quantize_int8(values[i], scale, zero_point));
  }
}

EvalSet load_eval_set(Dataset dataset, const DataRoot& root, const ir::Tensor& input, size_t limit) {
  check_model_input(dataset, input);
  EvalSet set;
  set.dataset = dataset;
  set.input_bytes = tensor_bytes(input);
  switch (dataset) {
    case Dataset::kCifar10:
    case Dataset::kVww01: {
      ImageSet images = dataset == Dataset::kCifar10 ? read_cifar10_test(root, limit) : read_vww01(root, limit);
      set.inputs.resize(images.size() * set.input_bytes);
      for (size_t i = 0; i < images.size(); ++i) {
        prepare_image(images.image(i), input, {set.inputs.data() + i * set.input_bytes, set.input_bytes});
      }
      set.labels = std::move(images.labels);
      break;
    }
    case Dataset::kKws01: {
      Int8FeatureSet features = read_kws01(root, limit);
      set.inputs.resize(features.values.size());
      std::memcpy(set.inputs.data(), features.values.data(), features.values.size());
      set.labels = std::move(features.labels);
      break;
    }
    case Dataset::kAd01: {
      SpectrogramSet spectrograms = read_ad01(root, limit);
      const size_t window_values = static_cast<size_t>(kAd01WindowFrames) * static_cast<size_t>(spectrograms.bins);
      set.windows_per_sample = static_cast<size_t>(spectrograms.frames - kAd01WindowFrames + 1);
      set.inputs.resize(spectrograms.size() * set.windows_per_sample * set.input_bytes);
      for (size_t sample = 0; sample < spectrograms.size(); ++sample) {
        std::span<const float> values = spectrograms.sample(sample);
        for (size_t window = 0; window < set.windows_per_sample; ++window) {
          size_t inference = sample * set.windows_per_sample + window;
          prepare_features(values.subspan(window * static_cast<size_t>(spectrograms.bins), window_values), input,
                           {set.inputs.data() + inference * set.input_bytes, set.input_bytes});
        }
      }
      set.labels = std::move(spectrograms.labels);
      break;
    }
  }
  return set;
}


EvalSet slice(const EvalSet& set, size_t begin, size_t end) {
  EvalSet s;
  s.dataset = set.dataset;
  s.input_bytes = set.input_bytes;
  s.windows_per_sample = set.windows_per_sample;
  end = std::min(end, set.num_samples());
  begin = std::min(begin, end);
  const size_t sample_bytes = set.input_bytes * set.windows_per_sample;
  s.inputs.assign(set.inputs.begin() + static_cast<std::ptrdiff_t>(begin * sample_bytes),
                  set.inputs.begin() + static_cast<std::ptrdiff_t>(end * sample_bytes));
  s.labels.assign(set.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                  set.labels.begin() + static_cast<std::ptrdiff_t>(end));
  return s;
}

EvalSet stride(const EvalSet& set, size_t begin, size_t step) {
  return interleaved(slice(set, begin, set.num_samples()), std::max<size_t>(step, 1), 0, 1);
}

EvalSet interleaved(const EvalSet& set, size_t period, size_t first, size_t last) {
  EvalSet s;
  s.dataset = set.dataset;
  s.input_bytes = set.input_bytes;
  s.windows_per_sample = set.windows_per_sample;
  const size_t sample_bytes = set.input_bytes * set.windows_per_sample;
  for (size_t i = 0; i < set.num_samples(); ++i) {
    if (i % period < first || i % period >= last) continue;
    const auto begin = set.inputs.begin() + static_cast<std::ptrdiff_t>(i * sample_bytes);
    s.inputs.insert(s.inputs.end(), begin, begin + static_cast<std::ptrdiff_t>(sample_bytes));
    s.labels.push_back(set.labels[i]);
  }
  return s;
}

EvalSet load_cifar10_training(const DataRoot& root, const char* file, const ir::Tensor& input, size_t limit) {
  check_model_input(Dataset::kCifar10, input);
  const std::filesystem::path path = root.path / "cifar10" / file;
  if (!std::filesystem::exists(path)) {
    throw ir::Error(path.string() + " not found: this needs the full shared CIFAR-10 set (training batches)");
  }
  const ImageSet images = read_cifar10_batch(path, limit);
  EvalSet s;
  s.dataset = Dataset::kCifar10;
  s.input_bytes = input.num_bytes();
  s.inputs.resize(images.size() * s.input_bytes);
  for (size_t i = 0; i < images.size(); ++i) {
    prepare_image(images.image(i), input, {s.inputs.data() + i * s.input_bytes, s.input_bytes});
  }
  s.labels = images.labels;
  return s;
}

}  // namespace frugal::data
