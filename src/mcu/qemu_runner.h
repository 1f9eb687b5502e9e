// Runs a firmware ELF on the board's QEMU stand-in with frugal's counting plugin.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/boards.h"

namespace frugal::mcu {

struct Region {
  uint64_t instructions = 0;     // exact
  uint64_t cycles_estimate = 0;  // from the plugin's cycle table
};

struct RunOptions {
  std::filesystem::path working_directory;  // QEMU's cwd: semihosting paths are relative to it
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::filesystem::path plugin_path;        // empty: default_plugin_path()
  std::string cycle_model;                  // "m4", "m7", "none"; empty: the board's
  bool count = true;                        // load the plugin at all
  // The firmware calls frugal_mark_calibrate() before its first region: the first (empty)
  // region is removed from `regions` and its cost subtracted from every other region.
  bool calibrated_regions = true;
};

struct RunResult {
  int exit_code = -1;     // main's return value (128 + vector on a fault)
  bool timed_out = false;
  std::string guest_stdout;  // QEMU's stdout
  std::string guest_stderr;  // QEMU's stderr: semihosting console output and QEMU messages
  std::vector<Region> regions;
  Region empty_region;       // the calibration region, when calibrated_regions
  uint64_t total_instructions = 0;
  uint64_t total_cycles = 0;
  double wall_seconds = 0;
};

// Throws ir::Error when qemu-system-arm or the plugin is missing, or when counting was asked
// for and the plugin wrote no counts (QEMU failed to start or the run timed out gives
// a result, not an exception: check exit_code / timed_out).
RunResult run_firmware(const codegen::Board& board, const std::filesystem::path& elf,
                       const RunOptions& options = {});

// Next to the running executable (libfrugal_qemu_plugin.so), else $FRUGAL_QEMU_PLUGIN, else
// the build tree's copy.
std::filesystem::path default_plugin_path();

// The plugin's output file (see docs/mcu-backend.md, "Plugin output").
struct PluginCounts {
  std::string model;
  size_t marks = 0;
  std::vector<Region> regions;  // between consecutive marks, raw
  Region before;                // start to first mark (the whole run when there are none)
  Region after;                 // last mark to exit
  Region total;
};
PluginCounts parse_plugin_counts(std::string_view text);

}  // namespace frugal::mcu
