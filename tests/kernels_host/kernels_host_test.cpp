// The fast host kernels must equal the reference kernels bit for bit, on every ISA this CPU
// runs. Testers are builder-style: a test sets the shape and quantization parameters it cares
// about; everything else (data, multipliers, bias) is random from a fixed seed, printed with
// every failure so a case can be replayed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/host/host.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::host {
namespace {

constexpr uint32_t kSeed = 20240611;

using Rng = std::mt19937;

int32_t uniform(Rng& rng, int32_t lo, int32_t hi) {
  return std::uniform_int_distribution<int32_t>(lo, hi)(rng);
}

template <typename T>
T pick(Rng& rng, const std::vector<T>& values) {
  return values[size_t(uniform(rng, 0, int32_t(values.size()) - 1))];
}

std::vector<int8_t> random_int8(Rng& rng, int64_t n) {
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<int8_t>(uniform(rng, -128, 127));
  return v;
}

std::string describe(const Dims4& d) {
  std::ostringstream s;
  s << "[" << d.n << "," << d.h << "," << d.w << "," << d.c << "]";
  return s.str();
}

// Multipliers in TFLite's normalised form; `typical_shift` centres the shift on a scale that
// keeps outputs inside int8 for the accumulator size, otherwise shifts span [-10, 2].
QuantizedMultiplier random_multiplier(Rng& rng, int32_t typical_shift) {
  QuantizedMultiplier m{};
  m.multiplier = uniform(rng, 1 << 30, 2147483647);
  m.shift = uniform(rng, 0, 1) ? uniform(rng, -10, 2)
                               : std::clamp(typical_shift + uniform(rng, -2, 2), -31, 2);
  return m;
}

int32_t typical_shift_for(int64_t k) {
  // An accumulator of k products of roughly uniform int8 values has a spread of about
  // 5000 * sqrt(k); aim it at an int8 range.
  double spread = 5000.0 * std::sqrt(double(std::max<int64_t>(k, 1)));
  int32_t shift = 1;
  while (spread > 64.0) {
    spread /= 2;
    --shift;
  }
  return shift;
}

std::vector<int32_t> random_bias(Rng& rng, int32_t n) {
  std::vector<int32_t> bias(static_cast<size_t>(n));
  const int32_t kind = uniform(rng, 0, 2);
  for (auto& b : bias) {
    b = kind == 0 ? uniform(rng, -5000, 5000)
        : kind == 1 ? uniform(rng, -(1 << 24), 1 << 24)
                    : uniform(rng, -2000000000, 2000000000);  // wraps the accumulator
  }
  return bias;
}

void random_activation(Rng& rng, int32_t* act_min, int32_t* act_max) {
  switch (uniform(rng, 0, 3)) {
    case 0: *act_min = -128; *act_max = 127; break;                     // none
    case 1: *act_min = uniform(rng, -128, 0); *act_max = 127; break;    // relu
    case 2: *act_min = uniform(rng, -128, -20); *act_max = uniform(rng, 0, 127); break;  // relu6
    default: *act_min = uniform(rng, -10, 0); *act_max = *act_min + uniform(rng, 0, 8); break;
  }
}

int32_t random_input_offset(Rng& rng) {
  switch (uniform(rng, 0, 3)) {
    case 0: return -127;
    case 1: return 128;
    default: return uniform(rng, -127, 128);
  }
}

int32_t random_output_offset(Rng& rng) {
  switch (uniform(rng, 0, 3)) {
    case 0: return -128;
    case 1: return 127;
    default: return uniform(rng, -128, 127);
  }
}

// Output extent and leading padding of TFLite's SAME / VALID geometry.
bool geometry(bool same, int32_t in, int32_t kernel, int32_t stride, int32_t dilation,
              int32_t* out, int32_t* pad) {
  const int32_t effective = (kernel - 1) * dilation + 1;
  if (same) {
    *out = (in + stride - 1) / stride;
    const int32_t total = std::max((*out - 1) * stride + effective - in, 0);
    *pad = total / 2;
  } else {
    *out = (in - effective + stride) / stride;
    *pad = 0;
  }
  return *out > 0;
}

void expect_equal(const std::vector<int8_t>& expected, const std::vector<int8_t>& actual,
                  const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) {
      FAIL() << what << ": first mismatch at element " << i << ": reference "
             << int(expected[i]) << ", fast " << int(actual[i]);
    }
  }
}

