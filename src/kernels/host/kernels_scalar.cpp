// Portable kernels: the fallback on any CPU and the model the vector files follow.
#include "kernels/host/internal.h"
#include "kernels/quantization.h"

namespace frugal::kernels::host::detail::scalar {
namespace {

int8_t clamp_to_int8(int32_t v, int32_t lo, int32_t hi) {
  return static_cast<int8_t>(v < lo ? lo : (v > hi ? hi : v));
}

QuantizedMultiplier channel_multiplier(const RequantView& rq, int32_t c) {
  return {rq.multiplier[c], rq.left_shift[c] > 0 ? rq.left_shift[c] : -rq.right_shift[c]};
}

}  // namespace

void conv_gemm(const ConvPlan& plan, const void* prepared, int8_t* output) {
  // Scalar plans use tile_n = 1 and k_group = 1: weights are simply [n][k].
  const auto* act = static_cast<const int16_t*>(prepared);
  const ConvParams& p = plan.params;
  const int32_t cs = plan.channel_stride;
  const int32_t step_x = p.stride_w * cs;
  const int32_t step_y = p.stride_h * plan.prep_w * cs;
  const int32_t k_total = plan.taps * cs;
  for (int32_t oy = 0; oy < plan.output.h; ++oy)
    for (int32_t ox = 0; ox < plan.output.w; ++ox) {
      const int16_t* row = act + size_t(oy) * step_y + size_t(ox) * step_x;
      int8_t* out = output + (size_t(oy) * plan.output.w + ox) * plan.n;
      for (int32_t o = 0; o < plan.n; ++o) {
        const int16_t* w = plan.w16 + size_t(o) * k_total;
        uint32_t acc = static_cast<uint32_t>(plan.bias_data[o]);
        for (int32_t tap = 0; tap < plan.taps; ++tap) {
          const int16_t* a = row + plan.tap_offset_data[tap];
          int32_t partial = 0;  // |a| <= 255, |w| <= 128: a tap's sum cannot overflow
          for (int32_t c = 0; c < cs; ++c) partial += int32_t{a[c]} * w[c];
          acc += static_cast<uint32_t>(partial);
          w += cs;
        }
        const int32_t scaled = multiply_by_quantized_multiplier(static_cast<int32_t>(acc),
                                                                channel_multiplier(plan.rq, o));
        out[o] = clamp_to_int8(scaled + p.output_offset, p.act_min, p.act_max);
      }
    }
}

void depthwise(const DepthwisePlan& plan, const int8_t* input, int8_t* output) {
  const ConvParams& p = plan.params;
  const Dims4& in = plan.input;
  const Dims4& out = plan.output;
  const int32_t kh = plan.filter.h, kw = plan.filter.w, dm = p.depth_multiplier;
  for (int32_t b = 0; b < out.n; ++b)
    for (int32_t oy = 0; oy < out.h; ++oy)
      for (int32_t ox = 0; ox < out.w; ++ox)
        for (int32_t ic = 0; ic < in.c; ++ic)
          for (int32_t m = 0; m < dm; ++m) {
            const int32_t oc = ic * dm + m;
            uint32_t acc = 0;
            for (int32_t ky = 0; ky < kh; ++ky) {
              const int32_t iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
              if (iy < 0 || iy >= in.h) continue;
              for (int32_t kx = 0; kx < kw; ++kx) {
                const int32_t ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
                if (ix < 0 || ix >= in.w) continue;
                const int32_t x = input[((size_t(b) * in.h + iy) * in.w + ix) * in.c + ic];
                const int32_t w = plan.filter_data[(size_t(ky) * kw + kx) * out.c + oc];
                acc += static_cast<uint32_t>((x + p.input_offset) * w);
              }
            }
            acc += static_cast<uint32_t>(plan.bias_data[oc]);
            const int32_t scaled = multiply_by_quantized_multiplier(
                static_cast<int32_t>(acc), channel_multiplier(plan.rq, oc));
            output[((size_t(b) * out.h + oy) * out.w + ox) * out.c + oc] =
                clamp_to_int8(scaled + p.output_offset, p.act_min, p.act_max);
          }
}

void add_same_shape(const AddParams& params, int64_t count, const int8_t* input1,
                    const int8_t* input2, int8_t* output) {
  for (int64_t i = 0; i < count; ++i) {
    const int32_t a1 = params.input1_offset + input1[i];
    const int32_t a2 = params.input2_offset + input2[i];
    const int32_t s1 = multiply_by_quantized_multiplier_smaller_than_one_exp(
        wrapping_shift_left(a1, params.left_shift), params.input1);
    const int32_t s2 = multiply_by_quantized_multiplier_smaller_than_one_exp(
        wrapping_shift_left(a2, params.left_shift), params.input2);
    const int32_t raw =
        multiply_by_quantized_multiplier_smaller_than_one_exp(s1 + s2, params.output) +
        params.output_offset;
    output[i] = clamp_to_int8(raw, params.act_min, params.act_max);
  }
}

}  // namespace frugal::kernels::host::detail::scalar
