// Per-channel requantization of the Cortex-M kernels.
//
// Every variant returns exactly multiply_by_quantized_multiplier(acc, {multiplier, shift}) of
// quantization.h (TFLite's double-rounding arithmetic); they differ only in which instructions
// get there and in the preconditions the packer (pack.h) verifies before recommending them.
#pragma once

#include <cstdint>

#include "kernels/cortexm/dsp.h"
#include "kernels/quantization.h"

namespace frugal::kernels::cortexm {

// One output channel's constants, 24 bytes, written by the packers (pack.h).
struct ChannelQuant {
  int32_t bias;                // the layer's int32 bias (0 when the layer has none)
  int32_t multiplier;          // TFLite's quantized multiplier
  int32_t shift;               // TFLite's signed shift (positive = left)
  int32_t doubled_multiplier;  // RequantFast: 2 * multiplier - 2^32 (as int32)
  int32_t right_shift;         // RequantFast: -shift (>= 1 whenever RequantFast is chosen)
  int32_t nudge;               // RequantFast: 2^(right_shift - 1)
};

// Which requantization a packed layer may use; the packers return it and the generator names
// the matching type (RequantFast / RequantExact) as the kernel's template argument.
enum class RequantKind : int32_t { kFast = 0, kExact = 1 };

// SMMLAR + three ALU ops. Chosen by the packer when every channel has a right shift
// (shift in [-31, -1]), a multiplier in [2^30, 2^31) (what TFLite's QuantizeMultiplier gives for
// any non-zero scale) and |acc| < 2^29 for every accumulator the layer can produce (bounded from
// the actual weights, bias and input offset).
// TFLite's saturating rounding doubling high multiply is floor((acc * m + 2^30) / 2^31) (its
// saturation needs acc = m = INT32_MIN). With m2 = 2m - 2^32, which fits int32 for m in
// [2^30, 2^31), SMMLAR(acc, m2, acc) = acc + floor((acc * m2 + 2^31) / 2^32)
// = floor((2 acc m + 2^31) / 2^32) = that very value, in one instruction and without any
// left shift. The rounding divide, round-half-away-from-zero of y / 2^e, equals
// floor((y + 2^(e-1) - [y < 0]) / 2^e) for e >= 1; the bound on acc keeps y + 2^(e-1) in int32.
struct RequantFast {
  static inline int32_t apply(int32_t acc, const ChannelQuant& q) {
    const int32_t y = smmlar(acc, q.doubled_multiplier, acc);
    return (y + q.nudge - static_cast<int32_t>(static_cast<uint32_t>(y) >> 31)) >> q.right_shift;
  }
};

// Any accumulator, any shift: quantization.h itself.
struct RequantExact {
  static inline int32_t apply(int32_t acc, const ChannelQuant& q) {
    return multiply_by_quantized_multiplier(acc, QuantizedMultiplier{q.multiplier, q.shift});
  }
};

// Output offset and the fused activation clamp of an int8 output.
template <class Shape>
inline int8_t finish_output(const Shape& s, int32_t v) {
  v += s.output_offset;
  if (s.act_min == -128 && s.act_max == 127) return static_cast<int8_t>(ssat8(v));
  v = v < s.act_min ? s.act_min : v;
  v = v > s.act_max ? s.act_max : v;
  return static_cast<int8_t>(v);
}

// Both 16-bit halves set to the input offset (x + offset fits int16 for int8 x and an offset
// in [-255, 255]).
constexpr int32_t offset_pair(int32_t offset) {
  return static_cast<int32_t>((static_cast<uint32_t>(offset) & 0xFFFFu) * 0x10001u);
}

constexpr int32_t round_up4(int32_t n) { return (n + 3) & ~3; }

}  // namespace frugal::kernels::cortexm
