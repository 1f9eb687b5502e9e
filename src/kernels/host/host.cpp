// ISA dispatch, construction-time weight packing and the portable parts of the host kernels
// (activation preparation, pooling; broadcasting ADD and grouped convolution go to the
// reference kernels). Compiled for the baseline target only.
#include "kernels/host/host.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "kernels/host/internal.h"
#include "kernels/quantization.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels::host {

using detail::ConvPlan;
using detail::DepthwisePlan;

std::string_view to_string(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512Vnni: return "avx512vnni";
  }
  return "unknown";
}

namespace {

bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

Isa detect_best_isa() {
  Isa best = Isa::kScalar;
  if (cpu_runs(Isa::kAvx2)) best = Isa::kAvx2;
  if (cpu_runs(Isa::kAvx512Vnni)) best = Isa::kAvx512Vnni;
  if (const char* requested = std::getenv("FRUGAL_ISA")) {
    const std::string_view name(requested);
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512Vnni}) {
      // Only lowering is allowed: asking for more than the CPU has keeps the best it has.
      if (name == to_string(isa) && static_cast<int>(isa) <= static_cast<int>(best)) best = isa;
    }
  }
  return best;
}

// An ISA object built for something this CPU cannot run would crash; fall back instead.
Isa usable(Isa isa) { return cpu_runs(isa) ? isa : Isa::kScalar; }

int32_t round_up(int32_t v, int32_t to) { return (v + to - 1) / to * to; }

int8_t clamp_to_int8(int32_t v, int32_t lo, int32_t hi) {
  return static_cast<int8_t>(v < lo ? lo : (v > hi ? hi : v));
}

void fill_requant(detail::RequantTable& table, size_t padded, const QuantizedMultiplier* m,
                  size_t count, bool per_channel) {
  table.resize(padded);
  for (size_t i = 0; i < count; ++i) {
    const QuantizedMultiplier q = per_channel ? m[i] : m[0];
    const int32_t left = q.shift > 0 ? q.shift : 0;
    const int32_t right = q.shift > 0 ? 0 : -q.shift;
    table.multiplier[i] = q.multiplier;
    table.left_shift[i] = left;
    table.right_shift[i] = right;
    table.remainder_mask[i] = static_cast<int32_t>((int64_t{1} << right) - 1);
    table.half_mask[i] = table.remainder_mask[i] >> 1;
  }
}

