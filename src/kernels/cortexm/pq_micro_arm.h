// Armv7E-M hot loops of the PQ kernels (pq_gemm.h) in assembly; the same arithmetic as the
// generic loops there. Complete assembly functions, for the register reason of gemm_micro_arm.h:
// the two-column loops need all 14 allocatable registers, which inline asm inside a busy caller
// (or with a frame pointer) cannot be promised. Included only through pq_gemm.h.
#pragma once

#include <cstdint>

namespace frugal::kernels::cortexm::detail {

// ---- Direct form: one output channel's row, two groups per iteration ----
// Arguments (AAPCS): r0 the columns (group-interleaved, advanced), r1 index bytes, r2 codebook,
// r3 pairs of groups, [sp] acc = {acc0, acc1} (read and written back; acc0 in r12, acc1 in lr;
// the one-column forms use lr as a spare and leave acc[1] undefined; the four-column forms
// keep acc2 and acc3 in r6 and r7).
// Per group: the index into r4, r4 turned into the codeword's address, one LDM for the codeword
// (the address register reloaded as its first word), LDMs of the column words, SMLADs. GCC's own
// code for the same loop needs one load per word and about twice the instructions.

#define FRUGAL_PQ_INDEX_8 "ldrb r4, [r1], #1\n\t"
// 4-bit: the byte is loaded twice where every register is taken (two columns, d > 4), else kept.
#define FRUGAL_PQ_INDEX_4_LOW "ldrb r4, [r1]\n\tand r4, r4, #15\n\t"
#define FRUGAL_PQ_INDEX_4_HIGH "ldrb r4, [r1], #1\n\tlsr r4, r4, #4\n\t"
#define FRUGAL_PQ_INDEX_4_LOW_KEEP(spare) "ldrb " spare ", [r1], #1\n\tand r4, " spare ", #15\n\t"
#define FRUGAL_PQ_INDEX_4_HIGH_KEEP(spare) "lsr r4, " spare ", #4\n\t"

// r4 = codebook + index * (4 * words) bytes.
#define FRUGAL_PQ_ADDRESS_W2 "add r4, r2, r4, lsl #3\n\t"
#define FRUGAL_PQ_ADDRESS_W4 "add r4, r2, r4, lsl #4\n\t"
#define FRUGAL_PQ_ADDRESS_W5 "add r4, r4, r4, lsl #2\n\tadd r4, r2, r4, lsl #2\n\t"

#define FRUGAL_PQ_DOT_C1_W2  \
  "ldm r4, {r4, r5}\n\t"     \
  "ldm r0!, {r8, r9}\n\t"    \
  "smlad r12, r4, r8, r12\n\t" \
  "smlad r12, r5, r9, r12\n\t"
// Both columns' two words in one LDM.
#define FRUGAL_PQ_DOT_C2_W2          \
  "ldm r4, {r4, r5}\n\t"             \
  "ldm r0!, {r8, r9, r10, r11}\n\t"  \
  "smlad r12, r4, r8, r12\n\t"       \
  "smlad r12, r5, r9, r12\n\t"       \
  "smlad lr, r4, r10, lr\n\t"        \
  "smlad lr, r5, r11, lr\n\t"
#define FRUGAL_PQ_DOT_W4_COLUMN(acc)                                                            \
  "ldm r0!, {r8, r9, r10, r11}\n\t"                                                             \
  "smlad " acc ", r4, r8, " acc "\n\t"                                                          \
  "smlad " acc ", r5, r9, " acc "\n\t"                                                          \
  "smlad " acc ", r6, r10, " acc "\n\t"                                                         \
  "smlad " acc ", r7, r11, " acc "\n\t"
#define FRUGAL_PQ_DOT_C1_W4 "ldm r4, {r4, r5, r6, r7}\n\t" FRUGAL_PQ_DOT_W4_COLUMN("r12")
#define FRUGAL_PQ_DOT_C2_W4 FRUGAL_PQ_DOT_C1_W4 FRUGAL_PQ_DOT_W4_COLUMN("lr")
// Five codeword words leave three registers for the column: its words in two LDMs.
#define FRUGAL_PQ_DOT_W5_COLUMN(acc)                                                            \
  "ldm r0!, {r9, r10, r11}\n\t"                                                                 \
  "smlad " acc ", r4, r9, " acc "\n\t"                                                          \
  "smlad " acc ", r5, r10, " acc "\n\t"                                                         \
  "smlad " acc ", r6, r11, " acc "\n\t"                                                         \
  "ldm r0!, {r9, r10}\n\t"                                                                      \
  "smlad " acc ", r7, r9, " acc "\n\t"                                                          \
  "smlad " acc ", r8, r10, " acc "\n\t"
#define FRUGAL_PQ_DOT_C1_W5 "ldm r4, {r4, r5, r6, r7, r8}\n\t" FRUGAL_PQ_DOT_W5_COLUMN("r12")
#define FRUGAL_PQ_DOT_C2_W5 FRUGAL_PQ_DOT_C1_W5 FRUGAL_PQ_DOT_W5_COLUMN("lr")

// Four columns of two words: the codeword stays in r4 r5 while two LDMs bring two columns each;
// the third and fourth accumulators take r6 and r7.
#define FRUGAL_PQ_DOT_C4_W2            \
  "ldm r4, {r4, r5}\n\t"               \
  "ldm r0!, {r8, r9, r10, r11}\n\t"    \
  "smlad r12, r4, r8, r12\n\t"         \
  "smlad r12, r5, r9, r12\n\t"         \
  "smlad lr, r4, r10, lr\n\t"          \
  "smlad lr, r5, r11, lr\n\t"          \
  "ldm r0!, {r8, r9, r10, r11}\n\t"    \
  "smlad r6, r4, r8, r6\n\t"           \
  "smlad r6, r5, r9, r6\n\t"           \
  "smlad r7, r4, r10, r7\n\t"          \
  "smlad r7, r5, r11, r7\n\t"

// One group: its index into r4, the codeword's address, the dot product. The skipping form
// (codeword 0 all zero, pq_gemm.h) tests the index first and, for 0, only steps the column
// pointer over the group's `bytes`: three instructions instead of the address, loads and SMLADs.
#define FRUGAL_PQ_GROUP(index, address, dot) index address dot
#define FRUGAL_PQ_GROUP_SKIP(index, address, dot, bytes) \
  index "cbz r4, 3f\n\t" address dot "b 4f\n\t3:\n\tadd r0, r0, #" bytes "\n\t4:\n\t"

#define FRUGAL_PQ_DIRECT_PAIRS_WITH(name, first_group, second_group, load_more, store_more)                  \
  __attribute__((naked, noinline)) inline void name(const int16_t*, const uint8_t*, const int16_t*, int32_t, \
                                                    int32_t*) {                                              \
    __asm__ volatile(                                                                                        \
        "push {r4-r11, lr}\n\t"                                                                              \
        "ldr lr, [sp, #36]\n\t"                                                                              \
        "push {lr}\n\t"                                                                                      \
        "ldr r12, [lr]\n\t" load_more                                                                        \
        "ldr lr, [lr, #4]\n\t"                                                                               \
        "cmp r3, #0\n\t"                                                                                     \
        "beq 2f\n\t"                                                                                         \
        "1:\n\t" first_group second_group                                                                    \
        "subs r3, r3, #1\n\t"                                                                                \
        "bne 1b\n\t"                                                                                         \
        "2:\n\t"                                                                                             \
        "pop {r3}\n\t"                                                                                       \
        "str r12, [r3]\n\t"                                                                                  \
        "str lr, [r3, #4]\n\t" store_more                                                                    \
        "pop {r4-r11, pc}\n\t");                                                                             \
  }
#define FRUGAL_PQ_DIRECT_PAIRS(name, first_group, second_group) \
  FRUGAL_PQ_DIRECT_PAIRS_WITH(name, first_group, second_group, "", "")
// The four-column form: acc = {acc0..acc3} in r12, lr, r6, r7.
#define FRUGAL_PQ_DIRECT_PAIRS_C4(name, first_group, second_group)                                 \
  FRUGAL_PQ_DIRECT_PAIRS_WITH(name, first_group, second_group, "ldr r6, [lr, #8]\n\tldr r7, [lr, #12]\n\t", \
                              "str r6, [r3, #8]\n\tstr r7, [r3, #12]\n\t")

// Each loop twice: plain (_s0) and skipping the zero codeword (_s1); `bytes`: the column bytes
// of one group, C * W * 4. 4-bit with four columns: no register is free to keep the byte, so it
// is loaded twice.
#define FRUGAL_PQ_DIRECT_LOOPS(pairs, name, first_index, second_index, address, dot, bytes)           \
  pairs(name##_s0, FRUGAL_PQ_GROUP(first_index, address, dot), FRUGAL_PQ_GROUP(second_index, address, dot)) \
  pairs(name##_s1, FRUGAL_PQ_GROUP_SKIP(first_index, address, dot, bytes),                           \
        FRUGAL_PQ_GROUP_SKIP(second_index, address, dot, bytes))

FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS_C4, pq_direct_pairs_b8_c4_w2,
                       FRUGAL_PQ_INDEX_8, FRUGAL_PQ_INDEX_8,
                       FRUGAL_PQ_ADDRESS_W2, FRUGAL_PQ_DOT_C4_W2, "32")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS_C4, pq_direct_pairs_b4_c4_w2,
                       FRUGAL_PQ_INDEX_4_LOW, FRUGAL_PQ_INDEX_4_HIGH,
                       FRUGAL_PQ_ADDRESS_W2, FRUGAL_PQ_DOT_C4_W2, "32")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b8_c1_w2,
                       FRUGAL_PQ_INDEX_8, FRUGAL_PQ_INDEX_8,
                       FRUGAL_PQ_ADDRESS_W2, FRUGAL_PQ_DOT_C1_W2, "8")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b8_c2_w2,
                       FRUGAL_PQ_INDEX_8, FRUGAL_PQ_INDEX_8,
                       FRUGAL_PQ_ADDRESS_W2, FRUGAL_PQ_DOT_C2_W2, "16")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b8_c1_w4,
                       FRUGAL_PQ_INDEX_8, FRUGAL_PQ_INDEX_8,
                       FRUGAL_PQ_ADDRESS_W4, FRUGAL_PQ_DOT_C1_W4, "16")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b8_c2_w4,
                       FRUGAL_PQ_INDEX_8, FRUGAL_PQ_INDEX_8,
                       FRUGAL_PQ_ADDRESS_W4, FRUGAL_PQ_DOT_C2_W4, "32")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b8_c1_w5,
                       FRUGAL_PQ_INDEX_8, FRUGAL_PQ_INDEX_8,
                       FRUGAL_PQ_ADDRESS_W5, FRUGAL_PQ_DOT_C1_W5, "20")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b8_c2_w5,
                       FRUGAL_PQ_INDEX_8, FRUGAL_PQ_INDEX_8,
                       FRUGAL_PQ_ADDRESS_W5, FRUGAL_PQ_DOT_C2_W5, "40")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b4_c1_w2,
                       FRUGAL_PQ_INDEX_4_LOW_KEEP("r6"), FRUGAL_PQ_INDEX_4_HIGH_KEEP("r6"),
                       FRUGAL_PQ_ADDRESS_W2, FRUGAL_PQ_DOT_C1_W2, "8")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b4_c2_w2,
                       FRUGAL_PQ_INDEX_4_LOW_KEEP("r6"), FRUGAL_PQ_INDEX_4_HIGH_KEEP("r6"),
                       FRUGAL_PQ_ADDRESS_W2, FRUGAL_PQ_DOT_C2_W2, "16")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b4_c1_w4,
                       FRUGAL_PQ_INDEX_4_LOW_KEEP("lr"), FRUGAL_PQ_INDEX_4_HIGH_KEEP("lr"),
                       FRUGAL_PQ_ADDRESS_W4, FRUGAL_PQ_DOT_C1_W4, "16")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b4_c2_w4,
                       FRUGAL_PQ_INDEX_4_LOW, FRUGAL_PQ_INDEX_4_HIGH,
                       FRUGAL_PQ_ADDRESS_W4, FRUGAL_PQ_DOT_C2_W4, "32")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b4_c1_w5,
                       FRUGAL_PQ_INDEX_4_LOW_KEEP("lr"), FRUGAL_PQ_INDEX_4_HIGH_KEEP("lr"),
                       FRUGAL_PQ_ADDRESS_W5, FRUGAL_PQ_DOT_C1_W5, "20")
