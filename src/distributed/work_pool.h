// Where a batch of independent jobs runs: in this process, or spread over the ranks of an MPI
// job (`mpirun -np N frugal explore ...`, docs/distributed-exploration.md).
//
// Every rank runs the same program on the same inputs and calls the pool's collective
// operations in the same order. A batch is handed out by job index (job i to rank i mod N) and
// every job's result comes back to every rank, keyed by index: whatever ran where and finished
// when, all ranks hold the same results afterwards, so code that decides only from them takes
// the same path everywhere and no rank has to tell the others what to do next.
//
// Failures are collective too: a rank whose job threw, or which failed between two exchanges
// (fail()), says so in the next exchange, and then every rank throws the same CollectiveError.
// That way one bad rank ends the run on all of them instead of leaving them waiting in a
// collective it never reaches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ir/graph.h"

namespace frugal::distributed {

// Thrown on every rank alike: the message of the failure that ended the run (of the failing job
// with the lowest index, else of the lowest failing rank).
class CollectiveError : public ir::Error {
 public:
  using ir::Error::Error;
};

class WorkPool {
 public:
  virtual ~WorkPool() = default;
  WorkPool() = default;
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  virtual size_t rank() const = 0;
  virtual size_t ranks() const = 0;
  bool root() const { return rank() == 0; }
  // Threads one rank's jobs should use when the user did not say (here: every core; an MPI
  // rank takes its share of the cores of its node).
  virtual unsigned default_threads() const;

  using Job = std::function<std::string(size_t index)>;
  // Called on the rank that finished job `index` (so on rank 0 for its own jobs only), with the
  // jobs of lower index taken as done too: good enough for a progress bar.
  using JobProgress = std::function<void(size_t done, size_t count)>;

  // Runs job(i) for every i in [0, count) and returns all results in index order, on every
  // rank. Collective. Throws CollectiveError (on every rank) when a job threw on any rank.
  std::vector<std::string> map(size_t count, const Job& job, const JobProgress& progress = {});

  // map() for results of a trivially copyable type.
  template <typename T>
  std::vector<T> map_values(size_t count, const std::function<T(size_t)>& job, const JobProgress& progress = {}) {
    static_assert(std::is_trivially_copyable_v<T>);
    const std::vector<std::string> bytes = map(
        count,
        [&](size_t i) {
          const T value = job(i);
          return std::string(reinterpret_cast<const char*>(&value), sizeof(T));
        },
        progress);
    std::vector<T> values(count);
    for (size_t i = 0; i < count; ++i) {
      if (bytes[i].size() != sizeof(T)) throw ir::Error("work pool: a result has the wrong size");
      std::memcpy(&values[i], bytes[i].data(), sizeof(T));
    }
    return values;
  }

  // Runs `job` on rank 0 only and returns its result on every rank (serial work whose result
  // all ranks need, computed once). Collective.
  std::string on_root(const std::function<std::string()>& job) {
    return map(1, [&](size_t) { return job(); })[0];
  }

  // Tells the other ranks that this one failed and throws the CollectiveError they throw too.
  // Matches whichever collective operation they are in. Collective.
  [[noreturn]] void fail(std::string_view message);

  // The last exchange of a run: throws CollectiveError if a rank failed after the previous one.
  // Collective.
  void finish();

 protected:
  // Every rank's `mine`, indexed by rank, on every rank. Collective: each rank calls it the same
  // number of times (fail() included).
  virtual std::vector<std::string> allgather(std::string mine) = 0;

 private:
  // allgather() of a message framed by success() or failure() (work_pool.cpp); throws
  // CollectiveError when any rank's is a failure, else returns the payloads.
  std::vector<std::string> exchange(std::string framed);
};

// One process: jobs run one after the other on the calling thread (each may use threads).
class LocalPool final : public WorkPool {
 public:
  size_t rank() const override { return 0; }
  size_t ranks() const override { return 1; }

 protected:
  std::vector<std::string> allgather(std::string mine) override;
};

// Runs one command's `body` with `pool`. A failure on any rank ends the command on every rank:
// rank 0 rethrows it (a CollectiveError with the failing rank's message) for the caller to
// print as its one error line, the other ranks return 1 without a word. With one rank, `body`
// runs as is.
int run_command(WorkPool& pool, const std::function<int()>& body);

// This process's rank and the job's size as an MPI launcher (mpirun, srun --mpi=pmix|pmi2,
// mpiexec.hydra) announced them in the environment, before MPI is initialised; nullopt when
// no launcher started this process.
struct LaunchInfo {
  size_t rank = 0;
  size_t size = 0;  // 0 when the launcher does not say (PMIx sets only the rank)
};
std::optional<LaunchInfo> mpi_launch();

}  // namespace frugal::distributed