void build_conv_plan(ConvPlan& plan, const ConvParams& params, const QuantizedMultiplier* m,
                     bool per_channel, const Dims4& input, int32_t kernel_h, int32_t kernel_w,
                     int32_t out_channels, const int8_t* filter, const int32_t* bias,
                     const Dims4& output, Isa isa) {
  plan.isa = usable(isa);
  // Eight or fewer output channels would leave half of each 512-bit tile idle; the AVX2 layout
  // (which any AVX-512 CPU runs) was measured faster there.
  if (plan.isa == Isa::kAvx512Vnni && out_channels <= 8) plan.isa = Isa::kAvx2;
  plan.params = params;
  plan.input = input;
  plan.output = output;
  plan.kernel_h = kernel_h;
  plan.kernel_w = kernel_w;
  plan.in_channels = input.c;
  plan.n = out_channels;
  switch (plan.isa) {
    case Isa::kScalar: plan.tile_n = 1; plan.k_group = 1; break;
    case Isa::kAvx2: plan.tile_n = 8; plan.k_group = 2; break;
    case Isa::kAvx512Vnni: plan.tile_n = 16; plan.k_group = 4; break;
  }
  const int32_t kg = plan.k_group;
  const int32_t cin = input.c;
  const int32_t all_taps = kernel_h * kernel_w;
  plan.tiles = (out_channels + plan.tile_n - 1) / plan.tile_n;

  // Every pixel's channels are padded to the k group. That wastes multiply-adds only for very
  // few channels (at most 4x for one channel with VNNI); gathering all taps of a pixel into one
  // row (im2col) was measured slower even there, its per-tap copying costing more than the
  // extra multiply-adds.
  const int32_t cs = round_up(cin, kg);
  plan.channel_stride = cs;
  plan.taps = all_taps;
  plan.prep_h = (output.h - 1) * params.stride_h + (kernel_h - 1) * params.dilation_h + 1;
  plan.prep_w = (output.w - 1) * params.stride_w + (kernel_w - 1) * params.dilation_w + 1;
  plan.tap_offsets.clear();
  for (int32_t ky = 0; ky < kernel_h; ++ky)
    for (int32_t kx = 0; kx < kernel_w; ++kx)
      plan.tap_offsets.push_back((ky * params.dilation_h * plan.prep_w + kx * params.dilation_w) *
                                 cs);
  plan.prep_elements = size_t(plan.prep_h) * plan.prep_w * cs;
  plan.groups_per_tap = plan.channel_stride / kg;
  plan.group_offsets.clear();
  for (int32_t tap = 0; tap < plan.taps; ++tap)
    for (int32_t g = 0; g < plan.groups_per_tap; ++g)
      plan.group_offsets.push_back(plan.tap_offsets[size_t(tap)] + g * kg);
  const size_t groups = size_t(plan.taps) * plan.groups_per_tap;
  const size_t k_total = groups * kg;
  const size_t padded_n = size_t(plan.tiles) * plan.tile_n;

  std::vector<int32_t> dense(padded_n * k_total, 0);  // [n][k]
  std::vector<int64_t> weight_sum(padded_n, 0);
  for (int32_t o = 0; o < out_channels; ++o)
    for (int32_t tap = 0; tap < all_taps; ++tap)
      for (int32_t c = 0; c < cin; ++c) {
        const int8_t w = filter[(size_t(o) * all_taps + tap) * cin + c];
        dense[size_t(o) * k_total + size_t(tap) * cs + c] = w;
        weight_sum[o] += w;
      }
  const size_t tile_elems = size_t(plan.tile_n) * kg;
  auto packed_at = [&](size_t o, size_t k) {
    const size_t t = o / plan.tile_n, lane = o % plan.tile_n, g = k / kg, kk = k % kg;
    return (t * groups + g) * tile_elems + lane * kg + kk;
  };
  if (plan.isa == Isa::kAvx512Vnni) {
    plan.weights8.assign(padded_n * k_total, 0);
    for (size_t o = 0; o < padded_n; ++o)
      for (size_t k = 0; k < k_total; ++k)
        plan.weights8[packed_at(o, k)] = static_cast<int8_t>(dense[o * k_total + k]);
  } else {
    plan.weights16.assign(padded_n * k_total, 0);
    for (size_t o = 0; o < padded_n; ++o)
      for (size_t k = 0; k < k_total; ++k)
        plan.weights16[packed_at(o, k)] = static_cast<int16_t>(dense[o * k_total + k]);
  }

  plan.bias.assign(padded_n, 0);
  for (int32_t o = 0; o < out_channels; ++o) {
    // Accumulators wrap modulo 2^32 exactly like the reference's int32 sums, so the folded
    // correction is computed with the same wrap-around.
    uint32_t b = bias ? static_cast<uint32_t>(bias[o]) : 0u;
    if (plan.isa == Isa::kAvx512Vnni)
      b += static_cast<uint32_t>(int64_t{params.input_offset - 128} * weight_sum[o]);
    plan.bias[o] = static_cast<int32_t>(b);
  }
  fill_requant(plan.requant, padded_n, m, size_t(out_channels), per_channel);

  const size_t elem = plan.isa == Isa::kAvx512Vnni ? 1 : 2;
  plan.scratch_bytes = plan.prep_elements * elem + 64;
  plan.w8 = plan.weights8.data();
  plan.w16 = plan.weights16.data();
  plan.bias_data = plan.bias.data();
  plan.tap_offset_data = plan.tap_offsets.data();
  plan.group_offset_data = plan.group_offsets.data();
  plan.rq = plan.requant.view();
}

// Pixels whose channel count is not a multiple of the k group (the RGB stem): fixed counts
// let the compiler turn the per-pixel loops into straight-line code.
template <int C, int CS, typename T, typename Convert>
void copy_padded_pixels(const int8_t* src, T* out, int32_t count, T pad, Convert convert) {
  for (int32_t x = 0; x < count; ++x, src += C, out += CS) {
    for (int i = 0; i < C; ++i) out[i] = convert(src[i]);
    for (int i = C; i < CS; ++i) out[i] = pad;
  }
}