FRUGAL_PQ_DIRECT_LOOPS(FRUGAL_PQ_DIRECT_PAIRS, pq_direct_pairs_b4_c2_w5,
                       FRUGAL_PQ_INDEX_4_LOW, FRUGAL_PQ_INDEX_4_HIGH,
                       FRUGAL_PQ_ADDRESS_W5, FRUGAL_PQ_DOT_C2_W5, "40")

#undef FRUGAL_PQ_DIRECT_LOOPS
#undef FRUGAL_PQ_DIRECT_PAIRS_C4
#undef FRUGAL_PQ_GROUP_SKIP
#undef FRUGAL_PQ_GROUP
#undef FRUGAL_PQ_DIRECT_PAIRS
#undef FRUGAL_PQ_DIRECT_PAIRS_WITH
#undef FRUGAL_PQ_DOT_C4_W2
#undef FRUGAL_PQ_DOT_C2_W5
#undef FRUGAL_PQ_DOT_C1_W5
#undef FRUGAL_PQ_DOT_W5_COLUMN
#undef FRUGAL_PQ_DOT_C2_W4
#undef FRUGAL_PQ_DOT_C1_W4
#undef FRUGAL_PQ_DOT_W4_COLUMN
#undef FRUGAL_PQ_DOT_C2_W2
#undef FRUGAL_PQ_DOT_C1_W2
#undef FRUGAL_PQ_ADDRESS_W5
#undef FRUGAL_PQ_ADDRESS_W4
#undef FRUGAL_PQ_ADDRESS_W2
#undef FRUGAL_PQ_INDEX_4_HIGH_KEEP
#undef FRUGAL_PQ_INDEX_4_LOW_KEEP
#undef FRUGAL_PQ_INDEX_4_HIGH
#undef FRUGAL_PQ_INDEX_4_LOW
#undef FRUGAL_PQ_INDEX_8

