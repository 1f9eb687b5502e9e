// The Cortex-M kernels cross-compiled (arm-none-eabi-g++ -O2, the real DSP instructions and the
// asm GEMM loops) for a Cortex-M4F and a Cortex-M7 board and run on their QEMU stand-ins
// (mps2-an386, mps2-an500): every op's output must equal the reference computed on the host,
// bit for bit. One firmware per core holds all cases; each test checks its own cases on both.
// Skipped without the toolchain or QEMU.
#include <gtest/gtest.h>

#include <exception>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "codegen/boards.h"
#include "firmware_cases.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"

namespace frugal::kernels::cortexm::testing {
namespace {

std::vector<FirmwareCase> all_cases() {
  std::vector<FirmwareCase> cases;
  // General conv: odd channels (element-wise im2col), stride 2, padding, odd output channels.
  cases.push_back(conv_case("conv_general", conv_shape(9, 7, 5, 7, 3, 2, 1, -20, 4, -50, 90), 1));
  {
    ConvShape s = conv_shape(8, 9, 4, 6, 3, 1, 2, 7, -2);  // dilation 2, 5x5 kernel footprint
    s.dilation_h = s.dilation_w = 2;
    s.out_h = conv_out(8, 3, 1, 2, 2);
    s.out_w = conv_out(9, 3, 1, 2, 2);
    cases.push_back(conv_case("conv_dilated", s, 2));
  }
  cases.push_back(conv_case("conv_1x1", conv_shape(6, 5, 16, 12, 1, 1, 0, 128, -128), 3));
  cases.push_back(conv_case("conv_1x1_s2", conv_shape(8, 8, 16, 10, 1, 2, 0, -3, 9), 4));
  cases.push_back(conv_case("conv_3x3", conv_shape(7, 6, 32, 16, 3, 1, 1, 128, -128, -128, 127), 5));
  cases.push_back(conv_case("conv_3x3_exact", conv_shape(5, 5, 8, 9, 3, 1, 1, 11, 3), 6, true));
  cases.push_back(conv_case("stem", conv_shape(10, 9, 3, 16, 3, 1, 1, 1, -7, -7, 127), 7));
  cases.push_back(depthwise_case("depthwise_3x3", conv_shape(9, 6, 24, 24, 3, 1, 1, 17, -20), 8));
  cases.push_back(depthwise_case("depthwise_s2_tail", conv_shape(8, 7, 14, 14, 3, 2, 1, -5, 2), 9));
  {
    ConvShape s = conv_shape(6, 5, 5, 10, 3, 1, 1, 2, 0);
    s.depth_multiplier = 2;
    cases.push_back(depthwise_case("depthwise_multiplier", s, 10));
  }
  cases.push_back(fully_connected_case("fc", FcShape{3, 37, 11, 9, -4, -128, 127}, 11));
  cases.push_back(fully_connected_case("fc_256", FcShape{1, 256, 10, -1, 2, -128, 127}, 12));
  // Pre-expanded int16 weights.
  cases.push_back(conv_case("conv_3x3_int16", conv_shape(7, 6, 32, 16, 3, 1, 1, 128, -128), 16,
                            false, WeightFormat::kInt16));
  cases.push_back(conv_case("conv_general_int16", conv_shape(9, 7, 5, 7, 3, 2, 1, -20, 4), 17,
                            false, WeightFormat::kInt16));
  cases.push_back(conv_case("conv_exact_int16", conv_shape(5, 5, 8, 9, 3, 1, 1, 11, 3), 18, true,
                            WeightFormat::kInt16));
  cases.push_back(fully_connected_case("fc_int16", FcShape{3, 37, 11, 9, -4, -128, 127}, 19,
                                       WeightFormat::kInt16));
  cases.push_back(pool_case("max_pool", PoolShape{9, 8, 12, 5, 4, 3, 3, 2, 2, 1, 1, -100, 100},
                            true, 13));
  cases.push_back(pool_case("average_pool", PoolShape{9, 8, 13, 5, 4, 3, 3, 2, 2, 1, 1, -128, 127},
                            false, 14));
  cases.push_back(add_case("add", 301, make_add_params(0.05f, -3, 0.02f, 7, 0.06f, 1, 1), 15));
  return cases;
}

class CortexmQemu : public ::testing::Test {
 protected:
  // A failure while building the firmware must fail the tests, not skip them (gtest reports an
  // exception thrown here as a skip of every test of the suite).
  static void SetUpTestSuite() {
    try {
      build_and_run();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }

  static void build_and_run() {
    if (!mcu::arm_toolchain_available() || !mcu::qemu_available()) {
      skip_reason_ = "arm-none-eabi-g++ or qemu-system-arm not installed";
      return;
    }
    cases_ = all_cases();
    for (const char* board_name : kBoards) {
      // One directory per process: ctest runs each test in its own process, possibly in
      // parallel.
      const auto dir = std::filesystem::path(FRUGAL_BINARY_DIR) / "cortexm_qemu_test" /
                       std::to_string(getpid()) / board_name;
      std::filesystem::remove_all(dir);
      const auto& board = codegen::find_board(board_name);
      mcu::ProjectOptions options;
      options.include_directories = {"src"};
      options.optimization = "-O2";
      options.extra_compile_flags = "-Wextra -Wshadow -Wconversion -Wno-sign-conversion -Werror";
      mcu::write_firmware_project(board, dir, firmware_sources(cases_),
                                  options);
      const auto elf = mcu::build_firmware(dir, mcu::FirmwareTarget::kQemu, 2);
      mcu::RunOptions run;
      run.working_directory = dir;
      run.count = false;
      runs_[board_name] = mcu::run_firmware(board, elf, run);
      for (const FirmwareCase& c : cases_) {
        outputs_[std::string(board_name) + "/" + c.name] = read_bytes(dir / (c.name + ".bin"));
      }
    }
  }

  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(
        std::filesystem::path(FRUGAL_BINARY_DIR) / "cortexm_qemu_test" / std::to_string(getpid()),
        ignored);
  }

