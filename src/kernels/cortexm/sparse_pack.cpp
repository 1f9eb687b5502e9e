#include "kernels/cortexm/sparse_pack.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
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

// Per-channel quantization and the requantization the kept weights allow (as pack.h does for
// the dense kernels).
void set_quantization(PackedSparseConv& out, const std::vector<int8_t>& kept_weights, int32_t rows, int32_t k,
                      const int32_t* bias, const QuantizedMultiplier* multipliers, int32_t input_offset) {
  out.quant = pack_channel_quant(rows, bias, multipliers);
  std::vector<int64_t> abs_sums(static_cast<size_t>(rows), 0);
  for (int32_t c = 0; c < rows; ++c) {
    for (int32_t i = 0; i < k; ++i) {
      abs_sums[static_cast<size_t>(c)] += std::abs(kept_weights[static_cast<size_t>(int64_t{c} * k + i)]);
    }
  }
  out.requant = finish_requant(out.quant, abs_sums, input_offset);
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
  set_quantization(out, kept_weights, rows, k, bias, multipliers, input_offset);
  return out;
}

// One channel's kept quads as {offset, [k0 k1 k2 k3]} entries (sparse_channel_gemm.h).
PackedSparseConv pack_channel_sparse_matrix(const int8_t* matrix, int32_t rows, int32_t k, const int32_t* bias,
                                            const QuantizedMultiplier* multipliers, int32_t input_offset,
                                            const uint8_t* mask) {
  const int32_t quads = round_up4(k) / 4;
  if (quads > 0xFFFF) throw std::invalid_argument("pack_channel_sparse: K too large for the quad table");
  const std::vector<uint8_t> realised =
      mask != nullptr ? realize_skip_mask(mask, rows, k, SkipGranularity::kChannelQuad)
                      : std::vector<uint8_t>(static_cast<size_t>(int64_t{rows} * k), 0);
  const std::vector<int8_t> kept_weights = zero_skipped(matrix, realised.data(), rows, k);
  PackedSparseConv out;
  for (int32_t c = 0; c < rows; ++c) {
    uint16_t kept = 0;
    for (int32_t q = 0; q < quads; ++q) {
      bool skipped = true;
      uint32_t word = 0;
      for (int32_t j = 0; j < 4; ++j) {
        const int32_t i = 4 * q + j;
        if (i >= k) continue;
        skipped = skipped && realised[static_cast<size_t>(int64_t{c} * k + i)] != 0;
        word |= static_cast<uint32_t>(static_cast<uint8_t>(kept_weights[static_cast<size_t>(int64_t{c} * k + i)]))
                << (8 * j);
      }
      if (skipped) continue;
      out.stream.push_back(16 * q);  // byte offset of quad q in the interleaved scratch
      out.stream.push_back(static_cast<int32_t>(word));
      ++kept;
    }
    out.pair_quads.push_back(kept);
    out.kept_quads += kept;
    out.total_quads += quads;
  }
  set_quantization(out, kept_weights, rows, k, bias, multipliers, input_offset);
  return out;
}

// pack_sparse_matrix over the rows in `order`, with the order appended to the pair table.
PackedSparseConv pack_paired_sparse_matrix(const int8_t* matrix, int32_t rows, int32_t k, const int32_t* bias,
                                           const QuantizedMultiplier* multipliers, int32_t input_offset,
                                           const uint8_t* mask) {
  const std::vector<int32_t> order = pair_channels(mask, rows, k);
  const size_t n = static_cast<size_t>(k);
  std::vector<int8_t> permuted(static_cast<size_t>(rows) * n);
  std::vector<uint8_t> permuted_mask(mask != nullptr ? permuted.size() : 0);
  std::vector<int32_t> permuted_bias(bias != nullptr ? static_cast<size_t>(rows) : 0);
  std::vector<QuantizedMultiplier> permuted_multipliers(static_cast<size_t>(rows));
  for (int32_t r = 0; r < rows; ++r) {
    const size_t from = static_cast<size_t>(order[static_cast<size_t>(r)]), to = static_cast<size_t>(r);
    std::memcpy(permuted.data() + to * n, matrix + from * n, n);
    if (mask != nullptr) std::memcpy(permuted_mask.data() + to * n, mask + from * n, n);
    if (bias != nullptr) permuted_bias[to] = bias[from];
    permuted_multipliers[to] = multipliers[from];
  }
  PackedSparseConv out =
      pack_sparse_matrix(permuted.data(), rows, k, bias != nullptr ? permuted_bias.data() : nullptr,
                         permuted_multipliers.data(), input_offset, mask != nullptr ? permuted_mask.data() : nullptr);
  for (int32_t c : order) out.pair_quads.push_back(static_cast<uint16_t>(c));
  out.paired = true;
  return out;
}

