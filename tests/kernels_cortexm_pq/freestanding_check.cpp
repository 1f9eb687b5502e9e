// Compile-only check: the PQ kernels instantiate as freestanding C++17 (no exceptions, RTTI or
// hosted library), here with the emulated dsp.h and the portable loops; the QEMU test and
// kernels_cortexm_pq_arm_compile_test compile them for the MCU.
#include "kernels/cortexm/pq_conv.h"
#include "kernels/cortexm/pq_fully_connected.h"

namespace {

struct KernelConv {
  static constexpr int32_t in_h = 4, in_w = 4, in_c = 3, out_h = 4, out_w = 4, out_c = 5;
  static constexpr int32_t kh = 3, kw = 3, stride_h = 1, stride_w = 1, pad_h = 1, pad_w = 1;
  static constexpr int32_t dilation_h = 1, dilation_w = 1;
  static constexpr int32_t input_offset = 1, output_offset = 0, act_min = -128, act_max = 127;
  static constexpr int32_t subvector = 9, codewords = 16, layout = frugal::kernels::cortexm::kPqKernel;
};

struct RowFc {
  static constexpr int32_t batches = 3, depth = 32, out_depth = 5, input_offset = 1, output_offset = 0,
                           act_min = -128, act_max = 127, subvector = 8, codewords = 256;
};

}  // namespace

void frugal_cortexm_pq_freestanding_check(const int8_t* in, const int16_t* codebook, const uint8_t* indices,
                                          const frugal::kernels::cortexm::ChannelQuant* q, int8_t* out,
                                          int16_t* scratch) {
  using namespace frugal::kernels::cortexm;
  static_assert(pq_conv2d_table_scratch_bytes<KernelConv>() == 4 * (3 * 10 * 2 + 16 * 4 + 5 * 4));
  pq_conv2d_direct<RequantFast>(KernelConv{}, in, codebook, indices, q, out, scratch);
  pq_conv2d_table<RequantExact>(KernelConv{}, in, codebook, indices, q, out, scratch);
  pq_fully_connected_direct<RequantExact>(RowFc{}, in, codebook, indices, q, out, scratch);
  pq_fully_connected_table<RequantFast, 2>(RowFc{}, in, codebook, indices, q, out, scratch);
}
