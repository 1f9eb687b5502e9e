// Host-side packers (C++20) of the computation-skipping conv / FC kernels (sparse_conv.h,
// sparse_fully_connected.h) and the skip granularity those kernels realise.
//
// Skip masks are [channels][k] bytes (nonzero = skip this multiply-accumulate), k in im2col
// order (OHWI row order: fy, fx, ic) for conv and the input index for FC, i.e. the operand
// indices of src/approx. The kernels skip at *quad* granularity (sparse_gemm.h): the 4
// consecutive positions 4q .. 4q+3 of the channel pair (2p, 2p+1), 8 weights, skipped only when
// all 8 are skipped (positions >= k and the absent partner of an odd last channel count as
// skipped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cortexm/pack.h"

namespace frugal::kernels::cortexm {

struct PackedSparseConv {
  std::vector<int32_t> stream;       // sparse_gemm.h layout
  std::vector<uint16_t> pair_quads;  // kept quads per channel pair (K4 / 4 = dense block)
  std::vector<ChannelQuant> quant;   // out_c entries
  RequantKind requant = RequantKind::kExact;
  int64_t kept_quads = 0;            // over all pairs, of pairs * K4 / 4
  int64_t total_quads = 0;
  bool paired = false;               // pack_paired_*: pair_quads ends with the channel order

  // Flash of the packed arrays (stream + table; the ChannelQuant array is as for the dense kernel).
  size_t flash_bytes() const { return stream.size() * 4 + pair_quads.size() * 2; }
};

// What one skip decision covers:
//   kQuad       the table-driven kernels (sparse_conv.h, sparse_fully_connected.h): operands
//               4q .. 4q+3 of channels 2p and 2p+1 (8 weights);
//   kSmladPair  the unrolled form (emit_unrolled_gemm): one SMLAD, operands 4q+j and 4q+j+2
//               (j = 0, 1; the order of the interleaved im2col quads, gemm.h) of one channel.
//   kChannelQuad the channel-quad table kernels (sparse_channel_gemm.h): operands 4q .. 4q+3
//               of one channel (4 weights).
enum class SkipGranularity : int32_t { kQuad = 0, kSmladPair = 1, kChannelQuad = 2 };

// The mask the kernels actually execute for a requested one: 1 exactly on the members of
// the groups that are skipped whole. Zeroing the weights where it is 1 gives the layer the
// kernel computes.
std::vector<uint8_t> realize_skip_mask(const uint8_t* requested, int32_t channels, int32_t k,
                                       SkipGranularity granularity = SkipGranularity::kQuad);

// The kernel's skip groups in stream order (by pair, quad; then channel and j for kSmladPair);
// members are the (channel, operand) positions that exist (< channels, < k). Rank these to
// choose skips that the kernel realises.
struct SkipGroup {
  int32_t pair = 0, quad = 0;
  int32_t channel = -1, parity = -1;                 // kSmladPair only: channel, j
  std::vector<std::pair<int32_t, int32_t>> members;  // (channel, operand)
};
std::vector<SkipGroup> skip_groups(int32_t channels, int32_t k,
                                   SkipGranularity granularity = SkipGranularity::kQuad);

// The channel-quad form (ChannelQuadGemm): `pair_quads` then holds the kept quads per CHANNEL
// and the stream 2 words per kept quad (sparse_channel_gemm.h); quads of a channel are skipped
// when all 4 of its weights there are (kChannelQuad).
PackedSparseConv pack_channel_sparse_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw,
                                          int32_t in_c, const int32_t* bias,
                                          const QuantizedMultiplier* multipliers, int32_t input_offset,
                                          const uint8_t* mask);
PackedSparseConv pack_channel_sparse_fully_connected(const int8_t* weights, int32_t out_depth, int32_t depth,
                                                     const int32_t* bias, const QuantizedMultiplier* multipliers,
                                                     int32_t input_offset, const uint8_t* mask);

// A channel order for the pair-quad kernel: pairs (order[2p], order[2p + 1]) chosen greedily so
// that the two channels of a pair share as many skipped channel quads as possible (the quads a
// pair can then skip whole); the identity when that realises no more quads than it. A channel
// permutation of out_c entries.
std::vector<int32_t> pair_channels(const uint8_t* mask, int32_t channels, int32_t k);

// The pair-quad form over the channel order `pair_channels` finds (PairedQuadGemm): the packed
// rows, bias and quant follow that order; `pair_quads` holds the pairs' counts followed by the
// order (out_c entries) the kernel writes the outputs back through.
PackedSparseConv pack_paired_sparse_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw, int32_t in_c,
                                         const int32_t* bias, const QuantizedMultiplier* multipliers,
                                         int32_t input_offset, const uint8_t* mask);
PackedSparseConv pack_paired_sparse_fully_connected(const int8_t* weights, int32_t out_depth, int32_t depth,
                                                    const int32_t* bias, const QuantizedMultiplier* multipliers,
                                                    int32_t input_offset, const uint8_t* mask);

// Copy of a [channels][k] matrix with the weights under `mask` set to 0.
std::vector<int8_t> zero_skipped(const int8_t* matrix, const uint8_t* mask, int32_t channels,
                                 int32_t k);

// CONV_2D: filter OHWI; mask [out_c][kh * kw * in_c] (nullptr = skip nothing); bias may be
// nullptr. Weights of kept quads are packed as given, so quads the mask only partly covers keep
// all their weights (realize_skip_mask says which).
PackedSparseConv pack_sparse_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw,
                                  int32_t in_c, const int32_t* bias,
                                  const QuantizedMultiplier* multipliers, int32_t input_offset,
                                  const uint8_t* mask);

// FULLY_CONNECTED: weights [out_depth][depth]; mask [out_depth][depth].
PackedSparseConv pack_sparse_fully_connected(const int8_t* weights, int32_t out_depth,
                                             int32_t depth, const int32_t* bias,
                                             const QuantizedMultiplier* multipliers,
                                             int32_t input_offset, const uint8_t* mask);

// The unrolled form (the paper's): C++ for one layer's GEMM with every kept SMLAD's weight pair
// as a 32-bit constant operand (no weight loads, no SXTB16) and skipped SMLADs (granularity
// kSmladPair of `mask`, nullptr = none) not emitted; a column quad is loaded only where some
// kept SMLAD reads it. Writes
//   struct <name> {
//     static void two(const int16_t* cols, int32_t* acc);  // acc[c] col 0, acc[rows + c] col 1
//     static void one(const int16_t* col, int32_t* acc);   // acc[c]
//   };
// for unrolled_conv2d / unrolled_fully_connected (sparse_unrolled.h); it needs
// "kernels/cortexm/dsp.h" and <cstdint> included before it.
struct UnrolledGemmSource {
  std::string code;
  int64_t kept_smlads = 0;   // per column, over the layer
  int64_t total_smlads = 0;  // channels * K4 / 2
};
UnrolledGemmSource emit_unrolled_gemm(const std::string& name, const int8_t* matrix, int32_t rows,
                                      int32_t k, const uint8_t* mask);

}  // namespace frugal::kernels::cortexm
