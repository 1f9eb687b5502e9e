#include "approx/significance.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "approx/json_numbers.h"
#include "runtime/lowering.h"

namespace frugal::approx {

using ir::Error;

namespace {

bool is_conv_like(ir::OpType type) {
  return type == ir::OpType::kConv2D || type == ir::OpType::kDepthwiseConv2D ||
         type == ir::OpType::kFullyConnected;
}

float scale_of(const ir::Tensor& t) { return t.quant.empty() ? 1.0f : t.quant.scale[0]; }

// Everything one layer's statistics need, taken from the graph once.
struct LayerPlan {
  int32_t op_index = 0;
  ir::OpType type = ir::OpType::kConv2D;
  int32_t input_tensor = -1;
  int32_t input_offset = 0;
  // conv / depthwise geometry (FC: batches in out_h, 1 elsewhere)
  int32_t batches = 1, in_h = 1, in_w = 1, in_c = 1;
  int32_t out_h = 1, out_w = 1;
  int32_t filter_h = 1, filter_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int32_t pad_top = 0, pad_left = 0, depth_multiplier = 1;
  int32_t channels = 0, operands = 0;  // operands per channel
  std::vector<int16_t> weights;        // [channel][operand], whatever the graph's layout
  std::vector<int32_t> bias;           // per channel (0 without a bias tensor)
  std::vector<double> multiplier;      // input_scale * weight_scale / output_scale per channel

  bool depthwise() const { return type == ir::OpType::kDepthwiseConv2D; }
  int64_t pixels_per_image() const { return static_cast<int64_t>(batches) * out_h * out_w; }
  // Conv and FC share one input vector per output pixel across channels; depthwise has one per
  // channel.
  size_t input_stat_size() const {
    return depthwise() ? static_cast<size_t>(channels) * static_cast<size_t>(operands)
                       : static_cast<size_t>(operands);
  }
};

LayerPlan plan_layer(const ir::Graph& graph, int32_t op_index) {
  const ir::Op& op = graph.ops.at(static_cast<size_t>(op_index));
  const ir::Tensor& input = graph.tensor(op.inputs.at(0));
  const ir::Tensor& weights = graph.tensor(op.inputs.at(1));
  const ir::Tensor* bias = graph.input(op, 2);
  const ir::Tensor& output = graph.output(op);
  if (input.type != ir::DataType::kInt8 || weights.type != ir::DataType::kInt8) {
    throw Error(fmt::format("op {} '{}': significance analysis needs int8 input and weights", op_index, op.name));
  }
  LayerPlan p;
  p.op_index = op_index;
  p.type = op.type;
  p.input_tensor = op.inputs[0];
  p.input_offset = input.quant.empty() ? 0 : -static_cast<int32_t>(input.quant.zero_point[0]);
  const int8_t* w = weights.data_as<int8_t>();
  if (op.type == ir::OpType::kFullyConnected) {
    p.channels = weights.shape.at(0);
    p.operands = weights.shape.at(1);
    p.batches = static_cast<int32_t>(input.num_elements() / p.operands);
    p.weights.assign(w, w + static_cast<size_t>(p.channels) * static_cast<size_t>(p.operands));
  } else {
    const runtime::Dims4 in = runtime::dims4(input.shape);
    const runtime::Dims4 out = runtime::dims4(output.shape);
    const runtime::Dims4 f = runtime::dims4(weights.shape);
    const ir::OpAttributes& a = op.attrs;
    const ir::WindowGeometry g = ir::window_geometry(a.padding, in.h, in.w, f.h, f.w, a.stride_h, a.stride_w,
                                                     a.dilation_h, a.dilation_w);
    p.batches = in.n;
    p.in_h = in.h;
    p.in_w = in.w;
    p.in_c = in.c;
    p.out_h = out.h;
    p.out_w = out.w;
    p.filter_h = f.h;
    p.filter_w = f.w;
    p.stride_h = a.stride_h;
    p.stride_w = a.stride_w;
    p.dilation_h = a.dilation_h;
    p.dilation_w = a.dilation_w;
    p.pad_top = g.pad_top;
    p.pad_left = g.pad_left;
    p.channels = out.c;
    if (p.depthwise()) {
      p.depth_multiplier = out.c / in.c;
      p.operands = f.h * f.w;
      // [1, KH, KW, C] -> [C][KH * KW]
      p.weights.resize(static_cast<size_t>(p.channels) * static_cast<size_t>(p.operands));
      for (int32_t c = 0; c < p.channels; ++c) {
        for (int32_t k = 0; k < p.operands; ++k) {
          p.weights[static_cast<size_t>(c * p.operands + k)] = w[static_cast<size_t>(k * p.channels + c)];
        }
      }
    } else {
      p.operands = f.h * f.w * f.c;
      p.weights.assign(w, w + static_cast<size_t>(p.channels) * static_cast<size_t>(p.operands));
    }
  }
  p.bias.assign(static_cast<size_t>(p.channels), 0);
  if (bias != nullptr) std::memcpy(p.bias.data(), bias->data.data(), p.bias.size() * sizeof(int32_t));
  p.multiplier.resize(static_cast<size_t>(p.channels));
  for (int32_t c = 0; c < p.channels; ++c) {
    const float ws = weights.quant.scale.size() > 1 ? weights.quant.scale.at(static_cast<size_t>(c))
                                                    : weights.quant.scale.at(0);
    p.multiplier[static_cast<size_t>(c)] =
        static_cast<double>(scale_of(input)) * static_cast<double>(ws) / static_cast<double>(scale_of(output));
  }
  return p;
}

// Sums of one thread over its images. Sums of x and x^2 (x = input + offset) are exact integers;
// the weight factors out of every moment, w^k * sum x^k, except in the ratio.
struct LayerSums {
  std::vector<int64_t> sum_x, sum_x2;  // LayerPlan::input_stat_size()
  std::vector<double> ratio;           // sum |x| / |acc| per [channel][operand]
  std::vector<int64_t> nonzero;        // outputs with acc != 0, per channel

