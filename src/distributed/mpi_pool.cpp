#include "distributed/mpi_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <thread>

#ifdef FRUGAL_HAVE_MPI
#include <mpi.h>
#include <sched.h>
#endif

namespace frugal::distributed {

#ifdef FRUGAL_HAVE_MPI

namespace {

// Every rank of MPI_COMM_WORLD. Collectives go over a duplicate of it, so that nothing else
// using MPI in this process can match them by accident.
class MpiPool final : public WorkPool {
 public:
  MpiPool() {
    int provided = 0;
    // Only the main thread calls MPI; the jobs' worker threads never do.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    int rank = 0, size = 0;
    MPI_Comm_rank(comm_, &rank);
    MPI_Comm_size(comm_, &size);
    rank_ = static_cast<size_t>(rank);
    size_ = static_cast<size_t>(size);
    MPI_Comm node;
    MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    int node_size = 1;
    MPI_Comm_size(node, &node_size);
    MPI_Comm_free(&node);
    node_ranks_ = static_cast<unsigned>(std::max(1, node_size));
  }
  ~MpiPool() override {
    MPI_Comm_free(&comm_);
    MPI_Finalize();
  }

  size_t rank() const override { return rank_; }
  size_t ranks() const override { return size_; }

  unsigned default_threads() const override {
    // A launcher that binds each rank to its cores (mpirun's default for few ranks, srun
    // --cpus-per-task) leaves an affinity mask smaller than the machine: that is this rank's
    // share. Otherwise the ranks of this node split its cores.
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      const unsigned allowed = static_cast<unsigned>(CPU_COUNT(&set));
      if (allowed > 0 && allowed < cores) return allowed;
    }
    return std::max(1u, cores / node_ranks_);
  }

 protected:
  std::vector<std::string> allgather(std::string mine) override {
    const unsigned long long size = mine.size();
    std::vector<unsigned long long> sizes(size_);
    // Ranks arrive here at different times (a smaller share of a batch, rank 0's serial steps).
    // A blocking collective would spin on its core meanwhile, taking it from the threads of
    // rank 0 or of ranks sharing cores; polling with short sleeps leaves it to them, for at
    // most a millisecond of delay per exchange. Once all sizes are known everyone is here, so
    // the data itself goes through the blocking collective.
    MPI_Request request;
    MPI_Iallgather(&size, 1, MPI_UNSIGNED_LONG_LONG, sizes.data(), 1, MPI_UNSIGNED_LONG_LONG, comm_, &request);
    for (int done = 0;;) {
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (done) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::vector<int> counts(size_), displacements(size_);
    unsigned long long total = 0;
    for (size_t r = 0; r < size_; ++r) {
      if (sizes[r] > INT_MAX || total > INT_MAX - sizes[r]) {
        // Every rank sees the same sizes and stops here: nothing is left waiting.
        if (rank_ == 0) std::fputs("error: a batch's results exceed 2 GiB, more than one MPI exchange carries\n", stderr);
        MPI_Abort(comm_, 1);
      }
      counts[r] = static_cast<int>(sizes[r]);
      displacements[r] = static_cast<int>(total);
      total += sizes[r];
    }
    std::string all(total, '\0');
    MPI_Allgatherv(mine.data(), counts[rank_], MPI_BYTE, all.data(), counts.data(), displacements.data(), MPI_BYTE,
                   comm_);
    std::vector<std::string> parts(size_);
    for (size_t r = 0; r < size_; ++r) {
      parts[r] = all.substr(static_cast<size_t>(displacements[r]), static_cast<size_t>(counts[r]));
    }
    return parts;
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  size_t rank_ = 0, size_ = 1;
  unsigned node_ranks_ = 1;
};

}  // namespace

bool mpi_available() { return true; }

std::unique_ptr<WorkPool> make_pool() {
  if (!mpi_launch()) return std::make_unique<LocalPool>();
  return std::make_unique<MpiPool>();
}

#else

bool mpi_available() { return false; }

std::unique_ptr<WorkPool> make_pool() {
  const std::optional<LaunchInfo> launch = mpi_launch();
  if (launch && launch->size != 1) {
    throw ir::Error(fmt::format("started by an MPI launcher (rank {}), but this frugal was built without MPI; "
                                "install libopenmpi-dev and rebuild, or run one process",
                                launch->rank));
  }
  return std::make_unique<LocalPool>();
}

#endif

}  // namespace frugal::distributed