// Converts one image into the operand layout described in ConvPlan.
template <typename T, typename Convert>
void prepare_image(const ConvPlan& plan, const int8_t* input, T* prep, T pad, Convert convert) {
  const ConvParams& p = plan.params;
  const int32_t h = plan.input.h, w = plan.input.w, c = plan.in_channels;
  const int32_t cs = plan.channel_stride;
  const int32_t ph = plan.prep_h, pw = plan.prep_w;
  const int32_t x_begin = std::max(0, p.pad_w), x_end = std::min(pw, w + p.pad_w);
  for (int32_t py = 0; py < ph; ++py) {
    T* dst = prep + size_t(py) * pw * cs;
    const int32_t iy = py - p.pad_h;
    if (iy < 0 || iy >= h || x_begin >= x_end) {
      std::fill(dst, dst + size_t(pw) * cs, pad);
      continue;
    }
    std::fill(dst, dst + size_t(x_begin) * cs, pad);
    const int8_t* src = input + (size_t(iy) * w + (x_begin - p.pad_w)) * c;
    T* out = dst + size_t(x_begin) * cs;
    const int32_t count = x_end - x_begin;
    if (cs == c) {
      const size_t n = size_t(count) * c;
      for (size_t i = 0; i < n; ++i) out[i] = convert(src[i]);
    } else if (c == 3 && cs == 4) {
      copy_padded_pixels<3, 4>(src, out, count, pad, convert);
    } else if (c == 1 && cs == 2) {
      copy_padded_pixels<1, 2>(src, out, count, pad, convert);
    } else {
      for (int32_t x = 0; x < count; ++x, src += c, out += cs) {
        for (int32_t i = 0; i < c; ++i) out[i] = convert(src[i]);
        for (int32_t i = c; i < cs; ++i) out[i] = pad;
      }
    }
    std::fill(dst + size_t(x_end) * cs, dst + size_t(pw) * cs, pad);
  }
}

void* align64(void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<void*>((v + 63) & ~uintptr_t{63});
}

void run_conv_plan(const ConvPlan& plan, const int8_t* input, int8_t* output, void* scratch) {
  const size_t in_image = size_t(plan.input.h) * plan.input.w * plan.input.c;
  const size_t out_image = size_t(plan.output.h) * plan.output.w * plan.n;
  void* prep = align64(scratch);
  const int32_t off = plan.params.input_offset;
  for (int32_t b = 0; b < plan.input.n; ++b) {
    const int8_t* in = input + b * in_image;
    int8_t* out = output + b * out_image;
    switch (plan.isa) {
      case Isa::kAvx512Vnni:
        prepare_image(plan, in, static_cast<uint8_t*>(prep), static_cast<uint8_t>(128 - off),
                      [](int8_t x) { return static_cast<uint8_t>(x ^ 0x80); });
        detail::avx512::conv_gemm(plan, prep, out);
        break;
      case Isa::kAvx2:
        prepare_image(plan, in, static_cast<int16_t*>(prep), int16_t{0},
                      [off](int8_t x) { return static_cast<int16_t>(x + off); });
        detail::avx2::conv_gemm(plan, prep, out);
        break;
      case Isa::kScalar:
        prepare_image(plan, in, static_cast<int16_t*>(prep), int16_t{0},
                      [off](int8_t x) { return static_cast<int16_t>(x + off); });
        detail::scalar::conv_gemm(plan, prep, out);
        break;
    }
  }
}

}  // namespace

Isa best_isa() {
  static const Isa best = detect_best_isa();
  return best;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512Vnni})
    if (cpu_runs(isa)) isas.push_back(isa);
  return isas;
}

// ---------------------------------------------------------------------------------- Conv2D

