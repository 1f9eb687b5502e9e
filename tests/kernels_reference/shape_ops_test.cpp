// PAD, CONCATENATION and MEAN, hand-computed.

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/quantization.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels {
namespace {

constexpr int32_t k2p30 = int32_t{1} << 30;

TEST(ReferencePad, SpatialEdges) {
  // [[1,2],[3,4]] padded with one row on top and one column on the right:
  //   [[p,p,p],[1,2,p],[3,4,p]]
  const int8_t input[4] = {1, 2, 3, 4};
  int8_t out[9];
  reference::pad({1, 2, 2, 1}, input, {0, 1, 0, 0}, {0, 0, 1, 0}, -128, {1, 3, 3, 1}, out);
  const int8_t expected[9] = {-128, -128, -128, 1, 2, -128, 3, 4, -128};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

TEST(ReferencePad, ChannelsAndBatches) {
  // Channel padding: [5,6] -> [p,5,6,p,p].
  const int8_t input[2] = {5, 6};
  int8_t out[10];
  reference::pad({1, 1, 1, 2}, input, {0, 0, 0, 1}, {0, 0, 0, 2}, -1, {1, 1, 1, 5}, out);
  const int8_t expected[5] = {-1, 5, 6, -1, -1};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], expected[i]) << i;
  // Batch padding: one extra batch after -> [5,6,p,p].
  reference::pad({1, 1, 1, 2}, input, {0, 0, 0, 0}, {1, 0, 0, 0}, 7, {2, 1, 1, 2}, out);
  EXPECT_EQ(out[0], 5);
  EXPECT_EQ(out[1], 6);
  EXPECT_EQ(out[2], 7);
  EXPECT_EQ(out[3], 7);
}

TEST(ReferenceConcatenation, AlongEachAxis) {
  // Channels: A [2 pixels][1] = {1,2}, B [2][2] = {3,4,5,6} -> {1,3,4, 2,5,6}.
  const int8_t a[2] = {1, 2};
  const int8_t b[4] = {3, 4, 5, 6};
  const int8_t* inputs[2] = {a, b};
  int8_t out[6];
  Dims4 dims_c[2] = {{1, 1, 2, 1}, {1, 1, 2, 2}};
  reference::concatenation(2, dims_c, inputs, 3, {1, 1, 2, 3}, out);
  const int8_t expected_c[6] = {1, 3, 4, 2, 5, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected_c[i]) << i;

  // Height: A [1][2], B [2][2] -> rows of A then rows of B = {1,2,3,4,5,6}.
  Dims4 dims_h[2] = {{1, 1, 2, 1}, {1, 2, 2, 1}};
  reference::concatenation(2, dims_h, inputs, 1, {1, 3, 2, 1}, out);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], i + 1) << i;

  // Width with two rows: A [2][1] = {1,2}, B [2][2] = {3,4,5,6} -> {1,3,4, 2,5,6}.
  Dims4 dims_w[2] = {{1, 2, 1, 1}, {1, 2, 2, 1}};
  reference::concatenation(2, dims_w, inputs, 2, {1, 2, 3, 1}, out);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected_c[i]) << i;

  // Batch: plain sequence.
  Dims4 dims_n[2] = {{1, 1, 1, 2}, {2, 1, 1, 2}};
  reference::concatenation(2, dims_n, inputs, 0, {3, 1, 1, 2}, out);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], i + 1) << i;
}

TEST(ReferenceMean, SpatialMeanPerChannel) {
  // [1,2,2,2] input, mean over h and w, scales equal (multiplier 1 = (2^30, 1)), zero points 0.
  // count 4: the multiplier becomes (2^30 << 2) / 4 = 2^30 with shift 1 - 2 = -1, i.e. 0.25.
  //   ch0 {1,2,3,4}: sum 10 -> high multiply 5, then 5 / 2 = 2.5 -> 3
  //   ch1 {-1,-2,-3,-5}: sum -11 -> high multiply -5.5 -> -5 (ties up), then -2.5 -> -3
  const int8_t input[8] = {1, -1, 2, -2, 3, -3, 4, -5};
  int8_t out[2];
  const MeanParams p = make_mean_params(0.5f, 0, 0.5f, 0);
  ASSERT_EQ(p.multiplier.multiplier, k2p30);
  ASSERT_EQ(p.multiplier.shift, 1);
  reference::mean(p, {1, 2, 2, 2}, input, 0b0110u, out);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(out[1], -3);
}

TEST(ReferenceMean, CountThatIsNotAPowerOfTwo) {
  // count 3: shift = floor(log2 3) = 1, multiplier (2^30 << 1) / 3 = 715827882 with shift 0.
  // sum 1+2+4 = 7: 7 * 715827882 / 2^31 = 2.3333 -> 2.
  const int8_t input[3] = {1, 2, 4};
  int8_t out[1];
  reference::mean(make_mean_params(1.0f, 0, 1.0f, 0), {1, 1, 3, 1}, input, 0b0100u, out);
  EXPECT_EQ(out[0], 2);
  // sum 2+2+4 = 8: 8 / 3 = 2.667 -> 3.
  const int8_t input2[3] = {2, 2, 4};
  reference::mean(make_mean_params(1.0f, 0, 1.0f, 0), {1, 1, 3, 1}, input2, 0b0100u, out);
  EXPECT_EQ(out[0], 3);
}

TEST(ReferenceMean, ZeroPointsScalesAndKeptDims) {
  // Mean over channels of a [1,1,2,4] input, s_in 0.5 -> s_out 1 (multiplier 0.5), zero points
  // 10 -> -10. count 4: multiplier becomes 0.125 = (2^30, -2).
  //   pixel 0 {12,14,20,30}: sum 76 - 10*4 = 36, 36 * 0.125 = 4.5 -> 5, -10 -> -5
  //   pixel 1 {10,10,10,11}: sum 41 - 40 = 1, high multiply 0.5 -> 1, shift 0.25 -> 0 -> -10
  const int8_t input[8] = {12, 14, 20, 30, 10, 10, 10, 11};
  int8_t out[2];
  reference::mean(make_mean_params(0.5f, 10, 1.0f, -10), {1, 1, 2, 4}, input, 0b1000u, out);
  EXPECT_EQ(out[0], -5);
  EXPECT_EQ(out[1], -10);

  // Mean over the batch dimension keeps the rest in row-major order.
  // batches {1,2} and {3,4} -> {2, 3} with multiplier 1: (1+3)/2 = 2, (2+4)/2 = 3.
  const int8_t two_batches[4] = {1, 2, 3, 4};
  reference::mean(make_mean_params(1.0f, 0, 1.0f, 0), {2, 1, 1, 2}, two_batches, 0b0001u, out);
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[1], 3);

  // Saturation: mean of 127s with a large rescale (s_in 1 -> s_out 0.25, multiplier 4) -> 127.
  const int8_t high[2] = {127, 127};
  reference::mean(make_mean_params(1.0f, 0, 0.25f, 0), {1, 1, 1, 2}, high, 0b1000u, out);
  EXPECT_EQ(out[0], 127);
}

}  // namespace
}  // namespace frugal::kernels