// Skipped channel quads of `channels` rows as bitsets over quads.
std::vector<std::vector<uint64_t>> skipped_channel_quads(const uint8_t* mask, int32_t channels, int32_t k) {
  const int32_t quads = round_up4(k) / 4;
  std::vector<std::vector<uint64_t>> sets(static_cast<size_t>(channels),
                                          std::vector<uint64_t>(static_cast<size_t>((quads + 63) / 64), 0));
  if (mask == nullptr) return sets;
  const std::vector<uint8_t> realised = realize_skip_mask(mask, channels, k, SkipGranularity::kChannelQuad);
  for (int32_t c = 0; c < channels; ++c) {
    for (int32_t q = 0; q < quads; ++q) {
      if (realised[static_cast<size_t>(int64_t{c} * k + 4 * q)] != 0) {
        sets[static_cast<size_t>(c)][static_cast<size_t>(q / 64)] |= uint64_t{1} << (q % 64);
      }
    }
  }
  return sets;
}

int64_t common_quads(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += __builtin_popcountll(a[i] & b[i]);
  return n;
}

}  // namespace

std::vector<int32_t> pair_channels(const uint8_t* mask, int32_t channels, int32_t k) {
  std::vector<int32_t> identity(static_cast<size_t>(channels));
  for (int32_t c = 0; c < channels; ++c) identity[static_cast<size_t>(c)] = c;
  if (mask == nullptr || channels < 3) return identity;
  const auto sets = skipped_channel_quads(mask, channels, k);
  struct Candidate {
    int64_t common;
    int32_t a, b;
  };
  std::vector<Candidate> candidates;
  for (int32_t a = 0; a < channels; ++a) {
    for (int32_t b = a + 1; b < channels; ++b) {
      const int64_t common = common_quads(sets[static_cast<size_t>(a)], sets[static_cast<size_t>(b)]);
      if (common > 0) candidates.push_back({common, a, b});
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
    if (x.common != y.common) return x.common > y.common;
    return x.a != y.a ? x.a < y.a : x.b < y.b;
  });
  std::vector<bool> used(static_cast<size_t>(channels), false);
  std::vector<int32_t> order;
  for (const Candidate& c : candidates) {
    if (used[static_cast<size_t>(c.a)] || used[static_cast<size_t>(c.b)]) continue;
    used[static_cast<size_t>(c.a)] = used[static_cast<size_t>(c.b)] = true;
    order.push_back(c.a);
    order.push_back(c.b);
  }
  // The unpaired rest in index order; with an odd count the last one runs alone, so the one
  // with the most skipped quads of its own goes last.
  std::vector<int32_t> rest;
  for (int32_t c = 0; c < channels; ++c) {
    if (!used[static_cast<size_t>(c)]) rest.push_back(c);
  }
  if (channels % 2 == 1 && !rest.empty()) {
    const auto own = [&](int32_t c) { return common_quads(sets[static_cast<size_t>(c)], sets[static_cast<size_t>(c)]); };
    const auto best = std::max_element(rest.begin(), rest.end(), [&](int32_t a, int32_t b) { return own(a) < own(b); });
    std::rotate(best, best + 1, rest.end());
  }
  order.insert(order.end(), rest.begin(), rest.end());
  // Quads the pair-quad kernel skips under an order: those both channels of a pair skip, and
  // all of a lone last channel's.
  const auto realised = [&](const std::vector<int32_t>& o) {
    int64_t n = 0;
    for (size_t i = 0; i + 1 < o.size(); i += 2) {
      n += common_quads(sets[static_cast<size_t>(o[i])], sets[static_cast<size_t>(o[i + 1])]);
    }
    if (o.size() % 2 == 1) n += common_quads(sets[static_cast<size_t>(o.back())], sets[static_cast<size_t>(o.back())]);
    return n;
  };
  return realised(order) > realised(identity) ? order : identity;
}

