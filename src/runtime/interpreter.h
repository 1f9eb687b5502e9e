// Host execution of an IR graph: validates it, plans one static arena for its activations
// (as the MCU will), lowers every op's quantization parameters once, then runs the ops in
// order with either the reference kernels or the fast host kernels (bit-identical results).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "ir/graph.h"
#include "runtime/memory_planner.h"

namespace frugal::runtime {

enum class KernelSet : uint8_t { kReference, kFast };

struct PreparedOp;  // lowered parameters + kernel object of one op

class CompiledModel {
 public:
  // Takes a copy of the graph; throws ir::Error if it does not validate or an op cannot be
  // prepared.
  CompiledModel(ir::Graph graph, KernelSet kernels);
  ~CompiledModel();
  CompiledModel(CompiledModel&&) noexcept;
  CompiledModel& operator=(CompiledModel&&) noexcept;

  const ir::Graph& graph() const { return graph_; }
  KernelSet kernels() const { return kernels_; }
  // Arena plan over the non-constant tensors (activations, graph inputs and outputs).
  const MemoryPlan& memory_plan() const { return plan_; }
  size_t arena_bytes() const { return plan_.arena_bytes; }
  size_t scratch_bytes() const { return scratch_bytes_; }
  // Arena offset of a non-constant tensor (SIZE_MAX for constants).
  size_t tensor_offset(int32_t tensor) const { return tensor_offsets_.at(static_cast<size_t>(tensor)); }

  size_t input_bytes(size_t i) const;
  size_t output_bytes(size_t i) const;

 private:
  friend class Session;
  ir::Graph graph_;
  KernelSet kernels_;
  MemoryPlan plan_;
  std::vector<size_t> tensor_offsets_;
  size_t scratch_bytes_ = 0;
  std::vector<std::unique_ptr<PreparedOp>> prepared_;
};

// One execution context (arena + scratch): use one per thread.
class Session {
 public:
  explicit Session(const CompiledModel& model);

  uint8_t* input(size_t i);
  const uint8_t* output(size_t i) const;
  // Any non-constant tensor's bytes in the arena (valid until a later op reuses them).
  const uint8_t* tensor_data(int32_t tensor) const;

  // Runs all ops. If `after_op` is set it is called after each op with the op's index, while
  // the op's output is still in the arena (layer-by-layer comparison, tracing).
  void invoke(const std::function<void(size_t op_index)>& after_op = {});

 private:
  const CompiledModel* model_;
  std::vector<uint8_t> arena_;
  std::vector<uint8_t> scratch_;
};

}  // namespace frugal::runtime
