// MEAN (int8): TFLite's QuantizedMeanOrSum. The raw int8 values are summed per output element,
// the zero point is removed once per sum, and 1 / count is folded into the quantized multiplier
// before a single requantization.

#include <cstdint>

#include "kernels/quantization.h"
#include "kernels/reference/index.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::reference {
namespace {

int floor_log2(uint64_t x) {
  int log = -1;
  while (x != 0) {
    x >>= 1;
    ++log;
  }
  return log;
}

}  // namespace

void mean(const MeanParams& params, const Dims4& input_dims, const int8_t* input,
          uint32_t reduce_mask, int8_t* output) {
  const int32_t in_extent[4] = {input_dims.n, input_dims.h, input_dims.w, input_dims.c};
  int32_t out_extent[4];
  int64_t count = 1;  // input elements averaged into each output element
  for (int d = 0; d < 4; ++d) {
    const bool reduced = (reduce_mask >> d) & 1u;
    out_extent[d] = reduced ? 1 : in_extent[d];
    if (reduced) count *= in_extent[d];
  }
  const Dims4 output_dims{out_extent[0], out_extent[1], out_extent[2], out_extent[3]};
  if (count == 0) return;  // TFLite leaves the (zeroed) output as is

  // Fold 1 / count into the multiplier: multiply it by 2^shift / count (integer division) and
  // lower the exponent by shift, shift = floor(log2(count)), clamped so the shifted multiplier
  // stays in int64 headroom and the final shift stays >= -31.
  QuantizedMultiplier m = params.multiplier;
  int shift = floor_log2(static_cast<uint64_t>(count));
  if (shift > 32) shift = 32;
  if (shift > 31 + m.shift) shift = 31 + m.shift;
  if (shift < 0) shift = 0;  // only for a multiplier TFLite cannot produce (shift < -31)
  m.multiplier = static_cast<int32_t>((int64_t{m.multiplier} << shift) / count);
  m.shift -= shift;

  // Extent of the inner loops: the reduced dimensions' extents, 1 for the kept ones.
  int32_t reduced_extent[4];
  for (int d = 0; d < 4; ++d) reduced_extent[d] = out_extent[d] == 1 ? in_extent[d] : 1;

  for (int32_t n = 0; n < output_dims.n; ++n) {
    for (int32_t h = 0; h < output_dims.h; ++h) {
      for (int32_t w = 0; w < output_dims.w; ++w) {
        for (int32_t c = 0; c < output_dims.c; ++c) {
          // Sum over the reduced dimensions. TFLite's int32 sum wraps; an int64 sum truncated
          // to int32 is the same value modulo 2^32.
          int64_t sum = 0;
          for (int32_t rn = 0; rn < reduced_extent[0]; ++rn) {
            for (int32_t rh = 0; rh < reduced_extent[1]; ++rh) {
              for (int32_t rw = 0; rw < reduced_extent[2]; ++rw) {
                for (int32_t rc = 0; rc < reduced_extent[3]; ++rc) {
                  sum += input[offset(input_dims, n + rn, h + rh, w + rw, c + rc)];
                }
              }
            }
          }
          const int32_t wrapped_sum = static_cast<int32_t>(sum);
          const int32_t centred =
              static_cast<int32_t>(int64_t{wrapped_sum} - int64_t{params.input_zero_point} * count);
          const int32_t out =
              multiply_by_quantized_multiplier(centred, m) + params.output_zero_point;
          output[offset(output_dims, n, h, w, c)] = static_cast<int8_t>(clamp(out, -128, 127));
        }
      }
    }
  }
}

}  // namespace frugal::kernels::reference
