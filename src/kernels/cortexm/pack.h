// Host-side packers of the Cortex-M kernels (C++20, not for the MCU): they turn TFLite-layout
// weights and quantization into the byte arrays the kernels read and decide which
// requantization (RequantFast / RequantExact) is exact for the layer.
//
// Layouts (documented with the kernels that read them):
//   conv2d, fully_connected   gemm.h       int8, channel pairs x K quads, 8 bytes per quad
//   depthwise_conv2d          depthwise.h  int16, channel quads x taps, 8 bytes per tap
//   ChannelQuant              requant.h    one per output channel
// The arrays must be placed 4-byte aligned (the generator emits alignas(4)).
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cortexm/add.h"
#include "kernels/cortexm/requant.h"
#include "kernels/params.h"

namespace frugal::kernels::cortexm {

// Conv / FC weights as int8 (expanded by SXTB16 at run time) or pre-expanded int16 (twice the
// flash, about a fifth fewer instructions in the inner loop).
enum class WeightFormat : int32_t { kInt8 = 0, kInt16 = 1 };

struct PackedConv {
  std::vector<int8_t> weights;      // gemm.h int8 layout (WeightFormat::kInt8)
  std::vector<int16_t> weights16;   // gemm.h int16 layout (WeightFormat::kInt16)
  std::vector<ChannelQuant> quant;  // out_c entries
  RequantKind requant = RequantKind::kExact;
};

struct PackedDepthwise {
  std::vector<int16_t> weights;     // depthwise.h layout
  std::vector<ChannelQuant> quant;  // out_c entries
  RequantKind requant = RequantKind::kExact;
};

// CONV_2D: filter OHWI [out_c][kh][kw][in_c]; bias may be nullptr.
PackedConv pack_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw, int32_t in_c,
                     const int32_t* bias, const QuantizedMultiplier* multipliers,
                     int32_t input_offset, WeightFormat format = WeightFormat::kInt8);

// FULLY_CONNECTED: weights [out_depth][depth]; bias may be nullptr.
PackedConv pack_fully_connected(const int8_t* weights, int32_t out_depth, int32_t depth,
                                const int32_t* bias, const QuantizedMultiplier* multipliers,
                                int32_t input_offset, WeightFormat format = WeightFormat::kInt8);

// DEPTHWISE_CONV_2D: filter 1HWO [1][kh][kw][out_c]; bias may be nullptr.
PackedDepthwise pack_depthwise(const int8_t* filter, int32_t kh, int32_t kw, int32_t out_c,
                               const int32_t* bias, const QuantizedMultiplier* multipliers,
                               int32_t input_offset);

// ADD: the fast path is enabled when pack_add proves it exact for every int8 input pair.
AddQuant pack_add(const AddParams& params);

// The pieces, for callers that lay out arrays themselves.
// gemm.h layout of a [rows][k] int8 matrix (k in im2col / depth order).
std::vector<int8_t> pack_gemm_weights(const int8_t* matrix, int32_t rows, int32_t k);
std::vector<int16_t> pack_gemm_weights_int16(const int8_t* matrix, int32_t rows, int32_t k);
// Per-channel constants in RequantExact's form (TFLite's multiplier and shift).
std::vector<ChannelQuant> pack_channel_quant(int32_t channels, const int32_t* bias,
                                             const QuantizedMultiplier* multipliers);
// One channel's constants in RequantFast's form (requant.h), from RequantExact's.
ChannelQuant fast_form(const ChannelQuant& exact);
// Which requantization is exact for channels in RequantExact's form (abs_weight_sums[c] = sum of
// |w| over channel c's weights bounds the accumulator); rewrites `quant` into that one's form.
RequantKind finish_requant(std::vector<ChannelQuant>& quant, const std::vector<int64_t>& abs_weight_sums,
                           int32_t input_offset);
// A packed layer's constants in RequantExact's form, whichever form they were packed in: every
// layer may run RequantExact (the kernel tests run both on one packing).
std::vector<ChannelQuant> exact_form(const std::vector<ChannelQuant>& quant, RequantKind packed_as);
// The constants a kernel instantiated with Requant reads, for a layer packed as `packed_as`
// (RequantFast needs a layer packed for it).
template <class Requant>
std::vector<ChannelQuant> quant_for(const std::vector<ChannelQuant>& quant, RequantKind packed_as) {
  if constexpr (std::is_same_v<Requant, RequantExact>) return exact_form(quant, packed_as);
  return quant;
}

}  // namespace frugal::kernels::cortexm
