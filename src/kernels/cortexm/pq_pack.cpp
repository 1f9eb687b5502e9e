#include "kernels/cortexm/pq_pack.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace frugal::kernels::cortexm {
namespace {

void check_codebook(const PqCodebookView& codebook) {
  if (codebook.words == nullptr || codebook.codewords < 1 || codebook.codewords > 256 || codebook.subvector < 1) {
    throw std::invalid_argument("pq: a codebook needs 1..256 codewords of length >= 1");
  }
}

// Sum of |w| over each codeword: bounds the accumulators for the requantization choice.
std::vector<int64_t> codeword_abs_sums(const PqCodebookView& codebook) {
  std::vector<int64_t> sums(static_cast<size_t>(codebook.codewords), 0);
  for (int32_t k = 0; k < codebook.codewords; ++k) {
    for (int32_t j = 0; j < codebook.subvector; ++j) {
      sums[static_cast<size_t>(k)] +=
          std::abs(int32_t{codebook.words[static_cast<size_t>(k) * static_cast<size_t>(codebook.subvector) +
                                          static_cast<size_t>(j)]});
    }
  }
  return sums;
}

PackedPqLayer pack_layer(const PqCodebookView& codebook, const uint16_t* indices, int32_t out_channels,
                         int32_t groups, int32_t columns, const int32_t* bias, const QuantizedMultiplier* multipliers,
                         int32_t input_offset) {
  if (out_channels < 1 || groups < 1 || columns < 1) throw std::invalid_argument("pq: empty layer");
  const size_t o_count = static_cast<size_t>(out_channels), g_count = static_cast<size_t>(groups);
  const std::vector<int64_t> cw_sums = codeword_abs_sums(codebook);
  std::vector<int64_t> abs_sums(o_count, 0);
  std::vector<uint16_t> transposed(o_count * g_count);
  for (size_t o = 0; o < o_count; ++o) {
    for (size_t g = 0; g < g_count; ++g) {
      const uint16_t index = indices[o * g_count + g];
      if (index >= codebook.codewords) {
        throw std::invalid_argument("pq: index " + std::to_string(index) + " >= K = " +
                                    std::to_string(codebook.codewords));
      }
      abs_sums[o] += cw_sums[index];
      transposed[g * o_count + o] = index;
    }
  }
  // The zero codeword and codeword 0 trade places, as pack_pq_codebook does.
  const int32_t zero = pq_zero_codeword(codebook);
  std::vector<uint16_t> direct(indices, indices + o_count * g_count);
  int64_t zero_groups = 0, zero_rows = 0;
  if (zero >= 0) {
    const auto renumber = [zero](uint16_t& index) {
      if (index == zero) {
        index = 0;
      } else if (index == 0) {
        index = static_cast<uint16_t>(zero);
      }
    };
    for (uint16_t& index : direct) renumber(index);
    for (uint16_t& index : transposed) renumber(index);
    zero_groups = std::count(direct.begin(), direct.end(), uint16_t{0});
    for (size_t o = 0; o < o_count; ++o) {
      const auto row = direct.begin() + static_cast<std::ptrdiff_t>(o * g_count);
      zero_rows += std::all_of(row, row + static_cast<std::ptrdiff_t>(g_count), [](uint16_t i) { return i == 0; });
    }
  }
  PackedPqLayer out;
  out.groups = groups;
  out.index_bits = pq_index_bits(codebook.codewords);
  out.direct_indices = pack_pq_indices(direct.data(), direct.size(), codebook.codewords);
  out.table_indices = pack_pq_indices(transposed.data(), transposed.size(), codebook.codewords);
  out.quant = pack_channel_quant(out_channels, bias, multipliers);
  out.requant = finish_requant(out.quant, abs_sums, input_offset);
  out.cost = pq_cost(groups, codebook.subvector, codebook.codewords, out_channels, columns,
                     static_cast<double>(zero_groups) / static_cast<double>(direct.size()),
                     static_cast<double>(zero_rows) / static_cast<double>(o_count));
  out.zero_groups = zero_groups;
  out.zero_rows = zero_rows;
  out.skip_zero_codeword = zero_groups > 0 && out.cost.direct_skipping < out.cost.direct;
  const int64_t direct_cost = out.skip_zero_codeword ? out.cost.direct_skipping : out.cost.direct;
  out.cheaper = out.cost.table < direct_cost ? PqForm::kTable : PqForm::kDirect;
  // As pq_direct_scratch_bytes / pq_table_scratch_bytes (pq_gemm.h).
  const size_t column_bytes = g_count * static_cast<size_t>(pq_padded_length(codebook.subvector)) * sizeof(int16_t);
  const size_t direct_columns =
      static_cast<size_t>(std::min(columns, pq_direct_columns_for_subvector(codebook.subvector)));
  const size_t table_columns = static_cast<size_t>(std::min(columns, kPqTableColumns));
  out.direct_scratch_bytes = direct_columns * column_bytes +
                             (out.skip_zero_codeword ? sizeof(uint32_t) * pq_zero_row_words(out_channels) : 0);
  out.table_scratch_bytes =
      table_columns * (column_bytes + sizeof(int32_t) * (static_cast<size_t>(codebook.codewords) + o_count));
  return out;
}

}  // namespace