// The assembly loop of a (bits, words, columns, skip) combination, where there is one.
template <int32_t kBits, int32_t kWords, int32_t kColumns, bool kSkipZero>
struct PqDirectAsm {
  static constexpr bool kAvailable = false;
  static void run(const int16_t*, const uint8_t*, const int16_t*, int32_t, int32_t*) {}
};

#define FRUGAL_PQ_DIRECT_ASM(bits, words, columns, skip)                                                \
  template <>                                                                                          \
  struct PqDirectAsm<bits, words, columns, skip != 0> {                                                \
    static constexpr bool kAvailable = true;                                                           \
    static void run(const int16_t* x, const uint8_t* p, const int16_t* codebook, int32_t pairs, int32_t* acc) { \
      pq_direct_pairs_b##bits##_c##columns##_w##words##_s##skip(x, p, codebook, pairs, acc);           \
    }                                                                                                  \
  };
#define FRUGAL_PQ_DIRECT_ASM_BOTH(bits, words, columns) \
  FRUGAL_PQ_DIRECT_ASM(bits, words, columns, 0) FRUGAL_PQ_DIRECT_ASM(bits, words, columns, 1)
FRUGAL_PQ_DIRECT_ASM_BOTH(8, 2, 1)
FRUGAL_PQ_DIRECT_ASM_BOTH(8, 2, 2)
FRUGAL_PQ_DIRECT_ASM_BOTH(8, 2, 4)
FRUGAL_PQ_DIRECT_ASM_BOTH(8, 4, 1)
FRUGAL_PQ_DIRECT_ASM_BOTH(8, 4, 2)
FRUGAL_PQ_DIRECT_ASM_BOTH(8, 5, 1)
FRUGAL_PQ_DIRECT_ASM_BOTH(8, 5, 2)
FRUGAL_PQ_DIRECT_ASM_BOTH(4, 2, 1)
FRUGAL_PQ_DIRECT_ASM_BOTH(4, 2, 2)
FRUGAL_PQ_DIRECT_ASM_BOTH(4, 2, 4)
FRUGAL_PQ_DIRECT_ASM_BOTH(4, 4, 1)
FRUGAL_PQ_DIRECT_ASM_BOTH(4, 4, 2)
FRUGAL_PQ_DIRECT_ASM_BOTH(4, 5, 1)
FRUGAL_PQ_DIRECT_ASM_BOTH(4, 5, 2)
#undef FRUGAL_PQ_DIRECT_ASM_BOTH
#undef FRUGAL_PQ_DIRECT_ASM

