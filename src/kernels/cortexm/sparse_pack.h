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

  // Flash of the packed arrays (stream + table; the ChannelQuant array is as for the dense kernel).
  size_t flash_bytes() const { return stream.size() * 4 + pair_quads.size() * 2; }
};

// The mask the kernels actually execute for a requested one: 1 exactly on the members of
// the quads that are skipped whole. Zeroing the weights where it is 1 gives the layer the
// kernel computes.
std::vector<uint8_t> realize_skip_mask(const uint8_t* requested, int32_t channels, int32_t k);

// The kernel's skip groups (one per channel pair and quad), in stream order; members are
// (channel, operand) positions that exist (< channels, < k). Rank these to choose skips that
// the kernel realises.
struct SkipGroup {
  int32_t pair = 0, quad = 0;
  std::vector<std::pair<int32_t, int32_t>> members;  // (channel, operand)
};
std::vector<SkipGroup> skip_groups(int32_t channels, int32_t k);

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

}  // namespace frugal::kernels::cortexm
