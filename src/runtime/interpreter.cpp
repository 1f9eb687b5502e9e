#include "runtime/interpreter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "kernels/host/host.h"
#include "kernels/quantization.h"
#include "kernels/reference/reference.h"
#include "runtime/lowering.h"

namespace frugal::runtime {

using ir::Error;

// Where an op finds one operand at run time: constant bytes in the graph, or an arena offset.
struct Operand {
  const uint8_t* constant = nullptr;
  size_t offset = 0;

  const uint8_t* get(const uint8_t* arena) const { return constant ? constant : arena + offset; }
  template <typename T>
  const T* as(const uint8_t* arena) const {
    return reinterpret_cast<const T*>(get(arena));
  }
};

struct PreparedOp {
  virtual ~PreparedOp() = default;
  virtual void run(uint8_t* arena, void* scratch) const = 0;
  virtual size_t scratch_bytes() const { return 0; }
};

namespace {

template <typename T>
T* arena_at(uint8_t* arena, size_t offset) {
  return reinterpret_cast<T*>(arena + offset);
}

// Each prepared op keeps its lowered parameters, its operands and its output offset.
template <typename Lowered>
struct OpBase : PreparedOp {
  Lowered l;
  std::vector<Operand> in;
  size_t out = 0;
  template <typename T>
  const T* input(const uint8_t* arena, size_t i = 0) const {
    return in[i].as<T>(arena);
  }
};

struct ReferenceConv final : OpBase<LoweredConv> {
  void run(uint8_t* arena, void*) const override {
    const auto run_kernel = l.depthwise ? kernels::reference::depthwise_conv2d : kernels::reference::conv2d;
    run_kernel(l.params, l.multipliers.data(), l.input, input<int8_t>(arena), l.filter, l.filter_data, l.bias,
               l.output, arena_at<int8_t>(arena, out));
  }
};

struct ReferenceFullyConnected final : OpBase<LoweredFullyConnected> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::fully_connected(l.params, l.multipliers.data(), l.batches, l.depth, input<int8_t>(arena),
                                        l.out_depth, l.weights, l.bias, arena_at<int8_t>(arena, out));
  }
};

// A fast host kernel object built once from the lowered parameters.
template <typename Kernel>
struct FastKernelOp final : PreparedOp {
  Kernel kernel;
  Operand in;
  size_t out;
  FastKernelOp(Kernel k, Operand i, size_t o) : kernel(std::move(k)), in(i), out(o) {}
  void run(uint8_t* arena, void* scratch) const override {
    kernel.run(in.as<int8_t>(arena), arena_at<int8_t>(arena, out), scratch);
  }
  size_t scratch_bytes() const override { return kernel.scratch_bytes(); }
};

struct AddOp final : OpBase<LoweredAdd> {
  bool fast = false;
  void run(uint8_t* arena, void*) const override {
    const int8_t* a = input<int8_t>(arena, 0);
    const int8_t* b = input<int8_t>(arena, 1);
    int8_t* y = arena_at<int8_t>(arena, out);
    if (fast) {
      kernels::host::add(l.params, l.input1, a, l.input2, b, l.output, y);
    } else {
      kernels::reference::add(l.params, l.input1, a, l.input2, b, l.output, y);
    }
  }
};

struct MulOp final : OpBase<LoweredMul> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::mul(l.params, l.input1, input<int8_t>(arena, 0), l.input2, input<int8_t>(arena, 1), l.output,
                            arena_at<int8_t>(arena, out));
  }
};

struct PoolOp final : OpBase<LoweredPool> {
  bool fast = false;
  void run(uint8_t* arena, void*) const override {
    const int8_t* x = input<int8_t>(arena);
    int8_t* y = arena_at<int8_t>(arena, out);
    if (fast) {
      l.average ? kernels::host::average_pool(l.params, l.input, x, l.output, y)
                : kernels::host::max_pool(l.params, l.input, x, l.output, y);
    } else {
      l.average ? kernels::reference::average_pool(l.params, l.input, x, l.output, y)
                : kernels::reference::max_pool(l.params, l.input, x, l.output, y);
    }
  }
};

struct SoftmaxOp final : OpBase<LoweredSoftmax> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::softmax(l.params, l.outer, l.depth, input<int8_t>(arena), arena_at<int8_t>(arena, out));
  }
};

struct QuantizeOp final : OpBase<LoweredQuantize> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::quantize_float_to_int8(l.scale, l.zero_point, l.count, input<float>(arena),
                                               arena_at<int8_t>(arena, out));
  }
};

struct RequantizeOp final : OpBase<LoweredRequantize> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::requantize_int8(l.params, l.count, input<int8_t>(arena), arena_at<int8_t>(arena, out));
  }
};

struct DequantizeOp final : OpBase<LoweredDequantize> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::dequantize_int8_to_float(l.scale, l.zero_point, l.count, input<int8_t>(arena),
                                                 arena_at<float>(arena, out));
  }
};