template <int32_t kBits, int32_t kWords, int32_t kColumns, bool kSkipZero>
inline void pq_direct_pairs(const int16_t* codebook, const uint8_t* p, int32_t pairs, const int16_t* x,
                            int32_t words, int32_t dp, int32_t* acc) {
  if constexpr (PqDirectAsm<kBits, kWords, kColumns, kSkipZero>::kAvailable) {
    PqDirectAsm<kBits, kWords, kColumns, kSkipZero>::run(x, p, codebook, pairs, acc);
  } else {
    pq_direct_pairs_generic<kBits, kWords, kColumns, kSkipZero>(codebook, p, pairs, x, words, dp, acc);
  }
}

// ---- Table form: one group's table ----
// Arguments: r0 codebook (advanced), r1 K, r2 the column's words (the pair forms: two adjacent
// columns'), r3 the table entry of codeword 0 (advanced by the table stride: 4 * columns in
// flight). The column words stay in registers; per codeword one LDM, W SMLADs (the first an
// SMUAD) and one store; two codewords per iteration.

#define FRUGAL_PQ_BUILD(name, push, pop, load_x, one)                                            \
  __attribute__((naked, noinline)) inline void name(const int16_t*, int32_t, const int16_t*, int32_t*) { \
    __asm__ volatile(push load_x                                                                 \
                     "lsrs r1, r1, #1\n\t"                                                       \
                     "bcc 1f\n\t" one                                                            \
                     "1:\n\t"                                                                    \
                     "cbz r1, 3f\n\t"                                                            \
                     "2:\n\t" one one                                                            \
                     "subs r1, r1, #1\n\t"                                                       \
                     "bne 2b\n\t"                                                                \
                     "3:\n\t" pop);                                                              \
  }

