// Runs the built `frugal` binary for end-to-end tests: exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace frugal::testing {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `args` already shell-quoted. Output goes through files in a per-process temporary folder.
inline CliRun run_frugal(const std::string& args) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("frugal_cli_run_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string command = "\"";
  command.append((fs::path(FRUGAL_BINARY_DIR) / "frugal").string()).append("\" ").append(args);
  command.append(" >\"").append((dir / "out").string()).append("\" 2>\"").append((dir / "err").string()).append("\"");
  const int status = std::system(command.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return r;
}

// The last line of `text` (`--json` prints its object there).
inline std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace frugal::testing
