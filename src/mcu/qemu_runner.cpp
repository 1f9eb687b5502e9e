#include "mcu/qemu_runner.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "ir/graph.h"
#include "mcu/firmware.h"
#include "mcu/process.h"

namespace frugal::mcu {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPluginFile = "libfrugal_qemu_plugin.so";

Region subtract(const Region& region, const Region& empty) {
  // Saturating: a region cheaper than the calibration region (possible only for the cycle
  // estimate, where branch penalties around the marker differ) reports 0, never wraps.
  Region result;
  result.instructions =
      region.instructions > empty.instructions ? region.instructions - empty.instructions : 0;
  result.cycles_estimate = region.cycles_estimate > empty.cycles_estimate
                               ? region.cycles_estimate - empty.cycles_estimate
                               : 0;
  return result;
}

// The MPS2 boards' on-board Ethernet controller always warns that it has no network; the
// warning is noise in what the guest printed.
std::string without_nic_warning(const std::string& text) {
  std::string result;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("warning: nic ") != std::string::npos &&
        line.find("has no peer") != std::string::npos) {
      continue;
    }
    result += line;
    if (!lines.eof()) result += '\n';
  }
  return result;
}

fs::path counts_file_path() {
  static std::atomic<int> sequence{0};
  return fs::temp_directory_path() /
         fmt::format("frugal-qemu-{}-{}.counts", static_cast<long>(::getpid()), ++sequence);
}

}  // namespace

fs::path default_plugin_path() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path beside = self.parent_path() / kPluginFile;
    if (fs::exists(beside)) return beside;
  }
  if (const char* environment = std::getenv("FRUGAL_QEMU_PLUGIN")) return environment;
#ifdef FRUGAL_QEMU_PLUGIN_PATH
  return FRUGAL_QEMU_PLUGIN_PATH;
#else
  return kPluginFile;
#endif
}

PluginCounts parse_plugin_counts(std::string_view text) {
  PluginCounts counts;
  std::istringstream lines{std::string(text)};
  std::string line;
  bool header = false;
  bool has_total = false;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    auto read_region = [&](Region& region) {
      if (!(fields >> region.instructions >> region.cycles_estimate)) {
        throw ir::Error("plugin counts: bad line '" + line + "'");
      }
    };
    if (key == "frugal-qemu-counts") {
      int version = 0;
      fields >> version;
      if (version != 1) throw ir::Error("plugin counts: unsupported version in '" + line + "'");
      header = true;
    } else if (key == "model") {
      fields >> counts.model;
    } else if (key == "marks") {
      fields >> counts.marks;
    } else if (key == "region") {
      size_t index = 0;
      fields >> index;
      if (index != counts.regions.size()) throw ir::Error("plugin counts: regions out of order");
      read_region(counts.regions.emplace_back());
    } else if (key == "before") {
      read_region(counts.before);
    } else if (key == "after") {
      read_region(counts.after);
    } else if (key == "total") {
      read_region(counts.total);
      has_total = true;
    }
  }
  if (!header || !has_total) throw ir::Error("plugin counts: incomplete file");
  return counts;
}

RunResult run_firmware(const codegen::Board& board, const fs::path& elf,
                       const RunOptions& options) {
  if (!qemu_available()) {
    throw ir::Error("qemu-system-arm not found on PATH: install qemu-system-arm");
  }
  if (!fs::exists(elf)) throw ir::Error(elf.string() + ": firmware ELF does not exist");
  const fs::path elf_path = fs::absolute(elf);

  std::vector<std::string> argv = {"qemu-system-arm", "-M", std::string(board.qemu_machine),
                                   "-display", "none", "-nodefaults", "-monitor", "none",
                                   "-serial", "null",
                                   "-semihosting-config", "enable=on,target=native",
                                   "-kernel", elf_path.string()};
  fs::path counts_path;
  if (options.count) {
    const fs::path plugin =
        options.plugin_path.empty() ? default_plugin_path() : options.plugin_path;
    if (!fs::exists(plugin)) {
      throw ir::Error(plugin.string() + ": QEMU plugin not found (build target frugal_qemu_plugin)");
    }
    const std::string model =
        options.cycle_model.empty() ? std::string(board.cycle_model) : options.cycle_model;
    counts_path = counts_file_path();
    std::string plugin_argument =
        fmt::format("{},out={},model={}", fs::absolute(plugin).string(), counts_path.string(), model);
    if (const auto mark = elf_symbol_address(elf_path, "frugal_mark")) {
      plugin_argument += fmt::format(",mark=0x{:x}", *mark);
    }
    argv.push_back("-plugin");
    argv.push_back(plugin_argument);
  }

  const ProcessResult process = run_process(argv, options.working_directory, options.timeout);
  RunResult result;
  result.exit_code = process.exit_code;
  result.timed_out = process.timed_out;
  result.guest_stdout = process.stdout_text;
  result.guest_stderr = without_nic_warning(process.stderr_text);
  result.wall_seconds = process.wall_seconds;
  if (!options.count) return result;

  std::string counts_text;
  {
    std::ifstream stream(counts_path, std::ios::binary);
    if (stream) {
      counts_text.assign(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
    }
  }
  std::error_code ignored;
  fs::remove(counts_path, ignored);
  fs::remove(counts_path.string() + ".tmp", ignored);
  if (counts_text.empty()) {
    if (result.timed_out) return result;
    throw ir::Error(fmt::format("{}: QEMU wrote no instruction counts (exit status {}): {}",
                                elf.string(), result.exit_code, result.guest_stderr));
  }
  const PluginCounts counts = parse_plugin_counts(counts_text);
  result.total_instructions = counts.total.instructions;
  result.total_cycles = counts.total.cycles_estimate;
  if (options.calibrated_regions && !counts.regions.empty()) {
    result.empty_region = counts.regions.front();
    for (size_t i = 1; i < counts.regions.size(); ++i) {
      result.regions.push_back(subtract(counts.regions[i], result.empty_region));
    }
  } else {
    result.regions = counts.regions;
  }
  return result;
}

}  // namespace frugal::mcu
