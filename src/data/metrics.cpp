#include "data/metrics.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>

namespace frugal::data {

namespace {

template <typename T>
T load(const uint8_t* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

template <typename T>
size_t argmax_of(std::span<const uint8_t> bytes) {
  const size_t count = bytes.size() / sizeof(T);
  if (count == 0) throw ir::Error("argmax of an empty tensor");
  size_t best = 0;
  T best_value = load<T>(bytes.data());
  for (size_t i = 1; i < count; ++i) {
    T value = load<T>(bytes.data() + i * sizeof(T));
    // Strictly greater: on a tie the earlier (lower) index stays.
    if (value > best_value) {
      best = i;
      best_value = value;
    }
  }
  return best;
}

template <typename T>
void dequantize_into(std::span<const uint8_t> bytes, float scale, int64_t zero_point, std::vector<float>& out) {
  const size_t count = bytes.size() / sizeof(T);
  out.resize(count);
  for (size_t i = 0; i < count; ++i) {
    int64_t q = static_cast<int64_t>(load<T>(bytes.data() + i * sizeof(T)));
    out[i] = scale * static_cast<float>(q - zero_point);
  }
}

}  // namespace

size_t argmax(ir::DataType type, std::span<const uint8_t> bytes) {
  switch (type) {
    case ir::DataType::kInt8: return argmax_of<int8_t>(bytes);
    case ir::DataType::kUInt8: return argmax_of<uint8_t>(bytes);
    case ir::DataType::kInt16: return argmax_of<int16_t>(bytes);
    case ir::DataType::kInt32: return argmax_of<int32_t>(bytes);
    case ir::DataType::kFloat32: return argmax_of<float>(bytes);
    case ir::DataType::kInt64: return argmax_of<int64_t>(bytes);
  }
  throw ir::Error("argmax: unsupported tensor type");
}

std::vector<float> dequantize(const ir::Tensor& desc, std::span<const uint8_t> bytes) {
  std::vector<float> out;
  if (desc.type == ir::DataType::kFloat32) {
    out.resize(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
  }
  if (desc.quant.scale.size() > 1) throw ir::Error("dequantize: per-channel tensor '" + desc.name + "'");
  float scale = desc.quant.scale.empty() ? 1.0f : desc.quant.scale[0];
  int64_t zero_point = desc.quant.zero_point.empty() ? 0 : desc.quant.zero_point[0];
  switch (desc.type) {
    case ir::DataType::kInt8: dequantize_into<int8_t>(bytes, scale, zero_point, out); break;
    case ir::DataType::kUInt8: dequantize_into<uint8_t>(bytes, scale, zero_point, out); break;
    case ir::DataType::kInt16: dequantize_into<int16_t>(bytes, scale, zero_point, out); break;
    case ir::DataType::kInt32: dequantize_into<int32_t>(bytes, scale, zero_point, out); break;
    case ir::DataType::kInt64: dequantize_into<int64_t>(bytes, scale, zero_point, out); break;
    case ir::DataType::kFloat32: break;
  }
  return out;
}

double reconstruction_mse(const ir::Tensor& input_desc, std::span<const uint8_t> input,
                          const ir::Tensor& output_desc, std::span<const uint8_t> output) {
  std::vector<float> x = dequantize(input_desc, input);
  std::vector<float> y = dequantize(output_desc, output);
  if (x.size() != y.size() || x.empty()) {
    throw ir::Error("reconstruction error needs input and output of the same non-zero size (got " +
                    std::to_string(x.size()) + " and " + std::to_string(y.size()) + " values)");
  }
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    double diff = static_cast<double>(x[i]) - static_cast<double>(y[i]);
    sum += diff * diff;
  }
  return sum / static_cast<double>(x.size());
}

double top1_accuracy(std::span<const int32_t> predictions, std::span<const int32_t> labels) {
  if (predictions.size() != labels.size()) throw ir::Error("top1: predictions and labels differ in count");
  if (labels.empty()) return 0.0;
  size_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i] ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double roc_auc(std::span<const double> scores, std::span<const int32_t> labels) {
  if (scores.size() != labels.size()) throw ir::Error("roc_auc: scores and labels differ in count");
  std::vector<double> positives, negatives;
  for (size_t i = 0; i < scores.size(); ++i) (labels[i] == 1 ? positives : negatives).push_back(scores[i]);
  if (positives.empty() || negatives.empty()) {
    throw ir::Error("roc_auc needs both classes (got " + std::to_string(positives.size()) + " positive and " +
                    std::to_string(negatives.size()) + " negative samples)");
  }
  // Count, for every positive, the negatives below it and those tied with it (binary search on
  // the sorted negatives), so large sets stay O(n log n).
  std::sort(negatives.begin(), negatives.end());
  double wins = 0.0;
  for (double p : positives) {
    auto lower = std::lower_bound(negatives.begin(), negatives.end(), p);
    auto upper = std::upper_bound(lower, negatives.end(), p);
    wins += static_cast<double>(lower - negatives.begin()) + 0.5 * static_cast<double>(upper - lower);
  }
  return wins / (static_cast<double>(positives.size()) * static_cast<double>(negatives.size()));
}

}  // namespace frugal::data