  explicit LayerSums(const LayerPlan& p)
      : sum_x(p.input_stat_size(), 0),
        sum_x2(p.input_stat_size(), 0),
        ratio(static_cast<size_t>(p.channels) * static_cast<size_t>(p.operands), 0.0),
        nonzero(static_cast<size_t>(p.channels), 0) {}

  void add(const LayerSums& o) {
    for (size_t i = 0; i < sum_x.size(); ++i) sum_x[i] += o.sum_x[i];
    for (size_t i = 0; i < sum_x2.size(); ++i) sum_x2[i] += o.sum_x2[i];
    for (size_t i = 0; i < ratio.size(); ++i) ratio[i] += o.ratio[i];
    for (size_t i = 0; i < nonzero.size(); ++i) nonzero[i] += o.nonzero[i];
  }
};

// Scratch of one thread, reused across pixels.
struct Scratch {
  std::vector<int16_t> x;     // one input vector (offset applied, 0 at padded taps)
  std::vector<double> abs_x;  // |x|
  std::vector<double> inv_acc;
};

// Conv and FC: one input vector `x` (length operands) feeds every channel of one output pixel.
void accumulate_shared_vector(const LayerPlan& p, Scratch& s, LayerSums& sums) {
  const size_t n = static_cast<size_t>(p.operands);
  const int16_t* x = s.x.data();
  for (size_t k = 0; k < n; ++k) {
    sums.sum_x[k] += x[k];
    sums.sum_x2[k] += static_cast<int32_t>(x[k]) * x[k];
    s.abs_x[k] = std::abs(static_cast<double>(x[k]));
  }
  for (size_t c = 0; c < static_cast<size_t>(p.channels); ++c) {
    const int16_t* w = p.weights.data() + c * n;
    int32_t dot = 0;
    for (size_t k = 0; k < n; ++k) dot += static_cast<int32_t>(w[k]) * x[k];
    const int64_t acc = static_cast<int64_t>(dot) + p.bias[c];
    if (acc == 0) continue;
    ++sums.nonzero[c];
    const double inv = 1.0 / std::abs(static_cast<double>(acc));
    double* r = sums.ratio.data() + c * n;
    const double* ax = s.abs_x.data();
    for (size_t k = 0; k < n; ++k) r[k] += inv * ax[k];
  }
}

void gather_conv_window(const LayerPlan& p, const int8_t* image, int32_t oy, int32_t ox, int16_t* x) {
  const int32_t iy0 = oy * p.stride_h - p.pad_top;
  const int32_t ix0 = ox * p.stride_w - p.pad_left;
  for (int32_t ky = 0; ky < p.filter_h; ++ky) {
    const int32_t iy = iy0 + ky * p.dilation_h;
    for (int32_t kx = 0; kx < p.filter_w; ++kx) {
      const int32_t ix = ix0 + kx * p.dilation_w;
      int16_t* dst = x + (ky * p.filter_w + kx) * p.in_c;
      if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
        std::fill(dst, dst + p.in_c, int16_t{0});
        continue;
      }
      const int8_t* src = image + (static_cast<size_t>(iy) * static_cast<size_t>(p.in_w) + static_cast<size_t>(ix)) *
                                      static_cast<size_t>(p.in_c);
      for (int32_t c = 0; c < p.in_c; ++c) dst[c] = static_cast<int16_t>(src[c] + p.input_offset);
    }
  }
}

void accumulate_depthwise_pixel(const LayerPlan& p, const int8_t* image, int32_t oy, int32_t ox, LayerSums& sums) {
  const int32_t iy0 = oy * p.stride_h - p.pad_top;
  const int32_t ix0 = ox * p.stride_w - p.pad_left;
  const size_t n = static_cast<size_t>(p.operands);
  int16_t x[64 * 64];  // one channel's window; plan_layer's caller guarantees operands fit
  for (int32_t ic = 0; ic < p.in_c; ++ic) {
    for (int32_t ky = 0; ky < p.filter_h; ++ky) {
      const int32_t iy = iy0 + ky * p.dilation_h;
      for (int32_t kx = 0; kx < p.filter_w; ++kx) {
        const int32_t ix = ix0 + kx * p.dilation_w;
        const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
        x[ky * p.filter_w + kx] =
            inside ? static_cast<int16_t>(image[(static_cast<size_t>(iy) * static_cast<size_t>(p.in_w) +
                                                 static_cast<size_t>(ix)) * static_cast<size_t>(p.in_c) +
                                                static_cast<size_t>(ic)] + p.input_offset)
                   : int16_t{0};
      }
    }
    for (int32_t m = 0; m < p.depth_multiplier; ++m) {
      const size_t c = static_cast<size_t>(ic * p.depth_multiplier + m);
      const int16_t* w = p.weights.data() + c * n;
      int32_t dot = 0;
      for (size_t k = 0; k < n; ++k) {
        dot += static_cast<int32_t>(w[k]) * x[k];
        sums.sum_x[c * n + k] += x[k];
        sums.sum_x2[c * n + k] += static_cast<int32_t>(x[k]) * x[k];
      }
      const int64_t acc = static_cast<int64_t>(dot) + p.bias[c];
      if (acc == 0) continue;
      ++sums.nonzero[c];
      const double inv = 1.0 / std::abs(static_cast<double>(acc));
      for (size_t k = 0; k < n; ++k) sums.ratio[c * n + k] += inv * std::abs(static_cast<double>(x[k]));
    }
  }
}

void accumulate_layer(const LayerPlan& p, const int8_t* input, Scratch& s, LayerSums& sums) {
  if (p.type == ir::OpType::kFullyConnected) {
    for (int32_t b = 0; b < p.batches; ++b) {
      const int8_t* row = input + static_cast<size_t>(b) * static_cast<size_t>(p.operands);
      for (int32_t k = 0; k < p.operands; ++k) s.x[static_cast<size_t>(k)] = static_cast<int16_t>(row[k] + p.input_offset);
      accumulate_shared_vector(p, s, sums);
    }
    return;
  }
  const size_t image_elems = static_cast<size_t>(p.in_h) * static_cast<size_t>(p.in_w) * static_cast<size_t>(p.in_c);
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t* image = input + static_cast<size_t>(b) * image_elems;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        if (p.depthwise()) {
          accumulate_depthwise_pixel(p, image, oy, ox, sums);
        } else {
          gather_conv_window(p, image, oy, ox, s.x.data());
          accumulate_shared_vector(p, s, sums);
        }
      }
    }
  }
}

}  // namespace

