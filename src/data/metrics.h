// Accuracy metrics computed from raw output tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ir/graph.h"

namespace frugal::data {

// Index of the largest element of a raw tensor (int8, uint8, int16, int32 or float32). Ties go to
// the lowest index, as in the golden Top-1 figures (int8 softmax outputs often tie).
size_t argmax(ir::DataType type, std::span<const uint8_t> bytes);

// Real values of a raw tensor: float32 as is, integers through their per-tensor quantization
// (identity when the tensor has none).
std::vector<float> dequantize(const ir::Tensor& desc, std::span<const uint8_t> bytes);

// Mean squared error between the autoencoder's (dequantized) input and (dequantized) output.
double reconstruction_mse(const ir::Tensor& input_desc, std::span<const uint8_t> input,
                          const ir::Tensor& output_desc, std::span<const uint8_t> output);

// Fraction of predictions equal to their label.
double top1_accuracy(std::span<const int32_t> predictions, std::span<const int32_t> labels);

// Area under the ROC curve for scores where label 1 is positive (higher score = more likely
// positive): the Mann-Whitney statistic, ties counting 1/2. Throws ir::Error if either class is
// absent or sizes differ.
double roc_auc(std::span<const double> scores, std::span<const int32_t> labels);

}  // namespace frugal::data
