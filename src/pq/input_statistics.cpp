#include "pq/input_statistics.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "runtime/interpreter.h"

namespace frugal::pq {

namespace {

// Where one layer's GEMM rows come from.
struct RowSource {
  int32_t op = -1;
  int32_t input = -1;  // tensor
  bool conv = false;
  int32_t in_h = 1, in_w = 1, channels = 0, kh = 1, kw = 1;
  int32_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  ir::WindowGeometry geometry{1, 1, 0, 0};
  size_t length = 0;
  int32_t zero_point = 0;
};

RowSource row_source(const ir::Graph& graph, int32_t op_index) {
  const ir::Op& op = graph.ops.at(static_cast<size_t>(op_index));
  const ir::Tensor& input = graph.tensor(op.inputs.at(0));
  const ir::Tensor& weights = graph.tensor(op.inputs.at(1));
  RowSource s;
  s.op = op_index;
  s.input = op.inputs[0];
  s.zero_point = input.quant.empty() ? 0 : static_cast<int32_t>(input.quant.zero_point.at(0));
  s.length = static_cast<size_t>(weights.num_elements() / weights.shape.at(0));
  if (op.type == ir::OpType::kConv2D) {
    s.conv = true;
    s.in_h = input.shape.at(1);
    s.in_w = input.shape.at(2);
    s.channels = input.shape.at(3);
    s.kh = weights.shape.at(1);
    s.kw = weights.shape.at(2);
    s.stride_h = op.attrs.stride_h;
    s.stride_w = op.attrs.stride_w;
    s.dilation_h = op.attrs.dilation_h;
    s.dilation_w = op.attrs.dilation_w;
    s.geometry = ir::window_geometry(op.attrs.padding, s.in_h, s.in_w, s.kh, s.kw, s.stride_h, s.stride_w,
                                     s.dilation_h, s.dilation_w);
  } else if (op.type != ir::OpType::kFullyConnected) {
    throw ir::Error(fmt::format("op {} '{}' is {}, not CONV_2D or FULLY_CONNECTED", op_index, op.name,
                                ir::to_string(op.type)));
  }
  return s;
}

void add_outer_product(std::vector<double>& h, const std::vector<double>& p) {
  const size_t n = p.size();
  for (size_t a = 0; a < n; ++a) {
    const double pa = p[a];
    if (pa == 0.0) continue;
    double* row = h.data() + a * n;
    for (size_t b = a; b < n; ++b) row[b] += pa * p[b];
  }
}

// Adds the rows of one input tensor's bytes to `stats`.
void accumulate(const RowSource& s, const int8_t* x, size_t elements, size_t rows_per_input, InputStatistics& stats) {
  std::vector<double> p(s.length);
  if (!s.conv) {
    for (size_t row = 0; row + s.length <= elements; row += s.length) {
      for (size_t k = 0; k < s.length; ++k) p[k] = x[row + k] - s.zero_point;
      add_outer_product(stats.hessian, p);
      ++stats.rows;
    }
    return;
  }
  const size_t pixels = static_cast<size_t>(s.geometry.out_h) * static_cast<size_t>(s.geometry.out_w);
  const size_t take = std::min(pixels, rows_per_input);
  for (size_t r = 0; r < take; ++r) {
    const size_t pixel = r * pixels / take;
    const auto oy = static_cast<int32_t>(pixel / static_cast<size_t>(s.geometry.out_w));
    const auto ox = static_cast<int32_t>(pixel % static_cast<size_t>(s.geometry.out_w));
    size_t k = 0;
    for (int32_t ky = 0; ky < s.kh; ++ky) {
      for (int32_t kx = 0; kx < s.kw; ++kx) {
        const int32_t y = oy * s.stride_h - s.geometry.pad_top + ky * s.dilation_h;
        const int32_t xx = ox * s.stride_w - s.geometry.pad_left + kx * s.dilation_w;
        const bool inside = y >= 0 && y < s.in_h && xx >= 0 && xx < s.in_w;
        for (int32_t c = 0; c < s.channels; ++c, ++k) {
          // Padding is the zero point, i.e. a real zero.
          p[k] = inside ? x[(static_cast<size_t>(y) * static_cast<size_t>(s.in_w) + static_cast<size_t>(xx)) *
                                static_cast<size_t>(s.channels) +
                            static_cast<size_t>(c)] -
                              s.zero_point
                        : 0.0;
        }
      }
    }
    add_outer_product(stats.hessian, p);
    ++stats.rows;
  }
}

}  // namespace

std::vector<InputStatistics> collect_input_statistics(const ir::Graph& graph, std::span<const int32_t> ops,
                                                      std::span<const uint8_t> inputs, size_t count,
                                                      size_t rows_per_input, unsigned threads) {
  const runtime::CompiledModel model(graph, runtime::KernelSet::kFast);
  const size_t in_bytes = model.input_bytes(0);
  if (inputs.size() != count * in_bytes) {
    throw ir::Error(fmt::format("{} input bytes for {} inputs of {} bytes", inputs.size(), count, in_bytes));
  }
  std::vector<RowSource> sources;
  for (const int32_t op : ops) {
    sources.push_back(row_source(graph, op));
    if (graph.tensor(sources.back().input).type != ir::DataType::kInt8) {
      throw ir::Error(fmt::format("op {} has a non-int8 input", op));
    }
  }
  // The op after which each layer's input is complete in the arena (-1: the graph input).
  std::vector<int32_t> producer(sources.size(), -1);
  for (size_t l = 0; l < sources.size(); ++l) {
    for (size_t k = 0; k < graph.ops.size(); ++k) {
      const auto& outs = graph.ops[k].outputs;
      if (std::find(outs.begin(), outs.end(), sources[l].input) != outs.end()) producer[l] = static_cast<int32_t>(k);
    }
  }

  auto fresh = [&] {
    std::vector<InputStatistics> stats(sources.size());
    for (size_t l = 0; l < sources.size(); ++l) {
      stats[l].op = sources[l].op;
      stats[l].length = sources[l].length;
      stats[l].hessian.assign(sources[l].length * sources[l].length, 0.0);
    }
    return stats;
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(threads, count)));
  std::vector<std::vector<InputStatistics>> partial(threads);
  std::mutex error_mutex;
  std::exception_ptr error;
  auto work = [&](unsigned t) {
    try {
      partial[t] = fresh();
      runtime::Session session(model);
      auto take = [&](size_t l) {
        const ir::Tensor& tensor = graph.tensor(sources[l].input);
        const auto* x = reinterpret_cast<const int8_t*>(session.tensor_data(sources[l].input));
        accumulate(sources[l], x, static_cast<size_t>(tensor.num_elements()), rows_per_input, partial[t][l]);
      };
      for (size_t i = count * t / threads; i < count * (t + 1) / threads; ++i) {
        std::memcpy(session.input(0), inputs.data() + i * in_bytes, in_bytes);
        for (size_t l = 0; l < sources.size(); ++l)
          if (producer[l] < 0) take(l);
        session.invoke([&](size_t op) {
          for (size_t l = 0; l < sources.size(); ++l)
            if (producer[l] == static_cast<int32_t>(op)) take(l);
        });
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  for (std::thread& w : workers) w.join();
  if (error) std::rethrow_exception(error);

  std::vector<InputStatistics> stats = std::move(partial[0]);
  for (unsigned t = 1; t < threads; ++t) {
    for (size_t l = 0; l < stats.size(); ++l) {
      for (size_t e = 0; e < stats[l].hessian.size(); ++e) stats[l].hessian[e] += partial[t][l].hessian[e];
      stats[l].rows += partial[t][l].rows;
    }
  }
  for (InputStatistics& s : stats) {  // mirror the upper triangle
    for (size_t a = 0; a < s.length; ++a)
      for (size_t b = 0; b < a; ++b) s.hessian[a * s.length + b] = s.hessian[b * s.length + a];
  }
  return stats;
}

}  // namespace frugal::pq
