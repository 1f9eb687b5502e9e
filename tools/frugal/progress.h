// Progress on stderr: redrawn in place when stderr is a terminal, otherwise one line per ~10%
// so that logs stay short.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace frugal::cli {

class Progress {
 public:
  Progress(size_t total, std::string unit);
  // Reports `done` items at `elapsed_seconds` since the start.
  void update(size_t done, double elapsed_seconds);
  // Final state; ends the in-place line.
  void finish(size_t done, double elapsed_seconds);

 private:
  void draw(size_t done, double elapsed_seconds);

  size_t total_;
  std::string unit_;
  bool terminal_;
  int last_decile_ = -1;
};

}  // namespace frugal::cli
