// The work pool's protocol with ranks simulated by threads (results by index on every rank,
// failures reaching every rank, nobody left waiting), and on the LeNet an exploration spread
// over three such ranks against one process: the same front, the same evaluations.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "approx/explore.h"
#include "approx/significance.h"
#include "data/data_root.h"
#include "distributed/work_pool.h"
#include "import/tflite/tflite_importer.h"
#include "runtime/interpreter.h"

namespace frugal::distributed {
namespace {

// The meeting point of the simulated ranks' collectives. A rank that waits too long throws, so
// a protocol bug fails the test instead of hanging it.
class Rendezvous {
 public:
  explicit Rendezvous(size_t ranks) : slots_(ranks) {}

  std::vector<std::string> allgather(size_t rank, std::string mine) {
    std::unique_lock lock(mutex_);
    const size_t generation = generation_;
    slots_[rank] = std::move(mine);
    if (++arrived_ == slots_.size()) {
      // Nobody can complete the next round before every rank has left this one (each must
      // arrive there too), so `result_` stays valid for the waiting ranks.
      result_ = slots_;
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return result_;
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return generation_ != generation; })) {
      throw std::runtime_error("simulated rank left waiting in a collective");
    }
    return result_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> slots_, result_;
  size_t arrived_ = 0, generation_ = 0;
};

class ThreadRank final : public WorkPool {
 public:
  ThreadRank(Rendezvous& rendezvous, size_t rank, size_t ranks) : rendezvous_(rendezvous), rank_(rank), ranks_(ranks) {}
  size_t rank() const override { return rank_; }
  size_t ranks() const override { return ranks_; }

 protected:
  std::vector<std::string> allgather(std::string mine) override { return rendezvous_.allgather(rank_, std::move(mine)); }

 private:
  Rendezvous& rendezvous_;
  size_t rank_, ranks_;
};

// Runs body(pool) on `ranks` simulated ranks; what each returned, or the message it threw.
template <typename T>
struct Outcome {
  std::optional<T> value;
  std::string error;
  bool collective = false;
};

template <typename T, typename Body>
std::vector<Outcome<T>> run_ranks(size_t ranks, Body body) {
  Rendezvous rendezvous(ranks);
  std::vector<Outcome<T>> outcomes(ranks);
  std::vector<std::thread> threads;
  for (size_t r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      ThreadRank pool(rendezvous, r, ranks);
      try {
        outcomes[r].value = body(static_cast<WorkPool&>(pool));
      } catch (const CollectiveError& e) {
        outcomes[r].error = e.what();
        outcomes[r].collective = true;
      } catch (const std::exception& e) {
        outcomes[r].error = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return outcomes;
}

TEST(WorkPool, EveryResultByIndexOnEveryRankEachJobOnce) {
  constexpr size_t kRanks = 3, kJobs = 10;
  std::array<std::atomic<int>, kJobs> runs{};
  const auto outcomes = run_ranks<std::vector<std::string>>(kRanks, [&](WorkPool& pool) {
    return pool.map(kJobs, [&](size_t i) {
      ++runs[i];
      return "job " + std::to_string(i) + " on rank " + std::to_string(pool.rank());
    });
  });
  for (size_t i = 0; i < kJobs; ++i) EXPECT_EQ(runs[i], 1) << i;
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.value) << o.error;
    ASSERT_EQ(o.value->size(), kJobs);
    // Round robin: job i on rank i mod 3, and every rank sees the same list.
    for (size_t i = 0; i < kJobs; ++i) {
      EXPECT_EQ((*o.value)[i], "job " + std::to_string(i) + " on rank " + std::to_string(i % kRanks));
    }
  }
}

TEST(WorkPool, MoreRanksThanJobsAndEmptyBatches) {
  const auto outcomes = run_ranks<std::vector<uint64_t>>(4, [](WorkPool& pool) {
    std::vector<uint64_t> values = pool.map_values<uint64_t>(2, [](size_t i) { return uint64_t{100} + i; });
    EXPECT_TRUE(pool.map(0, [](size_t) { return std::string("never"); }).empty());
    values.push_back(std::stoull(pool.on_root([&] { return std::to_string(pool.rank() + 42); })));
    return values;
  });
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.value) << o.error;
    EXPECT_EQ(*o.value, (std::vector<uint64_t>{100, 101, 42}));  // on_root ran on rank 0
  }
}