#define FRUGAL_PQ_SAVE "push {r4-r11}\n\t"
#define FRUGAL_PQ_RESTORE "pop {r4-r11}\n\tbx lr\n\t"
#define FRUGAL_PQ_SAVE_LR "push {r4-r11, lr}\n\t"
#define FRUGAL_PQ_RESTORE_LR "pop {r4-r11, pc}\n\t"

#define FRUGAL_PQ_BUILD_W2(stride)  \
  "ldm r0!, {r4, r5}\n\t"           \
  "smuad r12, r4, r8\n\t"           \
  "smlad r12, r5, r9, r12\n\t"      \
  "str r12, [r3], #" stride "\n\t"
// Two adjacent columns (x0 in r8 r9, x1 in r10 r11), their entries stored together.
#define FRUGAL_PQ_BUILD_PAIR_W2(stride) \
  "ldm r0!, {r4, r5}\n\t"               \
  "smuad r6, r4, r8\n\t"                \
  "smlad r6, r5, r9, r6\n\t"            \
  "smuad r7, r4, r10\n\t"               \
  "smlad r7, r5, r11, r7\n\t"           \
  "strd r6, r7, [r3], #" stride "\n\t"
#define FRUGAL_PQ_BUILD_W4(stride)      \
  "ldm r0!, {r4, r5, r6, r7}\n\t"       \
  "smuad r12, r4, r8\n\t"               \
  "smlad r12, r5, r9, r12\n\t"          \
  "smlad r12, r6, r10, r12\n\t"         \
  "smlad r12, r7, r11, r12\n\t"         \
  "str r12, [r3], #" stride "\n\t"
// Five column words and five codeword words: the entry goes to r2 (the x pointer, no longer
// needed), the codeword's fifth word to lr.
#define FRUGAL_PQ_BUILD_W5(stride)      \
  "ldm r0!, {r4, r5, r6, r7, lr}\n\t"   \
  "smuad r2, r4, r8\n\t"                \
  "smlad r2, r5, r9, r2\n\t"            \
  "smlad r2, r6, r10, r2\n\t"           \
  "smlad r2, r7, r11, r2\n\t"           \
  "smlad r2, lr, r12, r2\n\t"           \
  "str r2, [r3], #" stride "\n\t"

FRUGAL_PQ_BUILD(pq_build_w2_s4, FRUGAL_PQ_SAVE, FRUGAL_PQ_RESTORE, "ldm r2, {r8, r9}\n\t", FRUGAL_PQ_BUILD_W2("4"))
FRUGAL_PQ_BUILD(pq_build_pair_w2_s8, FRUGAL_PQ_SAVE, FRUGAL_PQ_RESTORE, "ldm r2, {r8, r9, r10, r11}\n\t",
                FRUGAL_PQ_BUILD_PAIR_W2("8"))
FRUGAL_PQ_BUILD(pq_build_pair_w2_s16, FRUGAL_PQ_SAVE, FRUGAL_PQ_RESTORE, "ldm r2, {r8, r9, r10, r11}\n\t",
                FRUGAL_PQ_BUILD_PAIR_W2("16"))