  void check(const std::string& name) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    for (const char* board : kBoards) {
      ASSERT_EQ(runs_[board].exit_code, 0) << board << ": " << runs_[board].guest_stderr;
      bool found = false;
      for (const FirmwareCase& c : cases_) {
        if (c.name != name) continue;
        found = true;
        EXPECT_EQ(outputs_[std::string(board) + "/" + name], c.expected)
            << name << " on " << board << " (" << c.requant << " requantization)";
      }
      ASSERT_TRUE(found) << "no case " << name;
    }
  }

  static constexpr const char* kBoards[] = {"nucleo-f446re", "nucleo-f746zg"};  // M4F, M7
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline std::vector<FirmwareCase> cases_;
  static inline std::map<std::string, mcu::RunResult> runs_;
  static inline std::map<std::string, std::vector<int8_t>> outputs_;
};

TEST_F(CortexmQemu, ConvGeneral) {
  check("conv_general");
  check("conv_dilated");
}
TEST_F(CortexmQemu, Conv1x1) {
  check("conv_1x1");
  check("conv_1x1_s2");
}
TEST_F(CortexmQemu, Conv3x3) {
  check("conv_3x3");
  check("conv_3x3_exact");
}
TEST_F(CortexmQemu, Stem) { check("stem"); }
TEST_F(CortexmQemu, Int16Weights) {
  check("conv_3x3_int16");
  check("conv_general_int16");
  check("conv_exact_int16");
  check("fc_int16");
}
TEST_F(CortexmQemu, Depthwise) {
  check("depthwise_3x3");
  check("depthwise_s2_tail");
  check("depthwise_multiplier");
}
TEST_F(CortexmQemu, FullyConnected) {
  check("fc");
  check("fc_256");
}
TEST_F(CortexmQemu, Pools) {
  check("max_pool");
  check("average_pool");
}
TEST_F(CortexmQemu, Add) { check("add"); }

}  // namespace
}  // namespace frugal::kernels::cortexm::testing