struct Conv2D::Impl {
  ConvPlan plan;
  // Grouped convolutions (filter channels < input channels) are rare; they keep their
  // arguments and run the reference loop.
  bool grouped = false;
  Dims4 input{}, filter_dims{};
  std::vector<int8_t> filter;
  std::vector<int32_t> bias;
  std::vector<QuantizedMultiplier> multiplier;
};

Conv2D::Conv2D(const ConvParams& params, const QuantizedMultiplier* multiplier,
               const Dims4& input_dims, const Dims4& filter_dims, const int8_t* filter,
               const int32_t* bias, const Dims4& output_dims, Isa isa)
    : impl_(std::make_unique<Impl>()) {
  if (filter_dims.c != input_dims.c) {
    Impl& impl = *impl_;
    impl.grouped = true;
    impl.plan.params = params;
    impl.plan.output = output_dims;
    impl.input = input_dims;
    impl.filter_dims = filter_dims;
    impl.filter.assign(filter, filter + filter_dims.elements());
    if (bias) impl.bias.assign(bias, bias + output_dims.c);
    impl.multiplier.assign(multiplier, multiplier + output_dims.c);
    return;
  }
  build_conv_plan(impl_->plan, params, multiplier, true, input_dims, filter_dims.h, filter_dims.w,
                  filter_dims.n, filter, bias, output_dims, isa);
}
Conv2D::~Conv2D() = default;
Conv2D::Conv2D(Conv2D&&) noexcept = default;
Conv2D& Conv2D::operator=(Conv2D&&) noexcept = default;
size_t Conv2D::scratch_bytes() const { return impl_->plan.scratch_bytes; }
void Conv2D::run(const int8_t* input, int8_t* output, void* scratch) const {
  const Impl& impl = *impl_;
  if (impl.grouped) {
    reference::conv2d(impl.plan.params, impl.multiplier.data(), impl.input, input,
                      impl.filter_dims, impl.filter.data(),
                      impl.bias.empty() ? nullptr : impl.bias.data(), impl.plan.output, output);
    return;
  }
  run_conv_plan(impl.plan, input, output, scratch);
}

// -------------------------------------------------------------------------- FullyConnected

struct FullyConnected::Impl {
  ConvPlan plan;
};

FullyConnected::FullyConnected(const FullyConnectedParams& params,
                               const QuantizedMultiplier* multiplier, int32_t batches,
                               int32_t depth, int32_t out_depth, const int8_t* weights,
                               const int32_t* bias, Isa isa)
    : impl_(std::make_unique<Impl>()) {
  // A fully connected layer is a 1x1 convolution over a 1 x batches image.
  ConvParams conv{};
  conv.input_offset = params.input_offset;
  conv.output_offset = params.output_offset;
  conv.stride_h = conv.stride_w = 1;
  conv.dilation_h = conv.dilation_w = 1;
  conv.depth_multiplier = 1;
  conv.act_min = params.act_min;
  conv.act_max = params.act_max;
  build_conv_plan(impl_->plan, conv, multiplier, true, Dims4{1, 1, batches, depth}, 1, 1,
                  out_depth, weights, bias, Dims4{1, 1, batches, out_depth}, isa);
}
FullyConnected::~FullyConnected() = default;
FullyConnected::FullyConnected(FullyConnected&&) noexcept = default;
FullyConnected& FullyConnected::operator=(FullyConnected&&) noexcept = default;
size_t FullyConnected::scratch_bytes() const { return impl_->plan.scratch_bytes; }
void FullyConnected::run(const int8_t* input, int8_t* output, void* scratch) const {
  run_conv_plan(impl_->plan, input, output, scratch);
}

// ------------------------------------------------------------------------- DepthwiseConv2D

struct DepthwiseConv2D::Impl {
  DepthwisePlan plan;
};

