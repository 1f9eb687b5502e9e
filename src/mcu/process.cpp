#include "mcu/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ir/graph.h"

namespace frugal::mcu {
namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw ir::Error(std::string("pipe: ") + std::strerror(errno));
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_read() {
    if (read_end >= 0) ::close(read_end);
    read_end = -1;
  }
  void close_write() {
    if (write_end >= 0) ::close(write_end);
    write_end = -1;
  }
};

// Appends what is available; returns false at end of file.
bool drain(int fd, std::string& text) {
  std::array<char, 65536> buffer;
  const ssize_t count = ::read(fd, buffer.data(), buffer.size());
  if (count > 0) {
    text.append(buffer.data(), static_cast<size_t>(count));
    return true;
  }
  return count < 0 && (errno == EINTR || errno == EAGAIN);
}

}  // namespace

std::optional<std::filesystem::path> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return std::filesystem::path(name);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string directories = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= directories.size()) {
    size_t end = directories.find(':', start);
    if (end == std::string::npos) end = directories.size();
    const std::string directory = directories.substr(start, end - start);
    const std::filesystem::path candidate =
        std::filesystem::path(directory.empty() ? "." : directory) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& working_directory,
                          std::chrono::milliseconds timeout) {
  if (argv.empty()) throw ir::Error("run_process: empty command");
  const auto program = find_program(argv[0]);
  if (!program) throw ir::Error(argv[0] + ": program not found on PATH");

  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  const std::string program_path = program->string();
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  const std::string directory = working_directory.empty() ? "" : working_directory.string();

  Pipe out;
  Pipe err;
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw ir::Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    const int null_input = ::open("/dev/null", O_RDONLY);
    if (null_input >= 0) ::dup2(null_input, STDIN_FILENO);
    ::dup2(out.write_end, STDOUT_FILENO);
    ::dup2(err.write_end, STDERR_FILENO);
    if (!directory.empty() && ::chdir(directory.c_str()) != 0) ::_exit(126);
    ::execv(program_path.c_str(), arguments.data());
    ::_exit(127);
  }
  out.close_write();
  err.close_write();

  ProcessResult result;
  bool out_open = true;
  bool err_open = true;
  const auto deadline = started + timeout;
  while (out_open || err_open) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      result.timed_out = true;
      break;
    }
    std::array<pollfd, 2> fds{};
    nfds_t count = 0;
    if (out_open) fds[count++] = pollfd{out.read_end, POLLIN, 0};
    if (err_open) fds[count++] = pollfd{err.read_end, POLLIN, 0};
    const int ready = ::poll(fds.data(), count, static_cast<int>(remaining.count()));
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      const bool is_out = fds[i].fd == out.read_end;
      if (!drain(fds[i].fd, is_out ? result.stdout_text : result.stderr_text)) {
        (is_out ? out_open : err_open) = false;
      }
    }
  }
  int status = 0;
  // The output can end before the program does (it may close its descriptors and go on).
  while (!result.timed_out) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    ::usleep(2000);
  }
  if (result.timed_out) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (result.timed_out) {
    result.exit_code = -1;
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  if (result.exit_code == 126 && !directory.empty() && !std::filesystem::is_directory(directory)) {
    throw ir::Error(directory + ": working directory does not exist");
  }
  return result;
}

}  // namespace frugal::mcu
