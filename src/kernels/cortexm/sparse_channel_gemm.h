// Computation skipping at a finer unit than sparse_gemm.h: one *channel quad*, the 4 consecutive
// K positions 4q .. 4q + 3 of ONE output channel. Skipping a quad of sparse_gemm.h needs 8
// insignificant weights in two channels at once, which real layers rarely have; a channel quad
// needs 4 of one channel. The price: the column quad is loaded once per channel instead of once
// per channel pair, 9 instructions per 8 MACs instead of 15 per 16.
//
// Packed stream (sparse_pack.h, pack_channel_sparse_*), int32 words, 4-byte aligned, channels in
// order; channel c has channel_quads[c] entries of 2 words {byte offset of the quad in the
// interleaved scratch (16 q), weights} with the weight bytes [k0, k1, k2, k3] (SXTB16 pairs
// (k0, k2) with the column word x02 and, rotated, (k1, k3) with x13; gemm.h's column order).
#pragma once

#include <cstdint>

#include "kernels/cortexm/gemm.h"

namespace frugal::kernels::cortexm::detail {

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__OPTIMIZE__)

#define FRUGAL_CORTEXM_CHANNEL_QUAD           \
  "ldm r0!, {r6, r7}\n\t"                    \
  "add r6, r1, r6\n\t"                       \
  "ldm r6, {r8, r9, r10, r11}\n\t"           \
  "sxtb16 lr, r7\n\t"                        \
  "smlad r4, lr, r8, r4\n\t"                 \
  "smlad r5, lr, r10, r5\n\t"                \
  "sxtb16 lr, r7, ror #8\n\t"                \
  "smlad r4, lr, r9, r4\n\t"                 \
  "smlad r5, lr, r11, r5\n\t"

// r0 entries, r1 interleaved columns, r2 entry count, r3 acc = {column 0, column 1}. A complete
// asm function for the register reason of gemm_micro_arm.h.
__attribute__((naked, noinline)) inline void channel_mac_1x2(const int32_t*, const int16_t*,
                                                             int32_t, int32_t*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldm r3, {r4, r5}\n\t"
      "lsrs r2, r2, #1\n\t"
      "bcc 1f\n\t" FRUGAL_CORTEXM_CHANNEL_QUAD
      "1:\n\t"
      "cbz r2, 3f\n\t"
      "2:\n\t" FRUGAL_CORTEXM_CHANNEL_QUAD FRUGAL_CORTEXM_CHANNEL_QUAD
      "subs r2, r2, #1\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "stm r3, {r4, r5}\n\t"
      "pop {r4-r11, pc}\n\t");
}

#undef FRUGAL_CORTEXM_CHANNEL_QUAD

// One column (the first slot of an interleaved scratch): acc = {column 0}.
__attribute__((naked, noinline)) inline void channel_mac_1x1(const int32_t*, const int16_t*,
                                                             int32_t, int32_t*) {
  __asm__ volatile(
      "push {r4-r7, lr}\n\t"
      "ldr r4, [r3]\n\t"
      "cbz r2, 3f\n\t"
      "2:\n\t"
      "ldm r0!, {r5, r6}\n\t"
      "add r5, r1, r5\n\t"
      "ldrd r5, r7, [r5]\n\t"
      "sxtb16 lr, r6\n\t"
      "smlad r4, lr, r5, r4\n\t"
      "sxtb16 lr, r6, ror #8\n\t"
      "smlad r4, lr, r7, r4\n\t"
      "subs r2, r2, #1\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "str r4, [r3]\n\t"
      "pop {r4-r7, pc}\n\t");
}

#else

// Portable loops: the same arithmetic with the dsp.h functions.
inline void channel_mac_1x2(const int32_t* entries, const int16_t* cols, int32_t count,
                            int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1];
  for (int32_t i = 0; i < count; ++i, entries += 2) {
    const int16_t* q = cols + entries[0] / 2;
    const int32_t w = entries[1];
    a0 = smlad(sxtb16(w), load32_aligned(q), a0);
    a1 = smlad(sxtb16(w), load32_aligned(q + 4), a1);
    a0 = smlad(sxtb16_ror8(w), load32_aligned(q + 2), a0);
    a1 = smlad(sxtb16_ror8(w), load32_aligned(q + 6), a1);
  }
  acc[0] = a0, acc[1] = a1;
}

inline void channel_mac_1x1(const int32_t* entries, const int16_t* col, int32_t count,
                            int32_t* acc) {
  int32_t a0 = acc[0];
  for (int32_t i = 0; i < count; ++i, entries += 2) {
    const int16_t* q = col + entries[0] / 2;
    a0 = smlad(sxtb16(entries[1]), load32_aligned(q), a0);
    a0 = smlad(sxtb16_ror8(entries[1]), load32_aligned(q + 2), a0);
  }
  acc[0] = a0;
}

#endif

// All output channels of the two interleaved columns in `cols` (outputs out[0, out_c) and
// out[out_c, 2 out_c)).
template <class Requant, class Shape>
__attribute__((noinline)) void channel_gemm_two_columns(const Shape& s, const int32_t* stream,
                                                        const uint16_t* channel_quads,
                                                        const ChannelQuant* quant,
                                                        const int16_t* cols, int8_t* out) {
  const int32_t out_c = gemm_out_c(s);
  for (int32_t c = 0; c < out_c; ++c) {
    int32_t acc[2] = {quant[c].bias, quant[c].bias};
    const int32_t kept = channel_quads[c];
    if (kept > 0) channel_mac_1x2(stream, cols, kept, acc);
    stream += 2 * kept;
    out[c] = finish_output(s, Requant::apply(acc[0], quant[c]));
    out[out_c + c] = finish_output(s, Requant::apply(acc[1], quant[c]));
  }
}

// All output channels of one column (the first slot of an interleaved scratch).
template <class Requant, class Shape>
__attribute__((noinline)) void channel_gemm_one_column(const Shape& s, const int32_t* stream,
                                                       const uint16_t* channel_quads,
                                                       const ChannelQuant* quant,
                                                       const int16_t* col, int8_t* out) {
  const int32_t out_c = gemm_out_c(s);
  for (int32_t c = 0; c < out_c; ++c) {
    int32_t acc = quant[c].bias;
    const int32_t kept = channel_quads[c];
    if (kept > 0) channel_mac_1x1(stream, col, kept, &acc);
    stream += 2 * kept;
    out[c] = finish_output(s, Requant::apply(acc, quant[c]));
  }
}

}  // namespace frugal::kernels::cortexm::detail

namespace frugal::kernels::cortexm {

// The GEMM policy of sparse_conv2d / sparse_fully_connected for streams packed by
// pack_channel_sparse_conv / pack_channel_sparse_fully_connected (`table`: kept quads per channel).
struct ChannelQuadGemm {
  template <class Requant, class Shape>
  static void two(const Shape& s, const int32_t* stream, const uint16_t* table, const ChannelQuant* quant,
                  const int16_t* cols, int8_t* out) {
    detail::channel_gemm_two_columns<Requant>(s, stream, table, quant, cols, out);
  }
  template <class Requant, class Shape>
  static void one(const Shape& s, const int32_t* stream, const uint16_t* table, const ChannelQuant* quant,
                  const int16_t* col, int8_t* out) {
    detail::channel_gemm_one_column<Requant>(s, stream, table, quant, col, out);
  }
};

}  // namespace frugal::kernels::cortexm
