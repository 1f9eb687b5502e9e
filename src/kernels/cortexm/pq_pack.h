// Host-side packers (C++20, not for the MCU) of the product-quantized conv / FC kernels
// (pq_conv.h, pq_fully_connected.h). They take what a PQ bundle stores — the codebook words and
// one uint16 index per sub-vector in ir::PqEncoding order — never the decoded weights, and
// produce the flash arrays the kernels read, the requantization choice and the figures a
// generator needs to pick a form: an operation-count estimate of each form and its scratch.
//
// Layouts (pq_gemm.h has the reasons):
//   codebook        K x pq_padded_length(d) int16, zero padded, natural order except that an
//                   all-zero codeword is moved to index 0 (swapped with codeword 0), the index the
//                   direct form can skip; one array per codebook, shared by every layer that uses
//                   it (the packers renumber every layer's indices alike)
//   direct indices  [O][G], table indices [G][O]; 4 bits (two per byte, low nibble first) when
//                   K <= 16, else 8 bits; ceil(O * G * bits / 8) bytes either way
//   ChannelQuant    one per output channel (pack.h)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cortexm/pack.h"
#include "kernels/cortexm/pq_gemm.h"

namespace frugal::kernels::cortexm {

// A codebook as pq::Codebook holds it: K x d int8 words, row-major.
struct PqCodebookView {
  const int8_t* words = nullptr;
  int32_t codewords = 0;  // K, 1 .. 256
  int32_t subvector = 0;  // d >= 1
};

enum class PqForm : int32_t { kDirect = 0, kTable = 1 };

// Estimated instructions of one call on a Cortex-M4 (arm-none-eabi-g++ -O2), an operation count
// with constants fitted to bench/cortexm_pq (within about 20 % there; docs/cortexm-kernels.md).
// Per output column (pixel or batch row), with G groups of d weights (W = ceil(d / 2) SMLAD
// pairs, L = G * d), K codewords, O output channels and c columns in flight (the direct form
// min(4 for d <= 4 else 2, columns), the table form min(4, columns)):
//   direct  O * G * (W + 1.75, 3.5, 4.5 for c = 4, 2, 1)
//                                                    per output and group: index fetch, codeword
//                                                    address, codeword and column loads, W SMLADs
//   direct, skipping the zero codeword: a share z of the groups on it costs 3.5 / c, or nothing
//           in rows of zero codewords only (found once per call: O * G / 2 once), the others
//           2 / c more (the test of the index and the branch over the skip)
//   table   G * (K * (W + 2) + O * lookup(c) + 10)  per group: the K codeword products, then one
//                                                    lookup-accumulate per output; lookup(c) =
//                                                    2.5, 3.2, 4.0 for 4, 2, 1 columns
//   dense   O * L                                    conv2d / fully_connected on decoded weights
// each plus 12 * O (requantization) + 2 * L (im2col), times the columns. The table form wins
// when K * (W + 2) is small against O * (W + 1): small codebooks, wide layers.
struct PqCost {
  int64_t direct = 0;
  int64_t direct_skipping = 0;  // the direct form skipping the zero codeword
  int64_t table = 0;
  int64_t dense = 0;
};
// zero_share: the share of the layer's sub-vectors on the zero codeword; zero_row_share: the share
// of its rows that are zero codewords only.
PqCost pq_cost(int32_t groups, int32_t subvector, int32_t codewords, int32_t out_channels, int32_t columns,
               double zero_share = 0.0, double zero_row_share = 0.0);

// Index of the codebook's all-zero codeword (the first, if several), -1 if it has none.
int32_t pq_zero_codeword(const PqCodebookView& codebook);

struct PackedPqLayer {
  std::vector<uint8_t> direct_indices;  // [O][G], for pq_conv2d_direct / pq_fully_connected_direct
  std::vector<uint8_t> table_indices;   // [G][O], for pq_conv2d_table / pq_fully_connected_table
  std::vector<ChannelQuant> quant;      // out channels
  RequantKind requant = RequantKind::kExact;
  int32_t groups = 0;      // G
  int32_t index_bits = 0;  // 4 or 8
  PqCost cost;             // estimated instructions of one call
  int64_t zero_groups = 0;  // sub-vectors on the zero codeword (0 if the codebook has none)
  int64_t zero_rows = 0;    // output channels whose sub-vectors are all on it
  // The direct form skips them (the shape's `skip_zero_codeword`): where the model says it pays.
  bool skip_zero_codeword = false;
  PqForm cheaper = PqForm::kDirect;
  size_t direct_scratch_bytes = 0;  // pq_*_direct_scratch_bytes
  size_t table_scratch_bytes = 0;   // pq_*_table_scratch_bytes with kPqTableColumns

  const std::vector<uint8_t>& indices(PqForm form) const {
    return form == PqForm::kTable ? table_indices : direct_indices;
  }
  size_t scratch_bytes(PqForm form) const {
    return form == PqForm::kTable ? table_scratch_bytes : direct_scratch_bytes;
  }
};

// The codebook array the kernels read (the zero codeword first).
std::vector<int16_t> pack_pq_codebook(const PqCodebookView& codebook);

// `count` indices packed at the index width of a K-codeword codebook, in the given order, as
// they are (the layer packers below renumber them for the zero codeword first).
std::vector<uint8_t> pack_pq_indices(const uint16_t* indices, size_t count, int32_t codewords);

// CONV_2D with filter [out_c][kh][kw][in_c] encoded as `layout` (kPqRow: G = kh*kw*in_c / d,
// which must divide; kPqKernel: d must be kh*kw, G = in_c); `indices` [out_c][G] as
// ir::PqEncoding stores them; `out_pixels` = out_h * out_w (scratch and cost depend on it). bias
// may be nullptr. Throws std::invalid_argument on a shape the layout cannot describe or an index
// >= K.
PackedPqLayer pack_pq_conv(const PqCodebookView& codebook, PqWeightLayout layout, const uint16_t* indices,
                           int32_t out_c, int32_t kh, int32_t kw, int32_t in_c, int32_t out_pixels,
                           const int32_t* bias, const QuantizedMultiplier* multipliers, int32_t input_offset);

// FULLY_CONNECTED with weights [out_depth][depth] encoded as kPqRow (depth % d == 0).
PackedPqLayer pack_pq_fully_connected(const PqCodebookView& codebook, const uint16_t* indices,
                                      int32_t out_depth, int32_t depth, int32_t batches, const int32_t* bias,
                                      const QuantizedMultiplier* multipliers, int32_t input_offset);

}  // namespace frugal::kernels::cortexm
