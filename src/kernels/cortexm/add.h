// ADD (int8, same-shape operands, no broadcasting) for Cortex-M4/M7.
//
// TFLite's int8 ADD rescales both inputs and the sum with three double-rounding multiplies.
// When the packer (pack_add) has proved that every intermediate stays below 2^30, each
// saturating rounding doubling high multiply is one SMMULR of the operand doubled, and each
// rounding divide is floor((y + nudge + (sign(y) & mask)) / 2^e) with mask = -1 for e >= 1
// and nudge = mask = 0 for e = 0; otherwise the exact functions of quantization.h run.
// Header-only, freestanding C++17.
//
// Shape members (static constexpr or runtime): elements.
#pragma once

#include <cstdint>

#include "kernels/cortexm/dsp.h"
#include "kernels/quantization.h"

namespace frugal::kernels::cortexm {

// One rescaling step of the fast path.
struct AddScale {
  int32_t multiplier;
  int32_t right_shift;  // e = -shift (>= 0)
  int32_t nudge;        // e >= 1 ? 2^(e-1) : 0
  int32_t sign_mask;    // e >= 1 ? -1 : 0
};

// Written by pack_add.
struct AddQuant {
  AddParams params;   // the reference parameters (exact path)
  int32_t fast;       // 1: the SMMULR path below is exact for every int8 input
  int32_t pre_shift;  // left_shift + 1
  AddScale input1, input2, output;
};

namespace detail {

inline int32_t add_rescale(int32_t doubled, const AddScale& a) {
  const int32_t y = smmulr(doubled, a.multiplier);
  return (y + a.nudge + ((y >> 31) & a.sign_mask)) >> a.right_shift;
}

inline int8_t add_exact(const AddParams& p, int32_t a, int32_t b) {
  const int32_t shifted1 = wrapping_shift_left(p.input1_offset + a, p.left_shift);
  const int32_t shifted2 = wrapping_shift_left(p.input2_offset + b, p.left_shift);
  const int32_t sum =
      multiply_by_quantized_multiplier_smaller_than_one_exp(shifted1, p.input1) +
      multiply_by_quantized_multiplier_smaller_than_one_exp(shifted2, p.input2);
  int32_t out = multiply_by_quantized_multiplier_smaller_than_one_exp(sum, p.output) +
                p.output_offset;
  out = out < p.act_min ? p.act_min : out;
  return static_cast<int8_t>(out > p.act_max ? p.act_max : out);
}

}  // namespace detail

template <class Shape>
void add(const Shape& s, const AddQuant& q, const int8_t* input1, const int8_t* input2,
         int8_t* output) {
  const AddParams& p = q.params;
  if (!q.fast) {
    for (int32_t i = 0; i < s.elements; ++i) output[i] = detail::add_exact(p, input1[i], input2[i]);
    return;
  }
  // (x + offset) << pre_shift = (x << pre_shift) + (offset << pre_shift): one shifted ADD.
  const int32_t bias1 = static_cast<int32_t>(static_cast<uint32_t>(p.input1_offset) << q.pre_shift);
  const int32_t bias2 = static_cast<int32_t>(static_cast<uint32_t>(p.input2_offset) << q.pre_shift);
  for (int32_t i = 0; i < s.elements; ++i) {
    const int32_t a = bias1 + static_cast<int32_t>(static_cast<uint32_t>(input1[i]) << q.pre_shift);
    const int32_t b = bias2 + static_cast<int32_t>(static_cast<uint32_t>(input2[i]) << q.pre_shift);
    const int32_t sum = detail::add_rescale(a, q.input1) + detail::add_rescale(b, q.input2);
    int32_t out = detail::add_rescale(sum * 2, q.output) + p.output_offset;
    out = out < p.act_min ? p.act_min : out;
    output[i] = static_cast<int8_t>(out > p.act_max ? p.act_max : out);
  }
}

}  // namespace frugal::kernels::cortexm
