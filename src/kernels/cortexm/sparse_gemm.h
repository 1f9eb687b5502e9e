// Computation-skipping variant of the int8 GEMM core (gemm.h): a static skip set, known when the
// firmware is generated, removes whole quads from each channel pair's inner loop.
//
// Granularity: one *quad* = 4 consecutive K positions k = 4q .. 4q + 3 (im2col order fy, fx, ic
// for conv, the input index for FC) of one output-channel pair (a = 2p, b = 2p + 1), i.e. the 8
// weights one SMLAD step of the dense kernel reads. A quad is skipped only when all 8 of its
// weights are skipped (positions k >= K and the missing b of an odd out_c count as skipped).
// Finer skips cannot save instructions here: one SMLAD multiplies a pair of K positions for one
// channel and one column, and the column quad is fetched whole.
//
// Packed stream (sparse_pack.h), int32 words, 4-byte aligned, pairs in order; per pair p:
//   * pair_quads[p] == K4 / 4 (nothing skipped): the dense gemm.h block, 2 words per quad, run
//     by the dense loops;
//   * otherwise pair_quads[p] entries of 3 words {byte offset of the quad in the interleaved
//     scratch (16 q), w0, w1}, w0 / w1 the two words of that quad in the gemm.h int8 layout.
// The offset rides in the weight stream (one LDM brings offset and weights) so the loop needs no
// more registers than the dense one: per kept quad LDM, ADD, LDM, 4 SXTB16, 8 SMLAD (2 columns).
#pragma once

#include <cstdint>

#include "kernels/cortexm/gemm.h"

namespace frugal::kernels::cortexm::detail {

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__OPTIMIZE__)

#define FRUGAL_CORTEXM_SPARSE_QUAD            \
  "ldm r0!, {r8, r11, r12}\n\t"              \
  "add r8, r1, r8\n\t"                       \
  "ldm r8, {r3, r8, r9, r10}\n\t"            \
  "sxtb16 lr, r11\n\t"                       \
  "smlad r4, lr, r3, r4\n\t"                 \
  "smlad r5, lr, r9, r5\n\t"                 \
  "sxtb16 lr, r11, ror #8\n\t"               \
  "smlad r6, lr, r3, r6\n\t"                 \
  "smlad r7, lr, r9, r7\n\t"                 \
  "sxtb16 lr, r12\n\t"                       \
  "smlad r4, lr, r8, r4\n\t"                 \
  "smlad r5, lr, r10, r5\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"               \
  "smlad r6, lr, r8, r6\n\t"                 \
  "smlad r7, lr, r10, r7\n\t"

// r0 entries, r1 interleaved columns (not advanced: entries carry offsets), r2 entry count,
// r3 acc = {a0, a1, b0, b1}. A complete asm function for the register reason of gemm_micro_arm.h.
__attribute__((naked, noinline)) inline void sparse_mac_2x2(const int32_t*, const int16_t*,
                                                            int32_t, int32_t*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "push {r3}\n\t"
      "ldm r3, {r4, r5, r6, r7}\n\t"
      "lsrs r2, r2, #1\n\t"
      "bcc 1f\n\t" FRUGAL_CORTEXM_SPARSE_QUAD
      "1:\n\t"
      "cbz r2, 3f\n\t"
      "2:\n\t" FRUGAL_CORTEXM_SPARSE_QUAD FRUGAL_CORTEXM_SPARSE_QUAD
      "subs r2, r2, #1\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "pop {r3}\n\t"
      "stm r3, {r4, r5, r6, r7}\n\t"
      "pop {r4-r11, pc}\n\t");
}

#undef FRUGAL_CORTEXM_SPARSE_QUAD

