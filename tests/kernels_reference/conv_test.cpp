// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: hand-computed cases, and random cases against
// a differently organised oracle (explicitly zero-point-padded input, long-double requantization).

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/quantization.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels {
namespace {

constexpr int32_t k2p30 = int32_t{1} << 30;
constexpr QuantizedMultiplier kQuarter{k2p30, -1}, kHalf{k2p30, 0}, kOne{k2p30, 1},
    kTwo{k2p30, 2};

ConvParams conv_params(int32_t input_zp, int32_t output_zp, int32_t stride, int32_t pad,
                       int32_t dilation = 1) {
  ConvParams p{};
  p.input_offset = -input_zp;
  p.output_offset = output_zp;
  p.stride_h = p.stride_w = stride;
  p.dilation_h = p.dilation_w = dilation;
  p.pad_h = p.pad_w = pad;
  p.depth_multiplier = 1;
  p.act_min = -128;
  p.act_max = 127;
  return p;
}

TEST(ReferenceConv2D, ValidThreeByThree) {
  // input q = 1..9 with zero point 1 -> centred [[0,1,2],[3,4,5],[6,7,8]]; filter [[1,2],[3,4]];
  // multiplier 0.5; output zero point -5;
  // bias 2 makes every product a tie, which the high multiply rounds up:
  //   (0,0): 0*1 + 1*2 + 3*3 + 4*4 = 27, +2 = 29, *0.5 = 14.5 -> 15, -5 = 10
  //   (0,1): 1*1 + 2*2 + 4*3 + 5*4 = 37, 39, 19.5 -> 20, 15
  //   (1,0): 3*1 + 4*2 + 6*3 + 7*4 = 57, 59, 29.5 -> 30, 25
  //   (1,1): 4*1 + 5*2 + 7*3 + 8*4 = 67, 69, 34.5 -> 35, 30
  const int8_t input[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int8_t filter[4] = {1, 2, 3, 4};
  const int32_t bias[1] = {2};
  const QuantizedMultiplier m[1] = {kHalf};
  int8_t out[4];
  reference::conv2d(conv_params(1, -5, 1, 0), m, {1, 3, 3, 1}, input, {1, 2, 2, 1}, filter, bias,
                    {1, 2, 2, 1}, out);
  EXPECT_EQ(out[0], 10);
  EXPECT_EQ(out[1], 15);
  EXPECT_EQ(out[2], 25);
  EXPECT_EQ(out[3], 30);
}

TEST(ReferenceConv2D, PaddingContributesNothingAndPerChannelMultipliers) {
  // 2x2x2 input (zero point 2), 3x3 filter, pad 1, stride 2 -> one output pixel whose window
  // covers the whole input at filter taps (1..2, 1..2); the 5 padded taps add nothing (they
  // stand for the zero point, not for q = 0).
  //   centred input: (0,0) [8,-12] (0,1) [18,-2] (1,0) [-32,3] (1,1) [-2,-2]
  //   oc0: all weights 1 -> sum = 8-12+18-2-32+3-2-2 = -21, multiplier 1 -> -21
  //   oc1: weight 2 at tap (1,1) channel 0 -> 2*8 = 16, bias -4 -> 12, multiplier 0.25 -> 3
  const int8_t input[8] = {10, -10, 20, 0, -30, 5, 0, 0};
  std::vector<int8_t> filter(2 * 3 * 3 * 2, 0);
  for (int i = 0; i < 18; ++i) filter[static_cast<size_t>(i)] = 1;  // oc0
  filter[18 + (1 * 3 + 1) * 2 + 0] = 2;                              // oc1, tap (1,1), ic0
  const int32_t bias[2] = {0, -4};
  const QuantizedMultiplier m[2] = {kOne, kQuarter};
  int8_t out[2];
  reference::conv2d(conv_params(2, 0, 2, 1), m, {1, 2, 2, 2}, input, {2, 3, 3, 2}, filter.data(),
                    bias, {1, 1, 1, 2}, out);
  EXPECT_EQ(out[0], -21);
  EXPECT_EQ(out[1], 3);

  // The same with a fused clamp to [-3, 127] (e.g. RELU with output zero point -3).
  ConvParams clamped = conv_params(2, 0, 2, 1);
  clamped.act_min = -3;
  reference::conv2d(clamped, m, {1, 2, 2, 2}, input, {2, 3, 3, 2}, filter.data(), bias,
                    {1, 1, 1, 2}, out);
  EXPECT_EQ(out[0], -3);
  EXPECT_EQ(out[1], 3);
}

TEST(ReferenceConv2D, DilationAndNoBias) {
  // Row [1,2,3,4,5], filter [1,1] with dilation 3 spans 4 columns: out0 = 1+4, out1 = 2+5.
  const int8_t input[5] = {1, 2, 3, 4, 5};
  const int8_t filter[2] = {1, 1};
  const QuantizedMultiplier m[1] = {kOne};
  int8_t out[2];
  reference::conv2d(conv_params(0, 0, 1, 0, 3), m, {1, 1, 5, 1}, input, {1, 1, 2, 1}, filter,
                    nullptr, {1, 1, 2, 1}, out);
  EXPECT_EQ(out[0], 5);
  EXPECT_EQ(out[1], 7);
}

TEST(ReferenceConv2D, Groups) {
  // Two input channels, filters of depth 1: two groups, oc0 reads ic0 and oc1 reads ic1.
  const int8_t input[2] = {3, 5};
  const int8_t filter[2] = {2, 3};
  const QuantizedMultiplier m[2] = {kOne, kOne};
  int8_t out[2];
  reference::conv2d(conv_params(0, 0, 1, 0), m, {1, 1, 1, 2}, input, {2, 1, 1, 1}, filter,
                    nullptr, {1, 1, 1, 2}, out);
  EXPECT_EQ(out[0], 6);
  EXPECT_EQ(out[1], 15);
}

TEST(ReferenceDepthwiseConv2D, DepthMultiplierTwo) {
  // 2x2x2 input, 2x2 filter, depth multiplier 2 -> 4 output channels, oc = ic * 2 + m.
  //   ic0 values 1,3,5,7; ic1 values 2,4,6,8 (zero point 0).
  //   oc0 (ic0): all ones -> 16, *0.5 -> 8, +1 -> 9
  //   oc1 (ic0): +1 at (0,0), -1 at (1,1) -> 1-7 = -6, bias 1 -> -5, *1 -> -5, +1 -> -4
  //   oc2 (ic1): all ones -> 20, *0.25 -> 5, +1 -> 6
  //   oc3 (ic1): 2 at (0,1) -> 8, bias -1 -> 7, *2 -> 14, +1 -> 15
  const int8_t input[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  // filter [1][2][2][4], index (fy * 2 + fx) * 4 + oc
  const int8_t filter[16] = {1, 1, 1, 0,  /* (0,0) */ 1, 0, 1, 2,  /* (0,1) */
                             1, 0, 1, 0,  /* (1,0) */ 1, -1, 1, 0 /* (1,1) */};
  const int32_t bias[4] = {0, 1, 0, -1};
  const QuantizedMultiplier m[4] = {kHalf, kOne, kQuarter, kTwo};
  ConvParams p = conv_params(0, 1, 1, 0);
  p.depth_multiplier = 2;
  int8_t out[4];
  reference::depthwise_conv2d(p, m, {1, 2, 2, 2}, input, {1, 2, 2, 4}, filter, bias,
                              {1, 1, 1, 4}, out);
  EXPECT_EQ(out[0], 9);
  EXPECT_EQ(out[1], -4);
  EXPECT_EQ(out[2], 6);
  EXPECT_EQ(out[3], 15);
}

TEST(ReferenceFullyConnected, TwoBatches) {
  // input zero point -1: b0 [0,1,2] -> [1,2,3], b1 [-1,-1,4] -> [0,0,5]
  // weights o0 [1,1,1], o1 [2,-1,0]; bias [10,-10]; multiplier 0.5; output zero point 2.
  //   b0: o0 6+10 = 16 -> 8 -> 10;   o1 2-2 = 0, -10 -> -5 -> -3
  //   b1: o0 5+10 = 15 -> 7.5 -> 8 -> 10;   o1 0-10 -> -5 -> -3
  const int8_t input[6] = {0, 1, 2, -1, -1, 4};
  const int8_t weights[6] = {1, 1, 1, 2, -1, 0};
  const int32_t bias[2] = {10, -10};
  const QuantizedMultiplier m[2] = {kHalf, kHalf};
  FullyConnectedParams p{1, 2, -128, 127};
  int8_t out[4];
  reference::fully_connected(p, m, 2, 3, input, 2, weights, bias, out);
  EXPECT_EQ(out[0], 10);
  EXPECT_EQ(out[1], -3);
  EXPECT_EQ(out[2], 10);
  EXPECT_EQ(out[3], -3);
  // Without bias: b0 o0 = 6 * 0.5 = 3 -> 5; b1 o1 = 0 -> 2.
  reference::fully_connected(p, m, 2, 3, input, 2, weights, nullptr, out);
  EXPECT_EQ(out[0], 5);
  EXPECT_EQ(out[3], 2);
  // Saturation to int8: a huge accumulator clamps to 127.
  const int32_t big_bias[2] = {100000, -100000};
  reference::fully_connected(p, m, 2, 3, input, 2, weights, big_bias, out);
  EXPECT_EQ(out[0], 127);
  EXPECT_EQ(out[1], -128);
}

// ----- random cases against an independent formulation ---------------------------------------

int32_t requantize_oracle(int64_t acc, QuantizedMultiplier m, int32_t zp) {
  // High multiply rounded half up, then the right shift rounded half away from zero (the
  // two-step definition), in exact long double.
  const long double x = static_cast<long double>(static_cast<int32_t>(acc)) *
                        std::ldexp(1.0L, m.shift > 0 ? m.shift : 0);
  const long double high = std::floor(x * m.multiplier / 2147483648.0L + 0.5L);
  const long double shifted = std::ldexp(high, m.shift > 0 ? 0 : m.shift);
  const long double rounded = std::round(shifted);
  const int64_t out = static_cast<int64_t>(rounded) + zp;
  return static_cast<int32_t>(out < -128 ? -128 : (out > 127 ? 127 : out));
}

TEST(ReferenceConv2D, RandomAgainstPaddedOracle) {
  std::mt19937 rng(11);
  auto rand_int = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 60; ++trial) {
    const Dims4 in{rand_int(1, 2), rand_int(1, 7), rand_int(1, 7), rand_int(1, 5)};
    const int32_t kh = rand_int(1, 3), kw = rand_int(1, 3), oc_count = rand_int(1, 4);
    const int32_t stride = rand_int(1, 2), dilation = rand_int(1, 2), pad = rand_int(0, 2);
    const int32_t span_h = in.h + 2 * pad - dilation * (kh - 1) - 1;
    const int32_t span_w = in.w + 2 * pad - dilation * (kw - 1) - 1;
    if (span_h < 0 || span_w < 0) continue;  // the filter does not fit
    const int32_t out_h = span_h / stride + 1, out_w = span_w / stride + 1;
    const int32_t input_zp = rand_int(-128, 127), output_zp = rand_int(-20, 20);
    std::vector<int8_t> input(static_cast<size_t>(in.elements()));
    for (auto& v : input) v = static_cast<int8_t>(rand_int(-128, 127));
    const Dims4 fd{oc_count, kh, kw, in.c};
    std::vector<int8_t> filter(static_cast<size_t>(fd.elements()));
    for (auto& v : filter) v = static_cast<int8_t>(rand_int(-127, 127));
    std::vector<int32_t> bias(static_cast<size_t>(oc_count));
    for (auto& v : bias) v = rand_int(-5000, 5000);
    std::vector<QuantizedMultiplier> m(static_cast<size_t>(oc_count));
    for (auto& q : m) q = quantize_multiplier(std::exp2(std::uniform_real_distribution<double>(-14, -6)(rng)));

    const Dims4 od{in.n, out_h, out_w, oc_count};
    std::vector<int8_t> out(static_cast<size_t>(od.elements()));
    reference::conv2d(conv_params(input_zp, output_zp, stride, pad, dilation), m.data(), in,
                      input.data(), fd, filter.data(), bias.data(), od, out.data());

    // Oracle: materialise the padded input filled with the zero point, then convolve densely.
    const int32_t ph = in.h + 2 * pad, pw = in.w + 2 * pad;
    std::vector<int32_t> padded(static_cast<size_t>(in.n * ph * pw * in.c), input_zp);
    for (int32_t b = 0; b < in.n; ++b)
      for (int32_t y = 0; y < in.h; ++y)
        for (int32_t x = 0; x < in.w; ++x)
          for (int32_t c = 0; c < in.c; ++c)
            padded[static_cast<size_t>(((b * ph + y + pad) * pw + x + pad) * in.c + c)] =
                input[static_cast<size_t>(((b * in.h + y) * in.w + x) * in.c + c)];
    size_t i = 0;
    for (int32_t b = 0; b < od.n; ++b)
      for (int32_t y = 0; y < od.h; ++y)
        for (int32_t x = 0; x < od.w; ++x)
          for (int32_t o = 0; o < od.c; ++o, ++i) {
            int64_t acc = bias[static_cast<size_t>(o)];
            for (int32_t fy = 0; fy < kh; ++fy)
              for (int32_t fx = 0; fx < kw; ++fx)
                for (int32_t c = 0; c < in.c; ++c) {
                  const int32_t py = y * stride + fy * dilation, px = x * stride + fx * dilation;
                  acc += int64_t{filter[static_cast<size_t>(((o * kh + fy) * kw + fx) * in.c + c)]} *
                         (padded[static_cast<size_t>(((b * ph + py) * pw + px) * in.c + c)] - input_zp);
                }
            ASSERT_EQ(out[i], requantize_oracle(acc, m[static_cast<size_t>(o)], output_zp))
                << "trial " << trial << " index " << i << " acc " << acc << " m " \
                << m[static_cast<size_t>(o)].multiplier << "," << m[static_cast<size_t>(o)].shift;
          }
  }
}

}  // namespace
}  // namespace frugal::kernels
