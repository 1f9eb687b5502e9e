#include "parallel.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace frugal::cli {

double run_parallel(const runtime::CompiledModel& model, size_t count, unsigned threads,
                    const std::function<void(size_t, runtime::Session&)>& work,
                    const std::function<void(size_t, double)>& progress) {
  using Clock = std::chrono::steady_clock;
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex mutex;
  std::condition_variable finished_cv;
  unsigned finished = 0;

  // Sessions are created before the clock starts: arena allocation is set-up, not inference.
  std::vector<runtime::Session> sessions;
  sessions.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) sessions.emplace_back(model);

  const Clock::time_point start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  {
    std::vector<std::jthread> workers;
    workers.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        try {
          for (size_t item = next++; item < count && !failed; item = next++) {
            work(item, sessions[t]);
            ++done;
          }
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!first_error) first_error = std::current_exception();
          failed = true;
        }
        std::lock_guard lock(mutex);
        ++finished;
        finished_cv.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    while (finished < threads) {
      finished_cv.wait_for(lock, std::chrono::milliseconds(100));
      if (progress && finished < threads && !failed) {
        lock.unlock();
        progress(done.load(), elapsed());
        lock.lock();
      }
    }
  }
  const double seconds = elapsed();
  if (first_error) std::rethrow_exception(first_error);
  return seconds;
}

}  // namespace frugal::cli