// One column (the first slot of the interleaved scratch): acc = {a, b}.
__attribute__((naked, noinline)) inline void sparse_mac_2x1(const int32_t*, const int16_t*,
                                                            int32_t, int32_t*) {
  __asm__ volatile(
      "push {r4-r9, lr}\n\t"
      "ldm r3, {r4, r5}\n\t"
      "cbz r2, 3f\n\t"
      "2:\n\t"
      "ldm r0!, {r6, r7, r8}\n\t"
      "add r6, r1, r6\n\t"
      "ldrd r6, r9, [r6]\n\t"
      "sxtb16 lr, r7\n\t"
      "smlad r4, lr, r6, r4\n\t"
      "sxtb16 lr, r7, ror #8\n\t"
      "smlad r5, lr, r6, r5\n\t"
      "sxtb16 lr, r8\n\t"
      "smlad r4, lr, r9, r4\n\t"
      "sxtb16 lr, r8, ror #8\n\t"
      "smlad r5, lr, r9, r5\n\t"
      "subs r2, r2, #1\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "stm r3, {r4, r5}\n\t"
      "pop {r4-r9, pc}\n\t");
}

#else

// Portable loops: the same arithmetic with the dsp.h functions.
inline void sparse_mac_2x2(const int32_t* entries, const int16_t* cols, int32_t count,
                           int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3];
  for (int32_t i = 0; i < count; ++i, entries += 3) {
    const int16_t* q = cols + entries[0] / 2;
    const int32_t w0 = entries[1], w1 = entries[2];
    const int32_t x02 = load32_aligned(q), x13 = load32_aligned(q + 2);
    const int32_t y02 = load32_aligned(q + 4), y13 = load32_aligned(q + 6);
    a0 = smlad(sxtb16(w0), x02, a0);
    a1 = smlad(sxtb16(w0), y02, a1);
    b0 = smlad(sxtb16_ror8(w0), x02, b0);
    b1 = smlad(sxtb16_ror8(w0), y02, b1);
    a0 = smlad(sxtb16(w1), x13, a0);
    a1 = smlad(sxtb16(w1), y13, a1);
    b0 = smlad(sxtb16_ror8(w1), x13, b0);
    b1 = smlad(sxtb16_ror8(w1), y13, b1);
  }
  acc[0] = a0, acc[1] = a1, acc[2] = b0, acc[3] = b1;
}

inline void sparse_mac_2x1(const int32_t* entries, const int16_t* col, int32_t count,
                           int32_t* acc) {
  int32_t a0 = acc[0], b0 = acc[1];
  for (int32_t i = 0; i < count; ++i, entries += 3) {
    const int16_t* q = col + entries[0] / 2;
    const int32_t w0 = entries[1], w1 = entries[2];
    const int32_t x02 = load32_aligned(q), x13 = load32_aligned(q + 2);
    a0 = smlad(sxtb16(w0), x02, a0);
    b0 = smlad(sxtb16_ror8(w0), x02, b0);
    a0 = smlad(sxtb16(w1), x13, a0);
    b0 = smlad(sxtb16_ror8(w1), x13, b0);
  }
  acc[0] = a0, acc[1] = b0;
}

#endif

// Words of pair p's block in the stream.
inline int32_t sparse_block_words(int32_t kept, int32_t quads) {
  return kept == quads ? 2 * quads : 3 * kept;
}

