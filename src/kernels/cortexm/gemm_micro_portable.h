// Portable inner loop of the 2-channel x 2-column GEMM (gemm.h), written with the dsp.h
// functions; the same arithmetic as gemm_micro_arm.h. Included only through gemm.h.
#pragma once

#include <cstdint>

#include "kernels/cortexm/dsp.h"

namespace frugal::kernels::cortexm::detail {

// acc = {a0, a1, b0, b1}: channel a / b of column 0 / 1.
inline void mac_2x2_quads(const int8_t* weights, const int16_t* cols, int32_t quads,
                          int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3];
  for (int32_t q = 0; q < quads; ++q, weights += 8, cols += 8) {
    const int32_t w0 = load32_aligned(weights), w1 = load32_aligned(weights + 4);
    const int32_t x02 = load32_aligned(cols), x13 = load32_aligned(cols + 2);
    const int32_t y02 = load32_aligned(cols + 4), y13 = load32_aligned(cols + 6);
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

// acc = {a, b}: channels a and b of the column in the first slot of an interleaved scratch.
inline void mac_2x1_quads(const int8_t* weights, const int16_t* col, int32_t quads,
                          int32_t* acc) {
  int32_t a0 = acc[0], b0 = acc[1];
  for (int32_t q = 0; q < quads; ++q, weights += 8, col += 8) {
    const int32_t w0 = load32_aligned(weights), w1 = load32_aligned(weights + 4);
    const int32_t x02 = load32_aligned(col), x13 = load32_aligned(col + 2);
    a0 = smlad(sxtb16(w0), x02, a0);
    b0 = smlad(sxtb16_ror8(w0), x02, b0);
    a0 = smlad(sxtb16(w1), x13, a0);
    b0 = smlad(sxtb16_ror8(w1), x13, b0);
  }
  acc[0] = a0, acc[1] = b0;
}

// acc = {a, b, c, d}: the channels of pair p (a, b) and pair q (c, d).
inline void mac_4x1_quads(const int8_t* weights_p, const int8_t* weights_q, const int16_t* col,
                          int32_t quads, int32_t* acc) {
  mac_2x1_quads(weights_p, col, quads, acc);
  mac_2x1_quads(weights_q, col, quads, acc + 2);
}

// Pre-expanded int16 weights: per quad a02 a13 b02 b13 (4 words).
inline void mac_2x2_quads(const int16_t* weights, const int16_t* cols, int32_t quads,
                          int32_t* acc) {
  for (int32_t q = 0; q < quads; ++q, weights += 8, cols += 8) {
    const int32_t a02 = load32_aligned(weights), a13 = load32_aligned(weights + 2);
    const int32_t b02 = load32_aligned(weights + 4), b13 = load32_aligned(weights + 6);
    for (int32_t j = 0; j < 2; ++j) {
      const int32_t x02 = load32_aligned(cols + 4 * j), x13 = load32_aligned(cols + 4 * j + 2);
      acc[j] = smlad(a13, x13, smlad(a02, x02, acc[j]));
      acc[2 + j] = smlad(b13, x13, smlad(b02, x02, acc[2 + j]));
    }
  }
}

inline void mac_2x1_quads(const int16_t* weights, const int16_t* col, int32_t quads,
                          int32_t* acc) {
  for (int32_t q = 0; q < quads; ++q, weights += 8, col += 8) {
    const int32_t x02 = load32_aligned(col), x13 = load32_aligned(col + 2);
    acc[0] = smlad(load32_aligned(weights + 2), x13, smlad(load32_aligned(weights), x02, acc[0]));
    acc[1] = smlad(load32_aligned(weights + 6), x13,
                   smlad(load32_aligned(weights + 4), x02, acc[1]));
  }
}

}  // namespace frugal::kernels::cortexm::detail
