// Armv7E-M inner loops of the GEMM (gemm.h) in assembly, so that the column quads of both
// columns arrive with one LDM and nothing spills. All are out-of-line functions: inside them only
// their arguments are live, so the register allocator can always satisfy the asm (inlined
// into a busy caller it may not be able to, and LDM needs its registers in ascending order).
// Included only through gemm.h.
#pragma once

#include <cstdint>

namespace frugal::kernels::cortexm::detail {

// The 2-channel x 2-column loop needs all 14 allocatable registers (four accumulators, two
// weight words, one expanded pair, four column words, three pointers/counters), more than the
// compiler can promise (a frame pointer takes one), so it is a complete assembly function
// that saves and restores what it uses. Arguments (AAPCS): r0 weights (int8 layout of gemm.h),
// r1 interleaved columns, r2 quads, r3 acc = {a0, a1, b0, b1} (channel a / b, column 0 / 1),
// read and written back. Per quad: LDRD weights, LDM both column quads, 4 SXTB16, 8 SMLAD.
#define FRUGAL_CORTEXM_GEMM_QUAD             \
  "ldrd r11, r12, [r0], #8\n\t"             \
  "ldm r1!, {r3, r8, r9, r10}\n\t"          \
  "sxtb16 lr, r11\n\t"                      \
  "smlad r4, lr, r3, r4\n\t"                \
  "smlad r5, lr, r9, r5\n\t"                \
  "sxtb16 lr, r11, ror #8\n\t"              \
  "smlad r6, lr, r3, r6\n\t"                \
  "smlad r7, lr, r9, r7\n\t"                \
  "sxtb16 lr, r12\n\t"                      \
  "smlad r4, lr, r8, r4\n\t"                \
  "smlad r5, lr, r10, r5\n\t"               \
  "sxtb16 lr, r12, ror #8\n\t"              \
  "smlad r6, lr, r8, r6\n\t"                \
  "smlad r7, lr, r10, r7\n\t"

__attribute__((naked, noinline)) inline void mac_2x2_quads(const int8_t*, const int16_t*,
                                                           int32_t, int32_t*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "push {r3}\n\t"
      "ldm r3, {r4, r5, r6, r7}\n\t"
      "lsrs r2, r2, #1\n\t"  // r2 = quad pairs, carry = an odd quad
      "bcc 1f\n\t" FRUGAL_CORTEXM_GEMM_QUAD
      "1:\n\t"
      "cbz r2, 3f\n\t"
      "2:\n\t" FRUGAL_CORTEXM_GEMM_QUAD FRUGAL_CORTEXM_GEMM_QUAD
      "subs r2, r2, #1\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "pop {r3}\n\t"
      "stm r3, {r4, r5, r6, r7}\n\t"
      "pop {r4-r11, pc}\n\t");
}

#undef FRUGAL_CORTEXM_GEMM_QUAD

// One quad of the 2-channel x 1-column loop: LDRD weights, LDRD column, 4 SXTB16, 4 SMLAD.
#define FRUGAL_CORTEXM_GEMM_QUAD_1                 \
  "ldrd %[w0], %[w1], [%[w]], #8\n\t"             \
  "ldrd %[x02], %[x13], [%[c]], #16\n\t"          \
  "sxtb16 %[t], %[w0]\n\t"                        \
  "smlad %[a0], %[t], %[x02], %[a0]\n\t"          \
  "sxtb16 %[t], %[w0], ror #8\n\t"                \
  "smlad %[b0], %[t], %[x02], %[b0]\n\t"          \
  "sxtb16 %[t], %[w1]\n\t"                        \
  "smlad %[a0], %[t], %[x13], %[a0]\n\t"          \
  "sxtb16 %[t], %[w1], ror #8\n\t"                \
  "smlad %[b0], %[t], %[x13], %[b0]\n\t"

#define FRUGAL_CORTEXM_GEMM_OPERANDS_1                                                  \
  [a0] "+r"(a0), [b0] "+r"(b0), [w] "+r"(weights), [c] "+r"(col), [w0] "=&r"(w0),     \
      [w1] "=&r"(w1), [t] "=&r"(t), [x02] "=&r"(x02), [x13] "=&r"(x13)