PackedSparseConv pack_paired_sparse_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw, int32_t in_c,
                                         const int32_t* bias, const QuantizedMultiplier* multipliers,
                                         int32_t input_offset, const uint8_t* mask) {
  return pack_paired_sparse_matrix(filter, out_c, kh * kw * in_c, bias, multipliers, input_offset, mask);
}

PackedSparseConv pack_paired_sparse_fully_connected(const int8_t* weights, int32_t out_depth, int32_t depth,
                                                    const int32_t* bias, const QuantizedMultiplier* multipliers,
                                                    int32_t input_offset, const uint8_t* mask) {
  return pack_paired_sparse_matrix(weights, out_depth, depth, bias, multipliers, input_offset, mask);
}

PackedSparseConv pack_channel_sparse_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw, int32_t in_c,
                                          const int32_t* bias, const QuantizedMultiplier* multipliers,
                                          int32_t input_offset, const uint8_t* mask) {
  return pack_channel_sparse_matrix(filter, out_c, kh * kw * in_c, bias, multipliers, input_offset, mask);
}

PackedSparseConv pack_channel_sparse_fully_connected(const int8_t* weights, int32_t out_depth, int32_t depth,
                                                     const int32_t* bias, const QuantizedMultiplier* multipliers,
                                                     int32_t input_offset, const uint8_t* mask) {
  return pack_channel_sparse_matrix(weights, out_depth, depth, bias, multipliers, input_offset, mask);
}

std::vector<SkipGroup> skip_groups(int32_t channels, int32_t k, SkipGranularity granularity) {
  std::vector<SkipGroup> out;
  const int32_t quads = round_up4(k) / 4;
  for (int32_t p = 0; p < (channels + 1) / 2; ++p) {
    for (int32_t q = 0; q < quads; ++q) {
      if (granularity == SkipGranularity::kChannelQuad) {
        for (int32_t c = 2 * p; c < 2 * p + 2 && c < channels; ++c) {
          SkipGroup g;
          g.pair = p;
          g.quad = q;
          g.channel = c;
          for (int32_t i = 4 * q; i < 4 * q + 4 && i < k; ++i) g.members.emplace_back(c, i);
          if (!g.members.empty()) out.push_back(std::move(g));
        }
        continue;
      }
      if (granularity == SkipGranularity::kQuad) {
        SkipGroup g;
        g.pair = p;
        g.quad = q;
        for (int32_t c = 2 * p; c < 2 * p + 2 && c < channels; ++c) {
          for (int32_t i = 4 * q; i < 4 * q + 4 && i < k; ++i) g.members.emplace_back(c, i);
        }
        if (!g.members.empty()) out.push_back(std::move(g));
        continue;
      }
      for (int32_t c = 2 * p; c < 2 * p + 2 && c < channels; ++c) {
        for (int32_t j = 0; j < 2; ++j) {
          SkipGroup g;
          g.pair = p;
          g.quad = q;
          g.channel = c;
          g.parity = j;
          for (int32_t i = 4 * q + j; i < 4 * q + 4 && i < k; i += 2) g.members.emplace_back(c, i);
          if (!g.members.empty()) out.push_back(std::move(g));
        }
      }
    }
  }
  return out;
}

