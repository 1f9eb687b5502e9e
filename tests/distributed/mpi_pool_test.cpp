// The MPI work pool across real ranks (ctest starts this under mpirun; alone it checks the
// one-process fallback): results by index on every rank, a failure on one rank ending every
// rank's collective instead of leaving it waiting.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "distributed/mpi_pool.h"

namespace frugal::distributed {
namespace {

// MPI may be initialised once per process: one pool for every test.
WorkPool* pool = nullptr;

TEST(MpiPool, RanksAsTheLauncherSaid) {
  const std::optional<LaunchInfo> launch = mpi_launch();
  if (!launch) {
    EXPECT_EQ(pool->ranks(), 1u);
    return;
  }
  ASSERT_TRUE(mpi_available());
  EXPECT_EQ(pool->rank(), launch->rank);
  if (launch->size != 0) {
    EXPECT_EQ(pool->ranks(), launch->size);
  }
  EXPECT_GE(pool->default_threads(), 1u);
}

TEST(MpiPool, EveryResultByIndexOnEveryRank) {
  const std::vector<std::string> r = pool->map(
      7, [](size_t i) { return std::to_string(i) + "@" + std::to_string(pool->rank()); });
  ASSERT_EQ(r.size(), 7u);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i], std::to_string(i) + "@" + std::to_string(i % pool->ranks()));
  const std::vector<double> v = pool->map_values<double>(5, [](size_t i) { return 0.5 * static_cast<double>(i); });
  EXPECT_EQ(v, (std::vector<double>{0.0, 0.5, 1.0, 1.5, 2.0}));
}

TEST(MpiPool, LargeResults) {
  // 3 MiB per job: more than one eager message, less than the 2 GiB an exchange carries.
  const std::vector<std::string> r =
      pool->map(4, [](size_t i) { return std::string(3u << 20, static_cast<char>('a' + i)); });
  for (size_t i = 0; i < r.size(); ++i) {
    ASSERT_EQ(r[i].size(), 3u << 20);
    EXPECT_EQ(r[i].front(), static_cast<char>('a' + i));
    EXPECT_EQ(r[i].back(), static_cast<char>('a' + i));
  }
}

TEST(MpiPool, FailingJobReachesEveryRank) {
  try {
    pool->map(6, [](size_t i) -> std::string {
      if (i == 3) throw ir::Error("job 3 failed");
      return "ok";
    });
    FAIL() << "expected CollectiveError";
  } catch (const CollectiveError& e) {
    EXPECT_STREQ(e.what(), "job 3 failed");
  }
}

TEST(MpiPool, RankFailingOutsideABatchStopsTheOthers) {
  const size_t last = pool->ranks() - 1;
  try {
    if (pool->rank() == last) pool->fail("rank " + std::to_string(last) + " gave up");
    pool->map(4, [](size_t) { return std::string("ok"); });
    FAIL() << "expected CollectiveError";
  } catch (const CollectiveError& e) {
    EXPECT_EQ(std::string(e.what()), "rank " + std::to_string(last) + " gave up");
  }
  // In step again afterwards.
  EXPECT_EQ(pool->map(2, [](size_t) { return std::string("x"); }).size(), 2u);
}

}  // namespace
}  // namespace frugal::distributed

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::unique_ptr<frugal::distributed::WorkPool> pool = frugal::distributed::make_pool();
  frugal::distributed::pool = pool.get();
  // One report is enough: the other ranks' failures show in mpirun's exit status.
  if (!pool->root()) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  pool.reset();  // MPI_Finalize
  return failed;
}
