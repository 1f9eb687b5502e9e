// FULLY_CONNECTED (int8) straight from a product-quantized weight matrix [out_depth][depth]
// (layout kRow: sub-vectors of d consecutive weights of a row, depth % d == 0); both forms of
// pq_gemm.h, the batch rows as the columns (two at a time for the direct form, four or two for
// the table form, then the rest). Bit-exact with reference::fully_connected on the decoded
// weights. Header-only, freestanding C++17.
//
// Shape members (static constexpr or runtime, see conv.h):
//   batches, depth, out_depth, subvector (d), codewords (K), input_offset, output_offset,
//   act_min, act_max
// Buffers as pq_conv.h, scratch of pq_fully_connected_direct_scratch_bytes(shape) /
// pq_fully_connected_table_scratch_bytes(shape, kColumns) bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cortexm/pq_gemm.h"

namespace frugal::kernels::cortexm {

template <class Shape>
constexpr size_t pq_fully_connected_direct_scratch_bytes(const Shape& s) {
  return pq_direct_scratch_bytes(s);
}
template <class Shape>
constexpr size_t pq_fully_connected_direct_scratch_bytes() {
  return pq_direct_scratch_bytes(Shape{});
}
// `columns`: the table form's kColumns (2 or 4).
template <class Shape>
constexpr size_t pq_fully_connected_table_scratch_bytes(const Shape& s, int32_t columns = kPqTableColumns) {
  return pq_table_scratch_bytes(s, columns);
}
template <class Shape, int32_t kColumns = kPqTableColumns>
constexpr size_t pq_fully_connected_table_scratch_bytes() {
  return pq_table_scratch_bytes(Shape{}, kColumns);
}

namespace detail {

template <int32_t kMaxColumns, class Shape, class Columns>
inline void pq_fully_connected_rows(const Shape& s, const int8_t* input, int8_t* output, int16_t* scratch,
                                    Columns&& columns) {
  pq_for_column_blocks<kMaxColumns>(
      s.batches, pq_padded_length(s.subvector), scratch,
      [&](int32_t b, int32_t stride, int16_t* col) { pq_expand_row(s, input + b * s.depth, stride, col); },
      [&](auto count, int32_t first) { columns(count, output + first * s.out_depth); });
}

}  // namespace detail

// Direct form, four batch rows at a time for d <= 4, else two (pq_direct_columns_for_words);
// `indices` in [O][G] order.
template <class Requant, class Shape>
void pq_fully_connected_direct(const Shape& s, const int8_t* input, const int16_t* codebook,
                               const uint8_t* indices, const ChannelQuant* quant, int8_t* output,
                               int16_t* scratch) {
  detail::pq_direct_form<Requant>(s, codebook, indices, quant, scratch, [&](auto max_columns, auto&& columns) {
    detail::pq_fully_connected_rows<decltype(max_columns)::value>(s, input, output, scratch, columns);
  });
}

// Lookup-table form, kColumns (4 or 2) batch rows at a time; `indices` in [G][O] order.
template <class Requant, int32_t kColumns = kPqTableColumns, class Shape>
void pq_fully_connected_table(const Shape& s, const int8_t* input, const int16_t* codebook,
                              const uint8_t* indices, const ChannelQuant* quant, int8_t* output,
                              int16_t* scratch) {
  static_assert(kColumns == 2 || kColumns == 4, "the table form runs 2 or 4 columns");
  int32_t* work = reinterpret_cast<int32_t*>(scratch) +
                  pq_column_bytes(s, pq_columns_in_flight(s, kColumns)) / sizeof(int32_t);
  detail::pq_with_words(pq_padded_length(s.subvector) >> 1, [&](auto words) {
    detail::pq_fully_connected_rows<kColumns>(s, input, output, scratch, [&](auto columns, int8_t* out) {
      if (pq_index_bits(s.codewords) == 4) {
        detail::pq_table_columns<Requant, 4, decltype(words)::value, decltype(columns)::value>(
            s, codebook, indices, quant, scratch, work, out);
      } else {
        detail::pq_table_columns<Requant, 8, decltype(words)::value, decltype(columns)::value>(
            s, codebook, indices, quant, scratch, work, out);
      }
    });
  });
}

}  // namespace frugal::kernels::cortexm
