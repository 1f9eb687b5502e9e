#include "distributed/work_pool.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <limits>
#include <thread>
#include <utility>

namespace frugal::distributed {

namespace {

// What one rank contributes to an exchange: a status byte, then for a failure the sort key
// (failing job index, or kNoJob) and the message, else the payload. Ranks of one job share a
// byte order, so integers travel as they lie in memory.
constexpr char kOk = 0, kFailed = 1;
constexpr uint64_t kNoJob = std::numeric_limits<uint64_t>::max();

void put_u64(std::string& out, uint64_t value) { out.append(reinterpret_cast<const char*>(&value), sizeof value); }

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return pos_ == bytes_.size(); }
  uint64_t u64() {
    uint64_t value = 0;
    std::memcpy(&value, take(sizeof value).data(), sizeof value);
    return value;
  }
  std::string_view take(size_t n) {
    if (n > bytes_.size() - pos_) throw ir::Error("work pool: truncated message between ranks (a bug)");
    const std::string_view part = bytes_.substr(pos_, n);
    pos_ += n;
    return part;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

std::string success(std::string payload) {
  payload.insert(payload.begin(), kOk);
  return payload;
}

std::string failure(uint64_t key, std::string_view message) {
  std::string out(1, kFailed);
  put_u64(out, key);
  out.append(message);
  return out;
}

std::string message_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

std::optional<size_t> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  size_t value = 0;
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

unsigned WorkPool::default_threads() const { return std::max(1u, std::thread::hardware_concurrency()); }

std::vector<std::string> WorkPool::exchange(std::string framed) {
  std::vector<std::string> all = allgather(std::move(framed));
  // The failure to report: lowest job index first, then lowest rank, so the message does not
  // depend on timing (and with one rank it is the first failing job's, as without a pool).
  const std::string* first = nullptr;
  uint64_t first_key = kNoJob;
  for (const std::string& mine : all) {
    if (mine.empty() || mine[0] != kFailed) continue;
    Reader r(std::string_view(mine).substr(1));
    const uint64_t key = r.u64();
    if (first == nullptr || key < first_key) {
      first = &mine;
      first_key = key;
    }
  }
  if (first != nullptr) throw CollectiveError(first->substr(1 + sizeof(uint64_t)));
  for (std::string& mine : all) mine.erase(0, 1);
  return all;
}

std::vector<std::string> WorkPool::map(size_t count, const Job& job, const JobProgress& progress) {
  std::string mine;
  std::optional<std::pair<size_t, std::exception_ptr>> error;
  const size_t n = ranks();
  // Round robin rather than blocks: the jobs of one batch cost about the same, and consecutive
  // indices (neighbouring configurations) are then spread over the ranks.
  for (size_t i = rank(); i < count; i += n) {
    try {
      const std::string result = job(i);
      put_u64(mine, i);
      put_u64(mine, result.size());
      mine.append(result);
    } catch (...) {
      error = {i, std::current_exception()};
      break;  // this rank's later jobs would be wasted: the batch fails anyway
    }
    if (progress) progress(std::min(count, i + 1), count);
  }
  std::vector<std::string> all;
  if (error) {
    std::string message = message_of(error->second);
    all = exchange(failure(error->first, message));  // throws: this rank failed
  } else {
    all = exchange(success(std::move(mine)));
  }
  std::vector<std::string> results(count);
  std::vector<bool> seen(count, false);
  for (const std::string& part : all) {
    Reader r(part);
    while (!r.done()) {
      const uint64_t index = r.u64();
      const uint64_t size = r.u64();
      if (index >= count || seen[index]) throw ir::Error("work pool: a job result arrived twice or out of range (a bug)");
      results[index] = std::string(r.take(size));
      seen[index] = true;
    }
  }
  if (std::find(seen.begin(), seen.end(), false) != seen.end()) {
    throw ir::Error("work pool: a job result is missing (a bug)");
  }
  return results;
}

void WorkPool::fail(std::string_view message) {
  // The others see this rank's failure in whatever exchange they are in; exchange() throws.
  exchange(failure(kNoJob, message));
  throw CollectiveError(std::string(message));  // unreachable: exchange() saw this rank's failure
}

void WorkPool::finish() { exchange(success(std::string())); }

std::vector<std::string> LocalPool::allgather(std::string mine) { return {std::move(mine)}; }

int run_command(WorkPool& pool, const std::function<int()>& body) {
  if (pool.ranks() == 1) return body();
  try {
    try {
      const int code = body();
      pool.finish();
      return code;
    } catch (const CollectiveError&) {
      throw;
    } catch (...) {
      pool.fail(message_of(std::current_exception()));
    }
  } catch (const CollectiveError&) {
    if (pool.root()) throw;
    return 1;
  }
}

std::optional<LaunchInfo> mpi_launch() {
  // Open MPI's mpirun; then the PMI-1/2 variables of MPICH's hydra and of srun --mpi=pmi2;
  // then PMIx (srun --mpi=pmix, prterun), which announces the rank only.
  if (const auto rank = env_number("OMPI_COMM_WORLD_RANK")) {
    return LaunchInfo{*rank, env_number("OMPI_COMM_WORLD_SIZE").value_or(0)};
  }
  if (const auto rank = env_number("PMI_RANK")) return LaunchInfo{*rank, env_number("PMI_SIZE").value_or(0)};
  if (const auto rank = env_number("PMIX_RANK")) return LaunchInfo{*rank, 0};
  return std::nullopt;
}

}  // namespace frugal::distributed
