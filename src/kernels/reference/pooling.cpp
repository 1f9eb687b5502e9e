// AVERAGE_POOL_2D and MAX_POOL_2D: TFLite's reference_integer_ops pooling. The window is clipped
// to the input, so padding never enters a maximum or an average (the average divides by the
// number of in-bounds elements).

#include <cstdint>

#include "kernels/reference/index.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::reference {
namespace {

struct Window {
  int32_t y_start, y_end, x_start, x_end;  // filter offsets, [start, end)
  int32_t in_y_origin, in_x_origin;
};

Window clipped_window(const PoolParams& p, const Dims4& input_dims, int32_t out_y, int32_t out_x) {
  Window win{};
  win.in_y_origin = out_y * p.stride_h - p.pad_h;
  win.in_x_origin = out_x * p.stride_w - p.pad_w;
  win.y_start = win.in_y_origin < 0 ? -win.in_y_origin : 0;
  win.x_start = win.in_x_origin < 0 ? -win.in_x_origin : 0;
  win.y_end = p.filter_h < input_dims.h - win.in_y_origin ? p.filter_h : input_dims.h - win.in_y_origin;
  win.x_end = p.filter_w < input_dims.w - win.in_x_origin ? p.filter_w : input_dims.w - win.in_x_origin;
  return win;
}

}  // namespace

void average_pool(const PoolParams& params, const Dims4& input_dims, const int8_t* input,
                  const Dims4& output_dims, int8_t* output) {
  for (int32_t b = 0; b < output_dims.n; ++b) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const Window win = clipped_window(params, input_dims, out_y, out_x);
        for (int32_t c = 0; c < output_dims.c; ++c) {
          int32_t sum = 0;
          int32_t count = 0;
          for (int32_t fy = win.y_start; fy < win.y_end; ++fy) {
            for (int32_t fx = win.x_start; fx < win.x_end; ++fx) {
              sum += input[offset(input_dims, b, win.in_y_origin + fy, win.in_x_origin + fx, c)];
              ++count;
            }
          }
          // TFLite returns an error for a window entirely outside the input (impossible with
          // TFLite's SAME/VALID geometry); an output of 0 keeps us defined.
          int32_t avg = 0;
          if (count > 0) {
            // Division rounding half away from zero (a sum of 0 takes the second branch and
            // still gives 0).
            avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
          }
          output[offset(output_dims, b, out_y, out_x, c)] =
              static_cast<int8_t>(clamp(avg, params.act_min, params.act_max));
        }
      }
    }
  }
}

void max_pool(const PoolParams& params, const Dims4& input_dims, const int8_t* input,
              const Dims4& output_dims, int8_t* output) {
  for (int32_t b = 0; b < output_dims.n; ++b) {
    for (int32_t out_y = 0; out_y < output_dims.h; ++out_y) {
      for (int32_t out_x = 0; out_x < output_dims.w; ++out_x) {
        const Window win = clipped_window(params, input_dims, out_y, out_x);
        for (int32_t c = 0; c < output_dims.c; ++c) {
          int32_t max = -128;
          for (int32_t fy = win.y_start; fy < win.y_end; ++fy) {
            for (int32_t fx = win.x_start; fx < win.x_end; ++fx) {
              const int32_t v =
                  input[offset(input_dims, b, win.in_y_origin + fy, win.in_x_origin + fx, c)];
              if (v > max) max = v;
            }
          }
          output[offset(output_dims, b, out_y, out_x, c)] =
              static_cast<int8_t>(clamp(max, params.act_min, params.act_max));
        }
      }
    }
  }
}

}  // namespace frugal::kernels::reference
