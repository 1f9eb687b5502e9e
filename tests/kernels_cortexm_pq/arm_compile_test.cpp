// The PQ kernels must compile for Cortex-M4/M7 for every layer shape a generator may emit and
// under the flags a user may pick (the assembly loops are complete functions, but their callers'
// register pressure and the -O0 fallback to the portable loops are what could break). Compiles
// (does not run) pseudo-random static shapes with both forms, both layouts, the direct form
// plain and skipping the zero codeword, and both requantizations; -Wconversion -Werror as the
// firmware builds use.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "mcu/firmware.h"

namespace {

std::string random_layers(int count) {
  std::mt19937 gen(2025);
  const auto pick = [&](std::initializer_list<int> v) {
    return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(gen));
  };
  std::string src =
      "#include \"kernels/cortexm/kernels.h\"\nusing namespace frugal::kernels::cortexm;\n";
  for (int i = 0; i < count; ++i) {
    const bool kernel = i % 2 == 0;
    const int k = kernel ? pick({3, 3, 1, 5}) : pick({1, 3});
    const int d = kernel ? k * k : pick({1, 2, 4, 8, 9, 16});
    const int in_c = kernel ? pick({1, 3, 4, 16, 64}) : d * pick({1, 3, 8});
    if (!kernel && (k * k * in_c) % d != 0) continue;
    const int out_c = pick({1, 3, 16, 64}), h = pick({1, 5, 16}), w = pick({1, 4, 16});
    const int stride = pick({1, 2}), pad = k / 2;
    const int out_h = (h + 2 * pad - k) / stride + 1, out_w = (w + 2 * pad - k) / stride + 1;
    const int codewords = pick({2, 16, 256});
    const std::string n = std::to_string(i);
    src += "struct S" + n + " { static constexpr int32_t in_h = " + std::to_string(h) +
           ", in_w = " + std::to_string(w) + ", in_c = " + std::to_string(in_c) +
           ", out_h = " + std::to_string(out_h) + ", out_w = " + std::to_string(out_w) +
           ", out_c = " + std::to_string(out_c) + ", kh = " + std::to_string(k) + ", kw = " + std::to_string(k) +
           ", stride_h = " + std::to_string(stride) + ", stride_w = " + std::to_string(stride) +
           ", pad_h = " + std::to_string(pad) + ", pad_w = " + std::to_string(pad) +
           ", dilation_h = 1, dilation_w = 1, input_offset = 128, output_offset = -128, act_min = -128, "
           "act_max = 127, subvector = " + std::to_string(d) + ", codewords = " + std::to_string(codewords) +
           ", layout = " + (kernel ? "kPqKernel" : "kPqRow") +
           ", skip_zero_codeword = " + std::to_string((i / 2) % 2) + "; };\n";
    src += "struct F" + n + " { static constexpr int32_t batches = " + std::to_string(pick({1, 2, 5})) +
           ", depth = " + std::to_string(d * pick({1, 7, 16})) + ", out_depth = " + std::to_string(out_c) +
           ", input_offset = 3, output_offset = 0, act_min = -128, act_max = 127, subvector = " +
           std::to_string(d) + ", codewords = " + std::to_string(codewords) +
           ", skip_zero_codeword = " + std::to_string(1 - (i / 2) % 2) + "; };\n";
    src += "void layer" + n +
           "(const int8_t* in, const int16_t* cb, const uint8_t* idx, const ChannelQuant* q, int8_t* out, "
           "int16_t* s) {\n"
           "  pq_conv2d_direct<RequantFast>(S" + n + "{}, in, cb, idx, q, out, s);\n"
           "  pq_conv2d_table<RequantExact>(S" + n + "{}, in, cb, idx, q, out, s);\n"
           "  pq_conv2d_table<RequantFast, 2>(S" + n + "{}, in, cb, idx, q, out, s);\n"
           "  pq_fully_connected_direct<RequantExact>(F" + n + "{}, in, cb, idx, q, out, s);\n"
           "  pq_fully_connected_table<RequantFast>(F" + n + "{}, in, cb, idx, q, out, s);\n}\n";
  }
  return src;
}

TEST(PqArmCompile, ManyShapesAndFlags) {
  if (!frugal::mcu::arm_toolchain_available()) GTEST_SKIP() << "arm-none-eabi-g++ not installed";
  const auto dir = std::filesystem::path(FRUGAL_BINARY_DIR) / "cortexm_pq_arm_compile_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "layers.cc") << random_layers(6);
  const std::string common = "arm-none-eabi-g++ -mthumb -mfloat-abi=hard -std=c++17 "
                             "-fno-exceptions -fno-rtti -Wall -Wextra -Wshadow -Wconversion -Werror -I" +
                             std::string(FRUGAL_SOURCE_DIR) + "/src -c " + (dir / "layers.cc").string() + " -o " +
                             (dir / "layers.o").string();
  for (const char* flags : {"-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -O2", "-mcpu=cortex-m7 -mfpu=fpv5-d16 -Os",
                            "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -O2 -fno-omit-frame-pointer",
                            "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -O0"}) {
    EXPECT_EQ(std::system((common + " " + flags).c_str()), 0) << flags;
  }
}

}  // namespace
