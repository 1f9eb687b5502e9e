// Host tests of the product-quantized conv / FC kernels (emulated dsp.h, portable loops): random
// layers of both layouts, both forms, 4- and 8-bit indices, every output bit-exact with the
// reference kernel run on the weights decoded from codebook + indices (pq_cases.h); the packed
// layouts and the packer's checks against hand-made cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cortexm/pq_conv.h"
#include "kernels/cortexm/pq_fully_connected.h"
#include "kernels/cortexm/pq_pack.h"
#include "kernels/reference/reference.h"
#include "pq_cases.h"

namespace frugal::kernels::cortexm::testing {
namespace {

template <class T>
T pick(std::mt19937& gen, std::initializer_list<T> values) {
  return *(values.begin() + std::uniform_int_distribution<size_t>(0, values.size() - 1)(gen));
}

int32_t uniform(std::mt19937& gen, int32_t lo, int32_t hi) { return std::uniform_int_distribution<int32_t>(lo, hi)(gen); }

std::vector<int8_t> random_int8(std::mt19937& gen, size_t n) {
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(uniform(gen, -128, 127));
  return v;
}

// Realistic layers (real multiplier 2^-9 .. 2^-6, small bias), or wild ones: any shift TFLite can
// produce, biases that can wrap the int32 accumulator.
struct Quantization {
  std::vector<int32_t> bias;
  std::vector<QuantizedMultiplier> multipliers;
};

Quantization random_quantization(std::mt19937& gen, int32_t channels, bool wild) {
  Quantization q;
  for (int32_t c = 0; c < channels; ++c) {
    q.bias.push_back(wild ? uniform(gen, INT32_MIN, INT32_MAX) : uniform(gen, -20000, 20000));
    q.multipliers.push_back({uniform(gen, 1 << 30, INT32_MAX), wild ? uniform(gen, -31, 3) : uniform(gen, -9, -6)});
  }
  return q;
}

// Offsets and clamps, extremes included.
void random_offsets(std::mt19937& gen, int32_t& input_offset, int32_t& output_offset, int32_t& act_min,
                    int32_t& act_max) {
  input_offset = pick(gen, {-127, 128, 0, uniform(gen, -127, 128)});
  output_offset = pick(gen, {-128, 127, 0, uniform(gen, -128, 127)});
  act_min = pick(gen, {-128, -128, uniform(gen, -128, 0)});
  act_max = pick(gen, {127, 127, uniform(gen, act_min, 127)});
}

int32_t random_codewords(std::mt19937& gen) { return pick(gen, {2, 16, 256, 1, 3, 15, 17, uniform(gen, 2, 256)}); }

// The direct form, the table form with its default 4 columns in flight and with 2.
struct FormOutputs {
  std::vector<int8_t> direct, table, table2;
};

// A scratch of exactly `bytes` (filled with garbage, not zeros: the kernels must write every
// scratch word they read) followed by guard words that must survive the call.
class GuardedScratch {
 public:
  explicit GuardedScratch(size_t bytes) : words_(bytes / 4 + kGuards, kGarbage), bytes_(bytes) {}
  int16_t* data() { return reinterpret_cast<int16_t*>(words_.data()); }
  bool guards_intact() const {
    for (size_t i = bytes_ / 4; i < words_.size(); ++i) {
      if (words_[i] != kGarbage) return false;
    }
    return true;
  }

