// CONV_2D (int8, per-channel requantization) straight from a product-quantized weight tensor:
// codebook + indices, never the decoded weights (pq_gemm.h explains both forms and the layouts).
// Bit-exact with reference::conv2d on the decoded filter. Header-only, freestanding C++17.
//
// Shape: the members of conv2d (conv.h) plus
//   subvector   d, the codeword length
//   codewords   K (<= 16: 4-bit indices, else 8-bit)
//   layout      kPqRow (sub-vectors of d consecutive OHWI weights of a row; kh*kw*in_c % d == 0)
//               or kPqKernel (the kh*kw taps of one input channel; d == kh*kw)
// either `static constexpr` (the generator) or runtime members (the randomised tests).
//
// Buffers (pq_pack.h): `codebook` from pack_pq_codebook, `indices` the packed indices of the
// form (PackedPqLayer::direct_indices / table_indices), `quant` out_c ChannelQuant entries,
// `scratch` of pq_conv2d_direct_scratch_bytes(shape) / pq_conv2d_table_scratch_bytes(shape,
// kColumns) bytes; all 4-byte aligned. One image per call (batch 1, as conv2d); input and output
// may not overlap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cortexm/pq_gemm.h"

namespace frugal::kernels::cortexm {

template <class Shape>
constexpr size_t pq_conv2d_direct_scratch_bytes(const Shape& s) {
  return pq_direct_scratch_bytes(s);
}
template <class Shape>
constexpr size_t pq_conv2d_direct_scratch_bytes() {
  return pq_direct_scratch_bytes(Shape{});
}
// `columns`: the table form's kColumns (2 or 4).
template <class Shape>
constexpr size_t pq_conv2d_table_scratch_bytes(const Shape& s, int32_t columns = kPqTableColumns) {
  return pq_table_scratch_bytes(s, columns);
}
template <class Shape, int32_t kColumns = kPqTableColumns>
constexpr size_t pq_conv2d_table_scratch_bytes() {
  return pq_table_scratch_bytes(Shape{}, kColumns);
}

namespace detail {

// kMaxColumns output pixels at a time (then 2, then 1), each im2col'd into its column of the
// scratch; `columns(IntConstant<C>{}, out)` runs the GEMM part of one form on C filled columns.
template <int32_t kMaxColumns, class Shape, class Columns>
inline void pq_conv2d_pixels(const Shape& s, const int8_t* input, int8_t* output, int16_t* scratch,
                             Columns&& columns) {
  pq_for_column_blocks<kMaxColumns>(
      s.out_h * s.out_w, pq_padded_length(s.subvector), scratch,
      [&](int32_t pixel, int32_t stride, int16_t* col) {
        pq_im2col(s, input, pixel / s.out_w, pixel % s.out_w, stride, col);
      },
      [&](auto count, int32_t first) { columns(count, output + first * s.out_c); });
}

}  // namespace detail

// Direct form: x . codeword[idx[o][g]] per output channel and group, four pixels at a time for
// d <= 4, else two (the index fetch, codeword address and codeword loads serve all of them;
// pq_direct_columns_for_words). `indices` in [O][G] order.
template <class Requant, class Shape>
void pq_conv2d_direct(const Shape& s, const int8_t* input, const int16_t* codebook, const uint8_t* indices,
                      const ChannelQuant* quant, int8_t* output, int16_t* scratch) {
  detail::pq_direct_form<Requant>(s, codebook, indices, quant, scratch, [&](auto max_columns, auto&& columns) {
    detail::pq_conv2d_pixels<decltype(max_columns)::value>(s, input, output, scratch, columns);
  });
}

// Lookup-table form: per group a table of the K codeword products, then one lookup per output
// channel, kColumns (4 or 2) pixels at a time. `indices` in [G][O] order; `scratch` of
// pq_conv2d_table_scratch_bytes(shape, kColumns) bytes.
template <class Requant, int32_t kColumns = kPqTableColumns, class Shape>
void pq_conv2d_table(const Shape& s, const int8_t* input, const int16_t* codebook, const uint8_t* indices,
                     const ChannelQuant* quant, int8_t* output, int16_t* scratch) {
  static_assert(kColumns == 2 || kColumns == 4, "the table form runs 2 or 4 columns");
  int32_t* work = reinterpret_cast<int32_t*>(scratch) +
                  pq_column_bytes(s, pq_columns_in_flight(s, kColumns)) / sizeof(int32_t);
  detail::pq_with_words(pq_padded_length(s.subvector) >> 1, [&](auto words) {
    detail::pq_conv2d_pixels<kColumns>(s, input, output, scratch, [&](auto columns, int8_t* out) {
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