PqCost pq_cost(int32_t groups, int32_t subvector, int32_t codewords, int32_t out_channels, int32_t columns,
               double zero_share, double zero_row_share) {
  const double g = groups, o = out_channels, k = codewords, n = columns;
  const double words = (subvector + 1) / 2;
  const double length = g * subvector;
  const int32_t direct_columns = std::min(columns, pq_direct_columns_for_subvector(subvector));
  const int32_t table_columns = std::min(columns, kPqTableColumns);
  const double lookup = table_columns >= 4 ? 2.5 : table_columns >= 2 ? 3.2 : 4.0;
  const double shared = 12.0 * o + 2.0 * length;  // requantization and im2col
  PqCost cost;
  // Per group and column, beside the W SMLADs: the index fetch, address and codeword LDM shared
  // by the columns in flight, the column LDMs and the loop.
  const double direct_overhead = direct_columns >= 4 ? 1.75 : direct_columns >= 2 ? 3.5 : 4.5;
  cost.direct = std::llround(n * (o * g * (words + direct_overhead) + shared));
  // Skipping: a group on the zero codeword costs its index fetch, the test and the step of the
  // column pointer (3 + half the loop's 1, shared by the columns in flight); the others pay the
  // test and the branch over the skip on top. Rows of zero codewords only cost nothing per
  // column, but every row is scanned once per call (about one instruction per 2 indices).
  const double c = direct_columns;
  const double scattered_zero = std::max(0.0, zero_share - zero_row_share);
  cost.direct_skipping = std::llround(
      n * (o * g * ((1.0 - zero_share) * (words + direct_overhead + 2.0 / c) + scattered_zero * 3.5 / c) + shared) +
      0.5 * o * g);
  cost.table = std::llround(n * (g * (k * (words + 2.0) + o * lookup + 10.0) + shared));
  cost.dense = std::llround(n * (o * length + shared));
  return cost;
}

int32_t pq_zero_codeword(const PqCodebookView& codebook) {
  check_codebook(codebook);
  const size_t d = static_cast<size_t>(codebook.subvector);
  for (int32_t k = 0; k < codebook.codewords; ++k) {
    const int8_t* w = codebook.words + static_cast<size_t>(k) * d;
    if (std::all_of(w, w + d, [](int8_t v) { return v == 0; })) return k;
  }
  return -1;
}

std::vector<int16_t> pack_pq_codebook(const PqCodebookView& codebook) {
  check_codebook(codebook);
  const size_t d = static_cast<size_t>(codebook.subvector);
  const size_t dp = static_cast<size_t>(pq_padded_length(codebook.subvector));
  const int32_t zero = pq_zero_codeword(codebook);
  std::vector<int16_t> out(static_cast<size_t>(codebook.codewords) * dp, 0);
  for (size_t k = 0; k < static_cast<size_t>(codebook.codewords); ++k) {
    // Codeword k lands at its own place, but the zero codeword and codeword 0 trade places.
    const size_t at = zero < 0                          ? k
                      : k == static_cast<size_t>(zero) ? 0
                      : k == 0                          ? static_cast<size_t>(zero)
                                                        : k;
    for (size_t j = 0; j < d; ++j) out[at * dp + j] = codebook.words[k * d + j];
  }
  return out;
}

std::vector<uint8_t> pack_pq_indices(const uint16_t* indices, size_t count, int32_t codewords) {
  if (pq_index_bits(codewords) == 8) {
    std::vector<uint8_t> out(count);
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<uint8_t>(indices[i]);
    return out;
  }
  std::vector<uint8_t> out((count + 1) / 2, 0);
  for (size_t i = 0; i < count; ++i) out[i / 2] |= static_cast<uint8_t>((indices[i] & 15u) << (4 * (i % 2)));
  return out;
}

PackedPqLayer pack_pq_conv(const PqCodebookView& codebook, PqWeightLayout layout, const uint16_t* indices,
                           int32_t out_c, int32_t kh, int32_t kw, int32_t in_c, int32_t out_pixels,
                           const int32_t* bias, const QuantizedMultiplier* multipliers, int32_t input_offset) {
  check_codebook(codebook);
  const int32_t d = codebook.subvector;
  int32_t groups = 0;
  if (layout == kPqKernel) {
    if (d != kh * kw) throw std::invalid_argument("pq: kernel layout needs d == kh * kw");
    groups = in_c;
  } else if (layout == kPqRow) {
    if ((kh * kw * in_c) % d != 0) throw std::invalid_argument("pq: row layout needs d to divide kh * kw * in_c");
    groups = kh * kw * in_c / d;
  } else {
    throw std::invalid_argument("pq: unknown layout");
  }
  return pack_layer(codebook, indices, out_c, groups, out_pixels, bias, multipliers, input_offset);
}

PackedPqLayer pack_pq_fully_connected(const PqCodebookView& codebook, const uint16_t* indices,
                                      int32_t out_depth, int32_t depth, int32_t batches, const int32_t* bias,
                                      const QuantizedMultiplier* multipliers, int32_t input_offset) {
  check_codebook(codebook);
  if (depth % codebook.subvector != 0) throw std::invalid_argument("pq: row layout needs d to divide depth");
  return pack_layer(codebook, indices, out_depth, depth / codebook.subvector, batches, bias, multipliers,
                    input_offset);
}

}  // namespace frugal::kernels::cortexm
