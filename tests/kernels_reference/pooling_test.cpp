// AVERAGE_POOL_2D and MAX_POOL_2D, hand-computed: rounding of the average (half away from
// zero, negative sums included) and windows clipped at the borders.

#include <cstdint>

#include <gtest/gtest.h>

#include "kernels/reference/reference.h"

namespace frugal::kernels {
namespace {

PoolParams pool_params(int32_t filter, int32_t stride, int32_t pad) {
  return PoolParams{stride, stride, filter, filter, pad, pad, -128, 127};
}

TEST(ReferenceAveragePool, RoundsHalfAwayFromZero) {
  // 2x2 windows, stride 2, over a 2x16 input: 8 windows of 4 elements with sums
  // 12, -10, -9, -6, 6, 2, -2, 0.
  //   12/4 = 3; -10/4 = -2.5 -> -3; -9/4 = -2.25 -> -2; -6/4 = -1.5 -> -2; 6/4 = 1.5 -> 2;
  //   2/4 = 0.5 -> 1; -2/4 = -0.5 -> -1; 0 -> 0
  const int8_t input[2 * 16] = {
      // row 0
      1, 2, -3, -2, -2, -2, -1, -1, 1, 1, 1, 0, -1, 0, 0, 0,
      // row 1
      4, 5, -3, -2, -2, -3, -2, -2, 2, 2, 0, 1, -1, 0, 0, 0};
  int8_t out[8];
  reference::average_pool(pool_params(2, 2, 0), {1, 2, 16, 1}, input, {1, 1, 8, 1}, out);
  const int8_t expected[8] = {3, -3, -2, -2, 2, 1, -1, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

TEST(ReferenceAveragePool, CountsOnlyInBoundsElements) {
  // 3x3 filter, stride 1, pad 1 over a 3x3 input: corners average 4 elements, edges 6, the
  // centre 9.
  //   input [[9,0,0],[0,0,0],[0,0,-9]]
  //   (0,0) 9/4 = 2.25 -> 2   (0,1) 9/6 = 1.5 -> 2   (0,2) 0
  //   (1,0) 9/6 -> 2          (1,1) 0/9 = 0          (1,2) -9/6 = -1.5 -> -2
  //   (2,0) 0                 (2,1) -9/6 -> -2       (2,2) -9/4 = -2.25 -> -2
  const int8_t input[9] = {9, 0, 0, 0, 0, 0, 0, 0, -9};
  int8_t out[9];
  reference::average_pool(pool_params(3, 1, 1), {1, 3, 3, 1}, input, {1, 3, 3, 1}, out);
  const int8_t expected[9] = {2, 2, 0, 2, 0, -2, 0, -2, -2};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(out[i], expected[i]) << i;

  // A 3x3 window over a 2x2 input (pad 1) sees 4 elements wherever it is: 12/4 = 3 everywhere
  // (9 elements counted with padding would give 12/9 -> 1).
  const int8_t small[4] = {1, 2, 3, 6};
  int8_t out4[4];
  reference::average_pool(pool_params(3, 1, 1), {1, 2, 2, 1}, small, {1, 2, 2, 1}, out4);
  for (int8_t v : out4) EXPECT_EQ(v, 3);

  // Fused clamp [-1, 127] after the average.
  PoolParams clamped = pool_params(3, 1, 1);
  clamped.act_min = -1;
  reference::average_pool(clamped, {1, 3, 3, 1}, input, {1, 3, 3, 1}, out);
  EXPECT_EQ(out[8], -1);
  EXPECT_EQ(out[0], 2);
}

TEST(ReferenceAveragePool, ChannelsAndBatchesAreIndependent) {
  // Global 2x2 average of two channels and two batches.
  //   batch 0: ch0 {1,2,3,4} -> 10/4 = 2.5 -> 3; ch1 {-1,-2,-3,-4} -> -3
  //   batch 1: ch0 {100,100,100,101} -> 100.25 -> 100; ch1 {-128 x4} -> -128
  const int8_t input[16] = {1, -1, 2, -2, 3, -3, 4, -4,
                            100, -128, 100, -128, 100, -128, 101, -128};
  int8_t out[4];
  reference::average_pool(pool_params(2, 2, 0), {2, 2, 2, 2}, input, {2, 1, 1, 2}, out);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(out[1], -3);
  EXPECT_EQ(out[2], 100);
  EXPECT_EQ(out[3], -128);
}

TEST(ReferenceMaxPool, PaddingIsNotZero) {
  // All-negative input with a padded 3x3 window: padding must not act as a 0 candidate.
  const int8_t input[4] = {-5, -7, -9, -6};
  int8_t out[4];
  reference::max_pool(pool_params(3, 1, 1), {1, 2, 2, 1}, input, {1, 2, 2, 1}, out);
  for (int8_t v : out) EXPECT_EQ(v, -5);
}

TEST(ReferenceMaxPool, StrideTwoBlocksAndClamp) {
  // 4x4 input in 2x2 blocks: maxima 6, 8, 14, 16.
  const int8_t input[16] = {1, 5, 2, 3, 6, 0, 8, 7, 9, 10, 13, 16, 11, 14, 12, 15};
  int8_t out[4];
  reference::max_pool(pool_params(2, 2, 0), {1, 4, 4, 1}, input, {1, 2, 2, 1}, out);
  EXPECT_EQ(out[0], 6);
  EXPECT_EQ(out[1], 8);
  EXPECT_EQ(out[2], 14);
  EXPECT_EQ(out[3], 16);
  PoolParams clamped = pool_params(2, 2, 0);
  clamped.act_max = 10;
  clamped.act_min = 7;
  reference::max_pool(clamped, {1, 4, 4, 1}, input, {1, 2, 2, 1}, out);
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(out[1], 8);
  EXPECT_EQ(out[2], 10);
  EXPECT_EQ(out[3], 10);
}

}  // namespace
}  // namespace frugal::kernels
