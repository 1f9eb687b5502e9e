// The skipping kernels cross-compiled (arm-none-eabi-g++ -O2: the asm loops) for a Cortex-M4F
// and a Cortex-M7 board, run on mps2-an386 / mps2-an500: every output equals the host
// reference on the zeroed-weight layer, bit for bit. Skipped without the toolchain or QEMU.
#include <gtest/gtest.h>

#include <exception>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "codegen/boards.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"
#include "sparse_firmware.h"

namespace frugal::kernels::cortexm::testing {
namespace {

std::vector<FirmwareCase> all_cases() {
  std::vector<FirmwareCase> cases;
  uint32_t seed = 1;
  for (const double skip : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    const std::string pct = std::to_string(static_cast<int>(skip * 100));
    // 3x3, in_c multiple of 4, odd pixel count (7x5: the one-column tail).
    cases.push_back(sparse_conv_case("conv3x3_" + pct, conv_shape(7, 5, 16, 10, 3, 1, 1, 128, -128),
                                     seed++, skip, MaskKind::kGroups).c);
    // Odd channels (staging im2col), stride 2, odd out_c, per-channel masks.
    cases.push_back(sparse_conv_case("conv_odd_" + pct, conv_shape(9, 7, 5, 7, 3, 2, 1, -20, 4, -50, 90),
                                     seed++, skip, MaskKind::kRanges).c);
    cases.push_back(sparse_fc_case("fc1_" + pct, FcShape{1, 100, 11, 9, -4, -128, 127}, seed++, skip,
                                   MaskKind::kGroups).c);
    cases.push_back(sparse_fc_case("fc3_" + pct, FcShape{3, 37, 10, -3, 2, -128, 127}, seed++, skip,
                                   MaskKind::kChannels).c);
    // The channel-quad tables.
    cases.push_back(sparse_conv_case("chconv3x3_" + pct, conv_shape(7, 5, 16, 10, 3, 1, 1, 128, -128), seed++, skip,
                                     MaskKind::kGroups, TableForm::kChannelQuads).c);
    cases.push_back(sparse_conv_case("chconv_odd_" + pct, conv_shape(9, 7, 5, 7, 3, 2, 1, -20, 4, -50, 90), seed++,
                                     skip, MaskKind::kRanges, TableForm::kChannelQuads).c);
    cases.push_back(sparse_fc_case("chfc3_" + pct, FcShape{3, 37, 10, -3, 2, -128, 127}, seed++, skip,
                                   MaskKind::kGroups, TableForm::kChannelQuads).c);
    // Pair quads over a chosen channel pairing (channel-quad masks, so pairing matters).
    cases.push_back(sparse_conv_case("paired3x3_" + pct, conv_shape(7, 5, 16, 10, 3, 1, 1, 128, -128), seed++,
                                     skip, MaskKind::kRanges, TableForm::kPairedQuads).c);
    cases.push_back(sparse_fc_case("pairedfc3_" + pct, FcShape{3, 37, 11, -3, 2, -128, 127}, seed++, skip,
                                   MaskKind::kElements, TableForm::kPairedQuads).c);
    // The unrolled form (emitted GEMM, SMLAD-pair granularity).
    cases.push_back(unrolled_conv_case("unrolled3x3_" + pct, conv_shape(7, 5, 16, 10, 3, 1, 1, 128, -128),
                                       seed++, skip, MaskKind::kGroups).c);
    cases.push_back(unrolled_conv_case("unrolled_odd_" + pct,
                                       conv_shape(9, 7, 5, 7, 3, 2, 1, -20, 4, -50, 90), seed++, skip,
                                       MaskKind::kElements).c);
    cases.push_back(unrolled_fc_case("unrolled_fc_" + pct, FcShape{3, 37, 11, 9, -4, -128, 127}, seed++,
                                     skip, MaskKind::kRanges).c);
  }
  cases.push_back(sparse_conv_case("pointwise_el", conv_shape(5, 4, 32, 16, 1, 1, 0, 128, -128), seed++,
                                   0.95, MaskKind::kElements).c);
  return cases;
}

class SparseQemu : public ::testing::Test {
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
      const auto dir = std::filesystem::path(FRUGAL_BINARY_DIR) / "cortexm_sparse_qemu_test" /
                       std::to_string(getpid()) / board_name;
      std::filesystem::remove_all(dir);
      const auto& board = codegen::find_board(board_name);
      mcu::ProjectOptions options;
      options.include_directories = {"src"};
      options.optimization = "-O2";
      options.extra_compile_flags = "-Wextra -Wshadow -Wconversion -Wno-sign-conversion -Werror";
      mcu::write_firmware_project(board, dir, sparse_firmware_sources(cases_),
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
    std::filesystem::remove_all(std::filesystem::path(FRUGAL_BINARY_DIR) /
                                    "cortexm_sparse_qemu_test" / std::to_string(getpid()),
                                ignored);
  }

  static constexpr const char* kBoards[] = {"nucleo-f446re", "nucleo-f746zg"};  // M4F, M7
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline std::vector<FirmwareCase> cases_;
  static inline std::map<std::string, mcu::RunResult> runs_;
  static inline std::map<std::string, std::vector<int8_t>> outputs_;
};

TEST_F(SparseQemu, AllCasesBitExact) {
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  for (const char* board : kBoards) {
    ASSERT_EQ(runs_[board].exit_code, 0) << board << ": " << runs_[board].guest_stderr;
    for (const FirmwareCase& c : cases_) {
      EXPECT_EQ(outputs_[std::string(board) + "/" + c.name], c.expected)
          << c.name << " on " << board << " (" << c.requant << ")";
    }
  }
}

}  // namespace
}  // namespace frugal::kernels::cortexm::testing
