// The core of the product-quantized conv / FC kernels (pq_conv.h, pq_fully_connected.h): the
// weights of a layer are never materialised; every output channel's row is a sequence of G
// sub-vectors of d weights, each the codeword idx[o][g] of a shared codebook of K codewords.
//
// Both layouts of ir::PqLayout reduce to one "row" form by choosing the order of the im2col
// column: for kRow the column is in OHWI order (fy, fx, ic) and group g is elements
// g*d .. g*d+d-1; for kKernel the column is gathered input channel by input channel, the
// kh*kw taps of channel i in (fy, fx) order forming group i. From there on one code serves both.
//
// Column scratch (int16, input offset added, 0 for padding taps): with C columns in flight
// (output pixels or batch rows; 4, 2 or 1, see kPqTableColumns), group g of column c at int16
// offset (C*g + c) * dp, dp = d rounded up to even, elements of a group in natural order; the
// odd tail of a group is never written (it meets the codeword's zero pad). Interleaving the
// columns group by group lets one pointer (and one LDM) walk them all.
//
// Codebook (pack_pq_codebook, pq_pack.h): K codewords of dp int16 each, natural order, zero
// padded: a codeword is whole SMLAD pairs that need no SXTB16 (the codebook is shared by every
// layer and model that uses it, so expanding it once costs K * dp bytes of flash in total).
//
// Indices: K <= 16 stores 4 bits per index (two per byte, low nibble first), else 8 bits. The
// direct form reads them in ir::PqEncoding order [O][G]; the table form in [G][O] (one group's
// indices for all output channels in a row).
//
// Zero codeword: when a codebook holds an all-zero codeword, the packers move it to index 0 (the
// codebook and every layer's indices permuted alike), and a layer whose shape says
// `skip_zero_codeword` (the packer's choice, where its sub-vectors pick that codeword often
// enough: pruned layers) has the direct form skip those groups: one test of the index instead of
// the address, codeword and column loads and the SMLADs. Rows that are zero codewords only (pruned
// output channels) are found once per call, a bit each in the scratch after the columns, and
// their outputs are the requantized bias without a pass over their indices. The result is the
// same either way.
//
// Two forms:
//   direct  per output channel and group: acc += x_g . codeword[idx[o][g]]; the same SMLAD count as
//           a dense layer with int16 weights, and one index fetch plus one address computation per
//           d weights instead of the weight loads.
//   table   per group: T[k] = x_g . codeword[k] for all K codewords, then every output channel adds
//           T[idx[g][o]]. K*d MACs plus one lookup per output instead of O*d MACs; the int32
//           accumulators of all output channels stay in the scratch between groups, so RAM is
//           K*4 + O*4 bytes per column in flight (plus its im2col), independent of G.
// Header-only, freestanding C++17.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cortexm/dsp.h"
#include "kernels/cortexm/requant.h"