// ---------------------------------------------------------------------------------- Conv

class ConvTester {
 public:
  ConvTester& batch(int32_t v) { batch_ = v; return *this; }
  ConvTester& input_size(int32_t h, int32_t w) { in_h_ = h; in_w_ = w; return *this; }
  ConvTester& channels(int32_t in, int32_t out) { in_c_ = in; out_c_ = out; return *this; }
  ConvTester& kernel(int32_t h, int32_t w) { k_h_ = h; k_w_ = w; return *this; }
  ConvTester& stride(int32_t h, int32_t w) { s_h_ = h; s_w_ = w; return *this; }
  ConvTester& dilation(int32_t h, int32_t w) { d_h_ = h; d_w_ = w; return *this; }
  ConvTester& same_padding(bool v) { same_ = v; return *this; }
  ConvTester& depthwise(int32_t depth_multiplier) { dw_ = true; dm_ = depth_multiplier; return *this; }
  ConvTester& per_channel(bool v) { per_channel_ = v; return *this; }
  ConvTester& with_bias(bool v) { bias_ = v; return *this; }

  // Builds the parameters from `seed`, runs the reference and every supported ISA.
  void test(uint32_t seed) const {
    Rng rng(seed);
    ConvParams p{};
    int32_t out_h = 0, out_w = 0;
    if (!geometry(same_, in_h_, k_h_, s_h_, d_h_, &out_h, &p.pad_h) ||
        !geometry(same_, in_w_, k_w_, s_w_, d_w_, &out_w, &p.pad_w))
      return;
    p.stride_h = s_h_;
    p.stride_w = s_w_;
    p.dilation_h = d_h_;
    p.dilation_w = d_w_;
    p.depth_multiplier = dw_ ? dm_ : 1;
    p.input_offset = random_input_offset(rng);
    p.output_offset = random_output_offset(rng);
    random_activation(rng, &p.act_min, &p.act_max);
    const int32_t out_c = dw_ ? in_c_ * dm_ : out_c_;
    const Dims4 in{batch_, in_h_, in_w_, in_c_};
    const Dims4 filter = dw_ ? Dims4{1, k_h_, k_w_, out_c} : Dims4{out_c, k_h_, k_w_, in_c_};
    const Dims4 out{batch_, out_h, out_w, out_c};
    const std::vector<int8_t> input = random_int8(rng, in.elements());
    const std::vector<int8_t> weights = random_int8(rng, filter.elements());
    const std::vector<int32_t> bias = random_bias(rng, out_c);
    const int32_t typical = typical_shift_for(int64_t{k_h_} * k_w_ * (dw_ ? 1 : in_c_));
    std::vector<QuantizedMultiplier> mult(static_cast<size_t>(out_c));
    if (per_channel_)
      for (auto& m : mult) m = random_multiplier(rng, typical);
    else
      std::fill(mult.begin(), mult.end(), random_multiplier(rng, typical));
    const int32_t* b = bias_ ? bias.data() : nullptr;

    std::vector<int8_t> expected(size_t(out.elements()));
    if (dw_)
      reference::depthwise_conv2d(p, mult.data(), in, input.data(), filter, weights.data(), b,
                                  out, expected.data());
    else
      reference::conv2d(p, mult.data(), in, input.data(), filter, weights.data(), b, out,
                        expected.data());

    for (Isa isa : supported_isas()) {
      SCOPED_TRACE(::testing::Message() << (dw_ ? "depthwise" : "conv") << " seed=" << seed << " isa=" << to_string(isa) << " in=" << describe(in) << " filter=" << describe(filter) << " out=" << describe(out) << " stride=" << s_h_ << "x" << s_w_ << " dilation=" << d_h_ << "x" << d_w_ << " pad=" << p.pad_h << "," << p.pad_w << " in_off=" << p.input_offset << " out_off=" << p.output_offset << " dm=" << p.depth_multiplier);
      std::vector<int8_t> actual(expected.size(), 0x55);
      if (dw_) {
        DepthwiseConv2D op(p, mult.data(), in, filter, weights.data(), b, out, isa);
        std::vector<uint8_t> scratch(op.scratch_bytes());
        op.run(input.data(), actual.data(), scratch.data());
      } else {
        Conv2D op(p, mult.data(), in, filter, weights.data(), b, out, isa);
        std::vector<uint8_t> scratch(op.scratch_bytes());
        op.run(input.data(), actual.data(), scratch.data());
      }
      expect_equal(expected, actual, "output");
    }
  }