TEST(WorkPool, FailingJobFailsEveryRankWithTheLowestIndexMessage) {
  const auto outcomes = run_ranks<int>(3, [](WorkPool& pool) {
    try {
      pool.map(9, [](size_t i) -> std::string {
        if (i == 5 || i == 4) throw ir::Error("job " + std::to_string(i) + " failed");
        return "ok";
      });
    } catch (const CollectiveError& e) {
      EXPECT_STREQ(e.what(), "job 4 failed");
      // Still in step: the next batch works on every rank.
      return static_cast<int>(pool.map(3, [](size_t) { return std::string("x"); }).size());
    }
    return -1;
  });
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.value) << o.error;
    EXPECT_EQ(*o.value, 3);
  }
}

TEST(WorkPool, RankFailingBetweenBatchesStopsTheOthersInTheirBatch) {
  const auto outcomes = run_ranks<int>(3, [](WorkPool& pool) {
    if (pool.rank() == 2) pool.fail("cannot read the data on rank 2");
    pool.map(6, [](size_t) { return std::string("ok"); });
    return 0;
  });
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.value);
    EXPECT_TRUE(o.collective);
    EXPECT_EQ(o.error, "cannot read the data on rank 2");
  }
}

TEST(WorkPool, RunCommandRootReportsOthersStaySilent) {
  // Rank 1 throws after the last batch while the others finish: they learn it in the final
  // exchange; rank 0 rethrows the message, the others return 1.
  const auto failed = run_ranks<int>(3, [](WorkPool& pool) {
    return run_command(pool, [&] {
      pool.map(3, [](size_t) { return std::string(); });
      if (pool.rank() == 1) throw std::runtime_error("cannot write on rank 1");
      return 0;
    });
  });
  EXPECT_FALSE(failed[0].value);
  EXPECT_EQ(failed[0].error, "cannot write on rank 1");
  for (size_t r = 1; r < 3; ++r) {
    ASSERT_TRUE(failed[r].value) << failed[r].error;
    EXPECT_EQ(*failed[r].value, 1);
  }
  const auto fine = run_ranks<int>(2, [](WorkPool& pool) { return run_command(pool, [] { return 0; }); });
  for (const auto& o : fine) EXPECT_EQ(o.value, 0);
}

TEST(WorkPool, LocalPoolRunsInOrderAndReportsTheFirstFailure) {
  LocalPool pool;
  std::vector<size_t> order;
  const std::vector<std::string> r = pool.map(4, [&](size_t i) {
    order.push_back(i);
    return std::to_string(i * i);
  });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(r, (std::vector<std::string>{"0", "1", "4", "9"}));
  try {
    pool.map(4, [](size_t i) -> std::string {
      if (i >= 1) throw ir::Error("bad " + std::to_string(i));
      return "";
    });
    FAIL() << "expected CollectiveError";
  } catch (const CollectiveError& e) {
    EXPECT_STREQ(e.what(), "bad 1");
  }
  EXPECT_EQ(run_command(pool, [] { return 7; }), 7);
  EXPECT_GE(pool.default_threads(), 1u);
}

// ---------------------------------------------------------------------------------------------
// The exploration over simulated ranks

namespace fs = std::filesystem;

fs::path shared_data() {
  if (const char* env = std::getenv("FRUGAL_DATA")) return env;
  return fs::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "data";
}