struct PadOp final : OpBase<LoweredPad> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::pad(l.input, input<int8_t>(arena), l.before, l.after, l.value, l.output,
                            arena_at<int8_t>(arena, out));
  }
};

struct MeanOp final : OpBase<LoweredMean> {
  void run(uint8_t* arena, void*) const override {
    kernels::reference::mean(l.params, l.input, input<int8_t>(arena), l.reduce_mask, arena_at<int8_t>(arena, out));
  }
};

struct ConcatenationOp final : OpBase<LoweredConcatenation> {
  void run(uint8_t* arena, void*) const override {
    std::vector<const int8_t*> inputs(in.size());
    for (size_t i = 0; i < in.size(); ++i) inputs[i] = input<int8_t>(arena, i);
    kernels::reference::concatenation(static_cast<int32_t>(in.size()), l.inputs.data(), inputs.data(), l.axis,
                                      l.output, arena_at<int8_t>(arena, out));
  }
};

struct CopyOp final : OpBase<LoweredCopy> {
  void run(uint8_t* arena, void*) const override {
    const uint8_t* src = in[0].get(arena);
    uint8_t* dst = arena + out;
    if (src != dst) std::memmove(dst, src, l.bytes);
  }
};

template <typename Op, typename Lowered>
std::unique_ptr<PreparedOp> make_op(Lowered l, std::vector<Operand> in, size_t out) {
  auto p = std::make_unique<Op>();
  p->l = std::move(l);
  p->in = std::move(in);
  p->out = out;
  return p;
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::unique_ptr<PreparedOp> prepare(const ir::Graph& graph, const std::vector<size_t>& offsets, const ir::Op& op,
                                    KernelSet set) {
  LoweredOp lowered = lower_op(graph, op);
  std::vector<Operand> in;
  for (int32_t t : lowered.inputs) {
    const ir::Tensor& tensor = graph.tensor(t);
    in.push_back(tensor.is_constant ? Operand{tensor.data.data(), 0} : Operand{nullptr, offsets.at(static_cast<size_t>(t))});
  }
  const size_t out = offsets.at(static_cast<size_t>(lowered.output));
  const bool fast = set == KernelSet::kFast;
  return std::visit(
      Overloaded{
          [&](LoweredConv& l) -> std::unique_ptr<PreparedOp> {
            if (!fast) return make_op<ReferenceConv>(std::move(l), in, out);
            if (l.depthwise) {
              return std::make_unique<FastKernelOp<kernels::host::DepthwiseConv2D>>(
                  kernels::host::DepthwiseConv2D(l.params, l.multipliers.data(), l.input, l.filter, l.filter_data,
                                                 l.bias, l.output),
                  in[0], out);
            }
            return std::make_unique<FastKernelOp<kernels::host::Conv2D>>(
                kernels::host::Conv2D(l.params, l.multipliers.data(), l.input, l.filter, l.filter_data, l.bias,
                                      l.output),
                in[0], out);
          },
          [&](LoweredFullyConnected& l) -> std::unique_ptr<PreparedOp> {
            if (!fast) return make_op<ReferenceFullyConnected>(std::move(l), in, out);
            return std::make_unique<FastKernelOp<kernels::host::FullyConnected>>(
                kernels::host::FullyConnected(l.params, l.multipliers.data(), l.batches, l.depth, l.out_depth,
                                              l.weights, l.bias),
                in[0], out);
          },
          [&](LoweredAdd& l) -> std::unique_ptr<PreparedOp> {
            auto p = make_op<AddOp>(std::move(l), in, out);
            static_cast<AddOp&>(*p).fast = fast;
            return p;
          },
          [&](LoweredPool& l) -> std::unique_ptr<PreparedOp> {
            auto p = make_op<PoolOp>(std::move(l), in, out);
            static_cast<PoolOp&>(*p).fast = fast;
            return p;
          },
          [&](LoweredMul& l) { return make_op<MulOp>(std::move(l), in, out); },
          [&](LoweredSoftmax& l) { return make_op<SoftmaxOp>(std::move(l), in, out); },
          [&](LoweredQuantize& l) { return make_op<QuantizeOp>(std::move(l), in, out); },
          [&](LoweredRequantize& l) { return make_op<RequantizeOp>(std::move(l), in, out); },
          [&](LoweredDequantize& l) { return make_op<DequantizeOp>(std::move(l), in, out); },
          [&](LoweredPad& l) { return make_op<PadOp>(std::move(l), in, out); },
          [&](LoweredMean& l) { return make_op<MeanOp>(std::move(l), in, out); },
          [&](LoweredConcatenation& l) { return make_op<ConcatenationOp>(std::move(l), in, out); },
          [&](LoweredCopy& l) { return make_op<CopyOp>(std::move(l), in, out); },
      },
      lowered.params);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

CompiledModel::CompiledModel(ir::Graph graph, KernelSet kernels) : graph_(std::move(graph)), kernels_(kernels) {
  ir::validate(graph_);
  const size_t num_tensors = graph_.tensors.size();
  const int32_t num_ops = static_cast<int32_t>(graph_.ops.size());

  // RESHAPE only relabels bytes, so its output shares its input's buffer (union-find roots).
  std::vector<int32_t> root(num_tensors);
  std::iota(root.begin(), root.end(), 0);
  auto find = [&](int32_t t) {
    while (root[static_cast<size_t>(t)] != t) t = root[static_cast<size_t>(t)];
    return t;
  };
  for (const ir::Op& op : graph_.ops) {
    if (op.type == ir::OpType::kReshape && !graph_.tensor(op.inputs[0]).is_constant) {
      root[static_cast<size_t>(find(op.outputs[0]))] = find(op.inputs[0]);
    }
  }

  // Lifetime of each buffer: from the op that writes it (graph inputs: before op 0) to the
  // last op that reads it (graph outputs: to the end).
  constexpr int32_t kUnused = std::numeric_limits<int32_t>::max();
  std::vector<int32_t> first(num_tensors, kUnused), last(num_tensors, -1);
  std::vector<size_t> bytes(num_tensors, 0);
  auto touch = [&](int32_t tensor, int32_t op_index) {
    if (tensor < 0 || graph_.tensor(tensor).is_constant) return;
    const size_t r = static_cast<size_t>(find(tensor));
    first[r] = std::min(first[r], op_index);
    last[r] = std::max(last[r], op_index);
    bytes[r] = std::max(bytes[r], graph_.tensor(tensor).num_bytes());
  };
  for (int32_t t : graph_.inputs) touch(t, 0);
  for (int32_t i = 0; i < num_ops; ++i) {
    const ir::Op& op = graph_.ops[static_cast<size_t>(i)];
    for (int32_t t : op.inputs) touch(t, i);
    for (int32_t t : op.outputs) touch(t, i);
  }
  for (int32_t t : graph_.outputs) touch(t, std::max(num_ops - 1, 0));

  std::vector<BufferRequest> requests;
  std::vector<int32_t> request_root;
  for (size_t t = 0; t < num_tensors; ++t) {
    if (first[t] == kUnused) continue;
    requests.push_back(BufferRequest{bytes[t], first[t], last[t]});
    request_root.push_back(static_cast<int32_t>(t));
  }
  plan_ = plan_memory(requests);

  std::vector<size_t> root_offset(num_tensors, SIZE_MAX);
  for (size_t i = 0; i < requests.size(); ++i) {
    root_offset[static_cast<size_t>(request_root[i])] = plan_.offsets[i];
  }
  tensor_offsets_.assign(num_tensors, SIZE_MAX);
  for (size_t t = 0; t < num_tensors; ++t) {
    if (!graph_.tensors[t].is_constant) tensor_offsets_[t] = root_offset[static_cast<size_t>(find(static_cast<int32_t>(t)))];
  }

  for (size_t i = 0; i < graph_.ops.size(); ++i) {
    const ir::Op& op = graph_.ops[i];
    try {
      prepared_.push_back(prepare(graph_, tensor_offsets_, op, kernels));
    } catch (const std::exception& e) {
      throw Error(fmt::format("op {} '{}' ({}): {}", i, op.name, ir::to_string(op.type), e.what()));
    }
    scratch_bytes_ = std::max(scratch_bytes_, prepared_.back()->scratch_bytes());
  }
}

CompiledModel::~CompiledModel() = default;
CompiledModel::CompiledModel(CompiledModel&&) noexcept = default;
CompiledModel& CompiledModel::operator=(CompiledModel&&) noexcept = default;

size_t CompiledModel::input_bytes(size_t i) const { return graph_.tensor(graph_.inputs.at(i)).num_bytes(); }
size_t CompiledModel::output_bytes(size_t i) const { return graph_.tensor(graph_.outputs.at(i)).num_bytes(); }

Session::Session(const CompiledModel& model)
    : model_(&model), arena_(model.arena_bytes()), scratch_(model.scratch_bytes()) {}

uint8_t* Session::input(size_t i) { return arena_.data() + model_->tensor_offset(model_->graph().inputs.at(i)); }

const uint8_t* Session::output(size_t i) const {
  return arena_.data() + model_->tensor_offset(model_->graph().outputs.at(i));
}

const uint8_t* Session::tensor_data(int32_t tensor) const {
  const size_t offset = model_->tensor_offset(tensor);
  if (offset == SIZE_MAX) return model_->graph().tensor(tensor).data.data();
  return arena_.data() + offset;
}

void Session::invoke(const std::function<void(size_t)>& after_op) {
  for (size_t i = 0; i < model_->prepared_.size(); ++i) {
    model_->prepared_[i]->run(arena_.data(), scratch_.data());
    if (after_op) after_op(i);
  }
}

}  // namespace frugal::runtime