FRUGAL_PQ_BUILD(pq_build_w4_s4, FRUGAL_PQ_SAVE, FRUGAL_PQ_RESTORE, "ldm r2, {r8, r9, r10, r11}\n\t",
                FRUGAL_PQ_BUILD_W4("4"))
FRUGAL_PQ_BUILD(pq_build_w4_s8, FRUGAL_PQ_SAVE, FRUGAL_PQ_RESTORE, "ldm r2, {r8, r9, r10, r11}\n\t",
                FRUGAL_PQ_BUILD_W4("8"))
FRUGAL_PQ_BUILD(pq_build_w4_s16, FRUGAL_PQ_SAVE, FRUGAL_PQ_RESTORE, "ldm r2, {r8, r9, r10, r11}\n\t",
                FRUGAL_PQ_BUILD_W4("16"))
FRUGAL_PQ_BUILD(pq_build_w5_s4, FRUGAL_PQ_SAVE_LR, FRUGAL_PQ_RESTORE_LR, "ldm r2, {r8, r9, r10, r11, r12}\n\t",
                FRUGAL_PQ_BUILD_W5("4"))
FRUGAL_PQ_BUILD(pq_build_w5_s8, FRUGAL_PQ_SAVE_LR, FRUGAL_PQ_RESTORE_LR, "ldm r2, {r8, r9, r10, r11, r12}\n\t",
                FRUGAL_PQ_BUILD_W5("8"))
FRUGAL_PQ_BUILD(pq_build_w5_s16, FRUGAL_PQ_SAVE_LR, FRUGAL_PQ_RESTORE_LR, "ldm r2, {r8, r9, r10, r11, r12}\n\t",
                FRUGAL_PQ_BUILD_W5("16"))

#undef FRUGAL_PQ_BUILD_W5
#undef FRUGAL_PQ_BUILD_W4
#undef FRUGAL_PQ_BUILD_PAIR_W2
#undef FRUGAL_PQ_BUILD_W2
#undef FRUGAL_PQ_RESTORE_LR
#undef FRUGAL_PQ_SAVE_LR
#undef FRUGAL_PQ_RESTORE
#undef FRUGAL_PQ_SAVE
#undef FRUGAL_PQ_BUILD

// One column of a W = 4 or 5 table with kColumns in flight.
template <int32_t kWords, int32_t kColumns>
inline void pq_build_column(const int16_t* codebook, int32_t codewords, const int16_t* x, int32_t* table) {
  if constexpr (kWords == 4 && kColumns == 1) {
    pq_build_w4_s4(codebook, codewords, x, table);
  } else if constexpr (kWords == 4 && kColumns == 2) {
    pq_build_w4_s8(codebook, codewords, x, table);
  } else if constexpr (kWords == 4) {
    pq_build_w4_s16(codebook, codewords, x, table);
  } else if constexpr (kColumns == 1) {
    pq_build_w5_s4(codebook, codewords, x, table);
  } else if constexpr (kColumns == 2) {
    pq_build_w5_s8(codebook, codewords, x, table);
  } else {
    pq_build_w5_s16(codebook, codewords, x, table);
  }
}

template <int32_t kWords, int32_t kColumns>
inline void pq_build_table(const int16_t* codebook, int32_t codewords, int32_t words, int32_t dp, const int16_t* x,
                           int32_t* table) {
  if constexpr (kWords == 2 && kColumns == 1) {
    pq_build_w2_s4(codebook, codewords, x, table);
  } else if constexpr (kWords == 2 && kColumns == 2) {
    pq_build_pair_w2_s8(codebook, codewords, x, table);
  } else if constexpr (kWords == 2 && kColumns == 4) {
    pq_build_pair_w2_s16(codebook, codewords, x, table);
    pq_build_pair_w2_s16(codebook, codewords, x + 2 * dp, table + 2);
  } else if constexpr (kWords == 4 || kWords == 5) {
    for (int32_t c = 0; c < kColumns; ++c) pq_build_column<kWords, kColumns>(codebook, codewords, x + c * dp, table + c);
  } else {
    pq_build_table_generic<kWords, kColumns>(codebook, codewords, words, dp, x, table);
  }
}

// ---- Table form: the lookup-accumulate pass over one group's indices ----
// Arguments: r0 index words (LDR: any alignment), r1 word count, r2 table, r3 accumulators
// (advanced). One word holds 8 (4-bit) or 4 (8-bit) indices, each extracted by one instruction;
// four accumulators (1 channel x 4 columns, 2 x 2 or 4 x 1) move with one LDM and one STM, and the
// table entries of one index for all columns with one LDRD / LDM: per output channel and column
// about 2.3 (4 columns), 3.2 (2) or 3.9 (1) instructions, loop included.

