// The kernels must compile for Cortex-M4/M7 for every layer shape the generator may emit and
// under the flags a user may pick: the asm loops need many registers, which is exactly what
// breaks at some shape or with a frame pointer. Compiles (does not run) a pseudo-random set of
// static shapes with every kernel, both requantizations and both weight formats.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "mcu/firmware.h"

namespace {

std::string random_layers(int count) {
  std::mt19937 gen(2024);
  const auto pick = [&](std::initializer_list<int> v) {
    return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(gen));
  };
  std::string src =
      "#include \"kernels/cortexm/kernels.h\"\nusing namespace frugal::kernels::cortexm;\n";
  for (int i = 0; i < count; ++i) {
    const int k = pick({1, 3, 5}), in_c = pick({1, 3, 4, 8, 16, 64, 256}),
              out_c = pick({1, 3, 8, 16, 64}), h = pick({1, 5, 16, 33}), w = pick({1, 4, 16, 31}),
              stride = pick({1, 2}), pad = std::uniform_int_distribution<int>(0, k - 1)(gen);
    const int out_h = (h + 2 * pad - k) / stride + 1, out_w = (w + 2 * pad - k) / stride + 1;
    if (out_h < 1 || out_w < 1) continue;
    const std::string n = std::to_string(i);
    const std::string act = pick({0, 1}) ? "-128, act_max = 127" : "0, act_max = 100";
    src += "struct S" + n + " { static constexpr int32_t in_h = " + std::to_string(h) +
           ", in_w = " + std::to_string(w) + ", in_c = " + std::to_string(in_c) +
           ", out_h = " + std::to_string(out_h) + ", out_w = " + std::to_string(out_w) +
           ", out_c = " + std::to_string(out_c) + ", kh = " + std::to_string(k) +
           ", kw = " + std::to_string(k) + ", stride_h = " + std::to_string(stride) +
           ", stride_w = " + std::to_string(stride) + ", pad_h = " + std::to_string(pad) +
           ", pad_w = " + std::to_string(pad) +
           ", dilation_h = 1, dilation_w = 1, depth_multiplier = 1, input_offset = 128, "
           "output_offset = -128, act_min = " + act + "; };\n";
    src += "struct F" + n + " { static constexpr int32_t batches = " + std::to_string(pick({1, 2, 3})) +
           ", depth = " + std::to_string(in_c * k) + ", out_depth = " + std::to_string(out_c) +
           ", input_offset = 3, output_offset = 0, act_min = -128, act_max = 127; };\n";
    src += "void layer" + n +
           "(const int8_t* in, const int8_t* w, const int16_t* w16, const ChannelQuant* q, "
           "int8_t* out, int16_t* s) {\n"
           "  conv2d<RequantFast>(S" + n + "{}, in, w, q, out, s);\n"
           "  conv2d<RequantExact>(S" + n + "{}, in, w16, q, out, s);\n"
           "  fully_connected<RequantFast>(F" + n + "{}, in, w, q, out, s);\n"
           "  fully_connected<RequantExact>(F" + n + "{}, in, w16, q, out, s);\n"
           "  depthwise_conv2d<RequantFast>(S" + n + "{}, in, w16, q, out);\n}\n";
  }
  return src;
}

TEST(CortexmArmCompile, ManyShapesAndFlags) {
  if (!frugal::mcu::arm_toolchain_available()) GTEST_SKIP() << "arm-none-eabi-g++ not installed";
  const auto dir = std::filesystem::path(FRUGAL_BINARY_DIR) / "cortexm_arm_compile_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "layers.cc") << random_layers(10);
  const std::string common = "arm-none-eabi-g++ -mthumb -mfloat-abi=hard -std=c++17 "
                             "-fno-exceptions -fno-rtti -Wall -Wextra -Wconversion -Werror -I" +
                             std::string(FRUGAL_SOURCE_DIR) + "/src -c " +
                             (dir / "layers.cc").string() + " -o " + (dir / "layers.o").string();
  for (const char* flags : {"-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -O2",
                            "-mcpu=cortex-m7 -mfpu=fpv5-d16 -Os",
                            "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -O2 -fno-omit-frame-pointer",
                            "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -O0"}) {
    EXPECT_EQ(std::system((common + " " + flags).c_str()), 0) << flags;
  }
}

}  // namespace
