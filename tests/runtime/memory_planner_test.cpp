#include "runtime/memory_planner.h"

#include <gtest/gtest.h>

#include <random>

namespace frugal::runtime {
namespace {

TEST(MemoryPlanner, DisjointLifetimesShareBytes) {
  const std::vector<BufferRequest> requests = {{100, 0, 1}, {50, 1, 2}, {100, 2, 3}};
  const MemoryPlan plan = plan_memory(requests, 16);
  // Hand layout: the two 100-byte buffers never live together, so both sit at 0; the 50-byte
  // one overlaps both in time and goes after them, at 100 rounded up to 16 = 112.
  EXPECT_EQ(plan.offsets[0], 0u);
  EXPECT_EQ(plan.offsets[2], 0u);
  EXPECT_EQ(plan.offsets[1], 112u);
  EXPECT_EQ(plan.arena_bytes, 162u);
  EXPECT_EQ(peak_live_bytes(requests), 150u);
}

TEST(MemoryPlanner, SmallBufferFillsGapBelowLiveOne) {
  // 0: [0,0] 64 B, 1: [0,2] 32 B, 2: [1,2] 64 B. Largest first: 0 at 0, 2 at 0 (disjoint from 0),
  // then 1 conflicts with both and goes to 64.
  const std::vector<BufferRequest> requests = {{64, 0, 0}, {32, 0, 2}, {64, 1, 2}};
  const MemoryPlan plan = plan_memory(requests, 16);
  EXPECT_EQ(plan.offsets[0], 0u);
  EXPECT_EQ(plan.offsets[2], 0u);
  EXPECT_EQ(plan.offsets[1], 64u);
  EXPECT_EQ(plan.arena_bytes, 96u);
}

TEST(MemoryPlanner, EmptyPlan) {
  const MemoryPlan plan = plan_memory({}, 16);
  EXPECT_EQ(plan.arena_bytes, 0u);
  EXPECT_TRUE(plan.offsets.empty());
}

TEST(MemoryPlanner, RandomPlansAreValidAndAligned) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferRequest> requests;
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      const int32_t first = static_cast<int32_t>(rng() % 20);
      requests.push_back({1 + rng() % 5000, first, first + static_cast<int32_t>(rng() % 6)});
    }
    const MemoryPlan plan = plan_memory(requests, 16);
    ASSERT_EQ(plan.offsets.size(), requests.size());
    EXPECT_GE(plan.arena_bytes, peak_live_bytes(requests)) << "trial " << trial;
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(plan.offsets[i] % 16, 0u);
      EXPECT_LE(plan.offsets[i] + requests[i].bytes, plan.arena_bytes);
      for (size_t j = i + 1; j < requests.size(); ++j) {
        const bool live_together =
            requests[i].first_op <= requests[j].last_op && requests[j].first_op <= requests[i].last_op;
        const bool share_bytes = plan.offsets[i] < plan.offsets[j] + requests[j].bytes &&
                                 plan.offsets[j] < plan.offsets[i] + requests[i].bytes;
        EXPECT_FALSE(live_together && share_bytes) << "trial " << trial << " buffers " << i << ", " << j;
      }
    }
  }
}

}  // namespace
}  // namespace frugal::runtime