namespace frugal::kernels::cortexm {

// Values of a PQ conv shape's `layout` member (ir::PqLayout's numbering).
enum PqWeightLayout : int32_t { kPqKernel = 0, kPqRow = 1 };

// int16 per codeword and per group of a column: d rounded up to even.
constexpr int32_t pq_padded_length(int32_t subvector) { return subvector + (subvector & 1); }

// Bits of one stored index (pq::Codebook::index_bits).
constexpr int32_t pq_index_bits(int32_t codewords) { return codewords <= 16 ? 4 : 8; }

// G and O of a conv (layout, kh, kw, in_c, out_c) or FC (depth, out_depth) PQ shape.
template <class Shape>
constexpr auto pq_groups(const Shape& s) -> decltype(s.in_c, int32_t{}) {
  return s.layout == kPqKernel ? s.in_c : s.kh * s.kw * s.in_c / s.subvector;
}
template <class Shape>
constexpr auto pq_groups(const Shape& s) -> decltype(s.depth, int32_t{}) {
  return s.depth / s.subvector;
}
template <class Shape>
constexpr auto pq_out_channels(const Shape& s) -> decltype(s.out_c, int32_t{}) {
  return s.out_c;
}
template <class Shape>
constexpr auto pq_out_channels(const Shape& s) -> decltype(s.out_depth, int32_t{}) {
  return s.out_depth;
}

// Output columns of one call: pixels of the (batch-1) conv, batch rows of the FC.
template <class Shape>
constexpr auto pq_column_count(const Shape& s) -> decltype(s.out_h, int32_t{}) {
  return s.out_h * s.out_w;
}
template <class Shape>
constexpr auto pq_column_count(const Shape& s) -> decltype(s.batches, int32_t{}) {
  return s.batches;
}

// Columns in flight: the direct form works on four where a codeword is at most two words
// (d <= 4: one index fetch, one address and one LDM of the codeword serve all four, and the four
// accumulators still fit in registers beside it) and on two for longer codewords (whose words
// take the registers the other two accumulators would need); the table form on
// kPqTableColumns by default (one index extraction and one LDM of table entries serve all of
// them; 2 halves its RAM for about a quarter more lookup instructions). Never more than the call
// has.
constexpr int32_t pq_direct_columns_for_words(int32_t words) { return words >= 1 && words <= 2 ? 4 : 2; }
constexpr int32_t pq_direct_columns_for_subvector(int32_t subvector) {
  return pq_direct_columns_for_words(pq_padded_length(subvector) >> 1);
}
inline constexpr int32_t kPqTableColumns = 4;

template <class Shape>
constexpr int32_t pq_columns_in_flight(const Shape& s, int32_t columns) {
  return pq_column_count(s) < columns ? pq_column_count(s) : columns;
}

// im2col bytes of `columns` columns.
template <class Shape>
constexpr size_t pq_column_bytes(const Shape& s, int32_t columns) {
  return static_cast<size_t>(columns) * static_cast<size_t>(pq_groups(s)) *
         static_cast<size_t>(pq_padded_length(s.subvector)) * sizeof(int16_t);
}

// Whether the direct form skips the groups whose index is 0 (the shape's optional
// `skip_zero_codeword` member; only right where codeword 0 is all zero, which the packers ensure
// when they set it).
template <class Shape>
constexpr auto pq_skips_zero_codeword(const Shape& s, int) -> decltype(s.skip_zero_codeword, bool{}) {
  return s.skip_zero_codeword != 0;
}
template <class Shape>
constexpr bool pq_skips_zero_codeword(const Shape&, long) {
  return false;
}
template <class Shape>
constexpr bool pq_skips_zero_codeword(const Shape& s) {
  return pq_skips_zero_codeword(s, 0);
}

// Words of the direct form's bitmap of all-zero rows (skip_zero_codeword only).
constexpr size_t pq_zero_row_words(int32_t out_channels) { return (static_cast<size_t>(out_channels) + 31) / 32; }

// Scratch of the direct form: its columns of G groups of dp int16, then (skipping the zero
// codeword) the bitmap of all-zero rows.
template <class Shape>
constexpr size_t pq_direct_scratch_bytes(const Shape& s) {
  return pq_column_bytes(s, pq_columns_in_flight(s, pq_direct_columns_for_subvector(s.subvector))) +
         (pq_skips_zero_codeword(s) ? sizeof(uint32_t) * pq_zero_row_words(pq_out_channels(s)) : 0);
}

// Scratch of the table form with up to `columns` (2 or 4) in flight: the columns, then the K
// int32 table entries of every column (interleaved: T[C * k + c]), then the accumulators of
// every column (interleaved: acc[C * o + c]).
template <class Shape>
constexpr size_t pq_table_scratch_bytes(const Shape& s, int32_t columns = kPqTableColumns) {
  const int32_t c = pq_columns_in_flight(s, columns);
  return pq_column_bytes(s, c) + static_cast<size_t>(c) * sizeof(int32_t) *
                                     (static_cast<size_t>(s.codewords) + static_cast<size_t>(pq_out_channels(s)));
}

namespace detail {

template <int32_t N>
struct IntConstant {
  static constexpr int32_t value = N;
};
template <bool B>
struct BoolConstant {
  static constexpr bool value = B;
};

// int32 addition that wraps like ADD (and like the reference's int64 sum truncated to int32).
inline int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// Calls f(i, index) for `count` consecutive indices of a packed index array starting at index
// `start`. 4-bit rows may start in the middle of a byte (odd start).
template <int32_t kBits, class F>
inline void pq_for_each_index(const uint8_t* indices, int32_t start, int32_t count, F&& f) {
  if (kBits == 8) {
    const uint8_t* p = indices + start;
    for (int32_t i = 0; i < count; ++i) f(i, static_cast<int32_t>(p[i]));
    return;
  }
  const uint8_t* p = indices + (start >> 1);
  int32_t i = 0;
  if ((start & 1) != 0 && count > 0) {
    f(0, static_cast<int32_t>(*p++ >> 4));
    i = 1;
  }
  for (; i + 1 < count; i += 2) {
    const int32_t b = *p++;
    f(i, b & 15);
    f(i + 1, b >> 4);
  }
  if (i < count) f(i, static_cast<int32_t>(*p & 15));
}

// Whether the n bytes at p are all 0 (a word at a time where aligned).
inline bool pq_bytes_all_zero(const uint8_t* p, int32_t n) {
  for (; n > 0 && (reinterpret_cast<uintptr_t>(p) & 3u) != 0; --n) {
    if (*p++ != 0) return false;
  }
  for (; n >= 4; n -= 4, p += 4) {
    if (load32_aligned(p) != 0) return false;
  }
  for (; n > 0; --n) {
    if (*p++ != 0) return false;
  }
  return true;
}

// bitmap bit o = the `groups` indices of row o (from index o * groups) are all 0.
template <int32_t kBits>
inline void pq_mark_zero_rows(const uint8_t* indices, int32_t out_c, int32_t groups, uint32_t* bitmap) {
  for (size_t w = 0; w < pq_zero_row_words(out_c); ++w) bitmap[w] = 0;
  for (int32_t o = 0; o < out_c; ++o) {
    bool zero = true;
    if (kBits == 8) {
      zero = pq_bytes_all_zero(indices + o * groups, groups);
    } else {
      int32_t start = o * groups, count = groups;
      const uint8_t* p = indices + (start >> 1);
      if ((start & 1) != 0) {
        zero = (*p++ >> 4) == 0;
        --count;
      }
      zero = zero && pq_bytes_all_zero(p, count >> 1) && ((count & 1) == 0 || (p[count >> 1] & 15) == 0);
    }
    if (zero) bitmap[o >> 5] |= 1u << (o & 31);
  }
}

// Position of element k of a kRow column: group k / d, element k % d; groups `stride` int16 apart.
constexpr int32_t pq_row_position(int32_t k, int32_t d, int32_t stride) { return (k / d) * stride + k % d; }

// Elements k .. k + count - 1 of a kRow column from `src` (nullptr: a padding tap, all 0).
// Whole input words expand with SXTAB16 (into natural order) where no word straddles a group
// boundary: d a multiple of 4, or d == 2.
inline void pq_row_elements(const int8_t* src, int32_t count, int32_t k, int32_t d, int32_t offset, int32_t stride,
                            int16_t* col) {
  if (count % 4 == 0 && k % 4 == 0 && (d % 4 == 0 || d == 2)) {
    const int32_t offset2 = offset_pair(offset);
    // The two words of a quad go to one group (d % 4 == 0, where dst steps to the next group
    // every d / 4 quads) or to two consecutive groups (d == 2).
    const int32_t second = d == 2 ? stride : 2;
    const int32_t quads_per_group = d == 2 ? 1 : d / 4;
    const int32_t step = d == 2 ? 2 * stride : stride - d + 4;
    int16_t* dst = col + pq_row_position(k, d, stride);
    int32_t quad = (k % d) / 4;
    for (int32_t i = 0; i < count; i += 4) {
      int32_t lo = 0, hi = 0;
      if (src != nullptr) {
        const int32_t x = load32(src + i);
        const int32_t even = sxtab16(offset2, x);     // x0, x2
        const int32_t odd = sxtab16_ror8(offset2, x);  // x1, x3
        lo = pkhbt(even, odd);                         // x0, x1
        hi = pkhtb(odd, even);                         // x2, x3
      }
      store32(dst, lo);
      store32(dst + second, hi);
      if (++quad == quads_per_group) {
        quad = 0;
        dst += step;
      } else {
        dst += 4;
      }
    }
    return;
  }
  for (int32_t i = 0; i < count; ++i) {
    col[pq_row_position(k + i, d, stride)] = static_cast<int16_t>(src != nullptr ? src[i] + offset : 0);
  }
}

// The column of output pixel (oy, ox), groups `stride` int16 apart.
template <class Shape>
inline void pq_im2col(const Shape& s, const int8_t* input, int32_t oy, int32_t ox, int32_t stride, int16_t* col) {
  const int32_t d = s.subvector;
  const int32_t y0 = oy * s.stride_h - s.pad_h;
  const int32_t x0 = ox * s.stride_w - s.pad_w;
  const int32_t offset = s.input_offset;
  if (s.layout == kPqRow) {
    int32_t k = 0;
    for (int32_t fy = 0; fy < s.kh; ++fy) {
      const int32_t iy = y0 + fy * s.dilation_h;
      for (int32_t fx = 0; fx < s.kw; ++fx) {
        const int32_t ix = x0 + fx * s.dilation_w;
        const bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
        pq_row_elements(inside ? input + (iy * s.in_w + ix) * s.in_c : nullptr, s.in_c, k, d, offset, stride, col);
        k += s.in_c;
      }
    }
    return;
  }
  // kKernel: tap t of input channel c goes to group c. Four channels per input word where the
  // channel count allows; the halves of the two SXTAB16 results are x0 x2 / x1 x3.
  const int32_t offset2 = offset_pair(offset);
  for (int32_t fy = 0; fy < s.kh; ++fy) {
    const int32_t iy = y0 + fy * s.dilation_h;
    for (int32_t fx = 0; fx < s.kw; ++fx) {
      const int32_t ix = x0 + fx * s.dilation_w;
      int16_t* dst = col + fy * s.kw + fx;
      if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) {
        for (int32_t c = 0; c < s.in_c; ++c) dst[c * stride] = 0;
        continue;
      }
      const int8_t* px = input + (iy * s.in_w + ix) * s.in_c;
      int32_t c = 0;
      if (s.in_c % 4 == 0) {
        for (; c < s.in_c; c += 4) {
          const int32_t x = load32(px + c);
          const int32_t even = sxtab16(offset2, x);
          const int32_t odd = sxtab16_ror8(offset2, x);
          dst[c * stride] = static_cast<int16_t>(even);
          dst[(c + 1) * stride] = static_cast<int16_t>(odd);
          dst[(c + 2) * stride] = static_cast<int16_t>(even >> 16);
          dst[(c + 3) * stride] = static_cast<int16_t>(odd >> 16);
        }
      }
      for (; c < s.in_c; ++c) dst[c * stride] = static_cast<int16_t>(px[c] + offset);
    }
  }
}

// One FC input row, groups `stride` int16 apart.
template <class Shape>
inline void pq_expand_row(const Shape& s, const int8_t* row, int32_t stride, int16_t* col) {
  pq_row_elements(row, s.depth, 0, s.subvector, s.input_offset, stride, col);
}

// acc[c] += codeword . x of column c (columns dp int16 apart), over `words` SMLAD pairs
// (kWords when known at compile time, 0 = use `words`).
template <int32_t kWords, int32_t kColumns>
inline void pq_dot(const int16_t* codeword, const int16_t* x, int32_t words, int32_t dp, int32_t* acc) {
  const int32_t n = kWords > 0 ? kWords : words;
#pragma GCC unroll 8
  for (int32_t m = 0; m < n; ++m) {
    const int32_t w = load32_aligned(codeword + 2 * m);
#pragma GCC unroll 4
    for (int32_t c = 0; c < kColumns; ++c) acc[c] = smlad(w, load32_aligned(x + c * dp + 2 * m), acc[c]);
  }
}

// The portable forms of the hot loops (pq_micro_*.h choose per target).

// acc[c] += x_g . codeword[idx] of one group (nothing for index 0 when kSkipZero).
template <int32_t kWords, int32_t kColumns, bool kSkipZero>
inline void pq_direct_group(const int16_t* codebook, int32_t index, const int16_t* x, int32_t words, int32_t dp,
                            int32_t* acc) {
  if (kSkipZero && index == 0) return;
  pq_dot<kWords, kColumns>(codebook + index * dp, x, words, dp, acc);
}

// acc[c] += x_g . codeword[idx] for `pairs` pairs of groups whose indices start at byte `p`
// (4-bit: at its low nibble).
template <int32_t kBits, int32_t kWords, int32_t kColumns, bool kSkipZero>
inline void pq_direct_pairs_generic(const int16_t* codebook, const uint8_t* p, int32_t pairs, const int16_t* x,
                                    int32_t words, int32_t dp, int32_t* acc) {
  const int32_t stride = kColumns * dp;
  for (int32_t i = 0; i < pairs; ++i, x += 2 * stride) {
    const int32_t first = kBits == 4 ? p[i] & 15 : p[2 * i];
    const int32_t second = kBits == 4 ? p[i] >> 4 : p[2 * i + 1];
    pq_direct_group<kWords, kColumns, kSkipZero>(codebook, first, x, words, dp, acc);
    pq_direct_group<kWords, kColumns, kSkipZero>(codebook, second, x + stride, words, dp, acc);
  }
}

// table[kColumns * k + c] = codeword k . x_c for every codeword and the kColumns columns of one
// group (columns dp int16 apart). The column words are read once into registers (as far as the
// compiler knows, the table stores could alias them).
template <int32_t kWords, int32_t kColumns>
inline void pq_build_table_generic(const int16_t* codebook, int32_t codewords, int32_t words, int32_t dp,
                                   const int16_t* x, int32_t* table) {
  for (int32_t c = 0; c < kColumns; ++c, x += dp) {
    int32_t* t = table + c;
    if (kWords == 0) {
      for (int32_t k = 0; k < codewords; ++k, t += kColumns) {
        int32_t acc[1] = {0};
        pq_dot<0, 1>(codebook + k * dp, x, words, dp, acc);
        *t = acc[0];
      }
      continue;
    }
    constexpr int32_t n = kWords > 0 ? kWords : 1;
    int32_t xw[n];
#pragma GCC unroll 8
    for (int32_t m = 0; m < n; ++m) xw[m] = load32_aligned(x + 2 * m);
    const int32_t* cw = static_cast<const int32_t*>(__builtin_assume_aligned(codebook, 4));
    for (int32_t k = 0; k < codewords; ++k, cw += n, t += kColumns) {
      int32_t a = 0;
#pragma GCC unroll 8
      for (int32_t m = 0; m < n; ++m) a = smlad(cw[m], xw[m], a);
      *t = a;
    }
  }
}

// acc[kColumns * o + c] += table[kColumns * idx[o] + c] for the `count` output channels whose
// indices start at index `start`.
template <int32_t kBits, int32_t kColumns>
inline void pq_lookups_generic(const uint8_t* indices, int32_t start, int32_t count, const int32_t* table,
                               int32_t* acc) {
  pq_for_each_index<kBits>(indices, start, count, [&](int32_t o, int32_t index) {
    for (int32_t c = 0; c < kColumns; ++c) {
      acc[kColumns * o + c] = wrapping_add(acc[kColumns * o + c], table[kColumns * index + c]);
    }
  });
}

}  // namespace detail
}  // namespace frugal::kernels::cortexm

