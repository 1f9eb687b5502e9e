#include "kernels/cortexm/sparse_pack.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace frugal::kernels::cortexm {
namespace {

bool skipped_at(const uint8_t* mask, int32_t channels, int32_t k, int32_t c, int32_t i) {
  if (c >= channels || i >= k) return true;  // padding: no weight to keep
  return mask != nullptr && mask[int64_t{c} * k + i] != 0;
}

bool quad_skipped(const uint8_t* mask, int32_t channels, int32_t k, int32_t p, int32_t q) {
  for (int32_t c = 2 * p; c < 2 * p + 2; ++c) {
    for (int32_t i = 4 * q; i < 4 * q + 4; ++i) {
      if (!skipped_at(mask, channels, k, c, i)) return false;
    }
  }
  return true;
}

PackedSparseConv pack_sparse_matrix(const int8_t* matrix, int32_t rows, int32_t k,
                                    const int32_t* bias, const QuantizedMultiplier* multipliers,
                                    int32_t input_offset, const uint8_t* mask) {
  const int32_t quads = round_up4(k) / 4;
  if (quads > 0xFFFF) throw std::invalid_argument("pack_sparse: K too large for the quad table");
  const std::vector<uint8_t> realised =
      mask != nullptr ? realize_skip_mask(mask, rows, k) : std::vector<uint8_t>{};
  const std::vector<int8_t> kept_weights =
      mask != nullptr ? zero_skipped(matrix, realised.data(), rows, k)
                      : std::vector<int8_t>(matrix, matrix + int64_t{rows} * k);
  const std::vector<int8_t> dense = pack_gemm_weights(kept_weights.data(), rows, k);
  const auto word = [&](size_t byte) {
    int32_t w;
    std::memcpy(&w, dense.data() + byte, sizeof w);
    return w;
  };
  PackedSparseConv out;
  const int32_t pairs = (rows + 1) / 2;
  for (int32_t p = 0; p < pairs; ++p) {
    std::vector<int32_t> kept;
    for (int32_t q = 0; q < quads; ++q) {
      if (!quad_skipped(mask, rows, k, p, q)) kept.push_back(q);
    }
    out.pair_quads.push_back(static_cast<uint16_t>(kept.size()));
    out.kept_quads += static_cast<int64_t>(kept.size());
    out.total_quads += quads;
    const size_t block = static_cast<size_t>(p) * static_cast<size_t>(quads) * 8;
    if (static_cast<int32_t>(kept.size()) == quads) {
      for (int32_t q = 0; q < quads; ++q) {
        out.stream.push_back(word(block + 8 * static_cast<size_t>(q)));
        out.stream.push_back(word(block + 8 * static_cast<size_t>(q) + 4));
      }
    } else {
      for (const int32_t q : kept) {
        out.stream.push_back(16 * q);  // byte offset of quad q in the interleaved scratch
        out.stream.push_back(word(block + 8 * static_cast<size_t>(q)));
        out.stream.push_back(word(block + 8 * static_cast<size_t>(q) + 4));
      }
    }
  }
  out.quant = pack_channel_quant(rows, bias, multipliers);
  std::vector<int64_t> abs_sums(static_cast<size_t>(rows), 0);
  for (int32_t c = 0; c < rows; ++c) {
    for (int32_t i = 0; i < k; ++i) {
      abs_sums[static_cast<size_t>(c)] += std::abs(kept_weights[static_cast<size_t>(int64_t{c} * k + i)]);
    }
  }
  out.requant = choose_requant(out.quant, abs_sums, input_offset);
  return out;
}

}  // namespace

std::vector<uint8_t> realize_skip_mask(const uint8_t* requested, int32_t channels, int32_t k) {
  std::vector<uint8_t> out(static_cast<size_t>(int64_t{channels} * k), 0);
  const int32_t quads = round_up4(k) / 4;
  for (int32_t p = 0; p < (channels + 1) / 2; ++p) {
    for (int32_t q = 0; q < quads; ++q) {
      if (!quad_skipped(requested, channels, k, p, q)) continue;
      for (int32_t c = 2 * p; c < 2 * p + 2 && c < channels; ++c) {
        for (int32_t i = 4 * q; i < 4 * q + 4 && i < k; ++i) out[static_cast<size_t>(int64_t{c} * k + i)] = 1;
      }
    }
  }
  return out;
}

std::vector<SkipGroup> skip_groups(int32_t channels, int32_t k) {
  std::vector<SkipGroup> out;
  const int32_t quads = round_up4(k) / 4;
  for (int32_t p = 0; p < (channels + 1) / 2; ++p) {
    for (int32_t q = 0; q < quads; ++q) {
      SkipGroup g;
      g.pair = p;
      g.quad = q;
      for (int32_t c = 2 * p; c < 2 * p + 2 && c < channels; ++c) {
        for (int32_t i = 4 * q; i < 4 * q + 4 && i < k; ++i) g.members.emplace_back(c, i);
      }
      out.push_back(std::move(g));
    }
  }
  return out;
}

std::vector<int8_t> zero_skipped(const int8_t* matrix, const uint8_t* mask, int32_t channels,
                                 int32_t k) {
  const size_t n = static_cast<size_t>(int64_t{channels} * k);
  std::vector<int8_t> out(matrix, matrix + n);
  for (size_t i = 0; i < n; ++i) {
    if (mask[i] != 0) out[i] = 0;
  }
  return out;
}

PackedSparseConv pack_sparse_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw,
                                  int32_t in_c, const int32_t* bias,
                                  const QuantizedMultiplier* multipliers, int32_t input_offset,
                                  const uint8_t* mask) {
  return pack_sparse_matrix(filter, out_c, kh * kw * in_c, bias, multipliers, input_offset, mask);
}

PackedSparseConv pack_sparse_fully_connected(const int8_t* weights, int32_t out_depth,
                                             int32_t depth, const int32_t* bias,
                                             const QuantizedMultiplier* multipliers,
                                             int32_t input_offset, const uint8_t* mask) {
  return pack_sparse_matrix(weights, out_depth, depth, bias, multipliers, input_offset, mask);
}

}  // namespace frugal::kernels::cortexm
