// The product-quantized kernels cross-compiled (arm-none-eabi-g++ -O2: the assembly loops of
// pq_micro_arm.h) for a Cortex-M4F and a Cortex-M7 board and run on mps2-an386 / mps2-an500:
// every output equals the host reference on the decoded weights, bit for bit. Both forms of
// every case; the cases cover both layouts, 4- and 8-bit indices, every assembly loop (direct:
// d = 4, 8, 9 with one and two columns; table builds and lookups with 1, 2 and 4 columns) and the
// C++ fallbacks (d = 1, 2, 16), rows of indices that start mid-byte, G = 1, pixel / batch counts
// that leave 2- and 1-column tails, stride, dilation and both requantizations.
// Skipped without the toolchain or QEMU.
#include <gtest/gtest.h>

#include <unistd.h>

#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "codegen/boards.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"
#include "pq_firmware.h"

namespace frugal::kernels::cortexm::testing {
namespace {

struct NamedConv {
  const char* name;
  PqConvShape shape;
  bool exact;  // wild multipliers, RequantExact
  double zero_share = 0.0;  // > 0: a zero codeword, skipped by the direct form
};

struct NamedFc {
  const char* name;
  PqFcShape shape;
  double zero_share = 0.0;  // > 0: a zero codeword, skipped by the direct form
};

std::vector<FirmwareCase> all_cases() {
  PqConvShape dilated = pq_conv_shape(9, 8, 4, 5, 3, 1, 2, kPqKernel, 9, 16, 7, -2);
  dilated.dilation_h = dilated.dilation_w = 2;
  dilated.out_h = pq_conv_out(9, 3, 1, 2, 2);
  dilated.out_w = pq_conv_out(8, 3, 1, 2, 2);
  const std::vector<NamedConv> convs = {
      // 3x3 kernel codebook, 35 pixels (the one-column tail), 4-bit.
      {"kernel_k16", pq_conv_shape(7, 5, 16, 10, 3, 1, 1, kPqKernel, 9, 16), false},
      // Odd G and odd out_c, stride 2, 8-bit, 25 pixels (quads and a single column).
      {"kernel_k256_s2", pq_conv_shape(9, 9, 5, 7, 3, 2, 1, kPqKernel, 9, 256, -20, 4), false},
      // 4-bit rows that start mid-byte in both index orders (G = 7, O = 9).
      {"kernel_odd_rows", pq_conv_shape(6, 6, 7, 9, 3, 1, 1, kPqKernel, 9, 16, 5, -3), false},
      {"kernel_dilated", dilated, false},
      {"kernel_exact", pq_conv_shape(5, 5, 8, 9, 3, 1, 1, kPqKernel, 9, 16, 11, 3), true},
      {"row_d4_k16", pq_conv_shape(6, 5, 32, 12, 1, 1, 0, kPqRow, 4, 16), false},
      {"row_d8_k256_s2", pq_conv_shape(5, 5, 64, 13, 1, 2, 0, kPqRow, 8, 256, -1, 9), false},
      {"row3x3_d8_k16", pq_conv_shape(6, 6, 8, 8, 3, 1, 1, kPqRow, 8, 16), false},
      {"row3x3_d4_k256", pq_conv_shape(5, 5, 16, 6, 3, 1, 1, kPqRow, 4, 256, 128, 0), false},
      {"row_d2_k16", pq_conv_shape(7, 7, 2, 6, 3, 2, 0, kPqRow, 2, 16), false},
      {"row_d16_k2", pq_conv_shape(4, 4, 32, 5, 1, 1, 0, kPqRow, 16, 2), false},
      {"row_stem_d9", pq_conv_shape(6, 5, 3, 4, 3, 1, 1, kPqRow, 9, 256, 1, -7), false},
      {"row_g1", pq_conv_shape(3, 3, 8, 5, 1, 1, 0, kPqRow, 8, 16), false},
      // d = 4 runs four columns in flight: 30 pixels are seven quads and a pair (8-bit, G = 6).
      {"row_d4_k256_quads", pq_conv_shape(6, 5, 24, 10, 1, 1, 0, kPqRow, 4, 256, -5, 2), false},
      // The same with 4-bit indices, G = 9 and O = 7: rows start mid-byte.
      {"row3x3_d4_k16_odd", pq_conv_shape(6, 5, 4, 7, 3, 1, 1, kPqRow, 4, 16, 3, -1), false},
      // A zero codeword (pruned layers), skipped by the direct form: every skipping loop, with
      // four, two and one columns, both index widths, rows starting mid-byte.
      {"zero_row_d4_k256", pq_conv_shape(6, 5, 24, 10, 1, 1, 0, kPqRow, 4, 256, -5, 2), false, 0.9},
      {"zero_row3x3_d4_k16_odd", pq_conv_shape(5, 5, 4, 7, 3, 1, 1, kPqRow, 4, 16, 3, -1), false, 0.6},
      {"zero_kernel_k256", pq_conv_shape(5, 5, 6, 9, 3, 1, 1, kPqKernel, 9, 256), false, 0.7},
      {"zero_kernel_k16_odd", pq_conv_shape(5, 5, 7, 9, 3, 1, 1, kPqKernel, 9, 16, 5, -3), false, 0.5},
      {"zero_row_d8_k16", pq_conv_shape(5, 5, 32, 9, 1, 1, 0, kPqRow, 8, 16), false, 0.7},
      {"zero_row_d8_k256", pq_conv_shape(3, 3, 48, 6, 1, 1, 0, kPqRow, 8, 256), false, 0.5},
  };
  const std::vector<NamedFc> fcs = {
      {"fc_d8_k256", PqFcShape{3, 64, 11, 9, -4, -128, 127, 8, 256}},
      {"fc_d4_k16_odd", PqFcShape{1, 128, 33, 128, -128, -128, 127, 4, 16}},
      {"fc_d9_g1", PqFcShape{2, 9, 5, -3, 2, -128, 127, 9, 16}},
      {"fc_d1_k2", PqFcShape{2, 7, 6, 1, 0, -40, 100, 1, 2}},
      {"fc_d8_k16", PqFcShape{1, 640, 16, 128, -128, -128, 127, 8, 16}},
      // d <= 4: a pair and a single row; a quad and a single row (4-bit, G = 9, O = 9); d = 3 in quads.
      {"fc_d4_k256_b3", PqFcShape{3, 96, 10, 5, 1, -128, 127, 4, 256}},
      {"fc_d4_k16_b5", PqFcShape{5, 36, 9, -7, 3, -128, 127, 4, 16}},
      {"fc_d3_k256_b4", PqFcShape{4, 27, 6, 0, 0, -128, 127, 3, 256}},
      {"zero_fc_d4_k256_b1", PqFcShape{1, 128, 12, 3, 0, -128, 127, 4, 256}, 0.8},
      {"zero_fc_d4_k16_b2", PqFcShape{2, 36, 9, 0, 0, -128, 127, 4, 16}, 0.5},
      {"zero_fc_d4_k16_b1", PqFcShape{1, 64, 5, -9, 4, -128, 127, 4, 16}, 0.7},
  };
  std::vector<FirmwareCase> cases;
  uint32_t seed = 1;
  for (const PqForm form : {PqForm::kDirect, PqForm::kTable}) {
    for (const NamedConv& c : convs) {
      cases.push_back(
          pq_conv_case(std::string(c.name) + "_" + pq_form_name(form), c.shape, seed++, form, c.exact, c.exact,
                       c.zero_share)
              .c);
    }
    for (const NamedFc& c : fcs) {
      cases.push_back(pq_fc_case(std::string(c.name) + "_" + pq_form_name(form), c.shape, seed++, form, c.zero_share).c);
    }
  }
  return cases;
}

class PqQemu : public ::testing::Test {
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
      const auto dir = std::filesystem::path(FRUGAL_BINARY_DIR) / "cortexm_pq_qemu_test" /
                       std::to_string(getpid()) / board_name;
      std::filesystem::remove_all(dir);
      const auto& board = codegen::find_board(board_name);
      mcu::ProjectOptions options;
      options.include_directories = {"src"};
      options.optimization = "-O2";
      options.extra_compile_flags = "-Wextra -Wshadow -Wconversion -Wno-sign-conversion -Werror";
      mcu::write_firmware_project(board, dir, firmware_sources(cases_), options);
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
        std::filesystem::path(FRUGAL_BINARY_DIR) / "cortexm_pq_qemu_test" / std::to_string(getpid()), ignored);
  }

