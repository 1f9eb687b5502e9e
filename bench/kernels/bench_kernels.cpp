// Reference vs fast host kernels on the layer shapes of the MLPerf Tiny models, and a whole
// ResNet-8 forward pass (random weights, realistic per-channel scales) per ISA.
//
// Names: <layer>/<impl>, impl = reference | scalar | avx2 | avx512vnni. Counter MACs/s.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/host/host.h"
#include "kernels/reference/reference.h"

namespace {

using namespace frugal::kernels;
using host::Isa;

// Local generator: benchmark threads build their buffers concurrently.
std::vector<int8_t> random_int8(int64_t n) {
  std::mt19937 rng(static_cast<uint32_t>(n) * 2654435761u + 12345u);
  std::uniform_int_distribution<int32_t> d(-128, 127);
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

struct ConvShape {
  const char* name;
  int32_t h, w, in_c, out_c, k_h, k_w, stride;
  bool depthwise;
};

int32_t same_out(int32_t in, int32_t stride) { return (in + stride - 1) / stride; }
int32_t same_pad(int32_t in, int32_t k, int32_t stride) {
  const int32_t out = same_out(in, stride);
  const int32_t total = std::max((out - 1) * stride + k - in, 0);
  return total / 2;
}

// Everything one convolution needs, built once per benchmark.
struct ConvLayer {
  ConvParams params{};
  Dims4 in{}, filter{}, out{};
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  std::vector<QuantizedMultiplier> mult;
  int64_t macs = 0;

  explicit ConvLayer(const ConvShape& s) {
    const int32_t oh = same_out(s.h, s.stride), ow = same_out(s.w, s.stride);
    params.stride_h = params.stride_w = s.stride;
    params.dilation_h = params.dilation_w = 1;
    params.pad_h = same_pad(s.h, s.k_h, s.stride);
    params.pad_w = same_pad(s.w, s.k_w, s.stride);
    params.depth_multiplier = 1;
    params.input_offset = 128;  // typical post-ReLU zero point of -128
    params.output_offset = -128;
    params.act_min = -128;
    params.act_max = 127;
    in = {1, s.h, s.w, s.in_c};
    out = {1, oh, ow, s.out_c};
    filter = s.depthwise ? Dims4{1, s.k_h, s.k_w, s.out_c} : Dims4{s.out_c, s.k_h, s.k_w, s.in_c};
    weights = random_int8(filter.elements());
    bias.assign(size_t(s.out_c), 1000);
    const int64_t k = int64_t{s.k_h} * s.k_w * (s.depthwise ? 1 : s.in_c);
    const int32_t shift = -static_cast<int32_t>(std::lround(std::log2(5000.0 * std::sqrt(double(k)) / 64)));
    mult.assign(size_t(s.out_c), QuantizedMultiplier{1518500250, shift});
    macs = int64_t{oh} * ow * s.out_c * k;
  }
};

const ConvShape kResNet8[] = {
    {"resnet8/conv_3x3_3to16_32x32", 32, 32, 3, 16, 3, 3, 1, false},
    {"resnet8/conv_3x3_16to16_32x32", 32, 32, 16, 16, 3, 3, 1, false},
    {"resnet8/conv_3x3_s2_16to32_32x32", 32, 32, 16, 32, 3, 3, 2, false},
    {"resnet8/conv_3x3_32to32_16x16", 16, 16, 32, 32, 3, 3, 1, false},
    {"resnet8/conv_1x1_s2_16to32_32x32", 32, 32, 16, 32, 1, 1, 2, false},
    {"resnet8/conv_3x3_s2_32to64_16x16", 16, 16, 32, 64, 3, 3, 2, false},
    {"resnet8/conv_3x3_64to64_8x8", 8, 8, 64, 64, 3, 3, 1, false},
    {"resnet8/conv_1x1_s2_32to64_16x16", 16, 16, 32, 64, 1, 1, 2, false},
};
const ConvShape kDsCnn[] = {
    {"dscnn/conv_10x4_s2_1to64_49x10", 49, 10, 1, 64, 10, 4, 2, false},
    {"dscnn/dw_3x3_64_25x5", 25, 5, 64, 64, 3, 3, 1, true},
    {"dscnn/pw_1x1_64to64_25x5", 25, 5, 64, 64, 1, 1, 1, false},
};
const ConvShape kVww[] = {
    {"vww/conv_3x3_s2_3to8_96x96", 96, 96, 3, 8, 3, 3, 2, false},
    {"vww/dw_3x3_8_48x48", 48, 48, 8, 8, 3, 3, 1, true},
    {"vww/pw_1x1_8to16_48x48", 48, 48, 8, 16, 1, 1, 1, false},
    {"vww/dw_3x3_s2_16_48x48", 48, 48, 16, 16, 3, 3, 2, true},
    {"vww/pw_1x1_64to128_12x12", 12, 12, 64, 128, 1, 1, 1, false},
};

void bench_conv(benchmark::State& state, ConvShape shape, int impl) {
  ConvLayer layer(shape);
  const auto input = random_int8(layer.in.elements());
  std::vector<int8_t> output(size_t(layer.out.elements()));
  if (impl < 0) {
    for (auto _ : state) {
      if (shape.depthwise)
        reference::depthwise_conv2d(layer.params, layer.mult.data(), layer.in, input.data(),
                                    layer.filter, layer.weights.data(), layer.bias.data(),
                                    layer.out, output.data());
      else
        reference::conv2d(layer.params, layer.mult.data(), layer.in, input.data(), layer.filter,
                          layer.weights.data(), layer.bias.data(), layer.out, output.data());
      benchmark::DoNotOptimize(output.data());
    }
  } else if (shape.depthwise) {
    host::DepthwiseConv2D op(layer.params, layer.mult.data(), layer.in, layer.filter,
                             layer.weights.data(), layer.bias.data(), layer.out, Isa(impl));
    std::vector<uint8_t> scratch(op.scratch_bytes());
    for (auto _ : state) {
      op.run(input.data(), output.data(), scratch.data());
      benchmark::DoNotOptimize(output.data());
    }
  } else {
    host::Conv2D op(layer.params, layer.mult.data(), layer.in, layer.filter, layer.weights.data(),
                    layer.bias.data(), layer.out, Isa(impl));
    std::vector<uint8_t> scratch(op.scratch_bytes());
    for (auto _ : state) {
      op.run(input.data(), output.data(), scratch.data());
      benchmark::DoNotOptimize(output.data());
    }
  }
  state.counters["MACs/s"] =
      benchmark::Counter(double(layer.macs), benchmark::Counter::kIsIterationInvariantRate);
}

void bench_fc(benchmark::State& state, int32_t depth, int32_t out_depth, int impl) {
  FullyConnectedParams p{128, -128, -128, 127};
  const auto input = random_int8(depth);
  const auto weights = random_int8(int64_t{depth} * out_depth);
  std::vector<int32_t> bias(size_t(out_depth), 100);
  std::vector<QuantizedMultiplier> mult(size_t(out_depth), QuantizedMultiplier{1518500250, -10});
  std::vector<int8_t> output(static_cast<size_t>(out_depth));
  if (impl < 0) {
    for (auto _ : state) {
      reference::fully_connected(p, mult.data(), 1, depth, input.data(), out_depth,
                                 weights.data(), bias.data(), output.data());
      benchmark::DoNotOptimize(output.data());
    }
  } else {
    host::FullyConnected op(p, mult.data(), 1, depth, out_depth, weights.data(), bias.data(),
                            Isa(impl));
    std::vector<uint8_t> scratch(op.scratch_bytes());
    for (auto _ : state) {
      op.run(input.data(), output.data(), scratch.data());
      benchmark::DoNotOptimize(output.data());
    }
  }
  state.counters["MACs/s"] = benchmark::Counter(double(depth) * out_depth,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

AddParams resnet_add_params() {
  AddParams p{};
  p.input1_offset = 128;
  p.input2_offset = 20;
  p.output_offset = -128;
  p.left_shift = 20;
  p.input1 = {1518500250, -1};
  p.input2 = {1300000000, 0};
  p.output = {1600000000, -19};
  p.act_min = -128;
  p.act_max = 127;
  return p;
}

void bench_add(benchmark::State& state, Dims4 d, int impl) {
  const AddParams p = resnet_add_params();
  const auto a = random_int8(d.elements()), b = random_int8(d.elements());
  std::vector<int8_t> out(size_t(d.elements()));
  for (auto _ : state) {
    if (impl < 0)
      reference::add(p, d, a.data(), d, b.data(), d, out.data());
    else
      host::add(p, d, a.data(), d, b.data(), d, out.data(), Isa(impl));
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["elements/s"] =
      benchmark::Counter(double(d.elements()), benchmark::Counter::kIsIterationInvariantRate);
}

void bench_avg_pool(benchmark::State& state, int impl) {
  const PoolParams pool{8, 8, 8, 8, 0, 0, -128, 127};
  const Dims4 in{1, 8, 8, 64}, out{1, 1, 1, 64};
  const auto input = random_int8(in.elements());
  std::vector<int8_t> output(64);
  for (auto _ : state) {
    if (impl < 0)
      reference::average_pool(pool, in, input.data(), out, output.data());
    else
      host::average_pool(pool, in, input.data(), out, output.data(), Isa(impl));
    benchmark::DoNotOptimize(output.data());
  }
}

void bench_softmax_reference(benchmark::State& state) {
  const auto input = random_int8(10);
  std::vector<int8_t> output(10);
  for (auto _ : state) {
    reference::softmax(SoftmaxParams{1518500250, 22, -3200}, 1, 10, input.data(), output.data());
    benchmark::DoNotOptimize(output.data());
  }
}

// The whole ResNet-8: conv stem, three residual stages, average pool, FC, softmax.
class ResNet8 {
 public:
  explicit ResNet8(int impl) : impl_(impl) {
    for (const ConvShape& s : kResNet8) layers_.emplace_back(s);
    if (impl_ >= 0)
      for (auto& l : layers_) {
        ops_.push_back(std::make_unique<host::Conv2D>(l.params, l.mult.data(), l.in, l.filter,
                                                      l.weights.data(), l.bias.data(), l.out,
                                                      Isa(impl_)));
        scratch_bytes_ = std::max(scratch_bytes_, ops_.back()->scratch_bytes());
      }
    fc_weights_ = random_int8(64 * 10);
    fc_bias_.assign(10, 0);
    fc_mult_.assign(10, QuantizedMultiplier{1518500250, -8});
    if (impl_ >= 0) {
      fc_ = std::make_unique<host::FullyConnected>(FullyConnectedParams{128, 0, -128, 127},
                                                   fc_mult_.data(), 1, 64, 10, fc_weights_.data(),
                                                   fc_bias_.data(), Isa(impl_));
      scratch_bytes_ = std::max(scratch_bytes_, fc_->scratch_bytes());
    }
  }
  size_t scratch_bytes() const { return scratch_bytes_; }
  int64_t macs() const {
    int64_t m = 64 * 10;
    for (const auto& l : layers_) m += l.macs;
    return m + layers_[1].macs;  // the 16->16 conv appears twice
  }

  // Buffers: one per activation, owned by the caller so each thread has its own.
  struct Buffers {
    std::vector<int8_t> input, a, b, c, d, pooled, logits, probs;
    std::vector<uint8_t> scratch;
  };
  Buffers make_buffers() const {
    Buffers buf;
    buf.input = random_int8(32 * 32 * 3);
    buf.a.resize(32 * 32 * 16);
    buf.b.resize(32 * 32 * 16);
    buf.c.resize(32 * 32 * 16);
    buf.d.resize(32 * 32 * 16);
    buf.pooled.resize(64);
    buf.logits.resize(10);
    buf.probs.resize(10);
    buf.scratch.resize(scratch_bytes_ + 64);
    return buf;
  }

  void run(Buffers& buf) const {
    const AddParams add_params = resnet_add_params();
    conv(0, buf.input.data(), buf.a.data(), buf);          // stem -> a (32x32x16)
    conv(1, buf.a.data(), buf.b.data(), buf);              // -> b
    conv(1, buf.b.data(), buf.c.data(), buf);              // -> c
    add(add_params, {1, 32, 32, 16}, buf.a.data(), buf.c.data(), buf.d.data());  // d
    conv(2, buf.d.data(), buf.a.data(), buf);              // 16x16x32
    conv(3, buf.a.data(), buf.b.data(), buf);
    conv(4, buf.d.data(), buf.c.data(), buf);              // shortcut
    add(add_params, {1, 16, 16, 32}, buf.b.data(), buf.c.data(), buf.a.data());
    conv(5, buf.a.data(), buf.b.data(), buf);              // 8x8x64
    conv(6, buf.b.data(), buf.c.data(), buf);
    conv(7, buf.a.data(), buf.d.data(), buf);              // shortcut
    add(add_params, {1, 8, 8, 64}, buf.c.data(), buf.d.data(), buf.b.data());
    PoolParams pool{8, 8, 8, 8, 0, 0, -128, 127};
    const Dims4 pin{1, 8, 8, 64}, pout{1, 1, 1, 64};
    if (impl_ < 0) {
      reference::average_pool(pool, pin, buf.b.data(), pout, buf.pooled.data());
      reference::fully_connected(FullyConnectedParams{128, 0, -128, 127}, fc_mult_.data(), 1, 64,
                                 buf.pooled.data(), 10, fc_weights_.data(), fc_bias_.data(),
                                 buf.logits.data());
    } else {
      host::average_pool(pool, pin, buf.b.data(), pout, buf.pooled.data(), Isa(impl_));
      fc_->run(buf.pooled.data(), buf.logits.data(), buf.scratch.data());
    }
    reference::softmax(SoftmaxParams{1518500250, 22, -3200}, 1, 10, buf.logits.data(),
                       buf.probs.data());
  }

 private:
  void conv(size_t i, const int8_t* in, int8_t* out, Buffers& buf) const {
    const ConvLayer& l = layers_[i];
    if (impl_ < 0)
      reference::conv2d(l.params, l.mult.data(), l.in, in, l.filter, l.weights.data(),
                        l.bias.data(), l.out, out);
    else
      ops_[i]->run(in, out, buf.scratch.data());
  }
  void add(const AddParams& p, Dims4 d, const int8_t* a, const int8_t* b, int8_t* out) const {
    if (impl_ < 0)
      reference::add(p, d, a, d, b, d, out);
    else
      host::add(p, d, a, d, b, d, out, Isa(impl_));
  }

  int impl_;
  std::vector<ConvLayer> layers_;
  std::vector<std::unique_ptr<host::Conv2D>> ops_;
  std::unique_ptr<host::FullyConnected> fc_;
  std::vector<int8_t> fc_weights_;
  std::vector<int32_t> fc_bias_;
  std::vector<QuantizedMultiplier> fc_mult_;
  size_t scratch_bytes_ = 0;
};

std::unique_ptr<ResNet8> g_resnet[4];

void bench_resnet8(benchmark::State& state, int impl) {
  const ResNet8& net = *g_resnet[impl + 1];
  ResNet8::Buffers buf = net.make_buffers();
  for (auto _ : state) {
    net.run(buf);
    benchmark::DoNotOptimize(buf.probs.data());
  }
  state.counters["images/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["MACs/s"] =
      benchmark::Counter(double(net.macs()), benchmark::Counter::kIsIterationInvariantRate);
}

std::string impl_name(int impl) {
  return impl < 0 ? "reference" : std::string(host::to_string(Isa(impl)));
}

void register_all() {
  std::vector<int> impls = {-1};
  for (Isa isa : host::supported_isas()) impls.push_back(int(isa));
  auto conv_group = [&](const auto& shapes) {
    for (const ConvShape& s : shapes)
      for (int impl : impls)
        benchmark::RegisterBenchmark((std::string(s.name) + "/" + impl_name(impl)).c_str(),
                                     bench_conv, s, impl);
  };
  conv_group(kResNet8);
  conv_group(kDsCnn);
  conv_group(kVww);
  for (int impl : impls) {
    benchmark::RegisterBenchmark(("fc/256to10/" + impl_name(impl)).c_str(), bench_fc, 256, 10,
                                 impl);
    benchmark::RegisterBenchmark(("fc/1024to64/" + impl_name(impl)).c_str(), bench_fc, 1024, 64,
                                 impl);
    benchmark::RegisterBenchmark(("add/32x32x16/" + impl_name(impl)).c_str(), bench_add,
                                 Dims4{1, 32, 32, 16}, impl);
    benchmark::RegisterBenchmark(("avg_pool/8x8x64/" + impl_name(impl)).c_str(), bench_avg_pool,
                                 impl);
  }
  benchmark::RegisterBenchmark("softmax/10/reference", bench_softmax_reference);
  for (int impl : impls) {
    g_resnet[impl + 1] = std::make_unique<ResNet8>(impl);
    benchmark::RegisterBenchmark(("resnet8_whole/" + impl_name(impl)).c_str(), bench_resnet8,
                                 impl);
    // Threads across images: each thread runs its own image with its own buffers.
    benchmark::RegisterBenchmark(("resnet8_whole_2threads/" + impl_name(impl)).c_str(),
                                 bench_resnet8, impl)
        ->Threads(2)
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