std::vector<uint8_t> realize_skip_mask(const uint8_t* requested, int32_t channels, int32_t k,
                                       SkipGranularity granularity) {
  std::vector<uint8_t> out(static_cast<size_t>(int64_t{channels} * k), 0);
  for (const SkipGroup& g : skip_groups(channels, k, granularity)) {
    bool all = true;
    for (const auto& [c, i] : g.members) all = all && requested[int64_t{c} * k + i] != 0;
    if (!all) continue;
    for (const auto& [c, i] : g.members) out[static_cast<size_t>(int64_t{c} * k + i)] = 1;
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

UnrolledGemmSource emit_unrolled_gemm(const std::string& name, const int8_t* matrix, int32_t rows,
                                      int32_t k, const uint8_t* mask) {
  const int32_t quads = round_up4(k) / 4;
  const std::vector<uint8_t> realised =
      mask != nullptr ? realize_skip_mask(mask, rows, k, SkipGranularity::kSmladPair)
                      : std::vector<uint8_t>(static_cast<size_t>(int64_t{rows} * k), 0);
  const auto weight = [&](int32_t c, int32_t i) -> int32_t {
    return i < k ? matrix[int64_t{c} * k + i] : 0;
  };
  // The SMLAD of channel c, quad q, parity j: kept unless all its operands are skipped.
  const auto kept = [&](int32_t c, int32_t q, int32_t j) {
    for (int32_t i = 4 * q + j; i < 4 * q + 4 && i < k; i += 2) {
      if (realised[static_cast<size_t>(int64_t{c} * k + i)] == 0) return true;
    }
    return false;
  };
  // Low half operand 4q + j, high half 4q + j + 2: the order of the column words (gemm.h).
  const auto constant = [&](int32_t c, int32_t q, int32_t j) {
    const uint32_t lo = static_cast<uint16_t>(static_cast<int16_t>(weight(c, 4 * q + j)));
    const uint32_t hi = static_cast<uint16_t>(static_cast<int16_t>(weight(c, 4 * q + j + 2)));
    return static_cast<int32_t>((hi << 16) | lo);
  };
  UnrolledGemmSource out;
  out.total_smlads = int64_t{rows} * quads * 2;
  for (int32_t c = 0; c < rows; ++c) {
    for (int32_t q = 0; q < quads; ++q) {
      for (int32_t j = 0; j < 2; ++j) out.kept_smlads += kept(c, q, j) ? 1 : 0;
    }
  }
  std::ostringstream code;
  code << "// Generated by frugal::kernels::cortexm::emit_unrolled_gemm: " << rows << " channels, K = "
       << k << ", " << out.kept_smlads << " of " << out.total_smlads << " SMLADs per column kept.\n"
       << "struct " << name << " {\n";
  for (const int32_t columns : {2, 1}) {
    code << "  __attribute__((noinline)) static void " << (columns == 2 ? "two" : "one")
         << "(const int16_t* cols, int32_t* acc) {\n"
         << "    static_cast<void>(cols), static_cast<void>(acc);  // all skipped: unused\n"
         << "    using frugal::kernels::cortexm::smlad;\n"
         << "    using frugal::kernels::cortexm::load32_aligned;\n";
    for (int32_t p = 0; p < (rows + 1) / 2; ++p) {
      const int32_t channels = std::min(2, rows - 2 * p);
      bool any = false;
      for (int32_t q = 0; q < quads; ++q) {
        for (int32_t c = 2 * p; c < 2 * p + channels; ++c) any = any || kept(c, q, 0) || kept(c, q, 1);
      }
      if (!any) continue;
      // One channel pair at a time, as the table-driven kernel: 2 x columns accumulators in
      // registers, each column word loaded once per pair and used by both channels.
      code << "    {\n";
      for (int32_t c = 2 * p; c < 2 * p + channels; ++c) {
        for (int32_t col = 0; col < columns; ++col) {
          code << "      int32_t a" << (c - 2 * p) << col << " = acc[" << (col * rows + c) << "];\n";
        }
      }
      for (int32_t q = 0; q < quads; ++q) {
        for (int32_t j = 0; j < 2; ++j) {
          bool used = false;
          for (int32_t c = 2 * p; c < 2 * p + channels; ++c) used = used || kept(c, q, j);
          if (!used) continue;
          code << "      {\n";
          for (int32_t col = 0; col < columns; ++col) {
            code << "        const int32_t x" << col << " = load32_aligned(cols + "
                 << (8 * q + 4 * col + 2 * j) << ");\n";
          }
          for (int32_t c = 2 * p; c < 2 * p + channels; ++c) {
            if (!kept(c, q, j)) continue;
            const int32_t w = constant(c, q, j);
            for (int32_t col = 0; col < columns; ++col) {
              const int32_t a = c - 2 * p;
              code << "        a" << a << col << " = smlad(" << w << ", x" << col << ", a" << a << col
                   << ");\n";
            }
          }
          code << "      }\n";
        }
      }
      for (int32_t c = 2 * p; c < 2 * p + channels; ++c) {
        for (int32_t col = 0; col < columns; ++col) {
          code << "      acc[" << (col * rows + c) << "] = a" << (c - 2 * p) << col << ";\n";
        }
      }
      code << "    }\n";
    }
    code << "  }\n";
  }
  code << "};\n";
  out.code = code.str();
  return out;
}

}  // namespace frugal::kernels::cortexm