// acc = {a, b}: channels a and b of the column in the first slot of an interleaved scratch.
__attribute__((noinline)) inline void mac_2x1_quads(const int8_t* weights, const int16_t* col,
                                                    int32_t quads, int32_t* acc) {
  int32_t w0, w1, t, x02, x13;
  int32_t a0 = acc[0], b0 = acc[1];
  int32_t pairs = quads >> 1;
  if (pairs > 0) {
    __asm__ volatile("1:\n\t" FRUGAL_CORTEXM_GEMM_QUAD_1 FRUGAL_CORTEXM_GEMM_QUAD_1
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : FRUGAL_CORTEXM_GEMM_OPERANDS_1, [n] "+r"(pairs)
                     :
                     : "cc", "memory");
  }
  if (quads & 1) {
    __asm__ volatile(FRUGAL_CORTEXM_GEMM_QUAD_1 : FRUGAL_CORTEXM_GEMM_OPERANDS_1 : : "memory");
  }
  acc[0] = a0, acc[1] = b0;
}

// Two channel pairs (weights p and q) x one column: the column quad is loaded once for four
// channels; 19 instructions per 16 MACs.
#define FRUGAL_CORTEXM_GEMM_QUAD_4X1                 \
  "ldrd %[x02], %[x13], [%[c]], #16\n\t"            \
  "ldrd %[w0], %[w1], [%[p]], #8\n\t"               \
  "sxtb16 %[t], %[w0]\n\t"                          \
  "smlad %[a0], %[t], %[x02], %[a0]\n\t"            \
  "sxtb16 %[t], %[w0], ror #8\n\t"                  \
  "smlad %[b0], %[t], %[x02], %[b0]\n\t"            \
  "sxtb16 %[t], %[w1]\n\t"                          \
  "smlad %[a0], %[t], %[x13], %[a0]\n\t"            \
  "sxtb16 %[t], %[w1], ror #8\n\t"                  \
  "smlad %[b0], %[t], %[x13], %[b0]\n\t"            \
  "ldrd %[w0], %[w1], [%[q]], #8\n\t"               \
  "sxtb16 %[t], %[w0]\n\t"                          \
  "smlad %[c0], %[t], %[x02], %[c0]\n\t"            \
  "sxtb16 %[t], %[w0], ror #8\n\t"                  \
  "smlad %[d0], %[t], %[x02], %[d0]\n\t"            \
  "sxtb16 %[t], %[w1]\n\t"                          \
  "smlad %[c0], %[t], %[x13], %[c0]\n\t"            \
  "sxtb16 %[t], %[w1], ror #8\n\t"                  \
  "smlad %[d0], %[t], %[x13], %[d0]\n\t"

#define FRUGAL_CORTEXM_GEMM_OPERANDS_4X1                                                 \
  [a0] "+r"(a0), [b0] "+r"(b0), [c0] "+r"(c0), [d0] "+r"(d0), [p] "+r"(weights_p),       \
      [q] "+r"(weights_q), [c] "+r"(col), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t),  \
      [x02] "=&r"(x02), [x13] "=&r"(x13)

// acc = {a, b, c, d}: the channels of pair p (a, b) and pair q (c, d).
__attribute__((noinline)) inline void mac_4x1_quads(const int8_t* weights_p,
                                                    const int8_t* weights_q, const int16_t* col,
                                                    int32_t quads, int32_t* acc) {
  int32_t w0, w1, t, x02, x13;
  int32_t a0 = acc[0], b0 = acc[1], c0 = acc[2], d0 = acc[3];
  int32_t pairs = quads >> 1;
  if (pairs > 0) {
    __asm__ volatile("1:\n\t" FRUGAL_CORTEXM_GEMM_QUAD_4X1 FRUGAL_CORTEXM_GEMM_QUAD_4X1
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : FRUGAL_CORTEXM_GEMM_OPERANDS_4X1, [n] "+r"(pairs)
                     :
                     : "cc", "memory");
  }
  if (quads & 1) {
    __asm__ volatile(FRUGAL_CORTEXM_GEMM_QUAD_4X1 : FRUGAL_CORTEXM_GEMM_OPERANDS_4X1 : : "memory");
  }
  acc[0] = a0, acc[1] = b0, acc[2] = c0, acc[3] = d0;
}

