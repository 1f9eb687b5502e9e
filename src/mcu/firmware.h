// Firmware projects for the Cortex-M targets: writing the project skeleton (platform files,
// linker scripts, Makefile), building it with arm-none-eabi-g++, and reading the ELF
// (memory usage, symbol addresses).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codegen/boards.h"

namespace frugal::mcu {

enum class FirmwareTarget { kQemu, kBoard };

// One file of the firmware project, path relative to the project directory. `only` limits a
// compiled file to one build (e.g. a bench harness that reads its inputs via semihosting).
struct SourceFile {
  // A constructor rather than an aggregate, so `{path, contents}` needs no third member.
  SourceFile(std::filesystem::path file_path, std::string file_contents,
             std::optional<FirmwareTarget> only_target = std::nullopt)
      : path(std::move(file_path)), contents(std::move(file_contents)), only(only_target) {}

  std::filesystem::path path;
  std::string contents;
  std::optional<FirmwareTarget> only;
};

struct ProjectOptions {
  uint32_t stack_bytes = 8 * 1024;
  std::string optimization = "-O2";
  std::vector<std::string> include_directories;  // relative to the project directory
  std::string extra_compile_flags;               // appended to both C and C++ flags
};

// Writes `sources` plus platform/ (startup, semihosting, marker, linker scripts qemu.ld and
// board.ld) and a Makefile into `directory` (created if needed). Files ending in .c, .cc,
// .cpp and .S are compiled; others (headers) are only written. Throws ir::Error on a bad
// path (absolute, "..", or whitespace, which make cannot handle) or a write failure.
void write_firmware_project(const codegen::Board& board, const std::filesystem::path& directory,
                            std::span<const SourceFile> sources, const ProjectOptions& options = {});

// Runs `make -C directory qemu|board` and returns the ELF (build/qemu/firmware.elf or
// build/board/firmware.elf). Throws ir::Error when the toolchain is missing or the build
// fails (with the first compiler error line).
std::filesystem::path build_firmware(const std::filesystem::path& directory,
                                     FirmwareTarget target = FirmwareTarget::kQemu, int jobs = 0);

struct MemoryUsage {
  uint64_t flash_bytes = 0;  // everything loaded into flash, incl. the .data image
  uint64_t ram_bytes = 0;    // .data + .bss (static RAM, arena included)
  uint64_t stack_bytes = 0;  // the stack reserved by the linker script
};

// From the ELF's section headers. Throws ir::Error when the file is not a 32-bit ELF.
MemoryUsage firmware_memory_usage(const std::filesystem::path& elf);

// Address of a symbol (the Thumb bit of function symbols cleared).
std::optional<uint32_t> elf_symbol_address(const std::filesystem::path& elf, std::string_view name);

bool arm_toolchain_available();  // arm-none-eabi-g++ and make on PATH
bool qemu_available();           // qemu-system-arm on PATH

}  // namespace frugal::mcu
