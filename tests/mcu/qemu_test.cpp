// Builds one small firmware per QEMU stand-in (Cortex-M4, M7, M55) with the project writer and
// checks exit codes, semihosting file I/O, exact instruction counts and the cycle tables.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"

namespace frugal::mcu {
namespace {

namespace fs = std::filesystem;

// Mode read from mode.txt in the working directory. The measured loops are inline assembly
// so that the compiler cannot change the instruction counts computed by hand in the tests.
constexpr const char* kFirmware = R"firmware(
#include <stdint.h>
#include "frugal_platform.h"

static uint8_t buffer[4096];

__attribute__((noinline)) static int copy_mode(void) {
  const long size = frugal_host_read_file("input.bin", buffer, sizeof buffer);
  if (size < 0) return 10;
  for (long i = 0; i < size; ++i) buffer[i] = (uint8_t)(buffer[i] ^ 0x5A);
  if (frugal_host_write_file("output.bin", buffer, (size_t)size) != size) return 11;
  frugal_print("copied\n");
  return 0;
}

// 1 + 1000 * 3 instructions.
__attribute__((noinline)) static int alu_loop_mode(void) {
  frugal_mark_calibrate();
  __asm__ volatile(
      "movw r0, #1000\n"
      "1: adds r1, r1, #1\n"
      "subs r0, r0, #1\n"
      "bne 1b\n" ::: "r0", "r1", "cc");
  frugal_mark();
  return 0;
}

// 2 + 1000 * 6 instructions, three of them loads from the stack.
__attribute__((noinline)) static int load_loop_mode(void) {
  frugal_mark_calibrate();
  __asm__ volatile(
      "movw r0, #1000\n"
      "mov r3, sp\n"
      "1: ldr r2, [r3]\n"
      "adds r1, r1, #1\n"
      "ldr r2, [r3, #4]\n"
      "ldr r2, [r3, #8]\n"
      "subs r0, r0, #1\n"
      "bne 1b\n" ::: "r0", "r1", "r2", "r3", "cc", "memory");
  frugal_mark();
  return 0;
}

int main(void) {
  char mode[4] = {0};
  if (frugal_host_read_file("mode.txt", mode, sizeof mode) < 1) return 20;
  switch (mode[0]) {
    case 'e': return 3;
    case 'c': return copy_mode();
    case 'a': return alu_loop_mode();
    case 'l': return load_loop_mode();
    case 's': for (;;) __asm__ volatile("");
    default: return 21;
  }
}
)firmware";

bool tools_missing() { return !arm_toolchain_available() || !qemu_available(); }

// ctest runs test cases in parallel processes: the shared build is done under a file lock.
fs::path firmware_for(const codegen::Board& board) {
  const fs::path directory =
      fs::path(FRUGAL_BINARY_DIR) / "tests_mcu" / ("qemu_" + std::string(board.name));
  fs::create_directories(directory);
  const int lock = ::open((directory / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  const SourceFile sources[] = {{"main.c", kFirmware, FirmwareTarget::kQemu},
                                {"board_main.c", "int main(void) { return 0; }\n",
                                 FirmwareTarget::kBoard}};
  fs::path elf;
  try {
    write_firmware_project(board, directory, sources);
    elf = build_firmware(directory, FirmwareTarget::kQemu);
    build_firmware(directory, FirmwareTarget::kBoard);  // the board build links too
  } catch (...) {
    if (lock >= 0) ::close(lock);
    throw;
  }
  if (lock >= 0) ::close(lock);
  return elf;
}

struct FirmwareRun {
  fs::path directory;
  RunResult result;
};

FirmwareRun run_mode(const codegen::Board& board, const std::string& mode, const std::string& tag,
             std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const fs::path elf = firmware_for(board);
  FirmwareRun run;
  run.directory = fs::path(FRUGAL_BINARY_DIR) / "tests_mcu" /
                  ("work_" + std::string(board.name) + "_" + tag);
  fs::remove_all(run.directory);
  fs::create_directories(run.directory);
  std::ofstream(run.directory / "mode.txt") << mode;
  RunOptions options;
  options.working_directory = run.directory;
  options.timeout = timeout;
  run.result = run_firmware(board, elf, options);
  return run;
}

class QemuStandIn : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (tools_missing()) GTEST_SKIP() << "arm-none-eabi-g++ or qemu-system-arm not installed";
  }
  const codegen::Board& board() const { return codegen::find_board(GetParam()); }
  bool m7() const { return board().cycle_model == "m7"; }
};

TEST_P(QemuStandIn, ExitCodePropagates) {
  const FirmwareRun run = run_mode(board(), "e", "exit");
  EXPECT_FALSE(run.result.timed_out);
  EXPECT_EQ(run.result.exit_code, 3) << run.result.guest_stderr;
  EXPECT_GT(run.result.total_instructions, 0u);
}

TEST_P(QemuStandIn, SemihostingFileRoundTrip) {
  const fs::path directory = fs::path(FRUGAL_BINARY_DIR) / "tests_mcu" /
                             ("work_" + std::string(board().name) + "_copy");
  std::string input(777, '\0');
  std::mt19937 random(12345);
  for (char& byte : input) byte = static_cast<char>(random() & 0xFF);
  fs::remove_all(directory);
  fs::create_directories(directory);
  std::ofstream(directory / "input.bin", std::ios::binary) << input;
  std::ofstream(directory / "mode.txt") << "c";

  RunOptions options;
  options.working_directory = directory;
  options.timeout = std::chrono::seconds(20);
  const RunResult result = run_firmware(board(), firmware_for(board()), options);
  ASSERT_EQ(result.exit_code, 0) << result.guest_stderr;
  EXPECT_NE(result.guest_stderr.find("copied"), std::string::npos) << result.guest_stderr;

  std::ifstream stream(directory / "output.bin", std::ios::binary);
  const std::string output(std::istreambuf_iterator<char>(stream), {});
  ASSERT_EQ(output.size(), input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    ASSERT_EQ(static_cast<uint8_t>(output[i]), static_cast<uint8_t>(input[i] ^ 0x5A)) << i;
  }
}

TEST_P(QemuStandIn, AluLoopCountIsExactAndRepeatable) {
  const FirmwareRun first = run_mode(board(), "a", "alu1");
  const FirmwareRun second = run_mode(board(), "a", "alu2");
  ASSERT_EQ(first.result.exit_code, 0) << first.result.guest_stderr;
  ASSERT_EQ(first.result.regions.size(), 1u);
  EXPECT_EQ(first.result.regions[0].instructions, 1u + 1000u * 3u);
  // Cortex-M4: movw + 1000 * (adds + subs + bne) + 999 taken branches * 2.
  // Cortex-M7: movw|adds and subs|bne pair in every block: 2 + 999 * 2, + 999 * 1 taken.
  EXPECT_EQ(first.result.regions[0].cycles_estimate, m7() ? 2999u : 4999u);
  ASSERT_EQ(second.result.regions.size(), 1u);
  EXPECT_EQ(second.result.regions[0].instructions, first.result.regions[0].instructions);
  EXPECT_EQ(second.result.regions[0].cycles_estimate, first.result.regions[0].cycles_estimate);
  EXPECT_EQ(second.result.total_instructions, first.result.total_instructions);
  EXPECT_EQ(second.result.total_cycles, first.result.total_cycles);
  EXPECT_EQ(first.result.empty_region.instructions, 2u) << "bl + bx lr";
}

TEST_P(QemuStandIn, LoadLoopShowsTheLoadCost) {
  const FirmwareRun run = run_mode(board(), "l", "load");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.guest_stderr;
  ASSERT_EQ(run.result.regions.size(), 1u);
  EXPECT_EQ(run.result.regions[0].instructions, 2u + 1000u * 6u);
  // Cortex-M4 per iteration: ldr 2, adds 1, ldr 2, ldr 1 (pipelined), subs 1, bne 1 = 8;
  // 2 + 8000 + 999 * 2 = 10000.
  // Cortex-M7: first block movw|mov, ldr|adds, ldr, ldr|subs, bne = 5; later blocks
  // ldr|adds, ldr, ldr|subs, bne = 4; 5 + 999 * 4 + 999 taken = 5000.
  EXPECT_EQ(run.result.regions[0].cycles_estimate, m7() ? 5000u : 10000u);
}

INSTANTIATE_TEST_SUITE_P(StandIns, QemuStandIn,
                         ::testing::Values("nucleo-f446re", "nucleo-f746zg", "mps3-an547"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST(QemuRunner, TimeoutStopsASpinningFirmware) {
  if (tools_missing()) GTEST_SKIP() << "arm-none-eabi-g++ or qemu-system-arm not installed";
  const codegen::Board& board = codegen::find_board("nucleo-f446re");
  const auto started = std::chrono::steady_clock::now();
  const FirmwareRun run = run_mode(board, "s", "spin", std::chrono::seconds(2));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(run.result.timed_out);
  EXPECT_EQ(run.result.exit_code, -1);
  EXPECT_LT(seconds, 10.0);
}

TEST(QemuRunner, RunsWithoutThePlugin) {
  if (tools_missing()) GTEST_SKIP() << "arm-none-eabi-g++ or qemu-system-arm not installed";
  const codegen::Board& board = codegen::find_board("nucleo-f446re");
  const fs::path directory = fs::path(FRUGAL_BINARY_DIR) / "tests_mcu" / "work_noplugin";
  fs::create_directories(directory);
  std::ofstream(directory / "mode.txt") << "e";
  RunOptions options;
  options.working_directory = directory;
  options.count = false;
  const RunResult result = run_firmware(board, firmware_for(board), options);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_TRUE(result.regions.empty());
}

}  // namespace
}  // namespace frugal::mcu
