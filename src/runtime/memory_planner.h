// Static arena planning: tensors whose lifetimes do not overlap share bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace frugal::runtime {

// A buffer live from the start of op `first_op` to the end of op `last_op` (inclusive).
struct BufferRequest {
  size_t bytes;
  int32_t first_op;
  int32_t last_op;
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request, aligned
  size_t arena_bytes = 0;       // peak: highest offset + size over all buffers
};

// Greedy by size: the largest buffers are placed first, each at the lowest aligned offset
// that overlaps no already-placed buffer with an overlapping lifetime.
MemoryPlan plan_memory(std::span<const BufferRequest> requests, size_t alignment = 16);

// The lower bound any plan must meet: the largest sum of live bytes over all ops.
size_t peak_live_bytes(std::span<const BufferRequest> requests);

}  // namespace frugal::runtime
