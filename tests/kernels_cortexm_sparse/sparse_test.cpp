// Host tests of the computation-skipping conv / FC kernels (emulated dsp.h, portable loops):
// randomised layers and skip masks, every output bit-exact with the reference kernel run on the
// weights zeroed per the realised mask; the granularity functions against hand-made cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "kernels/cortexm/sparse_conv.h"
#include "kernels/cortexm/sparse_fully_connected.h"
#include "kernels/cortexm/sparse_pack.h"
#include "kernels/reference/reference.h"
#include "shapes.h"
#include "sparse_cases.h"

namespace frugal::kernels::cortexm::testing {
namespace {

constexpr double kSkipFractions[] = {0.0, 0.1, 0.5, 0.9, 1.0};
constexpr MaskKind kKinds[] = {MaskKind::kElements, MaskKind::kGroups, MaskKind::kChannels,
                               MaskKind::kRanges};

std::vector<int8_t> random_int8(std::mt19937& gen, size_t n) {
  std::uniform_int_distribution<int32_t> d(-128, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(gen));
  return v;
}

std::vector<QuantizedMultiplier> multipliers(std::mt19937& gen, int32_t n) {
  std::uniform_int_distribution<int32_t> m(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int32_t> sh(-12, 1);
  std::vector<QuantizedMultiplier> v(static_cast<size_t>(n));
  for (auto& q : v) q = {m(gen), sh(gen)};
  return v;
}

std::vector<int32_t> biases(std::mt19937& gen, int32_t n) {
  std::uniform_int_distribution<int32_t> d(-20000, 20000);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(gen);
  return v;
}

TEST(SparseGranularity, QuadSkippedOnlyWhenAllEightAre) {
  // 3 channels x 6 operands: pairs (0,1) and (2,-); quads {0..3}, {4,5,(6,7 padding)}.
  std::vector<uint8_t> mask(3 * 6, 0);
  const auto set = [&](int32_t c, int32_t i) { mask[static_cast<size_t>(c * 6 + i)] = 1; };
  for (int32_t i = 0; i < 4; ++i) set(0, i);  // pair 0 quad 0: channel 1 keeps its weights
  for (int32_t i = 4; i < 6; ++i) set(0, i), set(1, i);  // pair 0 quad 1: all present skipped
  for (int32_t i = 0; i < 4; ++i) set(2, i);  // pair 1 quad 0: channel 3 absent, so skipped
  set(2, 4);                                  // pair 1 quad 1: operand 5 kept
  const std::vector<uint8_t> r = realize_skip_mask(mask.data(), 3, 6);
  const std::vector<uint8_t> expected = {0, 0, 0, 0, 1, 1,   // channel 0
                                         0, 0, 0, 0, 1, 1,   // channel 1
                                         1, 1, 1, 1, 0, 0};  // channel 2
  EXPECT_EQ(r, expected);
}

TEST(SparseGranularity, GroupsPartitionTheOperands) {
  for (const auto& [channels, k] : {std::pair{1, 1}, {3, 6}, {4, 8}, {7, 27}, {16, 64}}) {
    const std::vector<SkipGroup> groups = skip_groups(channels, k);
    EXPECT_EQ(groups.size(), static_cast<size_t>((channels + 1) / 2 * ((k + 3) / 4)));
    std::set<std::pair<int32_t, int32_t>> seen;
    for (const SkipGroup& g : groups) {
      EXPECT_LE(g.members.size(), 8u);
      for (const auto& m : g.members) {
        EXPECT_EQ(m.first / 2, g.pair);
        EXPECT_EQ(m.second / 4, g.quad);
        EXPECT_TRUE(seen.insert(m).second);
      }
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(channels * k));
  }
}

TEST(SparseGranularity, RealisedMaskIsAFixedPointAndASubset) {
  std::mt19937 gen(5);
  for (int i = 0; i < 200; ++i) {
    const int32_t channels = std::uniform_int_distribution<int32_t>(1, 9)(gen);
    const int32_t k = std::uniform_int_distribution<int32_t>(1, 40)(gen);
    const MaskKind kind = kKinds[i % 4];
    const auto mask = random_mask(gen, channels, k, kSkipFractions[i % 5], kind);
    const auto r = realize_skip_mask(mask.data(), channels, k);
    for (size_t j = 0; j < mask.size(); ++j) EXPECT_LE(r[j], mask[j]);
    EXPECT_EQ(realize_skip_mask(r.data(), channels, k), r);
    if (kind == MaskKind::kGroups) {
      EXPECT_EQ(r, mask);  // groups are realised exactly
    }
  }
}

TEST(SparseGranularity, SmladPairsAreOperandsTwoApart) {
  // 1 channel, k = 6: SMLADs (q0, j0) = {0, 2}, (q0, j1) = {1, 3}, (q1, j0) = {4}, (q1, j1) = {5}.
  const std::vector<uint8_t> mask = {1, 1, 1, 0, 1, 0};
  EXPECT_EQ(realize_skip_mask(mask.data(), 1, 6, SkipGranularity::kSmladPair),
            (std::vector<uint8_t>{1, 0, 1, 0, 1, 0}));
  const auto groups = skip_groups(3, 6, SkipGranularity::kSmladPair);
  EXPECT_EQ(groups.size(), 3u * 4u);
  std::set<std::pair<int32_t, int32_t>> seen;
  for (const SkipGroup& g : groups) {
    for (const auto& m : g.members) {
      EXPECT_EQ(m.first, g.channel);
      EXPECT_EQ(m.second % 2, g.parity);
      EXPECT_TRUE(seen.insert(m).second);
    }
  }
  EXPECT_EQ(seen.size(), 18u);
}

TEST(SparseUnrolled, EmitsOneSmladPerKeptPairAndColumn) {
  std::mt19937 gen(3);
  const auto w = random_int8(gen, 5 * 13);
  const auto mask = random_mask(gen, 5, 13, 0.5, MaskKind::kGroups, SkipGranularity::kSmladPair);
  const UnrolledGemmSource src = emit_unrolled_gemm("g", w.data(), 5, 13, mask.data());
  int64_t groups_kept = 0;
  for (const SkipGroup& g : skip_groups(5, 13, SkipGranularity::kSmladPair)) {
    groups_kept += mask[static_cast<size_t>(g.members[0].first * 13 + g.members[0].second)] == 0;
  }
  EXPECT_EQ(src.kept_smlads, groups_kept);
  EXPECT_EQ(src.total_smlads, 5 * 16 / 2);
  size_t calls = 0;
  for (size_t at = src.code.find("= smlad("); at != std::string::npos;
       at = src.code.find("= smlad(", at + 1)) {
    ++calls;
  }
  EXPECT_EQ(calls, static_cast<size_t>(3 * src.kept_smlads));  // two(): 2 per SMLAD, one(): 1
  // The first kept SMLAD's constant: low half operand 4q + j, high half 4q + j + 2.
  for (const SkipGroup& g : skip_groups(5, 13, SkipGranularity::kSmladPair)) {
    if (mask[static_cast<size_t>(g.members[0].first * 13 + g.members[0].second)] != 0) continue;
    const int32_t i = 4 * g.quad + g.parity;
    const int32_t lo = w[static_cast<size_t>(g.channel * 13 + i)];
    const int32_t hi = i + 2 < 13 ? w[static_cast<size_t>(g.channel * 13 + i + 2)] : 0;
    const int32_t constant = static_cast<int32_t>(static_cast<uint32_t>(hi) << 16) + (lo & 0xFFFF);
    EXPECT_NE(src.code.find("smlad(" + std::to_string(constant) + ", "), std::string::npos);
    break;
  }
}

TEST(SparsePack, StreamLayout) {
  // 2 channels, k = 8: quad 0 skipped, quad 1 kept -> one 3-word entry.
  std::vector<int8_t> w(16);
  for (int32_t i = 0; i < 16; ++i) w[static_cast<size_t>(i)] = static_cast<int8_t>(i + 1);
  std::vector<uint8_t> mask(16, 0);
  for (int32_t i = 0; i < 4; ++i) mask[static_cast<size_t>(i)] = mask[static_cast<size_t>(8 + i)] = 1;
  const QuantizedMultiplier m[2] = {{1 << 30, -8}, {1 << 30, -8}};
  const PackedSparseConv p = pack_sparse_fully_connected(w.data(), 2, 8, nullptr, m, 0, mask.data());
  ASSERT_EQ(p.pair_quads, std::vector<uint16_t>{1});
  ASSERT_EQ(p.stream.size(), 3u);
  EXPECT_EQ(p.stream[0], 16);  // quad 1: 8 int16 = 16 bytes into the scratch
  // Word 1 bytes: a[4] b[4] a[6] b[6] = 5 13 7 15; word 2: a[5] b[5] a[7] b[7] = 6 14 8 16.
  EXPECT_EQ(static_cast<uint32_t>(p.stream[1]), 0x0F070D05u);
  EXPECT_EQ(static_cast<uint32_t>(p.stream[2]), 0x10080E06u);
  EXPECT_EQ(p.flash_bytes(), 14u);
  // Nothing skipped: the dense block (2 words per quad).
  const PackedSparseConv d = pack_sparse_fully_connected(w.data(), 2, 8, nullptr, m, 0, nullptr);
  EXPECT_EQ(d.pair_quads, std::vector<uint16_t>{2});
  EXPECT_EQ(d.stream.size(), 4u);
}

template <class Requant, class Gemm = PairQuadGemm>
std::vector<int8_t> run_conv(const ConvShape& s, const std::vector<int8_t>& input,
                             const PackedSparseConv& p) {
  std::vector<int8_t> out(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
  std::vector<int32_t> scratch(conv2d_scratch_bytes(s) / 4 + 1);
  sparse_conv2d<Requant, Gemm>(s, input.data(), p.stream.data(), p.pair_quads.data(),
                               quant_for<Requant>(p.quant, p.requant).data(), out.data(),
                               reinterpret_cast<int16_t*>(scratch.data()));
  return out;
}

TEST(SparseConv, RandomLayersBitExact) {
  std::mt19937 gen(2026);
  int fast = 0, cases = 0;
  for (int iter = 0; iter < 600; ++iter) {
    const auto pick = [&](std::initializer_list<int32_t> v) {
      return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(gen));
    };
    ConvShape s{};
    s.kh = pick({1, 3, 5});
    s.kw = pick({1, 3});
    s.in_c = pick({1, 2, 3, 4, 5, 8, 12, 16, 32});
    s.out_c = pick({1, 2, 3, 5, 8, 9, 16});
    s.in_h = std::uniform_int_distribution<int32_t>(s.kh, 9)(gen);
    s.in_w = std::uniform_int_distribution<int32_t>(s.kw, 9)(gen);
    s.stride_h = pick({1, 2});
    s.stride_w = pick({1, 2});
    s.dilation_h = s.dilation_w = 1;
    s.pad_h = std::uniform_int_distribution<int32_t>(0, s.kh / 2)(gen);
    s.pad_w = std::uniform_int_distribution<int32_t>(0, s.kw / 2)(gen);
    s.out_h = (s.in_h + 2 * s.pad_h - s.kh) / s.stride_h + 1;
    s.out_w = (s.in_w + 2 * s.pad_w - s.kw) / s.stride_w + 1;
    s.depth_multiplier = 1;
    s.input_offset = std::uniform_int_distribution<int32_t>(-127, 128)(gen);
    s.output_offset = std::uniform_int_distribution<int32_t>(-128, 127)(gen);
    s.act_min = pick({-128, -100});
    s.act_max = pick({127, 90});
    const int32_t k = s.kh * s.kw * s.in_c;
    const auto input = random_int8(gen, static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
    const auto filter = random_int8(gen, static_cast<size_t>(s.out_c) * k);
    const auto bias = biases(gen, s.out_c);
    const auto mult = multipliers(gen, s.out_c);
    const MaskKind kind = kKinds[iter % 4];
    const double fraction = kSkipFractions[(iter / 4) % 5];
    const auto mask = random_mask(gen, s.out_c, k, fraction, kind);
    const auto realised = realize_skip_mask(mask.data(), s.out_c, k);
    const auto zeroed = zero_skipped(filter.data(), realised.data(), s.out_c, k);
    std::vector<int8_t> expected(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
    ConvParams cp{};
    cp.input_offset = s.input_offset;
    cp.output_offset = s.output_offset;
    cp.stride_h = s.stride_h;
    cp.stride_w = s.stride_w;
    cp.dilation_h = cp.dilation_w = 1;
    cp.pad_h = s.pad_h;
    cp.pad_w = s.pad_w;
    cp.depth_multiplier = 1;
    cp.act_min = s.act_min;
    cp.act_max = s.act_max;
    reference::conv2d(cp, mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                      Dims4{s.out_c, s.kh, s.kw, s.in_c}, zeroed.data(), bias.data(),
                      Dims4{1, s.out_h, s.out_w, s.out_c}, expected.data());
    const PackedSparseConv p = pack_sparse_conv(filter.data(), s.out_c, s.kh, s.kw, s.in_c,
                                                bias.data(), mult.data(), s.input_offset,
                                                mask.data());
    // The stream holds exactly the realised kept quads.
    int64_t skipped_quads = 0;
    for (const SkipGroup& g : skip_groups(s.out_c, k)) {
      skipped_quads += realised[static_cast<size_t>(g.members[0].first) * k +
                                static_cast<size_t>(g.members[0].second)];
    }
    EXPECT_EQ(p.total_quads - p.kept_quads, skipped_quads);
    ++cases;
    const std::string what = std::string(mask_kind_name(kind)) + " " + std::to_string(fraction) +
                             " iter " + std::to_string(iter);
    EXPECT_EQ(run_conv<RequantExact>(s, input, p), expected) << what;
    if (p.requant == RequantKind::kFast) {
      ++fast;
      EXPECT_EQ(run_conv<RequantFast>(s, input, p), expected) << what;
    }

    // The channel-quad form of the same mask: its own (finer) realisation.
    const auto realised_c = realize_skip_mask(mask.data(), s.out_c, k, SkipGranularity::kChannelQuad);
    const auto zeroed_c = zero_skipped(filter.data(), realised_c.data(), s.out_c, k);
    reference::conv2d(cp, mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                      Dims4{s.out_c, s.kh, s.kw, s.in_c}, zeroed_c.data(), bias.data(),
                      Dims4{1, s.out_h, s.out_w, s.out_c}, expected.data());
    const PackedSparseConv pc = pack_channel_sparse_conv(filter.data(), s.out_c, s.kh, s.kw, s.in_c, bias.data(),
                                                         mult.data(), s.input_offset, mask.data());
    int64_t skipped_channel_quads = 0;
    for (const SkipGroup& g : skip_groups(s.out_c, k, SkipGranularity::kChannelQuad)) {
      skipped_channel_quads +=
          realised_c[static_cast<size_t>(g.members[0].first) * k + static_cast<size_t>(g.members[0].second)];
    }
    EXPECT_EQ(pc.total_quads - pc.kept_quads, skipped_channel_quads);
    EXPECT_GE(pc.total_quads - pc.kept_quads, 2 * (p.total_quads - p.kept_quads) - s.out_c % 2 * (k + 3) / 4)
        << "a skipped pair quad is two skipped channel quads";
    EXPECT_EQ((run_conv<RequantExact, ChannelQuadGemm>(s, input, pc)), expected) << what << " (channel quads)";
    if (pc.requant == RequantKind::kFast) {
      EXPECT_EQ((run_conv<RequantFast, ChannelQuadGemm>(s, input, pc)), expected) << what << " (channel quads)";
    }

    // The paired form: pair quads over the channel order pair_channels picks.
    const auto realised_p = realize_paired(mask, s.out_c, k);
    const auto zeroed_p = zero_skipped(filter.data(), realised_p.data(), s.out_c, k);
    reference::conv2d(cp, mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                      Dims4{s.out_c, s.kh, s.kw, s.in_c}, zeroed_p.data(), bias.data(),
                      Dims4{1, s.out_h, s.out_w, s.out_c}, expected.data());
    const PackedSparseConv pp = pack_paired_sparse_conv(filter.data(), s.out_c, s.kh, s.kw, s.in_c, bias.data(),
                                                        mult.data(), s.input_offset, mask.data());
    EXPECT_GE(pp.total_quads - pp.kept_quads, p.total_quads - p.kept_quads) << what << ": pairing never loses quads";
    EXPECT_EQ(pp.pair_quads.size(), static_cast<size_t>((s.out_c + 1) / 2 + s.out_c));
    EXPECT_EQ((run_conv<RequantExact, PairedQuadGemm>(s, input, pp)), expected) << what << " (paired)";
  }
  EXPECT_GT(fast, cases / 4);
}

TEST(SparseFullyConnected, RandomLayersBitExact) {
  std::mt19937 gen(77);
  for (int iter = 0; iter < 500; ++iter) {
    const int32_t batches = std::uniform_int_distribution<int32_t>(1, 4)(gen);
    const int32_t depth = std::uniform_int_distribution<int32_t>(1, 70)(gen);
    const int32_t out_depth = std::uniform_int_distribution<int32_t>(1, 13)(gen);
    const FullyConnectedParams fp{std::uniform_int_distribution<int32_t>(-127, 128)(gen),
                                  std::uniform_int_distribution<int32_t>(-128, 127)(gen),
                                  iter % 3 == 0 ? -50 : -128, iter % 5 == 0 ? 60 : 127};
    FcShape s{batches, depth, out_depth, fp.input_offset, fp.output_offset, fp.act_min, fp.act_max};
    const auto input = random_int8(gen, static_cast<size_t>(batches) * depth);
    const auto weights = random_int8(gen, static_cast<size_t>(out_depth) * depth);
    const auto bias = biases(gen, out_depth);
    const auto mult = multipliers(gen, out_depth);
    const auto mask = random_mask(gen, out_depth, depth, kSkipFractions[(iter / 4) % 5], kKinds[iter % 4]);
    const auto realised = realize_skip_mask(mask.data(), out_depth, depth);
    const auto zeroed = zero_skipped(weights.data(), realised.data(), out_depth, depth);
    std::vector<int8_t> expected(static_cast<size_t>(batches) * out_depth);
    reference::fully_connected(fp, mult.data(), batches, depth, input.data(), out_depth,
                               zeroed.data(), bias.data(), expected.data());
    const PackedSparseConv p = pack_sparse_fully_connected(
        weights.data(), out_depth, depth, bias.data(), mult.data(), fp.input_offset, mask.data());
    std::vector<int8_t> out(expected.size());
    std::vector<int32_t> scratch(fully_connected_scratch_bytes(s) / 4 + 1);
    sparse_fully_connected<RequantExact>(s, input.data(), p.stream.data(), p.pair_quads.data(),
                                         exact_form(p.quant, p.requant).data(), out.data(),
                                         reinterpret_cast<int16_t*>(scratch.data()));
    EXPECT_EQ(out, expected) << "iter " << iter;

    const auto realised_c = realize_skip_mask(mask.data(), out_depth, depth, SkipGranularity::kChannelQuad);
    const auto zeroed_c = zero_skipped(weights.data(), realised_c.data(), out_depth, depth);
    reference::fully_connected(fp, mult.data(), batches, depth, input.data(), out_depth, zeroed_c.data(),
                               bias.data(), expected.data());
    const PackedSparseConv pc = pack_channel_sparse_fully_connected(weights.data(), out_depth, depth, bias.data(),
                                                                    mult.data(), fp.input_offset, mask.data());
    sparse_fully_connected<RequantExact, ChannelQuadGemm>(s, input.data(), pc.stream.data(), pc.pair_quads.data(),
                                                          exact_form(pc.quant, pc.requant).data(), out.data(),
                                                          reinterpret_cast<int16_t*>(scratch.data()));
    EXPECT_EQ(out, expected) << "iter " << iter << " (channel quads)";

    const auto realised_p = realize_paired(mask, out_depth, depth);
    const auto zeroed_p = zero_skipped(weights.data(), realised_p.data(), out_depth, depth);
    reference::fully_connected(fp, mult.data(), batches, depth, input.data(), out_depth, zeroed_p.data(),
                               bias.data(), expected.data());
    const PackedSparseConv pp = pack_paired_sparse_fully_connected(weights.data(), out_depth, depth, bias.data(),
                                                                   mult.data(), fp.input_offset, mask.data());
    sparse_fully_connected<RequantExact, PairedQuadGemm>(s, input.data(), pp.stream.data(), pp.pair_quads.data(),
                                                         exact_form(pp.quant, pp.requant).data(), out.data(),
                                                         reinterpret_cast<int16_t*>(scratch.data()));
    EXPECT_EQ(out, expected) << "iter " << iter << " (paired)";
  }
}

TEST(SparseGranularity, PairingMatchesChannelsWithTheSameSkippedQuads) {
  // 4 channels x 8 operands: channels 0 and 2 skip quad 0, channels 1 and 3 skip quad 1.
  std::vector<uint8_t> mask(4 * 8, 0);
  for (int32_t i = 0; i < 4; ++i) {
    mask[static_cast<size_t>(0 * 8 + i)] = mask[static_cast<size_t>(2 * 8 + i)] = 1;
    mask[static_cast<size_t>(1 * 8 + 4 + i)] = mask[static_cast<size_t>(3 * 8 + 4 + i)] = 1;
  }
  EXPECT_EQ(pair_channels(mask.data(), 4, 8), (std::vector<int32_t>{0, 2, 1, 3}));
  EXPECT_EQ(realize_skip_mask(mask.data(), 4, 8), std::vector<uint8_t>(32, 0)) << "natural pairs skip nothing";
  // Already paired: the identity.
  std::vector<uint8_t> natural(4 * 8, 0);
  for (int32_t i = 0; i < 4; ++i) natural[static_cast<size_t>(i)] = natural[static_cast<size_t>(8 + i)] = 1;
  EXPECT_EQ(pair_channels(natural.data(), 4, 8), (std::vector<int32_t>{0, 1, 2, 3}));
}

TEST(SparseGranularity, ChannelQuadsAreFourOperandsOfOneChannel) {
  // 2 channels x 6 operands: channel quads {0..3}, {4, 5} per channel.
  const std::vector<uint8_t> mask = {1, 1, 1, 1, 1, 0,   // channel 0: quad 0 skipped, quad 1 kept
                                     0, 1, 1, 1, 1, 1};  // channel 1: quad 1 skipped
  EXPECT_EQ(realize_skip_mask(mask.data(), 2, 6, SkipGranularity::kChannelQuad),
            (std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1}));
  const auto groups = skip_groups(3, 6, SkipGranularity::kChannelQuad);
  EXPECT_EQ(groups.size(), 3u * 2u);
  std::set<std::pair<int32_t, int32_t>> seen;
  for (const SkipGroup& g : groups) {
    for (const auto& m : g.members) {
      EXPECT_EQ(m.first, g.channel);
      EXPECT_EQ(m.second / 4, g.quad);
      EXPECT_TRUE(seen.insert(m).second);
    }
  }
  EXPECT_EQ(seen.size(), 18u);
}

TEST(SparsePack, ChannelStreamLayout) {
  // 2 channels, k = 6: channel 0 keeps quad 1 only, channel 1 keeps both.
  std::vector<int8_t> w(12);
  for (int32_t i = 0; i < 12; ++i) w[static_cast<size_t>(i)] = static_cast<int8_t>(i + 1);
  std::vector<uint8_t> mask(12, 0);
  for (int32_t i = 0; i < 4; ++i) mask[static_cast<size_t>(i)] = 1;
  const QuantizedMultiplier m[2] = {{1 << 30, -8}, {1 << 30, -8}};
  const PackedSparseConv p = pack_channel_sparse_fully_connected(w.data(), 2, 6, nullptr, m, 0, mask.data());
  EXPECT_EQ(p.pair_quads, (std::vector<uint16_t>{1, 2}));
  // Channel 0 quad 1: offset 16, bytes [5, 6, 0, 0]; channel 1: [7, 8, 9, 10] at 0, [11, 12, 0, 0] at 16.
  EXPECT_EQ(p.stream, (std::vector<int32_t>{16, 0x0605, 0, 0x0A090807, 16, 0x0C0B}));
  EXPECT_EQ(p.kept_quads, 3);
  EXPECT_EQ(p.total_quads, 4);
}

// A generator-style static shape compiles and runs the same.
struct StaticConv {
  static constexpr int32_t in_h = 6, in_w = 5, in_c = 8, out_h = 6, out_w = 5, out_c = 6, kh = 3,
                           kw = 3, stride_h = 1, stride_w = 1, pad_h = 1, pad_w = 1,
                           dilation_h = 1, dilation_w = 1, input_offset = 128,
                           output_offset = -128, act_min = -128, act_max = 127;
};

TEST(SparseConv, StaticShape) {
  std::mt19937 gen(9);
  const StaticConv s;
  const int32_t k = 72;
  const auto input = random_int8(gen, 6 * 5 * 8);
  const auto filter = random_int8(gen, 6 * 72);
  const auto bias = biases(gen, 6);
  const auto mult = multipliers(gen, 6);
  const auto mask = random_mask(gen, 6, k, 0.5, MaskKind::kGroups);
  const auto zeroed = zero_skipped(filter.data(), mask.data(), 6, k);
  std::vector<int8_t> expected(6 * 5 * 6), out(expected.size());
  ConvParams cp{};
  cp.input_offset = 128;
  cp.output_offset = -128;
  cp.stride_h = cp.stride_w = cp.dilation_h = cp.dilation_w = cp.pad_h = cp.pad_w = 1;
  cp.depth_multiplier = 1;
  cp.act_min = -128;
  cp.act_max = 127;
  reference::conv2d(cp, mult.data(), Dims4{1, 6, 5, 8}, input.data(), Dims4{6, 3, 3, 8},
                    zeroed.data(), bias.data(), Dims4{1, 6, 5, 6}, expected.data());
  const auto p = pack_sparse_conv(filter.data(), 6, 3, 3, 8, bias.data(), mult.data(), 128, mask.data());
  alignas(4) int16_t scratch[conv2d_scratch_bytes<StaticConv>() / 2];
  sparse_conv2d<RequantExact>(s, input.data(), p.stream.data(), p.pair_quads.data(),
                              exact_form(p.quant, p.requant).data(), out.data(), scratch);
  EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace frugal::kernels::cortexm::testing
