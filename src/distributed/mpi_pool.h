// The pool a command uses: MPI ranks when an MPI launcher started this process, else this
// process alone. Kept apart from work_pool.h so that only the frugal executable links MPI.
#pragma once

#include <memory>

#include "distributed/work_pool.h"

namespace frugal::distributed {

// The MPI pool when an MPI launcher started this process (see mpi_launch(); MPI is initialised
// here and finalised when the pool is destroyed), else a LocalPool: a plain `frugal explore`
// makes no MPI call at all. Throws ir::Error when started by a launcher with several processes
// but built without MPI (each process would run the whole command on its own).
std::unique_ptr<WorkPool> make_pool();

// Whether this build can run over MPI ranks.
bool mpi_available();

}  // namespace frugal::distributed