 private:
  static constexpr size_t kGuards = 4;
  static constexpr int32_t kGarbage = 0x5A5A5A5A;
  std::vector<int32_t> words_;
  size_t bytes_;
};

template <class Requant>
FormOutputs run_conv(const PqConvShape& s, const std::vector<int8_t>& input, const std::vector<int16_t>& codebook,
                     const PackedPqLayer& p) {
  FormOutputs r;
  r.direct.resize(static_cast<size_t>(s.out_h) * static_cast<size_t>(s.out_w) * static_cast<size_t>(s.out_c));
  r.table.resize(r.direct.size());
  r.table2.resize(r.direct.size());
  EXPECT_EQ(pq_conv2d_direct_scratch_bytes(s), p.direct_scratch_bytes);
  EXPECT_EQ(pq_conv2d_table_scratch_bytes(s), p.table_scratch_bytes);
  EXPECT_LE(pq_conv2d_table_scratch_bytes(s, 2), p.table_scratch_bytes);
  GuardedScratch direct(p.direct_scratch_bytes), table(p.table_scratch_bytes),
      table2(pq_conv2d_table_scratch_bytes(s, 2));
  const std::vector<ChannelQuant> quant = quant_for<Requant>(p.quant, p.requant);
  pq_conv2d_direct<Requant>(s, input.data(), codebook.data(), p.direct_indices.data(), quant.data(),
                            r.direct.data(), direct.data());
  pq_conv2d_table<Requant>(s, input.data(), codebook.data(), p.table_indices.data(), quant.data(), r.table.data(),
                           table.data());
  pq_conv2d_table<Requant, 2>(s, input.data(), codebook.data(), p.table_indices.data(), quant.data(),
                              r.table2.data(), table2.data());
  EXPECT_TRUE(direct.guards_intact() && table.guards_intact() && table2.guards_intact()) << "scratch overrun";
  return r;
}

template <class Requant>
FormOutputs run_fc(const PqFcShape& s, const std::vector<int8_t>& input, const std::vector<int16_t>& codebook,
                   const PackedPqLayer& p) {
  FormOutputs r;
  r.direct.resize(static_cast<size_t>(s.batches) * static_cast<size_t>(s.out_depth));
  r.table.resize(r.direct.size());
  r.table2.resize(r.direct.size());
  EXPECT_EQ(pq_fully_connected_direct_scratch_bytes(s), p.direct_scratch_bytes);
  EXPECT_EQ(pq_fully_connected_table_scratch_bytes(s), p.table_scratch_bytes);
  GuardedScratch direct(p.direct_scratch_bytes), table(p.table_scratch_bytes),
      table2(pq_fully_connected_table_scratch_bytes(s, 2));
  const std::vector<ChannelQuant> quant = quant_for<Requant>(p.quant, p.requant);
  pq_fully_connected_direct<Requant>(s, input.data(), codebook.data(), p.direct_indices.data(), quant.data(),
                                     r.direct.data(), direct.data());
  pq_fully_connected_table<Requant>(s, input.data(), codebook.data(), p.table_indices.data(), quant.data(),
                                    r.table.data(), table.data());
  pq_fully_connected_table<Requant, 2>(s, input.data(), codebook.data(), p.table_indices.data(), quant.data(),
                                       r.table2.data(), table2.data());
  EXPECT_TRUE(direct.guards_intact() && table.guards_intact() && table2.guards_intact()) << "scratch overrun";
  return r;
}

struct Tally {
  int cases = 0, fast = 0, four_bit = 0, single_group = 0, zero_codeword = 0, skipping = 0;
};

// A third of the draws get a zero codeword, on 30 % or 90 % of the sub-vectors.
void maybe_add_zero_codeword(std::mt19937& gen, PqWeights& w, int32_t codewords, int32_t subvector, int32_t groups) {
  const double share = pick(gen, {0.0, 0.0, 0.0, 0.0, 0.3, 0.9});
  if (share > 0.0) add_zero_codeword(gen, w, codewords, subvector, groups, share);
}

// One conv layer: reference on the decoded filter, both forms with RequantExact and, where the
// packer allows it, RequantFast.
void check_conv(PqConvShape s, std::mt19937& gen, bool wild, const std::string& what, Tally& tally) {
  PqWeights w = random_pq_weights(gen, s.codewords, s.subvector, s.out_c, s.groups());
  maybe_add_zero_codeword(gen, w, s.codewords, s.subvector, s.groups());
  const Quantization q = random_quantization(gen, s.out_c, wild);
  const auto input = random_int8(gen, static_cast<size_t>(s.in_h) * static_cast<size_t>(s.in_w) * static_cast<size_t>(s.in_c));
  const std::vector<int8_t> filter = decode_pq_conv(s, w);
  std::vector<int8_t> expected(static_cast<size_t>(s.out_h) * static_cast<size_t>(s.out_w) * static_cast<size_t>(s.out_c));
  reference::conv2d(pq_conv_params(s), q.multipliers.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                    Dims4{s.out_c, s.kh, s.kw, s.in_c}, filter.data(), q.bias.data(),
                    Dims4{1, s.out_h, s.out_w, s.out_c}, expected.data());
  const PqCodebookView view = codebook_view(w, s.codewords, s.subvector);
  const PackedPqLayer p = pack_pq_conv(view, static_cast<PqWeightLayout>(s.layout), w.indices.data(), s.out_c, s.kh,
                                       s.kw, s.in_c, s.out_h * s.out_w, q.bias.data(), q.multipliers.data(),
                                       s.input_offset);
  const std::vector<int16_t> codebook = pack_pq_codebook(view);
  ASSERT_EQ(p.groups, s.groups()) << what;
  s.skip_zero_codeword = p.skip_zero_codeword;  // as the generator sets it
  const FormOutputs exact = run_conv<RequantExact>(s, input, codebook, p);
  EXPECT_EQ(exact.direct, expected) << what << " (direct)";
  EXPECT_EQ(exact.table, expected) << what << " (table)";
  EXPECT_EQ(exact.table2, expected) << what << " (table, 2 columns)";
  if (p.requant == RequantKind::kFast) {
    const FormOutputs fast = run_conv<RequantFast>(s, input, codebook, p);
    EXPECT_EQ(fast.direct, expected) << what << " (direct, fast requant)";
    EXPECT_EQ(fast.table, expected) << what << " (table, fast requant)";
    EXPECT_EQ(fast.table2, expected) << what << " (table, 2 columns, fast requant)";
    ++tally.fast;
  }
  if (pq_zero_codeword(view) >= 0) {  // the direct form the other way round gives the same
    s.skip_zero_codeword = !p.skip_zero_codeword;
    PackedPqLayer other = p;  // the bitmap of all-zero rows comes and goes with the skipping
    other.direct_scratch_bytes = pq_conv2d_direct_scratch_bytes(s);
    EXPECT_EQ(run_conv<RequantExact>(s, input, codebook, other).direct, expected)
        << what << " (direct, skip_zero_codeword " << s.skip_zero_codeword << ")";
    ++tally.zero_codeword;
  }
  ++tally.cases;
  tally.four_bit += p.index_bits == 4;
  tally.single_group += p.groups == 1;
  tally.skipping += p.skip_zero_codeword;
}

void check_fc(PqFcShape s, std::mt19937& gen, bool wild, const std::string& what, Tally& tally) {
  PqWeights w = random_pq_weights(gen, s.codewords, s.subvector, s.out_depth, s.groups());
  maybe_add_zero_codeword(gen, w, s.codewords, s.subvector, s.groups());
  const Quantization q = random_quantization(gen, s.out_depth, wild);
  const auto input = random_int8(gen, static_cast<size_t>(s.batches) * static_cast<size_t>(s.depth));
  const std::vector<int8_t> weights = decode_pq_fc(s, w);
  std::vector<int8_t> expected(static_cast<size_t>(s.batches) * static_cast<size_t>(s.out_depth));
  reference::fully_connected(FullyConnectedParams{s.input_offset, s.output_offset, s.act_min, s.act_max},
                             q.multipliers.data(), s.batches, s.depth, input.data(), s.out_depth, weights.data(),
                             q.bias.data(), expected.data());
  const PqCodebookView view = codebook_view(w, s.codewords, s.subvector);
  const PackedPqLayer p = pack_pq_fully_connected(view, w.indices.data(), s.out_depth, s.depth, s.batches,
                                                  q.bias.data(), q.multipliers.data(), s.input_offset);
  const std::vector<int16_t> codebook = pack_pq_codebook(view);
  s.skip_zero_codeword = p.skip_zero_codeword;
  const FormOutputs exact = run_fc<RequantExact>(s, input, codebook, p);
  EXPECT_EQ(exact.direct, expected) << what << " (direct)";
  EXPECT_EQ(exact.table, expected) << what << " (table)";
  EXPECT_EQ(exact.table2, expected) << what << " (table, 2 columns)";
  if (p.requant == RequantKind::kFast) {
    const FormOutputs fast = run_fc<RequantFast>(s, input, codebook, p);
    EXPECT_EQ(fast.direct, expected) << what << " (direct, fast requant)";
    EXPECT_EQ(fast.table, expected) << what << " (table, fast requant)";
    EXPECT_EQ(fast.table2, expected) << what << " (table, 2 columns, fast requant)";
    ++tally.fast;
  }
  if (pq_zero_codeword(view) >= 0) {
    s.skip_zero_codeword = !p.skip_zero_codeword;
    PackedPqLayer other = p;
    other.direct_scratch_bytes = pq_fully_connected_direct_scratch_bytes(s);
    EXPECT_EQ(run_fc<RequantExact>(s, input, codebook, other).direct, expected)
        << what << " (direct, skip_zero_codeword " << s.skip_zero_codeword << ")";
    ++tally.zero_codeword;
  }
  ++tally.cases;
  tally.four_bit += p.index_bits == 4;
  tally.single_group += p.groups == 1;
  tally.skipping += p.skip_zero_codeword;
}

std::string describe(const PqConvShape& s) {
  return std::string(s.layout == kPqKernel ? "kernel" : "row") + " d=" + std::to_string(s.subvector) +
         " K=" + std::to_string(s.codewords) + " " + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + "x" +
         std::to_string(s.in_c) + " -> " + std::to_string(s.out_h) + "x" + std::to_string(s.out_w) + "x" +
         std::to_string(s.out_c) + " k" + std::to_string(s.kh) + "x" + std::to_string(s.kw) + " s" +
         std::to_string(s.stride_h) + "," + std::to_string(s.stride_w) + " p" + std::to_string(s.pad_h) + "," +
         std::to_string(s.pad_w) + " dil" + std::to_string(s.dilation_h) + "," + std::to_string(s.dilation_w) +
         " in_off " + std::to_string(s.input_offset) + " out_off " + std::to_string(s.output_offset);
}

// A random conv of the given layout (nullopt-like: out extent 0 when the draw does not fit).
PqConvShape random_conv(std::mt19937& gen, PqWeightLayout layout) {
  PqConvShape s{};
  s.layout = layout;
  if (layout == kPqKernel) {
    const auto k = pick(gen, {std::pair{3, 3}, {3, 3}, {3, 3}, {1, 1}, {2, 2}, {1, 3}, {3, 1}, {5, 5}});
    s.kh = k.first, s.kw = k.second;
    s.subvector = s.kh * s.kw;
    s.in_c = pick(gen, {1, 2, 3, 4, 5, 7, 8, 12, 16, 32});
  } else {
    s.kh = pick(gen, {1, 1, 3});
    s.kw = s.kh == 3 ? pick(gen, {1, 3}) : 1;
    s.subvector = pick(gen, {1, 2, 4, 8, 9, 16});
    // in_c such that d divides kh * kw * in_c.
    const int32_t step = s.subvector / std::gcd(s.subvector, s.kh * s.kw);
    s.in_c = step * uniform(gen, 1, std::max(1, 48 / step));
  }
  s.codewords = random_codewords(gen);
  s.out_c = pick(gen, {1, 2, 3, 5, 8, 16, 17, 33});
  s.stride_h = pick(gen, {1, 2});
  s.stride_w = pick(gen, {1, 2});
  s.dilation_h = pick(gen, {1, 1, 2});
  s.dilation_w = pick(gen, {1, 1, 2});
  const int32_t span_h = s.dilation_h * (s.kh - 1) + 1, span_w = s.dilation_w * (s.kw - 1) + 1;
  s.in_h = uniform(gen, std::max(1, span_h - 2), 9);
  s.in_w = uniform(gen, std::max(1, span_w - 2), 9);
  switch (uniform(gen, 0, 2)) {
    case 0:  // VALID
      s.pad_h = s.pad_w = 0;
      break;
    case 1:  // SAME
      s.pad_h = std::max(0, ((s.in_h + s.stride_h - 1) / s.stride_h - 1) * s.stride_h + span_h - s.in_h) / 2;
      s.pad_w = std::max(0, ((s.in_w + s.stride_w - 1) / s.stride_w - 1) * s.stride_w + span_w - s.in_w) / 2;
      break;
    default:
      s.pad_h = uniform(gen, 0, span_h - 1);
      s.pad_w = uniform(gen, 0, span_w - 1);
  }
  s.out_h = pq_conv_out(s.in_h, s.kh, s.stride_h, s.pad_h, s.dilation_h);
  s.out_w = pq_conv_out(s.in_w, s.kw, s.stride_w, s.pad_w, s.dilation_w);
  random_offsets(gen, s.input_offset, s.output_offset, s.act_min, s.act_max);
  return s;
}

TEST(PqConv, RandomLayersBitExact) {
  std::mt19937 gen(7001);
  Tally tally;
  int layouts[2] = {0, 0};
  for (int iter = 0; tally.cases < 500; ++iter) {
    const PqWeightLayout layout = iter % 2 == 0 ? kPqRow : kPqKernel;
    const PqConvShape s = random_conv(gen, layout);
    if (s.out_h < 1 || s.out_w < 1) continue;
    check_conv(s, gen, iter % 5 == 4, "iter " + std::to_string(iter) + ": " + describe(s), tally);
    ++layouts[layout];
    if (HasFailure()) return;
  }
  EXPECT_GT(layouts[kPqKernel], 150);
  EXPECT_GT(layouts[kPqRow], 150);
  EXPECT_GT(tally.fast, tally.cases / 3);
  EXPECT_GT(tally.four_bit, tally.cases / 3);
  EXPECT_LT(tally.four_bit, tally.cases * 5 / 6);
  EXPECT_GT(tally.zero_codeword, tally.cases / 5);
  EXPECT_GT(tally.skipping, tally.cases / 10);
}

TEST(PqFullyConnected, RandomLayersBitExact) {
  std::mt19937 gen(7002);
  Tally tally;
  for (int iter = 0; iter < 400; ++iter) {
    PqFcShape s{};
    s.subvector = pick(gen, {1, 2, 4, 8, 9, 16, 3});
    s.depth = s.subvector * pick(gen, {1, 1, 2, 3, 5, 8, 13, uniform(gen, 1, 40)});
    s.out_depth = pick(gen, {1, 2, 3, 7, 16, 31, 64});
    s.batches = pick(gen, {1, 1, 2, 3, 4, 5});
    s.codewords = random_codewords(gen);
    random_offsets(gen, s.input_offset, s.output_offset, s.act_min, s.act_max);
    check_fc(s, gen, iter % 5 == 4,
             "iter " + std::to_string(iter) + ": d=" + std::to_string(s.subvector) + " K=" +
                 std::to_string(s.codewords) + " " + std::to_string(s.batches) + "x" + std::to_string(s.depth) +
                 " -> " + std::to_string(s.out_depth),
             tally);
    if (HasFailure()) return;
  }
  EXPECT_GT(tally.single_group, 20);
  EXPECT_GT(tally.fast, tally.cases / 3);
  EXPECT_GT(tally.zero_codeword, tally.cases / 5);
  EXPECT_GT(tally.skipping, tally.cases / 10);
}

// The edges a random draw may miss, one by one.
TEST(PqConv, Edges) {
  std::mt19937 gen(7003);
  Tally tally;
  const auto run = [&](PqConvShape s, const char* what, bool wild = false) {
    check_conv(s, gen, wild, std::string(what) + ": " + describe(s), tally);
  };
  // One group per row (kRow 1x1 with in_c == d), one output channel, one pixel.
  run(pq_conv_shape(3, 3, 8, 5, 1, 1, 0, kPqRow, 8, 16), "G = 1");
  run(pq_conv_shape(1, 1, 16, 1, 1, 1, 0, kPqRow, 16, 256), "single pixel, single channel");
  run(pq_conv_shape(1, 1, 1, 3, 1, 1, 0, kPqKernel, 1, 2), "kernel 1x1, one input channel");
  // Odd out_c with 4-bit indices: rows of the [G][O] table indices start mid-byte.
  run(pq_conv_shape(5, 4, 6, 7, 3, 1, 1, kPqKernel, 9, 16), "3x3, odd out_c, 4-bit");
  run(pq_conv_shape(5, 4, 7, 7, 3, 1, 1, kPqKernel, 9, 5), "3x3, odd in_c and out_c, 4-bit");
  run(pq_conv_shape(6, 6, 9, 9, 1, 2, 0, kPqRow, 9, 16), "1x1 s2, d = 9 row");
  run(pq_conv_shape(6, 5, 3, 4, 3, 1, 1, kPqRow, 9, 256), "stem-like in_c = 3, d = 9 over the OHWI row");
  run(pq_conv_shape(6, 5, 3, 4, 3, 1, 1, kPqRow, 27, 16), "in_c = 3, d = 27 (a whole row)");
  run(pq_conv_shape(7, 7, 2, 6, 3, 2, 0, kPqRow, 2, 16), "d = 2 across taps");
  run(pq_conv_shape(8, 8, 4, 6, 2, 1, 1, kPqRow, 8, 2), "2x2, d = 8 straddling taps, K = 2");
  run(pq_conv_shape(8, 8, 4, 6, 3, 1, 1, kPqRow, 4, 17), "d = 4, K = 17 (8-bit)");
  // Extreme offsets and multipliers.
  run(pq_conv_shape(5, 5, 8, 9, 3, 1, 1, kPqKernel, 9, 16, 128, 127), "input offset 128", true);
  run(pq_conv_shape(5, 5, 8, 9, 3, 1, 1, kPqKernel, 9, 256, -127, -128), "input offset -127", true);
  run(pq_conv_shape(5, 5, 16, 9, 1, 1, 0, kPqRow, 4, 16, -127, 127), "row, offset -127", true);
  // Dilation with padding.
  {
    PqConvShape s = pq_conv_shape(9, 8, 4, 5, 3, 1, 2, kPqKernel, 9, 16);
    s.dilation_h = s.dilation_w = 2;
    s.out_h = pq_conv_out(9, 3, 1, 2, 2);
    s.out_w = pq_conv_out(8, 3, 1, 2, 2);
    run(s, "dilation 2");
  }
  // Saturated codewords: every weight -128 or 127 and the largest inputs.
  {
    PqConvShape s = pq_conv_shape(4, 4, 32, 4, 3, 1, 1, kPqKernel, 9, 2, 128, 0);
    const PqWeights w{std::vector<int8_t>{-128, -128, -128, -128, -128, -128, -128, -128, -128, 127, 127, 127, 127,
                                          127, 127, 127, 127, 127},
                      std::vector<uint16_t>(static_cast<size_t>(4 * 32), 1)};
    const Quantization q = random_quantization(gen, s.out_c, false);
    const std::vector<int8_t> input(4 * 4 * 32, 127);
    const auto filter = decode_pq_conv(s, w);
    std::vector<int8_t> expected(static_cast<size_t>(s.out_h * s.out_w * s.out_c));
    reference::conv2d(pq_conv_params(s), q.multipliers.data(), Dims4{1, 4, 4, 32}, input.data(),
                      Dims4{4, 3, 3, 32}, filter.data(), q.bias.data(), Dims4{1, s.out_h, s.out_w, 4}, expected.data());
    const PqCodebookView view = codebook_view(w, 2, 9);
    const auto p = pack_pq_conv(view, kPqKernel, w.indices.data(), 4, 3, 3, 32, 16, q.bias.data(),
                                q.multipliers.data(), 128);
    const FormOutputs r = run_conv<RequantExact>(s, input, pack_pq_codebook(view), p);
    EXPECT_EQ(r.direct, expected);
    EXPECT_EQ(r.table, expected);
    EXPECT_EQ(r.table2, expected);
  }
}

TEST(PqFullyConnected, Edges) {
  std::mt19937 gen(7004);
  Tally tally;
  const auto run = [&](PqFcShape s, const char* what, bool wild = false) { check_fc(s, gen, wild, what, tally); };
  run(PqFcShape{1, 8, 1, 128, -128, -128, 127, 8, 16}, "G = 1, O = 1");
  run(PqFcShape{3, 4, 5, -127, 127, -128, 127, 4, 256}, "G = 1, odd batches");
  run(PqFcShape{5, 640, 128, 128, -128, -128, 127, 8, 256}, "AD-sized, 5 batches");
  run(PqFcShape{2, 128, 33, 3, 5, -20, 90, 4, 16}, "odd O with 4-bit indices, clamp");
  run(PqFcShape{4, 27, 9, -127, -128, -128, 127, 9, 16}, "d = 9", true);
  run(PqFcShape{1, 7, 3, 1, 0, -128, 127, 1, 2}, "d = 1, K = 2", true);
}

TEST(PqPack, IndexAndCodebookLayouts) {
  // K = 3 (4-bit), d = 3, 2 outputs x 3 groups (FC depth 9).
  const std::vector<int8_t> words = {1, 2, 3, -4, -5, -6, 7, 8, 9};
  const std::vector<uint16_t> indices = {0, 1, 2,   // output 0
                                         2, 2, 1};  // output 1
  const PqCodebookView view{words.data(), 3, 3};
  EXPECT_EQ(pack_pq_codebook(view), (std::vector<int16_t>{1, 2, 3, 0, -4, -5, -6, 0, 7, 8, 9, 0}));
  const QuantizedMultiplier m[2] = {{1 << 30, -8}, {1 << 30, -8}};
  const PackedPqLayer p = pack_pq_fully_connected(view, indices.data(), 2, 9, 1, nullptr, m, 0);
  EXPECT_EQ(p.groups, 3);
  EXPECT_EQ(p.index_bits, 4);
  // [O][G] = 0 1 2 2 2 1, low nibble first.
  EXPECT_EQ(p.direct_indices, (std::vector<uint8_t>{0x10, 0x22, 0x12}));
  // [G][O] = 0 2 1 2 2 1.
  EXPECT_EQ(p.table_indices, (std::vector<uint8_t>{0x20, 0x21, 0x12}));
  // One batch row: one column in flight, im2col (3 groups of 4 int16), K table entries, O accumulators.
  EXPECT_EQ(p.direct_scratch_bytes, 3u * 4u * 2u);
  EXPECT_EQ(p.table_scratch_bytes, 3u * 4u * 2u + 4u * 3u + 4u * 2u);
  const PackedPqLayer p5 = pack_pq_fully_connected(view, indices.data(), 2, 9, 5, nullptr, m, 0);
  // Five rows: codewords of two words (d = 3) run four columns in flight in the direct form too.
  EXPECT_EQ(p5.direct_scratch_bytes, 4u * 3u * 4u * 2u);
  // Codewords of four words (d = 8) run two.
  const std::vector<int8_t> words8(3 * 8, 1);
  const std::vector<uint16_t> indices8 = {0, 1, 2, 2};  // 2 outputs x 2 groups (depth 16)
  const PackedPqLayer p8 = pack_pq_fully_connected(PqCodebookView{words8.data(), 3, 8}, indices8.data(), 2, 16, 5,
                                                   nullptr, m, 0);
  EXPECT_EQ(p8.direct_scratch_bytes, 2u * 2u * 8u * 2u);
  EXPECT_EQ(p5.table_scratch_bytes, 4u * (3u * 4u * 2u + 4u * 3u + 4u * 2u));
  // Odd counts keep ceil(count * bits / 8) bytes; 8-bit indices are the bytes themselves.
  const std::vector<uint16_t> five = {1, 2, 3, 4, 5};
  EXPECT_EQ(pack_pq_indices(five.data(), 5, 16), (std::vector<uint8_t>{0x21, 0x43, 0x05}));
  EXPECT_EQ(pack_pq_indices(five.data(), 5, 17), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
}

TEST(PqPack, ZeroCodewordMovesToIndexZero) {
  // K = 3, d = 2; codeword 2 is all zero. 1 output x 4 groups (FC depth 8), two of them on it.
  const std::vector<int8_t> words = {1, 2, 3, 4, 0, 0};
  const PqCodebookView view{words.data(), 3, 2};
  EXPECT_EQ(pq_zero_codeword(view), 2);
  // Codewords 0 and 2 trade places.
  EXPECT_EQ(pack_pq_codebook(view), (std::vector<int16_t>{0, 0, 3, 4, 1, 2}));
  const std::vector<uint16_t> indices = {0, 2, 2, 1};
  const QuantizedMultiplier m[1] = {{1 << 30, -8}};
  const QuantizedMultiplier m2[2] = {{1 << 30, -8}, {1 << 30, -8}};
  const PackedPqLayer p = pack_pq_fully_connected(view, indices.data(), 1, 8, 4, nullptr, m, 0);
  // Renumbered 2 0 0 1, low nibble first, in both orders (one output: the same).
  EXPECT_EQ(p.direct_indices, (std::vector<uint8_t>{0x02, 0x10}));
  EXPECT_EQ(p.table_indices, (std::vector<uint8_t>{0x02, 0x10}));
  EXPECT_EQ(p.zero_groups, 2);
  EXPECT_EQ(p.zero_rows, 0);
  // Half the sub-vectors on it, four columns in flight: skipping pays, and the direct scratch
  // holds the bitmap of all-zero rows (one word) after the columns (4 x 4 groups x 2 int16).
  EXPECT_TRUE(p.skip_zero_codeword);
  EXPECT_EQ(p.direct_scratch_bytes, 4u * 4u * 2u * 2u + 4u);
  // A row of zero codewords only (the second of two outputs).
  const std::vector<uint16_t> two_rows = {0, 2, 2, 1, 2, 2, 2, 2};
  EXPECT_EQ(pack_pq_fully_connected(view, two_rows.data(), 2, 8, 4, nullptr, m2, 0).zero_rows, 1);
  // No zero codeword: nothing moves, nothing to skip.
  const std::vector<int8_t> plain = {1, 2, 3, 4, 0, 5};
  const PqCodebookView plain_view{plain.data(), 3, 2};
  EXPECT_EQ(pq_zero_codeword(plain_view), -1);
  EXPECT_EQ(pack_pq_codebook(plain_view), (std::vector<int16_t>{1, 2, 3, 4, 0, 5}));
  const PackedPqLayer q = pack_pq_fully_connected(plain_view, indices.data(), 1, 8, 4, nullptr, m, 0);
  EXPECT_EQ(q.direct_indices, (std::vector<uint8_t>{0x20, 0x12}));
  EXPECT_EQ(q.zero_groups, 0);
  EXPECT_FALSE(q.skip_zero_codeword);
}

TEST(PqPack, SkippingTheZeroCodewordPaysOnlyWhereItIsCommon) {
  // ResNet-8-like 3x3 conv, d = 4, K = 256, 256 pixels.
  const PqCost none = pq_cost(72, 4, 256, 32, 256, 0.0), most = pq_cost(72, 4, 256, 32, 256, 0.9);
  EXPECT_GT(none.direct_skipping, none.direct);  // the test of every index costs
  EXPECT_LT(most.direct_skipping, most.direct / 2);
  EXPECT_EQ(most.direct, none.direct);
  // One column (batch-1 FC): a skipped group saves less, the test costs more per group.
  EXPECT_GT(pq_cost(160, 4, 256, 128, 1, 0.2).direct_skipping, pq_cost(160, 4, 256, 128, 1, 0.2).direct);
  EXPECT_LT(pq_cost(160, 4, 256, 128, 1, 0.6).direct_skipping, pq_cost(160, 4, 256, 128, 1, 0.6).direct);
  // Zero codewords in whole rows (pruned output channels) cost less than scattered ones.
  EXPECT_LT(pq_cost(32, 4, 256, 128, 36, 0.8, 0.7).direct_skipping, pq_cost(32, 4, 256, 128, 36, 0.8, 0.0).direct_skipping);
}

TEST(PqPack, RejectsWhatTheLayoutCannotDescribe) {
  const std::vector<int8_t> words(16 * 9, 1);
  const std::vector<uint16_t> indices(64, 0);
  const QuantizedMultiplier m[8] = {};
  const PqCodebookView view{words.data(), 16, 9};
  EXPECT_THROW(pack_pq_conv(view, kPqKernel, indices.data(), 2, 1, 3, 8, 1, nullptr, m, 0), std::invalid_argument);
  EXPECT_THROW(pack_pq_conv(view, kPqRow, indices.data(), 2, 1, 1, 8, 1, nullptr, m, 0), std::invalid_argument);
  EXPECT_THROW(pack_pq_fully_connected(view, indices.data(), 2, 10, 1, nullptr, m, 0), std::invalid_argument);
  std::vector<uint16_t> bad(indices);
  bad[5] = 16;
  EXPECT_THROW(pack_pq_conv(view, kPqKernel, bad.data(), 2, 3, 3, 8, 1, nullptr, m, 0), std::invalid_argument);
  const PqCodebookView too_big{words.data(), 257, 9};
  EXPECT_THROW(pack_pq_codebook(too_big), std::invalid_argument);
}

TEST(PqPack, RequantChoiceFollowsTheDecodedWeights) {
  // The accumulator bound |bias| + sum|w| * 255 (sum|w| = 9 * 127 * 8 input channels, from the
  // codewords the indices pick) crosses 2^29 with a bias near it: RequantFast is refused.
  const std::vector<int8_t> words(2 * 9, 127);
  const std::vector<uint16_t> indices(4 * 8, 1);
  std::vector<QuantizedMultiplier> m(4, QuantizedMultiplier{1 << 30, -8});
  std::vector<int32_t> small(4, 1000), large(4, (1 << 29) - 1000);
  const PqCodebookView view{words.data(), 2, 9};
  EXPECT_EQ(pack_pq_conv(view, kPqKernel, indices.data(), 4, 3, 3, 8, 1, small.data(), m.data(), 128).requant,
            RequantKind::kFast);
  EXPECT_EQ(pack_pq_conv(view, kPqKernel, indices.data(), 4, 3, 3, 8, 1, large.data(), m.data(), 128).requant,
            RequantKind::kExact);
}

TEST(PqPack, CostModelPrefersTheTableForSmallCodebooks) {
  // d = 8, 64 outputs: 16 codewords favour the table, 256 the direct form.
  EXPECT_LT(pq_cost(8, 8, 16, 64, 100).table, pq_cost(8, 8, 16, 64, 100).direct);
  EXPECT_GT(pq_cost(8, 8, 256, 64, 100).table, pq_cost(8, 8, 256, 64, 100).direct);
  // Totals scale with the columns; one column in flight makes both forms dearer per column.
  EXPECT_EQ(pq_cost(8, 8, 16, 64, 100).table, 25 * pq_cost(8, 8, 16, 64, 4).table);
  EXPECT_GT(pq_cost(8, 8, 16, 64, 1).table * 4, pq_cost(8, 8, 16, 64, 4).table);
  const std::vector<int8_t> words(16 * 9, 1);
  const std::vector<uint16_t> indices(64 * 32, 3);
  std::vector<QuantizedMultiplier> m(64, QuantizedMultiplier{1 << 30, -8});
  const auto p = pack_pq_conv(PqCodebookView{words.data(), 16, 9}, kPqKernel, indices.data(), 64, 3, 3, 32, 64, nullptr,
                              m.data(), 128);
  EXPECT_EQ(p.cheaper, PqForm::kTable);
  EXPECT_EQ(&p.indices(PqForm::kTable), &p.table_indices);
}

// A generator-style static shape compiles and runs the same (constexpr scratch sizes).
struct StaticKernelConv {
  static constexpr int32_t in_h = 6, in_w = 5, in_c = 8, out_h = 6, out_w = 5, out_c = 7, kh = 3, kw = 3,
                           stride_h = 1, stride_w = 1, pad_h = 1, pad_w = 1, dilation_h = 1, dilation_w = 1,
                           input_offset = 128, output_offset = -128, act_min = -128, act_max = 127;
  static constexpr int32_t subvector = 9, codewords = 16, layout = kPqKernel;
};

struct StaticRowFc {
  static constexpr int32_t batches = 3, depth = 64, out_depth = 9, input_offset = 7, output_offset = 3,
                           act_min = -128, act_max = 127, subvector = 8, codewords = 256;
};

TEST(PqConv, StaticShape) {
  std::mt19937 gen(7005);
  const StaticKernelConv s;
  PqConvShape r{6, 5, 8, 6, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 128, -128, -128, 127, 9, 16, kPqKernel};
  const PqWeights w = random_pq_weights(gen, 16, 9, 7, 8);
  const Quantization q = random_quantization(gen, 7, false);
  const auto input = random_int8(gen, 6 * 5 * 8);
  const auto filter = decode_pq_conv(r, w);
  std::vector<int8_t> expected(6 * 5 * 7), direct(expected.size()), table(expected.size());
  reference::conv2d(pq_conv_params(r), q.multipliers.data(), Dims4{1, 6, 5, 8}, input.data(), Dims4{7, 3, 3, 8},
                    filter.data(), q.bias.data(), Dims4{1, 6, 5, 7}, expected.data());
  const PqCodebookView view = codebook_view(w, 16, 9);
  const auto p = pack_pq_conv(view, kPqKernel, w.indices.data(), 7, 3, 3, 8, 30, q.bias.data(), q.multipliers.data(),
                              128);
  const auto codebook = pack_pq_codebook(view);
  static_assert(pq_conv2d_direct_scratch_bytes<StaticKernelConv>() == 2 * 8 * 10 * 2);
  static_assert(pq_conv2d_table_scratch_bytes<StaticKernelConv>() == 4 * (8 * 10 * 2 + 4 * 16 + 4 * 7));
  static_assert(pq_conv2d_table_scratch_bytes<StaticKernelConv, 2>() == 2 * (8 * 10 * 2 + 4 * 16 + 4 * 7));
  alignas(4) int16_t scratch[pq_conv2d_table_scratch_bytes<StaticKernelConv>() / 2];
  pq_conv2d_direct<RequantFast>(s, input.data(), codebook.data(), p.direct_indices.data(), p.quant.data(),
                                direct.data(), scratch);
  pq_conv2d_table<RequantFast>(s, input.data(), codebook.data(), p.table_indices.data(), p.quant.data(), table.data(),
                               scratch);
  ASSERT_EQ(p.requant, RequantKind::kFast);
  EXPECT_EQ(direct, expected);
  EXPECT_EQ(table, expected);
}

TEST(PqFullyConnected, StaticShape) {
  std::mt19937 gen(7006);
  const StaticRowFc s;
  const PqFcShape r{3, 64, 9, 7, 3, -128, 127, 8, 256};
  const PqWeights w = random_pq_weights(gen, 256, 8, 9, 8);
  const Quantization q = random_quantization(gen, 9, false);
  const auto input = random_int8(gen, 3 * 64);
  const auto weights = decode_pq_fc(r, w);
  std::vector<int8_t> expected(3 * 9), direct(expected.size()), table(expected.size());
  reference::fully_connected(FullyConnectedParams{7, 3, -128, 127}, q.multipliers.data(), 3, 64, input.data(), 9,
                             weights.data(), q.bias.data(), expected.data());
  const PqCodebookView view = codebook_view(w, 256, 8);
  const auto p = pack_pq_fully_connected(view, w.indices.data(), 9, 64, 3, q.bias.data(), q.multipliers.data(), 7);
  const auto codebook = pack_pq_codebook(view);
  alignas(4) int16_t scratch[pq_fully_connected_table_scratch_bytes<StaticRowFc>() / 2];
  const auto quant = exact_form(p.quant, p.requant);
  pq_fully_connected_direct<RequantExact>(s, input.data(), codebook.data(), p.direct_indices.data(), quant.data(),
                                          direct.data(), scratch);
  pq_fully_connected_table<RequantExact>(s, input.data(), codebook.data(), p.table_indices.data(), quant.data(),
                                         table.data(), scratch);
  EXPECT_EQ(direct, expected);
  EXPECT_EQ(table, expected);
}

}  // namespace
}  // namespace frugal::kernels::cortexm::testing