fs::path lenet_path() { return shared_data() / "seed_ataman" / "LeNet_Cifar10_INT8.tflite"; }

struct Lenet {
  ir::Graph graph;
  approx::ExploreSplits splits;
  approx::SignificanceReport report;
};

const Lenet& lenet() {
  static const Lenet l = [] {
    Lenet x;
    x.graph = import::import_tflite_file(lenet_path());
    data::DataRoot root;
    root.path = shared_data();
    root.fixtures = false;
    x.splits = approx::load_explore_splits(data::Dataset::kCifar10, root, x.graph.tensor(x.graph.inputs[0]), 300, 500);
    const runtime::CompiledModel model(x.graph, runtime::KernelSet::kFast);
    x.report = approx::analyze_significance(model, x.splits.calibration.inputs, {2});
    return x;
  }();
  return l;
}

// What must not depend on the ranks: every evaluated count and the front, point by point.
std::string summary(const approx::ExploreResult& r) {
  std::string s = "evaluations " + std::to_string(r.evaluations) + "; baseline " +
                  std::to_string(r.baseline.validation_correct) + "/" + std::to_string(r.baseline.test_correct.value_or(0)) +
                  ";";
  for (const approx::ExplorePoint& p : r.pareto) {
    s += " [";
    for (int32_t k : p.levels) s += std::to_string(k);
    s += " " + std::to_string(p.validation_correct) + " " + std::to_string(p.test_correct.value_or(0)) + " " +
         std::to_string(static_cast<int64_t>(p.instructions)) + "]";
  }
  return s;
}

void expect_same_on_ranks(const approx::ExploreOptions& base, size_t ranks) {
  const Lenet& l = lenet();
  const approx::InstructionCostModel costs = approx::InstructionCostModel::estimate(l.graph);
  approx::ExploreResult one = approx::explore(l.graph, l.report, costs, l.splits.validation, base);
  approx::measure_test(one, l.graph, l.report, l.splits.test, base);
  const std::string expected = summary(one);
  const auto outcomes = run_ranks<std::string>(ranks, [&](WorkPool& pool) {
    approx::ExploreOptions o = base;
    o.pool = &pool;
    approx::ExploreResult r = approx::explore(l.graph, l.report, costs, l.splits.validation, o);
    approx::measure_test(r, l.graph, l.report, l.splits.test, o);
    return summary(r);
  });
  for (size_t r = 0; r < ranks; ++r) {
    ASSERT_TRUE(outcomes[r].value) << outcomes[r].error;
    EXPECT_EQ(*outcomes[r].value, expected) << "rank " << r;
  }
  std::printf("%zu ranks: %s\n", ranks, expected.c_str());
}

approx::ExploreOptions small_options() {
  approx::ExploreOptions o;
  o.levels = {0.0, 0.25, 0.5, 0.75};
  o.threads = 1;
  return o;
}

TEST(DistributedExplore, FastSearchSameOnThreeRanks) {
  if (!fs::exists(lenet_path()) || !fs::exists(shared_data() / "cifar10" / "data_batch_1.bin")) {
    GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  }
  expect_same_on_ranks(small_options(), 3);
}

TEST(DistributedExplore, CutSearchAndExhaustiveSameOnTwoRanks) {
  if (!fs::exists(lenet_path()) || !fs::exists(shared_data() / "cifar10" / "data_batch_1.bin")) {
    GTEST_SKIP() << "LeNet or CIFAR-10 not found";
  }
  approx::ExploreOptions cut = small_options();
  cut.max_evaluations = 45;  // the sensitivity curves and the walk take 30: ends inside the refinement
  expect_same_on_ranks(cut, 2);
  approx::ExploreOptions all = small_options();
  all.levels = {0.0, 0.5, 0.75};
  all.exhaustive = true;  // 3^4 = 81 configurations: batches of 32, the last one short
  expect_same_on_ranks(all, 2);
}

}  // namespace
}  // namespace frugal::distributed