// The hot loops: the direct form's walk over a row's groups, the table form's table build and
// lookup-accumulate pass.
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__OPTIMIZE__)
#include "kernels/cortexm/pq_micro_arm.h"
#else
#include "kernels/cortexm/pq_micro_portable.h"
#endif

namespace frugal::kernels::cortexm::detail {

// acc[c] += x_g . codeword[idx[g]] over the `groups` groups of one output channel's row, whose
// indices start at index `start`; x: the kColumns columns, group-interleaved.
template <int32_t kBits, int32_t kWords, int32_t kColumns, bool kSkipZero>
inline void pq_direct_row(const int16_t* codebook, const uint8_t* indices, int32_t start, int32_t groups,
                          const int16_t* x, int32_t words, int32_t dp, int32_t* acc) {
  const int32_t stride = kColumns * dp;
  const uint8_t* p = indices + (kBits == 4 ? start >> 1 : start);
  int32_t g = 0;
  if (kBits == 4 && (start & 1) != 0 && groups > 0) {
    pq_direct_group<kWords, kColumns, kSkipZero>(codebook, *p++ >> 4, x, words, dp, acc);
    x += stride;
    g = 1;
  }
  // Pairs of groups: one index byte (4-bit) or two.
  const int32_t pairs = (groups - g) >> 1;
  pq_direct_pairs<kBits, kWords, kColumns, kSkipZero>(codebook, p, pairs, x, words, dp, acc);
  p += kBits == 4 ? pairs : 2 * pairs;
  x += 2 * pairs * stride;
  if (g + 2 * pairs < groups) {
    pq_direct_group<kWords, kColumns, kSkipZero>(codebook, kBits == 4 ? *p & 15 : *p, x, words, dp, acc);
  }
}

// Direct form: all output channels of the kColumns columns in `cols`; outputs of column c at
// out[c * out_c + o].
// `zero_rows`: the bitmap of all-zero rows (kSkipZero), their rows not walked.
template <class Requant, int32_t kBits, int32_t kWords, int32_t kColumns, bool kSkipZero, class Shape>
__attribute__((noinline)) void pq_direct_columns(const Shape& s, const int16_t* codebook, const uint8_t* indices,
                                                 const ChannelQuant* quant, const int16_t* cols,
                                                 const uint32_t* zero_rows, int8_t* out) {
  const int32_t groups = pq_groups(s);
  const int32_t out_c = pq_out_channels(s);
  const int32_t dp = pq_padded_length(s.subvector);
  for (int32_t o = 0; o < out_c; ++o) {
    const ChannelQuant q = quant[o];  // a copy: the int8 output stores could alias it
    // At least two: the one-column assembly loops write back acc[1] as well.
    int32_t acc[kColumns < 2 ? 2 : kColumns];
#pragma GCC unroll 4
    for (int32_t c = 0; c < kColumns; ++c) acc[c] = q.bias;
    if (!kSkipZero || ((zero_rows[o >> 5] >> (o & 31)) & 1u) == 0) {
      pq_direct_row<kBits, kWords, kColumns, kSkipZero>(codebook, indices, o * groups, groups, cols, dp >> 1, dp,
                                                        acc);
    }
#pragma GCC unroll 4
    for (int32_t c = 0; c < kColumns; ++c) out[c * out_c + o] = finish_output(s, Requant::apply(acc[c], q));
  }
}

// Table form: all output channels of the kColumns columns in `cols`, group by group. `work` is
// the int32 part of the table-form scratch (table, then accumulators). The accumulators start
// at the bias; the last group's lookups go straight into requantization.
template <class Requant, int32_t kBits, int32_t kWords, int32_t kColumns, class Shape>
__attribute__((noinline)) void pq_table_columns(const Shape& s, const int16_t* codebook, const uint8_t* indices,
                                                const ChannelQuant* quant, const int16_t* cols, int32_t* work,
                                                int8_t* out) {
  const int32_t groups = pq_groups(s);
  const int32_t out_c = pq_out_channels(s);
  const int32_t dp = pq_padded_length(s.subvector);
  const int32_t stride = kColumns * dp;
  int32_t* table = work;
  int32_t* acc = work + kColumns * s.codewords;
  for (int32_t o = 0; o < out_c; ++o) {
    const int32_t bias = quant[o].bias;
#pragma GCC unroll 4
    for (int32_t c = 0; c < kColumns; ++c) acc[kColumns * o + c] = bias;
  }
  for (int32_t g = 0; g + 1 < groups; ++g) {
    pq_build_table<kWords, kColumns>(codebook, s.codewords, dp >> 1, dp, cols + g * stride, table);
    pq_accumulate_lookups<kBits, kColumns>(indices, g * out_c, out_c, table, acc);
  }
  pq_build_table<kWords, kColumns>(codebook, s.codewords, dp >> 1, dp, cols + (groups - 1) * stride, table);
  pq_for_each_index<kBits>(indices, (groups - 1) * out_c, out_c, [&](int32_t o, int32_t index) {
    const ChannelQuant q = quant[o];  // a copy: the int8 output stores could alias it
#pragma GCC unroll 4
    for (int32_t c = 0; c < kColumns; ++c) {
      const int32_t v = wrapping_add(acc[kColumns * o + c], table[kColumns * index + c]);
      out[c * out_c + o] = finish_output(s, Requant::apply(v, q));
    }
  });
}

// Compile-time specialisations for the common codeword lengths (W = 1, 2, 4, 5, 8 words: d = 1-2,
// 3-4, 7-8, 9-10, 15-16; a group's column words then live in registers); any other length runs
// the generic loops.
template <class F>
inline void pq_with_words(int32_t words, F&& f) {
  switch (words) {
    case 1: f(IntConstant<1>{}); break;
    case 2: f(IntConstant<2>{}); break;
    case 4: f(IntConstant<4>{}); break;
    case 5: f(IntConstant<5>{}); break;
    case 8: f(IntConstant<8>{}); break;
    default: f(IntConstant<0>{}); break;
  }
}

// Runs `columns(IntConstant<C>{}, first)` over the output pixels / batch rows [first, first + C):
// kMaxColumns (2 or 4) at a time, then 2, then 1. `fill(i, stride, col)` writes column i (groups
// `stride` int16 apart) at `col`.
template <int32_t kMaxColumns, class Fill, class Columns>
inline void pq_for_column_blocks(int32_t count, int32_t dp, int16_t* scratch, Fill&& fill, Columns&& columns) {
  int32_t i = 0;
  if constexpr (kMaxColumns == 4) {
    for (; i + 3 < count; i += 4) {
      for (int32_t c = 0; c < 4; ++c) fill(i + c, 4 * dp, scratch + c * dp);
      columns(IntConstant<4>{}, i);
    }
  }
  for (; i + 1 < count; i += 2) {
    fill(i, 2 * dp, scratch);
    fill(i + 1, 2 * dp, scratch + dp);
    columns(IntConstant<2>{}, i);
  }
  if (i < count) {
    fill(i, dp, scratch);
    columns(IntConstant<1>{}, i);
  }
}


// The direct form of a conv or FC: `blocks(IntConstant<kMaxColumns>{}, columns)` fills the
// column blocks of the call (pq_conv2d_pixels / pq_fully_connected_rows) and calls
// `columns(IntConstant<C>{}, out)` on each; this supplies that `columns`, with the index width,
// codeword length and zero-codeword skipping of the shape fixed at compile time. Skipping first
// marks the all-zero rows in the bitmap after the columns (pq_direct_scratch_bytes).
template <class Requant, class Shape, class Blocks>
inline void pq_direct_form(const Shape& s, const int16_t* codebook, const uint8_t* indices, const ChannelQuant* quant,
                           int16_t* scratch, Blocks&& blocks) {
  uint32_t* zero_rows = nullptr;
  if (pq_skips_zero_codeword(s)) {
    zero_rows = reinterpret_cast<uint32_t*>(scratch) +
                pq_column_bytes(s, pq_columns_in_flight(s, pq_direct_columns_for_subvector(s.subvector))) /
                    sizeof(uint32_t);
    if (pq_index_bits(s.codewords) == 4) {
      pq_mark_zero_rows<4>(indices, pq_out_channels(s), pq_groups(s), zero_rows);
    } else {
      pq_mark_zero_rows<8>(indices, pq_out_channels(s), pq_groups(s), zero_rows);
    }
  }
  const auto run = [&](auto skip) {
    pq_with_words(pq_padded_length(s.subvector) >> 1, [&](auto words) {
      constexpr int32_t kWords = decltype(words)::value;
      blocks(IntConstant<pq_direct_columns_for_words(kWords)>{}, [&](auto columns, int8_t* out) {
        constexpr int32_t kColumns = decltype(columns)::value;
        constexpr bool kSkipZero = decltype(skip)::value;
        if (pq_index_bits(s.codewords) == 4) {
          pq_direct_columns<Requant, 4, kWords, kColumns, kSkipZero>(s, codebook, indices, quant, scratch, zero_rows,
                                                                     out);
        } else {
          pq_direct_columns<Requant, 8, kWords, kColumns, kSkipZero>(s, codebook, indices, quant, scratch, zero_rows,
                                                                     out);
        }
      });
    });
  };
  if (pq_skips_zero_codeword(s)) {
    run(BoolConstant<true>{});
  } else {
    run(BoolConstant<false>{});
  }
}

}  // namespace frugal::kernels::cortexm::detail
