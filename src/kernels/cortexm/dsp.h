// Portability layer for the Armv7E-M DSP instructions the Cortex-M kernels are written with.
//
// The kernels call only the functions below. On an Arm target with the DSP extension they are
// the real instructions (ACLE intrinsics or one-instruction inline asm); everywhere else they
// are exact C++ emulations with the same wrap-around and saturation, so the very same kernel
// source is tested bit for bit on the host and executed on the MCU.
//
// The choice is made once, here; each platform's definitions live in their own header.
//
//   smlad(a, b, acc)       acc + a.lo*b.lo + a.hi*b.hi        (int16 halves, int32 wrap)
//   smlabb/smlatt(a,b,acc) acc + a.lo*b.lo  /  acc + a.hi*b.hi
//   sxtb16(x)              (int16)x.b0 | (int16)x.b2 << 16
//   sxtb16_ror8(x)         (int16)x.b1 | (int16)x.b3 << 16
//   sxtab16(a, x)          a + sxtb16(x)        per 16-bit half, wrapping
//   sxtab16_ror8(a, x)     a + sxtb16_ror8(x)   per 16-bit half, wrapping
//   pkhbt(a, b)            a.lo | b.lo << 16     pkhtb(a, b)  a.hi << 16 | b.hi
//   smmulr(a, b)           (int32)((int64 a*b + 2^31) >> 32)
//   smmlar(a, b, acc)      acc + smmulr(a, b)   (wrapping)
//   ssat8(x)               x clamped to [-128, 127]
//   schedule_barrier()     compiler-only memory barrier (no instruction)
//   max_s8x4 / min_s8x4    per-byte signed maximum / minimum (SSUB8 + SEL)
//   sadd16(a, b)           per-half wrapping add
//   load32 / load32_aligned / store32   4-byte access through memcpy (compiles to LDR/STR)
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include "kernels/cortexm/dsp_arm.h"
#else
#include "kernels/cortexm/dsp_emulated.h"
#endif

namespace frugal::kernels::cortexm {

// Unaligned 32-bit load: LDR on Cortex-M3 and later (unaligned access is architectural for
// LDR/STR; never for LDRD/LDM, so the compiler must not be told the pointer is aligned).
inline int32_t load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// 4-byte aligned load: lets the compiler merge neighbouring loads into LDRD/LDM.
inline int32_t load32_aligned(const void* p) {
  return *static_cast<const int32_t*>(__builtin_assume_aligned(p, 4));
}

inline void store32(void* p, int32_t v) { std::memcpy(p, &v, sizeof v); }

}  // namespace frugal::kernels::cortexm
