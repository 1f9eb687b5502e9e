// Second moments of what each weight layer multiplies its weights with, measured on calibration
// inputs: H = sum over samples of p p^T, p = one input row of the layer's GEMM (an im2col patch
// of a convolution in the filter's (kh, kw, i) order, or a fully connected input), in integer
// units (q - zero point). The output error a weight change dw causes is dw^T H dw, so H lets the
// encoder choose codewords by the error they cause in the layer's output rather than in its
// weights (the assignment GPTQ-style quantizers use).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ir/graph.h"

namespace frugal::pq {

struct InputStatistics {
  int32_t op = -1;
  size_t length = 0;         // L, a weight row's length
  std::vector<double> hessian;  // L x L, row-major, symmetric
  size_t rows = 0;           // input rows accumulated
};

// For each of `ops` (CONV_2D or FULLY_CONNECTED op indices), H over `count` inputs (raw bytes of
// the graph's input tensor, back to back) run through `graph` by the int8 interpreter; at most
// `rows_per_input` patches of a convolution per input (evenly spaced output pixels).
std::vector<InputStatistics> collect_input_statistics(const ir::Graph& graph, std::span<const int32_t> ops,
                                                      std::span<const uint8_t> inputs, size_t count,
                                                      size_t rows_per_input = 32, unsigned threads = 0);

}  // namespace frugal::pq