std::vector<int32_t> conv_like_ops(const ir::Graph& graph) {
  std::vector<int32_t> ops;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    if (is_conv_like(graph.ops[i].type)) ops.push_back(static_cast<int32_t>(i));
  }
  return ops;
}

SignificanceReport analyze_significance(const runtime::CompiledModel& model, std::span<const uint8_t> inputs,
                                        const AnalysisOptions& options) {
  const ir::Graph& graph = model.graph();
  if (graph.inputs.size() != 1) {
    throw Error(fmt::format("significance analysis needs a model with one input, '{}' has {}", graph.name,
                            graph.inputs.size()));
  }
  const size_t input_bytes = model.input_bytes(0);
  if (input_bytes == 0 || inputs.size() % input_bytes != 0) {
    throw Error(fmt::format("calibration data of {} bytes is not a whole number of {}-byte model inputs",
                            inputs.size(), input_bytes));
  }
  const size_t images = inputs.size() / input_bytes;
  if (images == 0) throw Error("significance analysis needs at least one calibration input");

  const std::vector<int32_t> ops = conv_like_ops(graph);
  std::vector<LayerPlan> plans;
  std::vector<int32_t> plan_of_op(graph.ops.size(), -1);
  size_t max_operands = 1;
  for (int32_t op : ops) {
    plans.push_back(plan_layer(graph, op));
    if (plans.back().depthwise() && plans.back().operands > 64 * 64) {
      throw Error(fmt::format("op {} '{}': depthwise filters over 64x64 taps are not supported", op,
                              graph.ops[static_cast<size_t>(op)].name));
    }
    plan_of_op[static_cast<size_t>(op)] = static_cast<int32_t>(plans.size() - 1);
    max_operands = std::max(max_operands, static_cast<size_t>(plans.back().operands));
  }

  size_t threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, images);
  std::vector<std::vector<LayerSums>> per_thread(threads);
  for (auto& sums : per_thread) {
    for (const LayerPlan& p : plans) sums.emplace_back(p);
  }
  std::vector<std::exception_ptr> errors(threads);
  auto work = [&](size_t t) {
    try {
      runtime::Session session(model);
      Scratch scratch;
      scratch.x.resize(max_operands);
      scratch.abs_x.resize(max_operands);
      const size_t begin = images * t / threads, end = images * (t + 1) / threads;
      for (size_t i = begin; i < end; ++i) {
        std::memcpy(session.input(0), inputs.data() + i * input_bytes, input_bytes);
        // An op's inputs stay live (and unshared in the arena) until that op has run.
        session.invoke([&](size_t op_index) {
          const int32_t l = plan_of_op[op_index];
          if (l < 0) return;
          const LayerPlan& p = plans[static_cast<size_t>(l)];
          const auto* x = reinterpret_cast<const int8_t*>(session.tensor_data(p.input_tensor));
          accumulate_layer(p, x, scratch, per_thread[t][static_cast<size_t>(l)]);
        });
      }
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  for (size_t t = 1; t < threads; ++t) {
    for (size_t l = 0; l < plans.size(); ++l) per_thread[0][l].add(per_thread[t][l]);
  }

  SignificanceReport report;
  report.images = images;
  for (size_t l = 0; l < plans.size(); ++l) {
    const LayerPlan& p = plans[l];
    const LayerSums& s = per_thread[0][l];
    LayerSignificance out;
    out.op_index = p.op_index;
    out.name = graph.ops[static_cast<size_t>(p.op_index)].name;
    out.approximable = l != 0;
    out.channels = p.channels;
    out.operands_per_channel = p.operands;
    out.output_multiplier = p.multiplier;
    const size_t n = static_cast<size_t>(p.operands);
    const size_t total = out.operands();
    out.contribution_ratio.resize(total);
    out.error_measure.resize(total);
    out.mean_contribution.resize(total);
    const double outputs = static_cast<double>(images) * static_cast<double>(p.pixels_per_image());
    for (size_t c = 0; c < static_cast<size_t>(p.channels); ++c) {
      const double m = p.multiplier[c];
      const double nonzero = static_cast<double>(s.nonzero[c]);
      for (size_t k = 0; k < n; ++k) {
        const size_t i = c * n + k;
        const size_t xi = p.depthwise() ? i : k;
        const double w = p.weights[i];
        out.mean_contribution[i] = static_cast<float>(w * static_cast<double>(s.sum_x[xi]) / outputs);
        out.error_measure[i] = static_cast<float>(m * m * w * w * static_cast<double>(s.sum_x2[xi]) / outputs);
        out.contribution_ratio[i] = nonzero > 0 ? static_cast<float>(std::abs(w) * s.ratio[i] / nonzero) : 0.0f;
      }
    }
    report.layers.push_back(std::move(out));
  }
  return report;
}

void check_report_matches(const SignificanceReport& report, const ir::Graph& graph) {
  const std::vector<int32_t> ops = conv_like_ops(graph);
  if (report.layers.size() != ops.size()) {
    throw Error(fmt::format("significance report has {} layers, model '{}' has {} conv/depthwise/FC ops",
                            report.layers.size(), graph.name, ops.size()));
  }
  for (size_t l = 0; l < ops.size(); ++l) {
    const LayerSignificance& r = report.layers[l];
    const ir::Op& op = graph.ops[static_cast<size_t>(ops[l])];
    if (r.op_index != ops[l] || r.name != op.name) {
      throw Error(fmt::format("significance report layer {} is op {} '{}', model '{}' has op {} '{}' there", l,
                              r.op_index, r.name, graph.name, ops[l], op.name));
    }
    const ir::Tensor& w = graph.tensor(op.inputs.at(1));
    int32_t channels = 0, operands = 0;
    if (op.type == ir::OpType::kFullyConnected) {
      channels = w.shape.at(0);
      operands = w.shape.at(1);
    } else if (op.type == ir::OpType::kDepthwiseConv2D) {
      channels = w.shape.back();
      operands = w.shape.at(1) * w.shape.at(2);
    } else {
      channels = w.shape.at(0);
      operands = static_cast<int32_t>(w.num_elements() / channels);
    }
    if (r.channels != channels || r.operands_per_channel != operands) {
      throw Error(fmt::format("significance report layer '{}' has {} channels x {} operands, the model's op has {} x {}",
                              r.name, r.channels, r.operands_per_channel, channels, operands));
    }
    const size_t total = r.operands();
    auto check_size = [&](size_t size, const char* field, size_t expected) {
      if (size != expected) {
        throw Error(fmt::format("significance report layer '{}': {} has {} values, expected {}", r.name, field, size,
                                expected));
      }
    };
    check_size(r.contribution_ratio.size(), "contribution_ratio", total);
    check_size(r.error_measure.size(), "error_measure", total);
    check_size(r.mean_contribution.size(), "mean_contribution", total);
    check_size(r.output_multiplier.size(), "output_multiplier", static_cast<size_t>(channels));
  }
}

// --- JSON ------------------------------------------------------------------------------------

namespace {
constexpr int kFormatVersion = 1;
}

std::string report_to_json(const SignificanceReport& report) {
  nlohmann::json j;
  j["format"] = "frugal-significance";
  j["version"] = kFormatVersion;
  j["images"] = report.images;
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSignificance& l : report.layers) {
    layers.push_back({{"op_index", l.op_index},
                      {"name", l.name},
                      {"approximable", l.approximable},
                      {"channels", l.channels},
                      {"operands_per_channel", l.operands_per_channel},
                      {"output_multiplier", l.output_multiplier},
                      {"contribution_ratio", l.contribution_ratio},
                      {"error_measure", l.error_measure},
                      {"mean_contribution", l.mean_contribution}});
  }
  j["layers"] = std::move(layers);
  return j.dump();
}

