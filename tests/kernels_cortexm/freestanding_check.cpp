// Compile-only check: the Cortex-M kernel headers are freestanding C++17 (no exceptions, RTTI
// or hosted library), here with the emulated dsp.h; the QEMU test compiles them for the MCU.
#include "kernels/cortexm/kernels.h"

namespace {

struct Conv {
  static constexpr int32_t in_h = 4, in_w = 4, in_c = 3, out_h = 4, out_w = 4, out_c = 5;
  static constexpr int32_t kh = 3, kw = 3, stride_h = 1, stride_w = 1, pad_h = 1, pad_w = 1;
  static constexpr int32_t dilation_h = 1, dilation_w = 1, depth_multiplier = 1;
  static constexpr int32_t input_offset = 1, output_offset = 0, act_min = -128, act_max = 127;
};

}  // namespace

void frugal_cortexm_freestanding_check(const int8_t* in, const int8_t* w, const int16_t* dw,
                                       const frugal::kernels::cortexm::ChannelQuant* q,
                                       int8_t* out, int16_t* scratch) {
  using namespace frugal::kernels::cortexm;
  static_assert(conv2d_scratch_bytes<Conv>() == 5 * 28);
  conv2d<RequantFast>(Conv{}, in, w, q, out, scratch);
  conv2d<RequantExact>(Conv{}, in, w, q, out, scratch);
  depthwise_conv2d<RequantFast>(Conv{}, in, dw, q, out);
}
