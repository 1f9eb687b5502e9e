#include "runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace frugal::runtime {
namespace {

bool lifetimes_overlap(const BufferRequest& a, const BufferRequest& b) {
  return a.first_op <= b.last_op && b.first_op <= a.last_op;
}

size_t align_up(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

MemoryPlan plan_memory(std::span<const BufferRequest> requests, size_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);

  // Largest first: big buffers constrain the layout most, and small ones then fill the gaps
  // they leave. Ties broken by first use, then index, so plans are deterministic.
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first_op < requests[b].first_op;
  });

  std::vector<size_t> placed;
  std::vector<size_t> conflicts;
  for (size_t index : order) {
    const BufferRequest& request = requests[index];
    conflicts.clear();
    for (size_t other : placed) {
      if (lifetimes_overlap(request, requests[other])) conflicts.push_back(other);
    }
    std::sort(conflicts.begin(), conflicts.end(),
              [&](size_t a, size_t b) { return plan.offsets[a] < plan.offsets[b]; });
    // Walk the live buffers in address order and take the first gap that is big enough.
    size_t candidate = 0;
    for (size_t other : conflicts) {
      const size_t other_begin = plan.offsets[other];
      const size_t other_end = other_begin + requests[other].bytes;
      if (candidate + request.bytes <= other_begin) break;
      candidate = std::max(candidate, align_up(other_end, alignment));
    }
    plan.offsets[index] = candidate;
    plan.arena_bytes = std::max(plan.arena_bytes, candidate + request.bytes);
    placed.push_back(index);
  }
  return plan;
}

size_t peak_live_bytes(std::span<const BufferRequest> requests) {
  int32_t last = -1;
  for (const BufferRequest& r : requests) last = std::max(last, r.last_op);
  size_t peak = 0;
  for (int32_t op = 0; op <= last; ++op) {
    size_t live = 0;
    for (const BufferRequest& r : requests) {
      if (r.first_op <= op && op <= r.last_op) live += r.bytes;
    }
    peak = std::max(peak, live);
  }
  return peak;
}

}  // namespace frugal::runtime