 private:
  int32_t batch_ = 1, in_h_ = 8, in_w_ = 8, in_c_ = 4, out_c_ = 4;
  int32_t k_h_ = 3, k_w_ = 3, s_h_ = 1, s_w_ = 1, d_h_ = 1, d_w_ = 1;
  bool same_ = true, dw_ = false, per_channel_ = true, bias_ = true;
  int32_t dm_ = 1;
};

const std::vector<int32_t> kChannels = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 64, 65};
const std::vector<std::pair<int32_t, int32_t>> kKernels = {{1, 1}, {3, 3}, {5, 5}, {1, 3}, {3, 1}};

// Random sweep with a cap on the reference's work so the whole binary stays fast.
void sweep_convs(bool depthwise, int cases, uint32_t seed_base) {
  Rng rng(seed_base);
  for (int i = 0; i < cases; ++i) {
    const uint32_t seed = seed_base + 1 + uint32_t(i);
    const auto [kh, kw] = pick(rng, kKernels);
    const int32_t in_c = pick(rng, kChannels), out_c = pick(rng, kChannels);
    int32_t h = uniform(rng, 1, 40), w = uniform(rng, 1, 40);
    const int32_t dm = depthwise ? uniform(rng, 1, 2) : 1;
    const int64_t per_pixel = int64_t{kh} * kw * (depthwise ? in_c * dm : in_c * out_c);
    while (int64_t{h} * w * per_pixel > 1000000 && (h > 1 || w > 1)) {
      h = std::max(1, h * 3 / 4);
      w = std::max(1, w * 3 / 4);
    }
    ConvTester t;
    t.batch(uniform(rng, 1, 2))
        .input_size(h, w)
        .channels(in_c, out_c)
        .kernel(kh, kw)
        .stride(uniform(rng, 1, 3), uniform(rng, 1, 3))
        .dilation(uniform(rng, 0, 3) == 0 ? 2 : 1, uniform(rng, 0, 3) == 0 ? 2 : 1)
        .same_padding(uniform(rng, 0, 1) == 1)
        .per_channel(uniform(rng, 0, 3) != 0)
        .with_bias(uniform(rng, 0, 4) != 0);
    if (depthwise) t.depthwise(dm);
    t.test(seed);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(HostConv, RandomSweep) { sweep_convs(false, 4000, kSeed); }

TEST(HostConv, ChannelCountsExhaustive) {
  uint32_t seed = kSeed + 10000;
  for (int32_t in_c : kChannels)
    for (int32_t out_c : kChannels) {
      ConvTester().input_size(5, 6).channels(in_c, out_c).kernel(3, 3).test(++seed);
      if (HasFailure()) return;
    }
}

TEST(HostConv, ResNet8Shapes) {
  uint32_t seed = kSeed + 20000;
  ConvTester().input_size(32, 32).channels(3, 16).test(++seed);
  ConvTester().input_size(32, 32).channels(16, 16).test(++seed);
  ConvTester().input_size(32, 32).channels(16, 32).stride(2, 2).test(++seed);
  ConvTester().input_size(16, 16).channels(32, 32).test(++seed);
  ConvTester().input_size(32, 32).channels(16, 32).kernel(1, 1).stride(2, 2).test(++seed);
  ConvTester().input_size(16, 16).channels(32, 64).stride(2, 2).test(++seed);
  ConvTester().input_size(8, 8).channels(64, 64).test(++seed);
  ConvTester().input_size(16, 16).channels(32, 64).kernel(1, 1).stride(2, 2).test(++seed);
}

TEST(HostConv, DsCnnAndVwwShapes) {
  uint32_t seed = kSeed + 30000;
  // DS-CNN stem: 10x4 kernel over a one-channel spectrogram, stride 2.
  ConvTester().input_size(49, 10).channels(1, 64).kernel(10, 4).stride(2, 2).test(++seed);
  ConvTester().input_size(25, 5).channels(64, 64).kernel(1, 1).test(++seed);
  // MobileNet stem: 3 channels, stride 2.
  ConvTester().input_size(96, 96).channels(3, 8).stride(2, 2).test(++seed);
  ConvTester().input_size(24, 24).channels(32, 64).kernel(1, 1).test(++seed);
  // LeNet-style VALID convolutions.
  ConvTester().input_size(32, 32).channels(3, 32).same_padding(false).test(++seed);
  ConvTester().input_size(15, 15).channels(32, 64).same_padding(false).test(++seed);
}

TEST(HostConv, GroupedFallsBackCorrectly) {
  // Grouped convolution (filter channels < input channels) has no fast path but must still
  // match: built directly since the tester models ordinary convolutions.
  Rng rng(kSeed + 40000);
  ConvParams p{};
  p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  p.pad_h = p.pad_w = 1;
  p.depth_multiplier = 1;
  p.input_offset = 3;
  p.output_offset = -2;
  p.act_min = -128;
  p.act_max = 127;
  const Dims4 in{1, 6, 6, 8}, filter{4, 3, 3, 4}, out{1, 6, 6, 4};
  const auto input = random_int8(rng, in.elements());
  const auto weights = random_int8(rng, filter.elements());
  std::vector<QuantizedMultiplier> mult(4, QuantizedMultiplier{1 << 30, -8});
  std::vector<int8_t> expected(size_t(out.elements())), actual(expected.size());
  reference::conv2d(p, mult.data(), in, input.data(), filter, weights.data(), nullptr, out,
                    expected.data());
  for (Isa isa : supported_isas()) {
    Conv2D op(p, mult.data(), in, filter, weights.data(), nullptr, out, isa);
    std::vector<uint8_t> scratch(op.scratch_bytes());
    op.run(input.data(), actual.data(), scratch.data());
    expect_equal(expected, actual, std::string(to_string(isa)));
  }
}

// ----------------------------------------------------------------------------- Depthwise

TEST(HostDepthwise, RandomSweep) { sweep_convs(true, 3000, kSeed + 50000); }

TEST(HostDepthwise, DsCnnAndVwwShapes) {
  uint32_t seed = kSeed + 60000;
  ConvTester().input_size(25, 5).channels(64, 64).depthwise(1).test(++seed);
  ConvTester().input_size(48, 48).channels(8, 8).depthwise(1).test(++seed);
  ConvTester().input_size(48, 48).channels(16, 16).stride(2, 2).depthwise(1).test(++seed);
  ConvTester().input_size(6, 6).channels(128, 128).depthwise(1).test(++seed);
  ConvTester().input_size(7, 9).channels(5, 10).depthwise(2).test(++seed);
}

// ------------------------------------------------------------------------ FullyConnected

class FullyConnectedTester {
 public:
  FullyConnectedTester& batches(int32_t v) { batches_ = v; return *this; }
  FullyConnectedTester& depth(int32_t v) { depth_ = v; return *this; }
  FullyConnectedTester& out_depth(int32_t v) { out_depth_ = v; return *this; }
  FullyConnectedTester& with_bias(bool v) { bias_ = v; return *this; }

  void test(uint32_t seed) const {
    Rng rng(seed);
    FullyConnectedParams p{};
    p.input_offset = random_input_offset(rng);
    p.output_offset = random_output_offset(rng);
    random_activation(rng, &p.act_min, &p.act_max);
    const auto input = random_int8(rng, int64_t{batches_} * depth_);
    const auto weights = random_int8(rng, int64_t{out_depth_} * depth_);
    const auto bias = random_bias(rng, out_depth_);
    std::vector<QuantizedMultiplier> mult(static_cast<size_t>(out_depth_));
    const bool per_channel = uniform(rng, 0, 1) == 1;
    const QuantizedMultiplier shared = random_multiplier(rng, typical_shift_for(depth_));
    for (auto& m : mult) m = per_channel ? random_multiplier(rng, typical_shift_for(depth_)) : shared;
    const int32_t* b = bias_ ? bias.data() : nullptr;
    std::vector<int8_t> expected(size_t(batches_) * out_depth_);
    reference::fully_connected(p, mult.data(), batches_, depth_, input.data(), out_depth_,
                               weights.data(), b, expected.data());
    for (Isa isa : supported_isas()) {
      SCOPED_TRACE(::testing::Message() << "fully_connected seed=" << seed << " isa=" << to_string(isa) << " batches=" << batches_ << " depth=" << depth_ << " out=" << out_depth_);
      FullyConnected op(p, mult.data(), batches_, depth_, out_depth_, weights.data(), b, isa);
      std::vector<uint8_t> scratch(op.scratch_bytes());
      std::vector<int8_t> actual(expected.size(), 0x55);
      op.run(input.data(), actual.data(), scratch.data());
      expect_equal(expected, actual, "output");
    }
  }

 private:
  int32_t batches_ = 1, depth_ = 16, out_depth_ = 10;
  bool bias_ = true;
};

TEST(HostFullyConnected, RandomSweep) {
  Rng rng(kSeed + 70000);
  for (int i = 0; i < 1500; ++i) {
    FullyConnectedTester()
        .batches(uniform(rng, 1, 3))
        .depth(uniform(rng, 1, 300))
        .out_depth(uniform(rng, 1, 70))
        .with_bias(uniform(rng, 0, 3) != 0)
        .test(kSeed + 70001 + uint32_t(i));
    if (HasFailure()) return;
  }
}

TEST(HostFullyConnected, ModelShapes) {
  FullyConnectedTester().depth(64).out_depth(10).test(kSeed + 71000);
  FullyConnectedTester().depth(64).out_depth(12).test(kSeed + 71001);
  FullyConnectedTester().depth(256).out_depth(10).test(kSeed + 71002);
  FullyConnectedTester().depth(1024).out_depth(64).test(kSeed + 71003);
}

// ----------------------------------------------------------------------------------- Add

AddParams random_add_params(Rng& rng) {
  AddParams p{};
  p.input1_offset = random_input_offset(rng);
  p.input2_offset = random_input_offset(rng);
  p.output_offset = random_output_offset(rng);
  p.left_shift = uniform(rng, 0, 1) ? 20 : uniform(rng, 0, 20);
  // ADD's multipliers are "smaller than one": shift <= 0.
  p.input1 = {uniform(rng, 1 << 30, 2147483647), -uniform(rng, 0, 8)};
  p.input2 = {uniform(rng, 1 << 30, 2147483647), -uniform(rng, 0, 8)};
  p.output = {uniform(rng, 1 << 30, 2147483647), -uniform(rng, 0, 31)};
  if (p.left_shift == 20) p.output.shift = -uniform(rng, 12, 24);
  if (uniform(rng, 0, 7) == 0) p.input1.multiplier = 2147483647;  // extremes
  if (uniform(rng, 0, 7) == 0) p.output = {2147483647, 0};
  random_activation(rng, &p.act_min, &p.act_max);
  return p;
}

void test_add(const AddParams& p, const Dims4& d1, const Dims4& d2, const Dims4& out, Rng& rng,
              uint32_t seed) {
  const auto in1 = random_int8(rng, d1.elements());
  const auto in2 = random_int8(rng, d2.elements());
  std::vector<int8_t> expected(size_t(out.elements()));
  reference::add(p, d1, in1.data(), d2, in2.data(), out, expected.data());
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(::testing::Message() << "add seed=" << seed << " isa=" << to_string(isa) << " in1=" << describe(d1) << " in2=" << describe(d2));
    std::vector<int8_t> actual(expected.size(), 0x55);
    add(p, d1, in1.data(), d2, in2.data(), out, actual.data(), isa);
    expect_equal(expected, actual, "output");
  }
}

TEST(HostAdd, RandomSweepWithBroadcasting) {
  for (int i = 0; i < 2000; ++i) {
    const uint32_t seed = kSeed + 80000 + uint32_t(i);
    Rng rng(seed);
    const Dims4 out{uniform(rng, 1, 2), uniform(rng, 1, 12), uniform(rng, 1, 12),
                    pick(rng, kChannels)};
    auto maybe_broadcast = [&](Dims4 d) {
      if (uniform(rng, 0, 2) == 0) {
        if (uniform(rng, 0, 1)) d.n = 1;
        if (uniform(rng, 0, 1)) d.h = 1;
        if (uniform(rng, 0, 1)) d.w = 1;
        if (uniform(rng, 0, 1)) d.c = 1;
      }
      return d;
    };
    const AddParams p = random_add_params(rng);
    test_add(p, maybe_broadcast(out), maybe_broadcast(out), out, rng, seed);
    if (HasFailure()) return;
  }
}

TEST(HostAdd, SaturatingHighMultiply) {
  // (-128 << 24) == INT32_MIN meets a multiplier of INT32_MIN: the one saturating product.
  Rng rng(kSeed + 81000);
  AddParams p{};
  p.input1_offset = -127;
  p.input2_offset = 0;
  p.output_offset = 0;
  p.left_shift = 24;
  p.input1 = {-2147483647 - 1, -8};
  p.input2 = {1 << 30, -8};
  p.output = {1 << 30, -20};
  p.act_min = -128;
  p.act_max = 127;
  const Dims4 d{1, 1, 5, 37};
  std::vector<int8_t> in1(size_t(d.elements()), -1), in2 = random_int8(rng, d.elements());
  std::vector<int8_t> expected(in1.size());
  reference::add(p, d, in1.data(), d, in2.data(), d, expected.data());
  for (Isa isa : supported_isas()) {
    std::vector<int8_t> actual(expected.size());
    add(p, d, in1.data(), d, in2.data(), d, actual.data(), isa);
    expect_equal(expected, actual, std::string(to_string(isa)));
  }
}

// --------------------------------------------------------------------------------- Pools

TEST(HostPool, RandomSweep) {
  for (int i = 0; i < 1500; ++i) {
    const uint32_t seed = kSeed + 90000 + uint32_t(i);
    Rng rng(seed);
    PoolParams p{};
    p.filter_h = uniform(rng, 1, 4);
    p.filter_w = uniform(rng, 1, 4);
    p.stride_h = uniform(rng, 1, 3);
    p.stride_w = uniform(rng, 1, 3);
    random_activation(rng, &p.act_min, &p.act_max);
    const bool same = uniform(rng, 0, 1) == 1;
    const Dims4 in{uniform(rng, 1, 2), uniform(rng, 1, 20), uniform(rng, 1, 20),
                   pick(rng, kChannels)};
    int32_t oh = 0, ow = 0;
    if (!geometry(same, in.h, p.filter_h, p.stride_h, 1, &oh, &p.pad_h) ||
        !geometry(same, in.w, p.filter_w, p.stride_w, 1, &ow, &p.pad_w))
      continue;
    const Dims4 out{in.n, oh, ow, in.c};
    const auto input = random_int8(rng, in.elements());
    std::vector<int8_t> expected(size_t(out.elements()));
    for (int op = 0; op < 2; ++op) {
      if (op == 0)
        reference::average_pool(p, in, input.data(), out, expected.data());
      else
        reference::max_pool(p, in, input.data(), out, expected.data());
      for (Isa isa : supported_isas()) {
        SCOPED_TRACE(::testing::Message() << (op == 0 ? "average_pool" : "max_pool") << " seed=" << seed << " isa=" << to_string(isa));
        std::vector<int8_t> actual(expected.size(), 0x55);
        if (op == 0)
          average_pool(p, in, input.data(), out, actual.data(), isa);
        else
          max_pool(p, in, input.data(), out, actual.data(), isa);
        expect_equal(expected, actual, "output");
      }
    }
    if (HasFailure()) return;
  }
}

TEST(HostConv, ObjectsRunRepeatedlyAndMove) {
  // run() must not depend on scratch contents left by an earlier call, and a moved-to object
  // keeps working (the plans hold raw views of their own tables).
  Rng rng(kSeed + 95000);
  ConvParams p{};
  p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  p.pad_h = p.pad_w = 1;
  p.depth_multiplier = 1;
  p.input_offset = 128;
  p.output_offset = -128;
  p.act_min = -128;
  p.act_max = 127;
  const Dims4 in{1, 9, 9, 16}, filter{24, 3, 3, 16}, out{1, 9, 9, 24};
  const auto weights = random_int8(rng, filter.elements());
  std::vector<QuantizedMultiplier> mult(24, QuantizedMultiplier{1518500250, -11});
  for (Isa isa : supported_isas()) {
    Conv2D first(p, mult.data(), in, filter, weights.data(), nullptr, out, isa);
    Conv2D op(std::move(first));
    std::vector<uint8_t> scratch(op.scratch_bytes(), 0xAB);
    for (int run = 0; run < 3; ++run) {
      const auto input = random_int8(rng, in.elements());
      std::vector<int8_t> expected(size_t(out.elements())), actual(expected.size());
      reference::conv2d(p, mult.data(), in, input.data(), filter, weights.data(), nullptr, out,
                        expected.data());
      op.run(input.data(), actual.data(), scratch.data());
      expect_equal(expected, actual, std::string(to_string(isa)));
    }
  }
}

TEST(HostIsa, DispatchListsScalarFirstAndBestIsSupported) {
  const auto isas = supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kScalar);
  EXPECT_NE(std::find(isas.begin(), isas.end(), best_isa()), isas.end());
}

}  // namespace
}  // namespace frugal::kernels::host
