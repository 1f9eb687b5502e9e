// Layer plans shared by the dispatcher (host.cpp) and the per-ISA kernel files. Each ISA file
// is compiled with its own target flags, so nothing here may be an inline function that the
// ISA files instantiate (the linker could keep an AVX-512 copy for everyone): plain data only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/host/host.h"
#include "kernels/params.h"

namespace frugal::kernels::host::detail {

// Raw views of the constant tables. The ISA files read only these (never std::vector members,
// whose out-of-line copies could be compiled with another TU's target flags).
struct RequantView {
  const int32_t* multiplier;
  const int32_t* left_shift;
  const int32_t* right_shift;
  const int32_t* remainder_mask;
  const int32_t* half_mask;
  // Whether any channel needs the left shift / can hit the INT32_MIN * INT32_MIN saturation;
  // the vector code skips those steps otherwise.
  bool any_left_shift;
  bool any_saturation;
};

// Requantization constants of one output channel, in the form the vector code consumes.
struct RequantTable {
  std::vector<int32_t> multiplier, left_shift, right_shift;
  std::vector<int32_t> remainder_mask;  // (1 << right_shift) - 1
  std::vector<int32_t> half_mask;       // remainder_mask >> 1
  void resize(size_t n) {
    multiplier.assign(n, 0);
    left_shift.assign(n, 0);
    right_shift.assign(n, 0);
    remainder_mask.assign(n, 0);
    half_mask.assign(n, 0);
  }
  RequantView view() const {
    bool shift = false, saturation = false;
    for (size_t i = 0; i < multiplier.size(); ++i) {
      shift = shift || left_shift[i] != 0;
      saturation = saturation || multiplier[i] == -2147483647 - 1;
    }
    return {multiplier.data(), left_shift.data(), right_shift.data(), remainder_mask.data(),
            half_mask.data(), shift, saturation};
  }
};

// A convolution (or fully connected layer) lowered to an implicit GEMM: M output pixels by N
// output channels over K = taps * channel_stride. The activation is first "prepared" into the
// scratch buffer (converted to the ISA's operand type, padded), after which every output pixel
// has a row pointer and every tap a fixed element offset from it.
//
//   kScalar, kAvx2: int16 operands a = x + input_offset, padding stores 0 (the reference adds
//                   nothing for out-of-bounds taps). Products fit vpmaddwd without saturation.
//   kAvx512Vnni:    uint8 operands u = x + 128 (= x ^ 0x80), padding stores 128 - input_offset,
//                   which is u for x = -input_offset, i.e. a zero term. Then
//                   sum (x + off) w = sum u w + (off - 128) sum w, and the second term is folded
//                   into the per-channel bias at construction.
struct ConvPlan {
  Isa isa = Isa::kScalar;
  ConvParams params{};
  Dims4 input{}, output{};
  int32_t kernel_h = 1, kernel_w = 1, in_channels = 1;
  int32_t n = 0;              // output channels
  int32_t tile_n = 1;         // output channels per packed weight tile
  int32_t k_group = 1;        // consecutive k values one multiply-add instruction consumes
  int32_t tiles = 0;          // ceil(n / tile_n)
  int32_t channel_stride = 0; // elements per prepared pixel (padded to k_group)
  int32_t taps = 1;           // taps the micro-kernel iterates
  int32_t groups_per_tap = 0; // channel_stride / k_group
  std::vector<int32_t> tap_offsets;  // element offsets of each tap from a row pointer
  // Element offset of every k group (all taps, then the groups within a tap) from a row
  // pointer: the micro-kernels walk this one list, so few-channel layers pay no per-tap loop.
  std::vector<int32_t> group_offsets;
  int32_t prep_h = 0, prep_w = 0;    // prepared (padded) image extent
  size_t prep_elements = 0;
  // Packed weights: tile t, k-group g holds tile_n x k_group values, channel-major, at
  // ((t * groups) + g) * tile_n * k_group with groups = taps * groups_per_tap.
  std::vector<int8_t> weights8;
  std::vector<int16_t> weights16;
  std::vector<int32_t> bias;  // padded to tiles * tile_n, with the VNNI correction folded in
  RequantTable requant;
  size_t scratch_bytes = 0;
  // Views set once the tables are final.
  const int8_t* w8 = nullptr;
  const int16_t* w16 = nullptr;
  const int32_t* bias_data = nullptr;
  const int32_t* tap_offset_data = nullptr;
  const int32_t* group_offset_data = nullptr;
  RequantView rq{};
};

struct DepthwisePlan {
  Isa isa = Isa::kScalar;
  ConvParams params{};
  Dims4 input{}, filter{}, output{};
  std::vector<int8_t> filter_copy;   // 1HWO, as given
  // [tap][padded channels]: each weight zero-extended from its 16-bit pattern, so that a
  // 16-bit multiply-add against a sign-extended int32 activation yields the exact product
  // (the activation's high half meets a zero).
  std::vector<int32_t> weights32;
  int32_t padded_channels = 0;
  // The vector paths (depth multiplier 1) read a padded copy of each image in which padding
  // holds -input_offset (always an int8), so every tap is in bounds and adds exactly zero.
  bool vector_path = false;
  int32_t prep_h = 0, prep_w = 0;
  size_t scratch_bytes = 0;
  std::vector<int32_t> bias;         // padded_channels
  RequantTable requant;              // padded_channels
  const int8_t* filter_data = nullptr;
  const int32_t* w32 = nullptr;
  const int32_t* bias_data = nullptr;
  RequantView rq{};
};

// Per-ISA entry points (defined in kernels_<isa>.cpp).
namespace avx512 {
void conv_gemm(const ConvPlan& plan, const void* prepared, int8_t* output);
void depthwise(const DepthwisePlan& plan, const int8_t* input, int8_t* output);
void add_same_shape(const AddParams& params, int64_t count, const int8_t* input1,
                    const int8_t* input2, int8_t* output);
}  // namespace avx512
namespace avx2 {
void conv_gemm(const ConvPlan& plan, const void* prepared, int8_t* output);
void depthwise(const DepthwisePlan& plan, const int8_t* input, int8_t* output);
void add_same_shape(const AddParams& params, int64_t count, const int8_t* input1,
                    const int8_t* input2, int8_t* output);
}  // namespace avx2
namespace scalar {
void conv_gemm(const ConvPlan& plan, const void* prepared, int8_t* output);
void depthwise(const DepthwisePlan& plan, const int8_t* input, int8_t* output);
void add_same_shape(const AddParams& params, int64_t count, const int8_t* input1,
                    const int8_t* input2, int8_t* output);
}  // namespace scalar

}  // namespace frugal::kernels::host::detail