DepthwiseConv2D::DepthwiseConv2D(const ConvParams& params, const QuantizedMultiplier* multiplier,
                                 const Dims4& input_dims, const Dims4& filter_dims,
                                 const int8_t* filter, const int32_t* bias,
                                 const Dims4& output_dims, Isa isa)
    : impl_(std::make_unique<Impl>()) {
  DepthwisePlan& plan = impl_->plan;
  plan.isa = usable(isa);
  plan.params = params;
  plan.input = input_dims;
  plan.filter = filter_dims;
  plan.output = output_dims;
  const int32_t channels = output_dims.c;
  const int32_t taps = filter_dims.h * filter_dims.w;
  plan.filter_copy.assign(filter, filter + size_t(taps) * channels);
  plan.padded_channels = round_up(channels, 16);
  const size_t pc = size_t(plan.padded_channels);
  plan.weights32.assign(size_t(taps) * pc, 0);
  for (int32_t t = 0; t < taps; ++t)
    for (int32_t c = 0; c < channels; ++c)
      plan.weights32[t * pc + c] = static_cast<uint16_t>(filter[size_t(t) * channels + c]);
  plan.bias.assign(pc, 0);
  if (bias) std::copy(bias, bias + channels, plan.bias.begin());
  fill_requant(plan.requant, pc, multiplier, size_t(channels), true);
  plan.vector_path = params.depth_multiplier == 1 && plan.isa != Isa::kScalar;
  if (plan.vector_path) {
    plan.prep_h = (output_dims.h - 1) * params.stride_h + (filter_dims.h - 1) * params.dilation_h + 1;
    plan.prep_w = (output_dims.w - 1) * params.stride_w + (filter_dims.w - 1) * params.dilation_w + 1;
    // 16 bytes of slack: the AVX2 path loads 8 channels at a time.
    plan.scratch_bytes = size_t(plan.prep_h) * plan.prep_w * channels + 16;
  }
  plan.filter_data = plan.filter_copy.data();
  plan.w32 = plan.weights32.data();
  plan.bias_data = plan.bias.data();
  plan.rq = plan.requant.view();
}
DepthwiseConv2D::~DepthwiseConv2D() = default;
DepthwiseConv2D::DepthwiseConv2D(DepthwiseConv2D&&) noexcept = default;
DepthwiseConv2D& DepthwiseConv2D::operator=(DepthwiseConv2D&&) noexcept = default;
size_t DepthwiseConv2D::scratch_bytes() const { return impl_->plan.scratch_bytes; }
void DepthwiseConv2D::run(const int8_t* input, int8_t* output, void* scratch) const {
  const DepthwisePlan& plan = impl_->plan;
  // The vector paths handle the common depth multiplier 1; others are rare enough for the
  // portable loop.
  if (!plan.vector_path) {
    detail::scalar::depthwise(plan, input, output);
    return;
  }
  const ConvParams& p = plan.params;
  const Dims4& in = plan.input;
  const int32_t c = in.c;
  auto* padded = static_cast<int8_t*>(scratch);
  const auto pad = static_cast<int8_t>(-p.input_offset);
  const size_t out_image = size_t(plan.output.h) * plan.output.w * plan.output.c;
  const int32_t x_begin = std::max(0, p.pad_w), x_end = std::min(plan.prep_w, in.w + p.pad_w);
  for (int32_t b = 0; b < in.n; ++b) {
    const int8_t* image = input + size_t(b) * in.h * in.w * c;
    for (int32_t py = 0; py < plan.prep_h; ++py) {
      int8_t* dst = padded + size_t(py) * plan.prep_w * c;
      const int32_t iy = py - p.pad_h;
      if (iy < 0 || iy >= in.h || x_begin >= x_end) {
        std::memset(dst, pad, size_t(plan.prep_w) * c);
        continue;
      }
      std::memset(dst, pad, size_t(x_begin) * c);
      std::memcpy(dst + size_t(x_begin) * c, image + (size_t(iy) * in.w + (x_begin - p.pad_w)) * c,
                  size_t(x_end - x_begin) * c);
      std::memset(dst + size_t(x_end) * c, pad, size_t(plan.prep_w - x_end) * c);
    }
    // With 8 or fewer channels half of every 512-bit vector would idle; the 256-bit code (which
    // any AVX-512 CPU runs) is faster there.
    if (plan.isa == Isa::kAvx512Vnni && c > 8)
      detail::avx512::depthwise(plan, padded, output + b * out_image);
    else
      detail::avx2::depthwise(plan, padded, output + b * out_image);
  }
}

// ------------------------------------------------------------------------------------- ADD

