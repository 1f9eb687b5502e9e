// Armv7E-M DSP definitions of dsp.h: the real instructions. Included only through dsp.h.
#pragma once

#include <arm_acle.h>

#include <cstdint>

namespace frugal::kernels::cortexm {

inline constexpr bool kDspIsEmulated = false;

inline int32_t smlad(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }
inline int32_t smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
inline int32_t smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
inline int32_t sxtb16(int32_t x) { return static_cast<int32_t>(__sxtb16(x)); }
inline int32_t sxtab16(int32_t a, int32_t x) { return static_cast<int32_t>(__sxtab16(a, x)); }
inline int32_t sadd16(int32_t a, int32_t b) { return static_cast<int32_t>(__sadd16(a, b)); }

// ACLE has no rotated forms; the rotation is free inside the instruction.
inline int32_t sxtb16_ror8(int32_t x) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
inline int32_t sxtab16_ror8(int32_t a, int32_t x) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}
inline int32_t pkhbt(int32_t a, int32_t b) {
  int32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
inline int32_t pkhtb(int32_t a, int32_t b) {
  int32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
inline int32_t smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// Keeps the compiler from hoisting the loads of later taps above earlier ones (which only
// lengthens live ranges and spills on a 14-register core).
inline void schedule_barrier() { __asm__ volatile("" ::: "memory"); }
inline int32_t smmlar(int32_t a, int32_t b, int32_t acc) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
inline int32_t ssat8(int32_t x) { return __ssat(x, 8); }
// SSUB8 sets the GE bits where a >= b; SEL then takes those bytes from its first operand. One
// asm block keeps the two together (the compiler knows nothing about the GE bits).
inline int32_t max_s8x4(int32_t a, int32_t b) {
  int32_t r;
  __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
  return r;
}
inline int32_t min_s8x4(int32_t a, int32_t b) {
  int32_t r;
  __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
  return r;
}

}  // namespace frugal::kernels::cortexm