  // Every case whose name starts with `prefix`, on both boards.
  void check(const std::string& prefix) {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    for (const char* board : kBoards) {
      ASSERT_EQ(runs_[board].exit_code, 0) << board << ": " << runs_[board].guest_stderr;
      int found = 0;
      for (const FirmwareCase& c : cases_) {
        if (c.name.rfind(prefix, 0) != 0) continue;
        ++found;
        EXPECT_EQ(outputs_[std::string(board) + "/" + c.name], c.expected)
            << c.name << " on " << board << " (" << c.requant << " requantization)";
      }
      ASSERT_GT(found, 0) << "no case " << prefix;
    }
  }

  static constexpr const char* kBoards[] = {"nucleo-f446re", "nucleo-f746zg"};  // M4F, M7
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline std::vector<FirmwareCase> cases_;
  static inline std::map<std::string, mcu::RunResult> runs_;
  static inline std::map<std::string, std::vector<int8_t>> outputs_;
};

TEST_F(PqQemu, KernelLayoutConv) { check("kernel_"); }
TEST_F(PqQemu, RowLayoutConv) { check("row"); }
TEST_F(PqQemu, FullyConnected) { check("fc_"); }
TEST_F(PqQemu, ZeroCodewordSkipped) { check("zero_"); }

}  // namespace
}  // namespace frugal::kernels::cortexm::testing
