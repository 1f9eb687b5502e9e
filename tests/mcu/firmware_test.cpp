#include "mcu/firmware.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <string>

#include "ir/graph.h"
#include "mcu/qemu_runner.h"

namespace frugal::mcu {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

fs::path scratch(const std::string& name) {
  const fs::path directory = fs::path(FRUGAL_BINARY_DIR) / "tests_mcu" / name;
  fs::remove_all(directory);
  return directory;
}

TEST(FirmwareProject, WritesPlatformLinkerScriptsAndMakefile) {
  const codegen::Board& board = codegen::find_board("nucleo-f446re");
  const fs::path directory = scratch("skeleton");
  const SourceFile sources[] = {{"main.cc", "int main() { return 0; }\n"},
                                {"kernels/add.h", "#pragma once\n"}};
  ProjectOptions options;
  options.stack_bytes = 4096;
  write_firmware_project(board, directory, sources, options);

  for (const char* file : {"main.cc", "kernels/add.h", "Makefile", "platform/startup.cc",
                           "platform/target_qemu.cc", "platform/target_board.cc",
                           "platform/frugal_platform.h", "platform/semihosting.h",
                           "platform/qemu.ld", "platform/board.ld"}) {
    EXPECT_TRUE(fs::exists(directory / file)) << file;
  }
  const std::string board_ld = read_text(directory / "platform/board.ld");
  EXPECT_NE(board_ld.find("ORIGIN = 0x08000000, LENGTH = 0x80000"), std::string::npos);
  EXPECT_NE(board_ld.find("ORIGIN = 0x20000000, LENGTH = 0x20000"), std::string::npos);
  EXPECT_NE(board_ld.find("__stack_size = 0x1000;"), std::string::npos);
  EXPECT_EQ(board_ld.find('@'), std::string::npos) << "unfilled placeholder";
  const std::string qemu_ld = read_text(directory / "platform/qemu.ld");
  EXPECT_NE(qemu_ld.find("ORIGIN = 0x00000000, LENGTH = 0x400000"), std::string::npos);

  const std::string makefile = read_text(directory / "Makefile");
  EXPECT_NE(makefile.find("main.cc"), std::string::npos);
  EXPECT_EQ(makefile.find("kernels/add.h"), std::string::npos) << "headers are not compiled";
  for (const char* flag : {"-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-O2", "-ffunction-sections",
                           "-fdata-sections", "-fno-exceptions", "-fno-rtti", "-nostartfiles",
                           "--specs=nano.specs", "-Wl,--gc-sections", "-Wl,-Map",
                           "--print-memory-usage", "-DFRUGAL_TARGET_QEMU",
                           "-DFRUGAL_TARGET_BOARD"}) {
    EXPECT_NE(makefile.find(flag), std::string::npos) << flag;
  }
}

TEST(FirmwareProject, RejectsPathsMakeCannotHandle) {
  const codegen::Board& board = codegen::find_board("nucleo-f446re");
  for (const char* path : {"../escape.cc", "/abs.cc", "with space.cc", "platform/startup.cc"}) {
    const SourceFile sources[] = {{path, ""}};
    EXPECT_THROW(write_firmware_project(board, scratch("bad"), sources), ir::Error) << path;
  }
}

TEST(PluginCounts, ParsesTheLineFormat) {
  const PluginCounts counts = parse_plugin_counts(
      "frugal-qemu-counts 1\nmodel m4\nmarks 3\nregion 0 2 6\nregion 1 303 505\n"
      "before 32 61\nafter 170 273\ntotal 507 845\n");
  EXPECT_EQ(counts.model, "m4");
  EXPECT_EQ(counts.marks, 3u);
  ASSERT_EQ(counts.regions.size(), 2u);
  EXPECT_EQ(counts.regions[1].instructions, 303u);
  EXPECT_EQ(counts.regions[1].cycles_estimate, 505u);
  EXPECT_EQ(counts.before.instructions, 32u);
  EXPECT_EQ(counts.after.cycles_estimate, 273u);
  EXPECT_EQ(counts.total.instructions, 507u);
  EXPECT_THROW(parse_plugin_counts("model m4\n"), ir::Error);
  EXPECT_THROW(parse_plugin_counts("frugal-qemu-counts 1\nregion 0 x y\ntotal 1 1\n"), ir::Error);
}

TEST(FirmwareBuild, MissingToolchainSaysWhatToInstall) {
  const char* saved = getenv("PATH");
  const std::string path = saved != nullptr ? saved : "";
  setenv("PATH", "/nonexistent", 1);
  try {
    build_firmware(scratch("nothing"));
    ADD_FAILURE() << "expected ir::Error";
  } catch (const ir::Error& error) {
    EXPECT_NE(std::string(error.what()).find("install gcc-arm-none-eabi"), std::string::npos);
  }
  setenv("PATH", path.c_str(), 1);
}

TEST(FirmwareBuild, CompileErrorIsReported) {
  if (!arm_toolchain_available()) GTEST_SKIP() << "arm-none-eabi-g++ not installed";
  const fs::path directory = scratch("broken");
  const SourceFile sources[] = {{"main.cc", "int main() { return undeclared_name; }\n"}};
  write_firmware_project(codegen::find_board("nucleo-f446re"), directory, sources);
  try {
    build_firmware(directory);
    ADD_FAILURE() << "expected ir::Error";
  } catch (const ir::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("main.cc"), std::string::npos) << message;
    EXPECT_NE(message.find("undeclared_name"), std::string::npos) << message;
  }
}

TEST(FirmwareBuild, MemoryUsageFromTheElf) {
  if (!arm_toolchain_available()) GTEST_SKIP() << "arm-none-eabi-g++ not installed";
  const fs::path directory = scratch("memory");
  // 20,000 bytes of constants (flash), 12,000 of zeroed data (bss), 3,000 of initialised data
  // (RAM, with its image in flash).
  const SourceFile sources[] = {{"main.cc",
                                 "#include <stdint.h>\n"
                                 "extern const uint8_t table[20000];\n"
                                 "const uint8_t table[20000] = {1};\n"
                                 "uint8_t zeroed[12000];\n"
                                 "uint8_t initialised[3000] = {1};\n"
                                 "int main() {\n"
                                 "  volatile uint32_t i = 7;\n"
                                 "  return table[i] + zeroed[i] + initialised[i];\n"
                                 "}\n"}};
  ProjectOptions options;
  options.stack_bytes = 2048;
  write_firmware_project(codegen::find_board("nucleo-f446re"), directory, sources, options);
  for (FirmwareTarget target : {FirmwareTarget::kQemu, FirmwareTarget::kBoard}) {
    const fs::path elf = build_firmware(directory, target);
    const MemoryUsage usage = firmware_memory_usage(elf);
    EXPECT_GE(usage.flash_bytes, 23000u);
    EXPECT_LT(usage.flash_bytes, 23000u + 4096u) << "startup + platform stay small";
    EXPECT_GE(usage.ram_bytes, 15000u);
    EXPECT_LT(usage.ram_bytes, 15000u + 256u);
    EXPECT_EQ(usage.stack_bytes, 2048u);
    const auto mark = elf_symbol_address(elf, "frugal_reset_handler");
    ASSERT_TRUE(mark.has_value());
    EXPECT_EQ(*mark % 2, 0u) << "Thumb bit cleared";
    if (target == FirmwareTarget::kBoard) {
      EXPECT_GE(*mark, 0x08000000u);
    }
  }
}

}  // namespace
}  // namespace frugal::mcu
