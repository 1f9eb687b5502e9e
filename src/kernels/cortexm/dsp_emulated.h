// Exact C++ definitions of dsp.h for hosts without the Armv7E-M DSP extension. Included only
// through dsp.h. Products of two int16 values and their sums are formed in int64 and wrapped
// to int32 through uint32, which is what the instructions do (SMLAD's Q flag has no effect on
// the result).
#pragma once

#include <cstdint>

namespace frugal::kernels::cortexm {

inline constexpr bool kDspIsEmulated = true;

namespace emulated {
constexpr int32_t lo16(int32_t x) { return static_cast<int16_t>(static_cast<uint32_t>(x) & 0xFFFFu); }
constexpr int32_t hi16(int32_t x) { return static_cast<int16_t>(static_cast<uint32_t>(x) >> 16); }
constexpr int32_t byte_at(int32_t x, int i) {
  return static_cast<int8_t>(static_cast<uint8_t>(static_cast<uint32_t>(x) >> (8 * i)));
}
constexpr int32_t pack16(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) |
                              (static_cast<uint32_t>(hi) << 16));
}
constexpr int32_t wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }
}  // namespace emulated

constexpr int32_t smlad(int32_t a, int32_t b, int32_t acc) {
  using namespace emulated;
  return wrap32(int64_t{acc} + int64_t{lo16(a)} * lo16(b) + int64_t{hi16(a)} * hi16(b));
}
constexpr int32_t smlabb(int32_t a, int32_t b, int32_t acc) {
  return emulated::wrap32(int64_t{acc} + int64_t{emulated::lo16(a)} * emulated::lo16(b));
}
constexpr int32_t smlatt(int32_t a, int32_t b, int32_t acc) {
  return emulated::wrap32(int64_t{acc} + int64_t{emulated::hi16(a)} * emulated::hi16(b));
}
constexpr int32_t sxtb16(int32_t x) {
  return emulated::pack16(emulated::byte_at(x, 0), emulated::byte_at(x, 2));
}
constexpr int32_t sxtb16_ror8(int32_t x) {
  return emulated::pack16(emulated::byte_at(x, 1), emulated::byte_at(x, 3));
}
constexpr int32_t sadd16(int32_t a, int32_t b) {
  using namespace emulated;
  return pack16(lo16(a) + lo16(b), hi16(a) + hi16(b));
}
constexpr int32_t sxtab16(int32_t a, int32_t x) { return sadd16(a, sxtb16(x)); }
constexpr int32_t sxtab16_ror8(int32_t a, int32_t x) { return sadd16(a, sxtb16_ror8(x)); }
constexpr int32_t pkhbt(int32_t a, int32_t b) {
  return static_cast<int32_t>((static_cast<uint32_t>(a) & 0xFFFFu) |
                              (static_cast<uint32_t>(b) << 16));
}
constexpr int32_t pkhtb(int32_t a, int32_t b) {
  return static_cast<int32_t>((static_cast<uint32_t>(a) & 0xFFFF0000u) |
                              (static_cast<uint32_t>(b) >> 16));
}
constexpr int32_t smmulr(int32_t a, int32_t b) {
  const int64_t rounded = int64_t{a} * b + (int64_t{1} << 31);
  // Arithmetic shift of a negative int64 is implementation-defined before C++20; divide the
  // floor explicitly.
  const int64_t q = rounded >= 0 ? rounded / (int64_t{1} << 32)
                                 : -((-rounded + (int64_t{1} << 32) - 1) / (int64_t{1} << 32));
  return static_cast<int32_t>(q);
}
// The accumulator lands in the high word of the 64-bit sum, so it adds modulo 2^32.
constexpr int32_t smmlar(int32_t a, int32_t b, int32_t acc) {
  return static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(smmulr(a, b)));
}
inline void schedule_barrier() {}
constexpr int32_t ssat8(int32_t x) { return x < -128 ? -128 : (x > 127 ? 127 : x); }
constexpr int32_t max_s8x4(int32_t a, int32_t b) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    const int32_t m = emulated::byte_at(a, i) >= emulated::byte_at(b, i) ? emulated::byte_at(a, i)
                                                                          : emulated::byte_at(b, i);
    r |= (static_cast<uint32_t>(m) & 0xFFu) << (8 * i);
  }
  return static_cast<int32_t>(r);
}
constexpr int32_t min_s8x4(int32_t a, int32_t b) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    const int32_t m = emulated::byte_at(a, i) >= emulated::byte_at(b, i) ? emulated::byte_at(b, i)
                                                                          : emulated::byte_at(a, i);
    r |= (static_cast<uint32_t>(m) & 0xFFu) << (8 * i);
  }
  return static_cast<int32_t>(r);
}

}  // namespace frugal::kernels::cortexm
