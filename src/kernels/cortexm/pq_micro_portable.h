// Portable hot loops of the PQ kernels (pq_gemm.h): the generic C++ loops; pq_micro_arm.h is the
// same arithmetic in assembly. Included only through pq_gemm.h.
#pragma once

#include <cstdint>

namespace frugal::kernels::cortexm::detail {

template <int32_t kBits, int32_t kWords, int32_t kColumns, bool kSkipZero>
inline void pq_direct_pairs(const int16_t* codebook, const uint8_t* p, int32_t pairs, const int16_t* x,
                            int32_t words, int32_t dp, int32_t* acc) {
  pq_direct_pairs_generic<kBits, kWords, kColumns, kSkipZero>(codebook, p, pairs, x, words, dp, acc);
}

template <int32_t kWords, int32_t kColumns>
inline void pq_build_table(const int16_t* codebook, int32_t codewords, int32_t words, int32_t dp, const int16_t* x,
                           int32_t* table) {
  pq_build_table_generic<kWords, kColumns>(codebook, codewords, words, dp, x, table);
}

template <int32_t kBits, int32_t kColumns>
inline void pq_accumulate_lookups(const uint8_t* indices, int32_t start, int32_t count, const int32_t* table,
                                  int32_t* acc) {
  pq_lookups_generic<kBits, kColumns>(indices, start, count, table, acc);
}

}  // namespace frugal::kernels::cortexm::detail
