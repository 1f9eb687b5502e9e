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

// One output channel's constants, 12 bytes (TFLite stores the same three per channel), written
// by the packers (pack.h) in the form of the layer's requantization:
//   RequantExact: `multiplier` and `shift` are TFLite's quantized multiplier and signed shift;
//   RequantFast:  `multiplier` is 2m - 2^32 (as int32) and `shift` is e - 1, where e = -shift is
//                 the right shift (>= 1 whenever RequantFast is chosen).
// A layer's channels are all in one form: the kernel's Requant template argument says which.
struct ChannelQuant {
  int32_t bias;        // the layer's int32 bias (0 when the layer has none)
  int32_t multiplier;  // see above
  int32_t shift;       // see above
};
static_assert(sizeof(ChannelQuant) == 12, "the generator writes three-word initialisers and counts 12 B per channel");

// Which requantization a packed layer may use; the packers return it and the generator names
// the matching type (RequantFast / RequantExact) as the kernel's template argument.
enum class RequantKind : int32_t { kFast = 0, kExact = 1 };

// SMMLAR + four ALU ops. Chosen by the packer when every channel has a right shift
// (shift in [-31, -1]), a multiplier in [2^30, 2^31) (what TFLite's QuantizeMultiplier gives for
// any non-zero scale) and |acc| < 2^29 for every accumulator the layer can produce (bounded from
// the actual weights, bias and input offset).
// TFLite's saturating rounding doubling high multiply is floor((acc * m + 2^30) / 2^31) (its
// saturation needs acc = m = INT32_MIN). With m2 = 2m - 2^32, which fits int32 for m in
// [2^30, 2^31), SMMLAR(acc, m2, acc) = acc + floor((acc * m2 + 2^31) / 2^32)
// = floor((2 acc m + 2^31) / 2^32) = that very value, in one instruction and without any
// left shift. The rounding divide, round-half-away-from-zero of y / 2^e, is
// floor((z + 2^(e-1)) / 2^e) with z = y - [y < 0], and since nested floor divisions compose,
// that is (floor(z / 2^(e-1)) + 1) >> 1: two shifts and an add, with no 2^(e-1) to store.
struct RequantFast {
  static inline int32_t apply(int32_t acc, const ChannelQuant& q) {
    const int32_t y = smmlar(acc, q.multiplier, acc);
    const int32_t z = y - static_cast<int32_t>(static_cast<uint32_t>(y) >> 31);
    return ((z >> q.shift) + 1) >> 1;
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
