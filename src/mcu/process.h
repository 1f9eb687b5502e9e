// Runs a program without a shell, capturing its output, with a wall-clock limit.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace frugal::mcu {

struct ProcessResult {
  int exit_code = -1;      // the program's exit status; 128 + signal when killed by a signal
  bool timed_out = false;  // killed after the time limit (exit_code is then -1)
  std::string stdout_text;
  std::string stderr_text;
  double wall_seconds = 0;
};

// argv[0] is looked up on PATH when it has no '/'. Throws ir::Error when it cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& working_directory,
                          std::chrono::milliseconds timeout);

// The full path of `name` on PATH, if any.
std::optional<std::filesystem::path> find_program(const std::string& name);

}  // namespace frugal::mcu
