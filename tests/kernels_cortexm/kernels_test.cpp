// The Cortex-M kernels compiled for the host (emulated dsp.h) against the reference kernels,
// bit for bit, over randomised shapes and quantization, plus the anchor shapes of DESIGN.md as
// `static constexpr` shape structs (the generator's form).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cortexm/kernels.h"
#include "kernels/cortexm/pack.h"
#include "kernels/reference/reference.h"
#include "shapes.h"

namespace frugal::kernels::cortexm {
namespace {

using testing::ConvShape;
using testing::ElementwiseShape;
using testing::FcShape;
using testing::PoolShape;

struct Rng {
  std::mt19937 gen;
  explicit Rng(uint32_t seed) : gen(seed) {}
  int32_t uniform(int32_t lo, int32_t hi) {
    return std::uniform_int_distribution<int32_t>(lo, hi)(gen);
  }
  bool chance(int percent) { return uniform(0, 99) < percent; }
  std::vector<int8_t> bytes(size_t n) {
    std::vector<int8_t> v(n);
    for (auto& x : v) x = static_cast<int8_t>(uniform(-128, 127));
    return v;
  }
};

// Realistic multipliers (right shifts, the fast requantization) most of the time; sometimes
// anything TFLite's QuantizeMultiplier can produce, including left shifts.
std::vector<QuantizedMultiplier> random_multipliers(Rng& rng, int32_t n) {
  std::vector<QuantizedMultiplier> m(static_cast<size_t>(n));
  const bool wild = rng.chance(25);
  for (auto& q : m) {
    q.multiplier = rng.uniform(1 << 30, INT32_MAX);
    q.shift = wild ? rng.uniform(-31, 3) : rng.uniform(-12, -6);
  }
  return m;
}

std::vector<int32_t> random_bias(Rng& rng, int32_t n) {
  std::vector<int32_t> b(static_cast<size_t>(n));
  const int32_t range = rng.chance(20) ? (1 << 24) : (1 << 14);
  for (auto& x : b) x = rng.uniform(-range, range);
  return b;
}

void random_clamp(Rng& rng, int32_t& act_min, int32_t& act_max) {
  act_min = -128;
  act_max = 127;
  if (rng.chance(50)) {
    act_min = rng.uniform(-128, 20);
    act_max = rng.uniform(act_min, 127);
  }
}

int32_t out_extent(int32_t in, int32_t k, int32_t stride, int32_t pad, int32_t dilation) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

ConvShape random_conv_shape(Rng& rng, bool depthwise) {
  for (;;) {
    ConvShape s{};
    s.in_h = rng.uniform(1, 9);
    s.in_w = rng.uniform(1, 9);
    s.in_c = rng.chance(25) ? 4 * rng.uniform(1, 6) : rng.uniform(1, 9);
    s.kh = rng.uniform(1, 3) + (rng.chance(10) ? 2 : 0);
    s.kw = rng.uniform(1, 3) + (rng.chance(10) ? 2 : 0);
    s.stride_h = rng.uniform(1, 2);
    s.stride_w = rng.uniform(1, 3);
    s.dilation_h = rng.chance(15) ? 2 : 1;
    s.dilation_w = rng.chance(15) ? 2 : 1;
    s.pad_h = rng.uniform(0, s.kh - 1);
    s.pad_w = rng.uniform(0, s.kw - 1);
    s.depth_multiplier = depthwise && rng.chance(25) ? rng.uniform(2, 3) : 1;
    s.out_c = depthwise ? s.in_c * s.depth_multiplier
                        : (rng.chance(30) ? 2 * rng.uniform(1, 12) : rng.uniform(1, 9));
    s.out_h = out_extent(s.in_h, s.kh, s.stride_h, s.pad_h, s.dilation_h);
    s.out_w = out_extent(s.in_w, s.kw, s.stride_w, s.pad_w, s.dilation_w);
    if (s.out_h < 1 || s.out_w < 1) continue;
    s.input_offset = rng.uniform(-127, 128);
    s.output_offset = rng.uniform(-128, 127);
    random_clamp(rng, s.act_min, s.act_max);
    return s;
  }
}

ConvParams reference_params(const ConvShape& s) {
  ConvParams p{};
  p.input_offset = s.input_offset;
  p.output_offset = s.output_offset;
  p.stride_h = s.stride_h;
  p.stride_w = s.stride_w;
  p.dilation_h = s.dilation_h;
  p.dilation_w = s.dilation_w;
  p.pad_h = s.pad_h;
  p.pad_w = s.pad_w;
  p.depth_multiplier = s.depth_multiplier;
  p.act_min = s.act_min;
  p.act_max = s.act_max;
  return p;
}

// Scratch with the kernels' alignment requirement.
std::vector<int16_t> scratch_for(size_t bytes) { return std::vector<int16_t>(bytes / 2 + 2); }

template <class Shape>
bool check_conv(const Shape& s, const ConvShape& dims, Rng& rng, const std::vector<int8_t>& input,
                const std::vector<int8_t>& filter, bool with_bias, const std::string& what) {
  const auto bias = random_bias(rng, dims.out_c);
  const auto mult = random_multipliers(rng, dims.out_c);
  const int32_t* bias_ptr = with_bias ? bias.data() : nullptr;
  std::vector<int8_t> expected(static_cast<size_t>(dims.out_h) * dims.out_w * dims.out_c);
  reference::conv2d(reference_params(dims), mult.data(), Dims4{1, dims.in_h, dims.in_w, dims.in_c},
                    input.data(), Dims4{dims.out_c, dims.kh, dims.kw, dims.in_c}, filter.data(),
                    bias_ptr, Dims4{1, dims.out_h, dims.out_w, dims.out_c}, expected.data());
  const PackedConv packed = pack_conv(filter.data(), dims.out_c, dims.kh, dims.kw, dims.in_c,
                                      bias_ptr, mult.data(), dims.input_offset);
  auto scratch = scratch_for(conv2d_scratch_bytes(s));
  std::vector<int8_t> actual(expected.size(), 0x55);
  conv2d<RequantExact>(s, input.data(), packed.weights.data(), exact_form(packed.quant, packed.requant).data(),
                       actual.data(), scratch.data());
  EXPECT_EQ(actual, expected) << what << " (exact requantization)";
  // Pre-expanded int16 weights: the same outputs.
  const PackedConv packed16 =
      pack_conv(filter.data(), dims.out_c, dims.kh, dims.kw, dims.in_c, bias_ptr, mult.data(),
                dims.input_offset, WeightFormat::kInt16);
  std::fill(actual.begin(), actual.end(), int8_t{0x55});
  conv2d<RequantExact>(s, input.data(), packed16.weights16.data(),
                       exact_form(packed16.quant, packed16.requant).data(), actual.data(), scratch.data());
  EXPECT_EQ(actual, expected) << what << " (int16 weights, exact requantization)";
  if (packed.requant == RequantKind::kFast) {
    std::fill(actual.begin(), actual.end(), int8_t{0x55});
    conv2d<RequantFast>(s, input.data(), packed.weights.data(), packed.quant.data(),
                        actual.data(), scratch.data());
    EXPECT_EQ(actual, expected) << what << " (fast requantization)";
    std::fill(actual.begin(), actual.end(), int8_t{0x55});
    conv2d<RequantFast>(s, input.data(), packed16.weights16.data(), packed16.quant.data(),
                        actual.data(), scratch.data());
    EXPECT_EQ(actual, expected) << what << " (int16 weights, fast requantization)";
    return true;
  }
  return false;
}

std::string describe(const ConvShape& s) {
  return "in " + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + "x" +
         std::to_string(s.in_c) + " out_c " + std::to_string(s.out_c) + " k " +
         std::to_string(s.kh) + "x" + std::to_string(s.kw) + " stride " +
         std::to_string(s.stride_h) + "," + std::to_string(s.stride_w) + " pad " +
         std::to_string(s.pad_h) + "," + std::to_string(s.pad_w) + " dil " +
         std::to_string(s.dilation_h) + "," + std::to_string(s.dilation_w) + " dm " +
         std::to_string(s.depth_multiplier);
}

TEST(CortexmConv, RandomShapesMatchReference) {
  Rng rng(1234);
  int fast = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    const ConvShape s = random_conv_shape(rng, false);
    const auto input = rng.bytes(static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
    const auto filter = rng.bytes(static_cast<size_t>(s.out_c) * s.kh * s.kw * s.in_c);
    fast += check_conv(s, s, rng, input, filter, rng.chance(80), describe(s)) ? 1 : 0;
    if (HasFailure()) return;
  }
  // Both requantizations get exercised.
  EXPECT_GT(fast, 500);
  EXPECT_LT(fast, 1400);
}

std::vector<int8_t> run_depthwise_reference(const ConvShape& s, const std::vector<int8_t>& input,
                                            const std::vector<int8_t>& filter,
                                            const int32_t* bias,
                                            const std::vector<QuantizedMultiplier>& mult) {
  std::vector<int8_t> expected(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
  reference::depthwise_conv2d(reference_params(s), mult.data(),
                              Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                              Dims4{1, s.kh, s.kw, s.out_c}, filter.data(), bias,
                              Dims4{1, s.out_h, s.out_w, s.out_c}, expected.data());
  return expected;
}

template <class Shape>
void check_depthwise(const Shape& s, const ConvShape& dims, Rng& rng,
                     const std::vector<int8_t>& input, const std::vector<int8_t>& filter,
                     const std::string& what) {
  const auto bias = random_bias(rng, dims.out_c);
  const auto mult = random_multipliers(rng, dims.out_c);
  const auto expected = run_depthwise_reference(dims, input, filter, bias.data(), mult);
  const PackedDepthwise packed = pack_depthwise(filter.data(), dims.kh, dims.kw, dims.out_c,
                                                bias.data(), mult.data(), dims.input_offset);
  std::vector<int8_t> actual(expected.size(), 0x55);
  depthwise_conv2d<RequantExact>(s, input.data(), packed.weights.data(),
                                 exact_form(packed.quant, packed.requant).data(), actual.data());
  ASSERT_EQ(actual, expected) << what << " (exact requantization)";
  if (packed.requant == RequantKind::kFast) {
    std::fill(actual.begin(), actual.end(), int8_t{0x55});
    depthwise_conv2d<RequantFast>(s, input.data(), packed.weights.data(), packed.quant.data(),
                                  actual.data());
    ASSERT_EQ(actual, expected) << what << " (fast requantization)";
  }
}

TEST(CortexmDepthwise, RandomShapesMatchReference) {
  Rng rng(99);
  for (int iter = 0; iter < 1500; ++iter) {
    const ConvShape s = random_conv_shape(rng, true);
    const auto input = rng.bytes(static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
    const auto filter = rng.bytes(static_cast<size_t>(s.kh) * s.kw * s.out_c);
    check_depthwise(s, s, rng, input, filter, describe(s));
    if (HasFatalFailure()) return;
  }
}

TEST(CortexmFullyConnected, RandomShapesMatchReference) {
  Rng rng(7);
  for (int iter = 0; iter < 1500; ++iter) {
    FcShape s{};
    s.batches = rng.uniform(1, 4);
    s.depth = rng.chance(30) ? 4 * rng.uniform(1, 40) : rng.uniform(1, 70);
    s.out_depth = rng.uniform(1, 12);
    s.input_offset = rng.uniform(-127, 128);
    s.output_offset = rng.uniform(-128, 127);
    random_clamp(rng, s.act_min, s.act_max);
    const auto input = rng.bytes(static_cast<size_t>(s.batches) * s.depth);
    const auto weights = rng.bytes(static_cast<size_t>(s.out_depth) * s.depth);
    const auto bias = random_bias(rng, s.out_depth);
    const auto mult = random_multipliers(rng, s.out_depth);
    std::vector<int8_t> expected(static_cast<size_t>(s.batches) * s.out_depth);
    reference::fully_connected(
        FullyConnectedParams{s.input_offset, s.output_offset, s.act_min, s.act_max}, mult.data(),
        s.batches, s.depth, input.data(), s.out_depth, weights.data(), bias.data(),
        expected.data());
    const PackedConv packed = pack_fully_connected(weights.data(), s.out_depth, s.depth,
                                                   bias.data(), mult.data(), s.input_offset);
    auto scratch = scratch_for(fully_connected_scratch_bytes(s));
    std::vector<int8_t> actual(expected.size(), 0x55);
    fully_connected<RequantExact>(s, input.data(), packed.weights.data(),
                                  exact_form(packed.quant, packed.requant).data(), actual.data(), scratch.data());
    ASSERT_EQ(actual, expected) << "depth " << s.depth << " out " << s.out_depth;
    if (packed.requant == RequantKind::kFast) {
      fully_connected<RequantFast>(s, input.data(), packed.weights.data(), packed.quant.data(),
                                   actual.data(), scratch.data());
      ASSERT_EQ(actual, expected) << "fast, depth " << s.depth << " out " << s.out_depth;
    }
    const PackedConv packed16 =
        pack_fully_connected(weights.data(), s.out_depth, s.depth, bias.data(), mult.data(),
                             s.input_offset, WeightFormat::kInt16);
    std::fill(actual.begin(), actual.end(), int8_t{0x55});
    fully_connected<RequantExact>(s, input.data(), packed16.weights16.data(),
                                  exact_form(packed16.quant, packed16.requant).data(), actual.data(), scratch.data());
    ASSERT_EQ(actual, expected) << "int16 weights, depth " << s.depth << " out " << s.out_depth;
  }
}

TEST(CortexmPooling, RandomShapesMatchReference) {
  Rng rng(11);
  for (int iter = 0; iter < 1500; ++iter) {
    PoolShape s{};
    s.in_h = rng.uniform(1, 10);
    s.in_w = rng.uniform(1, 10);
    s.channels = rng.chance(40) ? 4 * rng.uniform(1, 5) : rng.uniform(1, 9);
    s.filter_h = rng.uniform(1, 4);
    s.filter_w = rng.uniform(1, 4);
    if (rng.chance(5)) s.filter_h = s.filter_w = 17;  // > 256 elements: int32 sums
    s.stride_h = rng.uniform(1, 3);
    s.stride_w = rng.uniform(1, 3);
    s.pad_h = rng.uniform(0, s.filter_h - 1);
    s.pad_w = rng.uniform(0, s.filter_w - 1);
    s.out_h = out_extent(s.in_h, s.filter_h, s.stride_h, s.pad_h, 1);
    s.out_w = out_extent(s.in_w, s.filter_w, s.stride_w, s.pad_w, 1);
    if (s.out_h < 1 || s.out_w < 1) continue;
    if (s.filter_h == 17) s.in_h = s.in_w = 20, s.out_h = out_extent(20, 17, s.stride_h, s.pad_h, 1),
                          s.out_w = out_extent(20, 17, s.stride_w, s.pad_w, 1);
    random_clamp(rng, s.act_min, s.act_max);
    const auto input = rng.bytes(static_cast<size_t>(s.in_h) * s.in_w * s.channels);
    const PoolParams p{s.stride_h, s.stride_w, s.filter_h, s.filter_w,
                       s.pad_h,    s.pad_w,    s.act_min,  s.act_max};
    const Dims4 in_dims{1, s.in_h, s.in_w, s.channels}, out_dims{1, s.out_h, s.out_w, s.channels};
    std::vector<int8_t> expected(static_cast<size_t>(out_dims.elements()));
    std::vector<int8_t> actual(expected.size(), 0x55);
    reference::max_pool(p, in_dims, input.data(), out_dims, expected.data());
    max_pool(s, input.data(), actual.data());
    ASSERT_EQ(actual, expected) << "max pool";
    reference::average_pool(p, in_dims, input.data(), out_dims, expected.data());
    average_pool(s, input.data(), actual.data());
    ASSERT_EQ(actual, expected) << "average pool, filter " << s.filter_h << "x" << s.filter_w;
  }
}

TEST(CortexmAdd, RandomQuantizationMatchesReference) {
  Rng rng(5);
  int fast = 0;
  for (int iter = 0; iter < 800; ++iter) {
    const auto scale = [&] { return 0.001f * static_cast<float>(rng.uniform(1, 2000)); };
    const AddParams p = make_add_params(scale(), rng.uniform(-128, 127), scale(),
                                        rng.uniform(-128, 127), scale(), rng.uniform(-128, 127),
                                        rng.uniform(0, 3));
    const ElementwiseShape s{rng.uniform(1, 300)};
    const auto a = rng.bytes(static_cast<size_t>(s.elements));
    const auto b = rng.bytes(static_cast<size_t>(s.elements));
    const Dims4 dims{1, 1, 1, s.elements};
    std::vector<int8_t> expected(a.size()), actual(a.size(), 0x55);
    reference::add(p, dims, a.data(), dims, b.data(), dims, expected.data());
    AddQuant q = pack_add(p);
    fast += q.fast;
    add(s, q, a.data(), b.data(), actual.data());
    ASSERT_EQ(actual, expected) << "fast " << q.fast;
    q.fast = 0;
    add(s, q, a.data(), b.data(), actual.data());
    ASSERT_EQ(actual, expected) << "exact";
  }
  EXPECT_EQ(fast, 800);  // TFLite's ADD parameters always admit the fast path
}

// Every accumulator the fast requantization can be given (within the packer's bound) matches
// quantization.h, including the rounding ties of both rounding steps.
TEST(CortexmRequant, FastEqualsMultiplyByQuantizedMultiplier) {
  Rng rng(3);
  const int32_t limit = (1 << 29) - 1;  // the packer's accumulator bound for RequantFast
  for (int iter = 0; iter < 300000; ++iter) {
    const QuantizedMultiplier m{rng.uniform(1 << 30, INT32_MAX), rng.uniform(-31, -1)};
    int32_t acc = rng.uniform(-limit, limit);
    if (rng.chance(30)) acc = rng.uniform(-1000, 1000);
    if (rng.chance(5)) acc = rng.chance(50) ? limit : -limit;
    if (rng.chance(5)) {
      // An exact tie of the final rounding: acc * m = (2k + 1) * 2^(30 + e) needs m a power of
      // two; take m = 2^30 so y = acc / 2 (rounded) and pick acc = (2k + 1) * 2^e.
      const QuantizedMultiplier half{1 << 30, rng.uniform(-12, -1)};
      const int32_t tie = (2 * rng.uniform(-1000, 1000) + 1) << -half.shift;
      const auto qh = fast_form(pack_channel_quant(1, nullptr, &half)[0]);
      ASSERT_EQ(RequantFast::apply(tie, qh), multiply_by_quantized_multiplier(tie, half)) << tie;
    }
    const auto q = fast_form(pack_channel_quant(1, nullptr, &m)[0]);
    ASSERT_EQ(RequantFast::apply(acc, q), multiply_by_quantized_multiplier(acc, m))
        << acc << " " << m.multiplier << " " << m.shift;
  }
}

// A layer packed for RequantFast keeps everything RequantExact needs: the tests (and any caller)
// may run either on one packing.
TEST(CortexmRequant, FastFormConvertsBackToExactForm) {
  Rng rng(5);
  for (int iter = 0; iter < 10000; ++iter) {
    const ChannelQuant exact{rng.uniform(-100000, 100000), rng.uniform(1 << 30, INT32_MAX), rng.uniform(-31, -1)};
    const ChannelQuant fast = fast_form(exact);
    EXPECT_EQ(fast.shift, -exact.shift - 1);
    const ChannelQuant back = exact_form({fast}, RequantKind::kFast)[0];
    ASSERT_EQ(back.bias, exact.bias);
    ASSERT_EQ(back.multiplier, exact.multiplier);
    ASSERT_EQ(back.shift, exact.shift);
  }
  const ChannelQuant top = fast_form({0, INT32_MAX, -31});
  EXPECT_EQ(top.multiplier, -2);  // 2 (2^31 - 1) - 2^32
  EXPECT_EQ(top.shift, 30);
  EXPECT_EQ(exact_form({top}, RequantKind::kExact)[0].multiplier, -2);  // already exact: unchanged
}

TEST(CortexmRequant, PackerChoosesExactWhenFastIsNotProvablyExact) {
  const int8_t w[4] = {127, -128, 5, 0};
  const QuantizedMultiplier ok{1 << 30, -8};
  EXPECT_EQ(pack_fully_connected(w, 1, 4, nullptr, &ok, 128).requant, RequantKind::kFast);
  const QuantizedMultiplier left{1 << 30, 1}, no_shift{1 << 30, 0}, small{1 << 29, -3};
  EXPECT_EQ(pack_fully_connected(w, 1, 4, nullptr, &left, 128).requant, RequantKind::kExact);
  EXPECT_EQ(pack_fully_connected(w, 1, 4, nullptr, &no_shift, 128).requant, RequantKind::kExact);
  EXPECT_EQ(pack_fully_connected(w, 1, 4, nullptr, &small, 128).requant, RequantKind::kExact);
  const int32_t huge_bias = 1 << 29;
  EXPECT_EQ(pack_fully_connected(w, 1, 4, &huge_bias, &ok, 128).requant, RequantKind::kExact);
}

// The anchor layers of DESIGN.md with `static constexpr` shapes, as the generator writes them.
struct StemShape {
  static constexpr int32_t in_h = 32, in_w = 32, in_c = 3, out_h = 32, out_w = 32, out_c = 16;
  static constexpr int32_t kh = 3, kw = 3, stride_h = 1, stride_w = 1, pad_h = 1, pad_w = 1;
  static constexpr int32_t dilation_h = 1, dilation_w = 1, depth_multiplier = 1;
  static constexpr int32_t input_offset = 5, output_offset = -3, act_min = -3, act_max = 127;
};
struct Conv3x3Shape {
  static constexpr int32_t in_h = 16, in_w = 16, in_c = 32, out_h = 16, out_w = 16, out_c = 32;
  static constexpr int32_t kh = 3, kw = 3, stride_h = 1, stride_w = 1, pad_h = 1, pad_w = 1;
  static constexpr int32_t dilation_h = 1, dilation_w = 1, depth_multiplier = 1;
  static constexpr int32_t input_offset = 128, output_offset = -128, act_min = -128,
                           act_max = 127;
};
struct Pointwise1x1S2Shape {
  static constexpr int32_t in_h = 32, in_w = 32, in_c = 16, out_h = 16, out_w = 16, out_c = 32;
  static constexpr int32_t kh = 1, kw = 1, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
  static constexpr int32_t dilation_h = 1, dilation_w = 1, depth_multiplier = 1;
  static constexpr int32_t input_offset = -7, output_offset = 9, act_min = -128, act_max = 127;
};
struct DepthwiseDsCnnShape {
  static constexpr int32_t in_h = 25, in_w = 5, in_c = 64, out_h = 25, out_w = 5, out_c = 64;
  static constexpr int32_t kh = 3, kw = 3, stride_h = 1, stride_w = 1, pad_h = 1, pad_w = 1;
  static constexpr int32_t dilation_h = 1, dilation_w = 1, depth_multiplier = 1;
  static constexpr int32_t input_offset = 17, output_offset = -20, act_min = -20, act_max = 127;
};

template <class Shape>
ConvShape runtime_copy() {
  const Shape s{};
  return ConvShape{s.in_h,     s.in_w,         s.in_c,         s.out_h,      s.out_w,
                   s.out_c,    s.kh,           s.kw,           s.stride_h,   s.stride_w,
                   s.pad_h,    s.pad_w,        s.dilation_h,   s.dilation_w, s.depth_multiplier,
                   s.input_offset, s.output_offset, s.act_min, s.act_max};
}

template <class Shape>
void check_static_conv(uint32_t seed) {
  Rng rng(seed);
  const ConvShape dims = runtime_copy<Shape>();
  constexpr size_t k4 = (Shape::kh * Shape::kw * Shape::in_c + 3) / 4 * 4;
  static_assert(conv2d_scratch_bytes<Shape>() == (Shape::in_c % 4 == 0 ? 4 * k4 : 5 * k4));
  const auto input = rng.bytes(static_cast<size_t>(dims.in_h) * dims.in_w * dims.in_c);
  const auto filter = rng.bytes(static_cast<size_t>(dims.out_c) * dims.kh * dims.kw * dims.in_c);
  check_conv(Shape{}, dims, rng, input, filter, true, "static shape");
}

TEST(CortexmStaticShapes, AnchorConvolutions) {
  check_static_conv<StemShape>(1);
  check_static_conv<Conv3x3Shape>(2);
  check_static_conv<Pointwise1x1S2Shape>(3);
}

TEST(CortexmStaticShapes, AnchorDepthwise) {
  Rng rng(4);
  const ConvShape dims = runtime_copy<DepthwiseDsCnnShape>();
  const auto input = rng.bytes(static_cast<size_t>(dims.in_h) * dims.in_w * dims.in_c);
  const auto filter = rng.bytes(static_cast<size_t>(dims.kh) * dims.kw * dims.out_c);
  check_depthwise(DepthwiseDsCnnShape{}, dims, rng, input, filter, "static DS-CNN depthwise");
}

struct Fc256Shape {
  static constexpr int32_t batches = 1, depth = 256, out_depth = 10;
  static constexpr int32_t input_offset = 3, output_offset = 1, act_min = -128, act_max = 127;
};

TEST(CortexmStaticShapes, AnchorFullyConnected) {
  using Shape = Fc256Shape;
  static_assert(fully_connected_scratch_bytes<Shape>() == 1024);
  Rng rng(8);
  const auto input = rng.bytes(256);
  const auto weights = rng.bytes(2560);
  const auto bias = random_bias(rng, 10);
  std::vector<QuantizedMultiplier> mult(10, QuantizedMultiplier{1518500250, -9});
  std::vector<int8_t> expected(10), actual(10);
  reference::fully_connected(FullyConnectedParams{3, 1, -128, 127}, mult.data(), 1, 256,
                             input.data(), 10, weights.data(), bias.data(), expected.data());
  const PackedConv packed =
      pack_fully_connected(weights.data(), 10, 256, bias.data(), mult.data(), 3);
  ASSERT_EQ(packed.requant, RequantKind::kFast);
  auto scratch = scratch_for(fully_connected_scratch_bytes<Shape>());
  fully_connected<RequantFast>(Shape{}, input.data(), packed.weights.data(), packed.quant.data(),
                               actual.data(), scratch.data());
  EXPECT_EQ(actual, expected);
}

// The packed layouts themselves, checked on a hand-written example.
TEST(CortexmPack, GemmWeightLayout) {
  // Three rows (a third, odd channel) of K = 5 (padded to 8).
  const int8_t m[15] = {1, 2, 3, 4, 5, 11, 12, 13, 14, 15, 21, 22, 23, 24, 25};
  const auto packed = pack_gemm_weights(m, 3, 5);
  const std::vector<int8_t> expected = {
      1, 11, 3, 13, 2, 12, 4, 14,  5, 15, 0, 0, 0, 0, 0, 0,   // rows 0, 1
      21, 0, 23, 0, 22, 0, 24, 0,  25, 0, 0, 0, 0, 0, 0, 0};  // row 2 and a zero row
  EXPECT_EQ(packed, expected);
}

TEST(CortexmPack, GemmInt16WeightLayout) {
  const int8_t m[15] = {1, 2, 3, 4, 5, 11, 12, 13, 14, 15, 21, 22, 23, 24, 25};
  const auto packed = pack_gemm_weights_int16(m, 3, 5);
  const std::vector<int16_t> expected = {
      1, 3, 2, 4, 11, 13, 12, 14,  5, 0, 0, 0, 15, 0, 0, 0,   // rows 0, 1
      21, 23, 22, 24, 0, 0, 0, 0,  25, 0, 0, 0, 0, 0, 0, 0};  // row 2 and a zero row
  EXPECT_EQ(packed, expected);
}

TEST(CortexmPack, DepthwiseWeightLayout) {
  // 1x2 kernel, 5 channels: filter[t][c] = 10 * t + c.
  int8_t f[10];
  for (int t = 0; t < 2; ++t) for (int c = 0; c < 5; ++c) f[t * 5 + c] = static_cast<int8_t>(10 * t + c);
  const QuantizedMultiplier m[5] = {{1 << 30, -1}, {1 << 30, -1}, {1 << 30, -1}, {1 << 30, -1}, {1 << 30, -1}};
  const auto packed = pack_depthwise(f, 1, 2, 5, nullptr, m, 0);
  const std::vector<int16_t> expected = {0, 2, 1, 3, 10, 12, 11, 13, 4, 0, 0, 0, 14, 0, 0, 0};
  EXPECT_EQ(packed.weights, expected);
}

}  // namespace
}  // namespace frugal::kernels::cortexm
