// Runs independent inferences over several threads, one Session per thread.
#pragma once

#include <cstddef>
#include <functional>

#include "runtime/interpreter.h"

namespace frugal::cli {

// Calls work(i, session) for every i in [0, count), spread over `threads` threads that each own
// one Session (items are handed out one at a time, so slow and fast threads balance). While they
// run, the calling thread reports progress(done, elapsed_seconds) about ten times a second.
// Returns the wall-clock seconds from the first item to the last; rethrows the first exception
// a worker raised (the others stop early).
double run_parallel(const runtime::CompiledModel& model, size_t count, unsigned threads,
                    const std::function<void(size_t item, runtime::Session& session)>& work,
                    const std::function<void(size_t done, double elapsed_seconds)>& progress = {});

}  // namespace frugal::cli