void add(const AddParams& params, const Dims4& d1, const int8_t* input1, const Dims4& d2,
         const int8_t* input2, const Dims4& out, int8_t* output, Isa isa) {
  isa = usable(isa);
  const bool same = d1.n == out.n && d1.h == out.h && d1.w == out.w && d1.c == out.c &&
                    d2.n == out.n && d2.h == out.h && d2.w == out.w && d2.c == out.c;
  if (same) {
    switch (isa) {
      case Isa::kAvx512Vnni:
        detail::avx512::add_same_shape(params, out.elements(), input1, input2, output);
        return;
      case Isa::kAvx2:
        detail::avx2::add_same_shape(params, out.elements(), input1, input2, output);
        return;
      case Isa::kScalar:
        detail::scalar::add_same_shape(params, out.elements(), input1, input2, output);
        return;
    }
  }
  // Broadcasting is rare in the target models (none of them broadcasts an ADD).
  reference::add(params, d1, input1, d2, input2, out, output);
}

// --------------------------------------------------------------------------------- Pooling

namespace {

template <typename Reduce>
void pool(const PoolParams& p, const Dims4& in, const Dims4& out, int8_t* output, Reduce reduce) {
  for (int32_t b = 0; b < out.n; ++b)
    for (int32_t oy = 0; oy < out.h; ++oy)
      for (int32_t ox = 0; ox < out.w; ++ox) {
        const int32_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
        const int32_t fy_begin = std::max(0, -y0), fy_end = std::min(p.filter_h, in.h - y0);
        const int32_t fx_begin = std::max(0, -x0), fx_end = std::min(p.filter_w, in.w - x0);
        reduce(b, y0, x0, fy_begin, fy_end, fx_begin, fx_end,
               output + ((size_t(b) * out.h + oy) * out.w + ox) * out.c);
      }
}

}  // namespace

void average_pool(const PoolParams& p, const Dims4& in, const int8_t* input, const Dims4& out,
                  int8_t* output, Isa) {
  std::vector<int32_t> sum(size_t(in.c));
  pool(p, in, out, output,
       [&](int32_t b, int32_t y0, int32_t x0, int32_t fyb, int32_t fye, int32_t fxb, int32_t fxe,
           int8_t* dst) {
         std::fill(sum.begin(), sum.end(), 0);
         for (int32_t fy = fyb; fy < fye; ++fy)
           for (int32_t fx = fxb; fx < fxe; ++fx) {
             const int8_t* src = input + ((size_t(b) * in.h + y0 + fy) * in.w + x0 + fx) * in.c;
             for (int32_t c = 0; c < in.c; ++c) sum[c] += src[c];
           }
         const int32_t count = (fye - fyb) * (fxe - fxb);
         for (int32_t c = 0; c < in.c; ++c) {
           // Rounds half away from zero (C++ division truncates).
           const int32_t s = sum[c];
           const int32_t avg = count == 0 ? 0
                               : s > 0   ? (s + count / 2) / count
                                         : (s - count / 2) / count;
           dst[c] = clamp_to_int8(avg, p.act_min, p.act_max);
         }
       });
}

void max_pool(const PoolParams& p, const Dims4& in, const int8_t* input, const Dims4& out,
              int8_t* output, Isa) {
  std::vector<int32_t> best(size_t(in.c));
  pool(p, in, out, output,
       [&](int32_t b, int32_t y0, int32_t x0, int32_t fyb, int32_t fye, int32_t fxb, int32_t fxe,
           int8_t* dst) {
         std::fill(best.begin(), best.end(), -128);
         for (int32_t fy = fyb; fy < fye; ++fy)
           for (int32_t fx = fxb; fx < fxe; ++fx) {
             const int8_t* src = input + ((size_t(b) * in.h + y0 + fy) * in.w + x0 + fx) * in.c;
             for (int32_t c = 0; c < in.c; ++c) best[c] = std::max<int32_t>(best[c], src[c]);
           }
         for (int32_t c = 0; c < in.c; ++c)
           dst[c] = clamp_to_int8(best[c], p.act_min, p.act_max);
       });
}

}  // namespace frugal::kernels::host