// All output channels of the two interleaved columns in `cols` (outputs out[0, out_c) and
// out[out_c, 2 out_c)). kPaired: the stream pairs channels (order[2p], order[2p + 1]) instead of
// (2p, 2p + 1), the order following the pair counts in `pair_quads`, quant in stream order.
template <class Requant, bool kPaired = false, class Shape>
__attribute__((noinline)) void sparse_gemm_two_columns(const Shape& s, const int32_t* stream,
                                                       const uint16_t* pair_quads,
                                                       const ChannelQuant* quant,
                                                       const int16_t* cols, int8_t* out) {
  const int32_t quads = gemm_k4(s) >> 2;
  const int32_t out_c = gemm_out_c(s);
  const int32_t pairs = (out_c + 1) >> 1;
  const uint16_t* order = pair_quads + pairs;
  for (int32_t p = 0; p < pairs; ++p) {
    const bool has_b = 2 * p + 1 < out_c;
    const int32_t ca = kPaired ? order[2 * p] : 2 * p;
    const ChannelQuant& qa = quant[2 * p];
    const int32_t bias_b = has_b ? quant[2 * p + 1].bias : 0;
    int32_t acc[4] = {qa.bias, qa.bias, bias_b, bias_b};
    const int32_t kept = pair_quads[p];
    if (kept == quads) {
      mac_2x2_quads(reinterpret_cast<const int8_t*>(stream), cols, quads, acc);
    } else if (kept > 0) {
      sparse_mac_2x2(stream, cols, kept, acc);
    }
    stream += sparse_block_words(kept, quads);
    out[ca] = finish_output(s, Requant::apply(acc[0], qa));
    out[out_c + ca] = finish_output(s, Requant::apply(acc[1], qa));
    if (has_b) {
      const int32_t cb = kPaired ? order[2 * p + 1] : 2 * p + 1;
      const ChannelQuant& qb = quant[2 * p + 1];
      out[cb] = finish_output(s, Requant::apply(acc[2], qb));
      out[out_c + cb] = finish_output(s, Requant::apply(acc[3], qb));
    }
  }
}

// All output channels of one column (the first slot of an interleaved scratch).
template <class Requant, bool kPaired = false, class Shape>
__attribute__((noinline)) void sparse_gemm_one_column(const Shape& s, const int32_t* stream,
                                                      const uint16_t* pair_quads,
                                                      const ChannelQuant* quant,
                                                      const int16_t* col, int8_t* out) {
  const int32_t quads = gemm_k4(s) >> 2;
  const int32_t out_c = gemm_out_c(s);
  const int32_t pairs = (out_c + 1) >> 1;
  const uint16_t* order = pair_quads + pairs;
  for (int32_t p = 0; p < pairs; ++p) {
    const bool has_b = 2 * p + 1 < out_c;
    const ChannelQuant& qa = quant[2 * p];
    int32_t acc[2] = {qa.bias, has_b ? quant[2 * p + 1].bias : 0};
    const int32_t kept = pair_quads[p];
    if (kept == quads) {
      mac_2x1_quads(reinterpret_cast<const int8_t*>(stream), col, quads, acc);
    } else if (kept > 0) {
      sparse_mac_2x1(stream, col, kept, acc);
    }
    stream += sparse_block_words(kept, quads);
    out[kPaired ? order[2 * p] : 2 * p] = finish_output(s, Requant::apply(acc[0], qa));
    if (has_b) {
      out[kPaired ? order[2 * p + 1] : 2 * p + 1] = finish_output(s, Requant::apply(acc[1], quant[2 * p + 1]));
    }
  }
}

}  // namespace frugal::kernels::cortexm::detail

namespace frugal::kernels::cortexm {

// The GEMM policies of sparse_conv2d / sparse_fully_connected for streams packed by
// pack_sparse_conv / pack_sparse_fully_connected (`table`: kept quads per channel pair) and by
// pack_paired_sparse_conv / pack_paired_sparse_fully_connected (`table`: kept quads per pair,
// then the channel order that forms the pairs).
template <bool kPaired>
struct PairQuadGemmOf {
  template <class Requant, class Shape>
  static void two(const Shape& s, const int32_t* stream, const uint16_t* table, const ChannelQuant* quant,
                  const int16_t* cols, int8_t* out) {
    detail::sparse_gemm_two_columns<Requant, kPaired>(s, stream, table, quant, cols, out);
  }
  template <class Requant, class Shape>
  static void one(const Shape& s, const int32_t* stream, const uint16_t* table, const ChannelQuant* quant,
                  const int16_t* col, int8_t* out) {
    detail::sparse_gemm_one_column<Requant, kPaired>(s, stream, table, quant, col, out);
  }
};
using PairQuadGemm = PairQuadGemmOf<false>;
using PairedQuadGemm = PairQuadGemmOf<true>;

}  // namespace frugal::kernels::cortexm