namespace {

// A report field that must be an integer of type T (json_numbers.h says why not get<T>()).
template <typename T>
T report_integer(const nlohmann::json& value, const std::string& where, std::string_view field) {
  if (const std::optional<T> v = json_numbers::integer<T>(value)) return *v;
  throw Error(fmt::format("{}: \"{}\" must be an integer in [{}, {}]", where, field, std::numeric_limits<T>::min(),
                          std::numeric_limits<T>::max()));
}

std::vector<float> report_floats(const nlohmann::json& value, const std::string& where, std::string_view field) {
  if (!value.is_array()) throw Error(fmt::format("{}: \"{}\" must be a list of numbers", where, field));
  std::vector<float> out;
  out.reserve(value.size());
  for (const nlohmann::json& v : value) {
    const std::optional<float> f = json_numbers::single(v);
    if (!f) throw Error(fmt::format("{}: \"{}\" holds a value that is not a float32 number", where, field));
    out.push_back(*f);
  }
  return out;
}

}  // namespace

SignificanceReport report_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("significance report is not valid JSON: {}", e.what()));
  }
  std::string where = "significance report";
  try {
    const auto format = j.is_object() ? j.find("format") : j.end();
    if (!j.is_object() || format == j.end() || *format != "frugal-significance") {
      throw Error("not a significance report (no \"format\": \"frugal-significance\")");
    }
    const nlohmann::json& version = j.at("version");
    if (json_numbers::integer<int>(version) != kFormatVersion) {
      throw Error(fmt::format("significance report version {} is not supported (expected {})",
                              version.is_number() ? version.dump() : std::string(version.type_name()),
                              kFormatVersion));
    }
    SignificanceReport report;
    report.images = report_integer<size_t>(j.at("images"), where, "images");
    if (!j.at("layers").is_array()) throw Error("significance report: \"layers\" must be a list");
    for (const nlohmann::json& jl : j.at("layers")) {
      LayerSignificance l;
      // Printable like the model's op names it is matched with (and one line in messages).
      l.name = ir::printable(jl.at("name").get<std::string>());
      where = fmt::format("significance report layer '{}'", l.name);
      l.op_index = report_integer<int32_t>(jl.at("op_index"), where, "op_index");
      l.approximable = jl.at("approximable").get<bool>();
      l.channels = report_integer<int32_t>(jl.at("channels"), where, "channels");
      l.operands_per_channel = report_integer<int32_t>(jl.at("operands_per_channel"), where, "operands_per_channel");
      l.output_multiplier = jl.at("output_multiplier").get<std::vector<double>>();
      l.contribution_ratio = report_floats(jl.at("contribution_ratio"), where, "contribution_ratio");
      l.error_measure = report_floats(jl.at("error_measure"), where, "error_measure");
      l.mean_contribution = report_floats(jl.at("mean_contribution"), where, "mean_contribution");
      if (l.channels < 0 || l.operands_per_channel < 0 || l.contribution_ratio.size() != l.operands() ||
          l.error_measure.size() != l.operands() || l.mean_contribution.size() != l.operands() ||
          l.output_multiplier.size() != static_cast<size_t>(l.channels)) {
        throw Error(fmt::format("{}: vector sizes do not match {} channels x {} operands", where, l.channels,
                                l.operands_per_channel));
      }
      report.layers.push_back(std::move(l));
    }
    return report;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: missing or mistyped field ({})", where, e.what()));
  }
}

void save_report(const SignificanceReport& report, const std::filesystem::path& file) {
  std::ofstream out(file, std::ios::binary);
  out << report_to_json(report);
  if (!out) throw Error(fmt::format("cannot write significance report '{}'", file.string()));
}

SignificanceReport load_report(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read significance report '{}'", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return report_from_json(text.str());
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", file.string(), e.what()));
  }
}

}  // namespace frugal::approx
