// Runtime-shape structs for the Cortex-M kernels (same member names as the generator's
// `static constexpr` structs), shared by the host tests and the QEMU firmware tests.
#pragma once

#include <cstdint>

namespace frugal::kernels::cortexm::testing {

struct ConvShape {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t kh, kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int32_t depth_multiplier;  // depthwise only
  int32_t input_offset, output_offset, act_min, act_max;
};

struct FcShape {
  int32_t batches, depth, out_depth;
  int32_t input_offset, output_offset, act_min, act_max;
};

struct PoolShape {
  int32_t in_h, in_w, channels, out_h, out_w;
  int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
};

struct ElementwiseShape {
  int32_t elements;
};

}  // namespace frugal::kernels::cortexm::testing