#undef FRUGAL_CORTEXM_GEMM_OPERANDS_4X1
#undef FRUGAL_CORTEXM_GEMM_QUAD_4X1
#undef FRUGAL_CORTEXM_GEMM_OPERANDS_1
#undef FRUGAL_CORTEXM_GEMM_QUAD_1

// Pre-expanded int16 weights (gemm.h, "int16 weights"), a complete assembly function like the
// int8 one: one LDM brings (a02, a13, b02, b13), each column quad one LDRD; 11 instructions
// per 16 MACs.
#define FRUGAL_CORTEXM_GEMM16_QUAD            \
  "ldm r0!, {r8, r9, r10, r11}\n\t"          \
  "ldrd r3, r12, [r1], #8\n\t"               \
  "smlad r4, r8, r3, r4\n\t"                 \
  "smlad r6, r10, r3, r6\n\t"                \
  "smlad r4, r9, r12, r4\n\t"                \
  "smlad r6, r11, r12, r6\n\t"               \
  "ldrd r3, r12, [r1], #8\n\t"               \
  "smlad r5, r8, r3, r5\n\t"                 \
  "smlad r7, r10, r3, r7\n\t"                \
  "smlad r5, r9, r12, r5\n\t"                \
  "smlad r7, r11, r12, r7\n\t"

__attribute__((naked, noinline)) inline void mac_2x2_quads(const int16_t*, const int16_t*,
                                                           int32_t, int32_t*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "push {r3}\n\t"
      "ldm r3, {r4, r5, r6, r7}\n\t"
      "lsrs r2, r2, #1\n\t"
      "bcc 1f\n\t" FRUGAL_CORTEXM_GEMM16_QUAD
      "1:\n\t"
      "cbz r2, 3f\n\t"
      "2:\n\t" FRUGAL_CORTEXM_GEMM16_QUAD FRUGAL_CORTEXM_GEMM16_QUAD
      "subs r2, r2, #1\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "pop {r3}\n\t"
      "stm r3, {r4, r5, r6, r7}\n\t"
      "pop {r4-r11, pc}\n\t");
}

#undef FRUGAL_CORTEXM_GEMM16_QUAD

__attribute__((noinline)) inline void mac_2x1_quads(const int16_t* weights, const int16_t* col,
                                                    int32_t quads, int32_t* acc) {
  register int32_t a02 __asm__("r4");
  register int32_t a13 __asm__("r5");
  register int32_t b02 __asm__("r6");
  register int32_t b13 __asm__("r8");
  int32_t x02, x13;
  int32_t a0 = acc[0], b0 = acc[1];
  for (int32_t q = 0; q < quads; ++q) {
    __asm__ volatile(
        "ldm %[w]!, {%[a02], %[a13], %[b02], %[b13]}\n\t"
        "ldrd %[x02], %[x13], [%[c]], #16\n\t"
        "smlad %[a0], %[a02], %[x02], %[a0]\n\t"
        "smlad %[b0], %[b02], %[x02], %[b0]\n\t"
        "smlad %[a0], %[a13], %[x13], %[a0]\n\t"
        "smlad %[b0], %[b13], %[x13], %[b0]\n\t"
        : [a0] "+r"(a0), [b0] "+r"(b0), [w] "+r"(weights), [c] "+r"(col), [a02] "=&r"(a02),
          [a13] "=&r"(a13), [b02] "=&r"(b02), [b13] "=&r"(b13), [x02] "=&r"(x02),
          [x13] "=&r"(x13)
        :
        : "memory");
  }
  acc[0] = a0, acc[1] = b0;
}




}  // namespace frugal::kernels::cortexm::detail
