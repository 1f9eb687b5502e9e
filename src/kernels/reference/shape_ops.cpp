// PAD and CONCATENATION: data movement only, the quantization is unchanged.

#include <cstdint>

#include "kernels/reference/index.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::reference {

void pad(const Dims4& input_dims, const int8_t* input, const Dims4& pad_before,
         const Dims4& /*pad_after*/, int8_t pad_value, const Dims4& output_dims,
         int8_t* output) {
  // pad_after is implied by output_dims; an output position maps back to the input position
  // shifted by pad_before, and anything outside the input is padding.
  for (int32_t n = 0; n < output_dims.n; ++n) {
    for (int32_t h = 0; h < output_dims.h; ++h) {
      for (int32_t w = 0; w < output_dims.w; ++w) {
        for (int32_t c = 0; c < output_dims.c; ++c) {
          const int32_t in_n = n - pad_before.n, in_h = h - pad_before.h;
          const int32_t in_w = w - pad_before.w, in_c = c - pad_before.c;
          const bool inside = in_n >= 0 && in_n < input_dims.n && in_h >= 0 &&
                              in_h < input_dims.h && in_w >= 0 && in_w < input_dims.w &&
                              in_c >= 0 && in_c < input_dims.c;
          output[offset(output_dims, n, h, w, c)] =
              inside ? input[offset(input_dims, in_n, in_h, in_w, in_c)] : pad_value;
        }
      }
    }
  }
}

void concatenation(int32_t num_inputs, const Dims4* input_dims, const int8_t* const* inputs,
                   int32_t axis, const Dims4& output_dims, int8_t* output) {
  // Along `axis`, the output is the inputs one after another; every other dimension is shared.
  const int32_t out_extent[4] = {output_dims.n, output_dims.h, output_dims.w, output_dims.c};
  int64_t outer = 1;
  for (int32_t d = 0; d < axis; ++d) outer *= out_extent[d];
  int64_t inner = 1;
  for (int32_t d = axis + 1; d < 4; ++d) inner *= out_extent[d];

  int8_t* dst = output;
  for (int64_t o = 0; o < outer; ++o) {
    for (int32_t i = 0; i < num_inputs; ++i) {
      const Dims4& in = input_dims[i];
      const int32_t in_extent[4] = {in.n, in.h, in.w, in.c};
      const int64_t chunk = in_extent[axis] * inner;
      const int8_t* src = inputs[i] + o * chunk;
      for (int64_t k = 0; k < chunk; ++k) *dst++ = src[k];
    }
  }
}

}  // namespace frugal::kernels::reference