#define FRUGAL_PQ_NIBBLE_0 "and r5, r4, #15\n\t"
#define FRUGAL_PQ_NIBBLE(n) "ubfx r5, r4, #" #n ", #4\n\t"
#define FRUGAL_PQ_NIBBLE_7 "lsr r5, r4, #28\n\t"
#define FRUGAL_PQ_BYTE_0 "uxtb r5, r4\n\t"
#define FRUGAL_PQ_BYTE(n) "uxtb r5, r4, ror #" #n "\n\t"
#define FRUGAL_PQ_BYTE_3 "lsr r5, r4, #24\n\t"

// Two output channels of two columns: T[2k], T[2k+1] with one LDRD.
#define FRUGAL_PQ_LOOKUP_C2(first, second)                                                       \
  "ldm r3, {r8, r9, r10, r11}\n\t" first                                                         \
  "add r5, r2, r5, lsl #3\n\t"                                                                   \
  "ldrd r6, r7, [r5]\n\t"                                                                        \
  "add r8, r8, r6\n\t"                                                                           \
  "add r9, r9, r7\n\t" second                                                                    \
  "add r5, r2, r5, lsl #3\n\t"                                                                   \
  "ldrd r6, r7, [r5]\n\t"                                                                        \
  "add r10, r10, r6\n\t"                                                                         \
  "add r11, r11, r7\n\t"                                                                         \
  "stm r3!, {r8, r9, r10, r11}\n\t"
// One output channel of four columns: T[4k] .. T[4k+3] with one LDM.
#define FRUGAL_PQ_LOOKUP_C4(index)                                                               \
  "ldm r3, {r8, r9, r10, r11}\n\t" index                                                          \
  "add r5, r2, r5, lsl #4\n\t"                                                                   \
  "ldm r5, {r5, r6, r7, r12}\n\t"                                                                \
  "add r8, r8, r5\n\t"                                                                           \
  "add r9, r9, r6\n\t"                                                                           \
  "add r10, r10, r7\n\t"                                                                         \
  "add r11, r11, r12\n\t"                                                                        \
  "stm r3!, {r8, r9, r10, r11}\n\t"
// Four output channels of one column.
#define FRUGAL_PQ_LOOKUP_C1(i0, i1, i2, i3)                                                      \
  "ldm r3, {r8, r9, r10, r11}\n\t" i0                                                            \
  "ldr r6, [r2, r5, lsl #2]\n\t"                                                                 \
  "add r8, r8, r6\n\t" i1                                                                        \
  "ldr r6, [r2, r5, lsl #2]\n\t"                                                                 \
  "add r9, r9, r6\n\t" i2                                                                        \
  "ldr r6, [r2, r5, lsl #2]\n\t"                                                                 \
  "add r10, r10, r6\n\t" i3                                                                      \
  "ldr r6, [r2, r5, lsl #2]\n\t"                                                                 \
  "add r11, r11, r6\n\t"                                                                         \
  "stm r3!, {r8, r9, r10, r11}\n\t"

#define FRUGAL_PQ_LOOKUPS(name, body)                                                            \
  __attribute__((naked, noinline)) inline void name(const uint8_t*, int32_t, const int32_t*, int32_t*) { \
    __asm__ volatile(                                                                            \
        "push {r4-r11}\n\t"                                                                      \
        "cmp r1, #0\n\t"                                                                         \
        "beq 2f\n\t"                                                                             \
        "1:\n\t"                                                                                 \
        "ldr r4, [r0], #4\n\t" body                                                              \
        "subs r1, r1, #1\n\t"                                                                    \
        "bne 1b\n\t"                                                                             \
        "2:\n\t"                                                                                 \
        "pop {r4-r11}\n\t"                                                                       \
        "bx lr\n\t");                                                                            \
  }

FRUGAL_PQ_LOOKUPS(pq_lookups_b4_c4,
                  FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE_0) FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE(4))
                      FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE(8)) FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE(12))
                          FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE(16)) FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE(20))
                              FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE(24)) FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_NIBBLE_7))
FRUGAL_PQ_LOOKUPS(pq_lookups_b8_c4,
                  FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_BYTE_0) FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_BYTE(8))
                      FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_BYTE(16)) FRUGAL_PQ_LOOKUP_C4(FRUGAL_PQ_BYTE_3))
FRUGAL_PQ_LOOKUPS(pq_lookups_b4_c2,
                  FRUGAL_PQ_LOOKUP_C2(FRUGAL_PQ_NIBBLE_0, FRUGAL_PQ_NIBBLE(4))
                      FRUGAL_PQ_LOOKUP_C2(FRUGAL_PQ_NIBBLE(8), FRUGAL_PQ_NIBBLE(12))
                          FRUGAL_PQ_LOOKUP_C2(FRUGAL_PQ_NIBBLE(16), FRUGAL_PQ_NIBBLE(20))
                              FRUGAL_PQ_LOOKUP_C2(FRUGAL_PQ_NIBBLE(24), FRUGAL_PQ_NIBBLE_7))
FRUGAL_PQ_LOOKUPS(pq_lookups_b8_c2,
                  FRUGAL_PQ_LOOKUP_C2(FRUGAL_PQ_BYTE_0, FRUGAL_PQ_BYTE(8))
                      FRUGAL_PQ_LOOKUP_C2(FRUGAL_PQ_BYTE(16), FRUGAL_PQ_BYTE_3))
FRUGAL_PQ_LOOKUPS(pq_lookups_b4_c1,
                  FRUGAL_PQ_LOOKUP_C1(FRUGAL_PQ_NIBBLE_0, FRUGAL_PQ_NIBBLE(4), FRUGAL_PQ_NIBBLE(8),
                                      FRUGAL_PQ_NIBBLE(12))
                      FRUGAL_PQ_LOOKUP_C1(FRUGAL_PQ_NIBBLE(16), FRUGAL_PQ_NIBBLE(20), FRUGAL_PQ_NIBBLE(24),
                                          FRUGAL_PQ_NIBBLE_7))
FRUGAL_PQ_LOOKUPS(pq_lookups_b8_c1,
                  FRUGAL_PQ_LOOKUP_C1(FRUGAL_PQ_BYTE_0, FRUGAL_PQ_BYTE(8), FRUGAL_PQ_BYTE(16), FRUGAL_PQ_BYTE_3))

#undef FRUGAL_PQ_LOOKUPS
#undef FRUGAL_PQ_LOOKUP_C1
#undef FRUGAL_PQ_LOOKUP_C4
#undef FRUGAL_PQ_LOOKUP_C2
#undef FRUGAL_PQ_BYTE_3
#undef FRUGAL_PQ_BYTE
#undef FRUGAL_PQ_BYTE_0
#undef FRUGAL_PQ_NIBBLE_7
#undef FRUGAL_PQ_NIBBLE
#undef FRUGAL_PQ_NIBBLE_0

// Whole index words in assembly; a 4-bit row that starts mid-byte and the tail that does not
// fill a word in C++.
template <int32_t kBits, int32_t kColumns>
inline void pq_accumulate_lookups(const uint8_t* indices, int32_t start, int32_t count, const int32_t* table,
                                  int32_t* acc) {
  int32_t o = 0;
  if (kBits == 4 && (start & 1) != 0 && count > 0) {
    pq_lookups_generic<kBits, kColumns>(indices, start, 1, table, acc);
    o = 1;
  }
  constexpr int32_t kPerWord = 32 / kBits;
  const int32_t words = (count - o) / kPerWord;
  const uint8_t* p = indices + (kBits == 4 ? (start + o) >> 1 : start);
  int32_t* a = acc + kColumns * o;
  if constexpr (kBits == 4 && kColumns == 4) {
    pq_lookups_b4_c4(p, words, table, a);
  } else if constexpr (kBits == 8 && kColumns == 4) {
    pq_lookups_b8_c4(p, words, table, a);
  } else if constexpr (kBits == 4 && kColumns == 2) {
    pq_lookups_b4_c2(p, words, table, a);
  } else if constexpr (kBits == 8 && kColumns == 2) {
    pq_lookups_b8_c2(p, words, table, a);
  } else if constexpr (kBits == 4) {
    pq_lookups_b4_c1(p, words, table, a);
  } else {
    pq_lookups_b8_c1(p, words, table, a);
  }
  o += words * kPerWord;
  pq_lookups_generic<kBits, kColumns>(indices, start + o, count - o, table, acc + kColumns * o);
}

}  // namespace frugal::kernels::cortexm::detail
