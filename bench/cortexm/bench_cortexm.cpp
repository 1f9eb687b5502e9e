// Instructions per MAC of the Cortex-M kernels on the eight anchor layers of DESIGN.md
// ("Measuring on the MCU"), next to CMSIS-NN's figures measured the same way. Builds one
// firmware (arm-none-eabi-g++ -O2, Cortex-M4F), runs it under QEMU with frugal's counting
// plugin, checks every output against the host reference, prints a Markdown table.
//
//   bench_cortexm_runner [work-directory]        (CMake target: bench_cortexm)
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "codegen/boards.h"
#include "firmware_cases.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"

namespace {

using namespace frugal::kernels::cortexm::testing;

struct Anchor {
  FirmwareCase c;
  const char* label;
  double cmsis_instr_per_mac;
};

std::vector<Anchor> anchors() {
  std::vector<Anchor> a;
  a.push_back({conv_case("stem", conv_shape(32, 32, 3, 16, 3, 1, 1, 1, -128), 1),
               "conv 3x3, 32x32x3 -> 16, s1 (ResNet-8 stem)", 4.82});
  a.push_back({conv_case("conv_32x32x16", conv_shape(32, 32, 16, 16, 3, 1, 1, 128, -128), 2),
               "conv 3x3, 32x32x16 -> 16, s1", 2.33});
  a.push_back({conv_case("conv_16x16x32", conv_shape(16, 16, 32, 32, 3, 1, 1, 128, -128), 3),
               "conv 3x3, 16x16x32 -> 32, s1", 1.93});
  a.push_back({conv_case("conv_8x8x64", conv_shape(8, 8, 64, 64, 3, 1, 1, 128, -128), 4),
               "conv 3x3, 8x8x64 -> 64, s1", 1.76});
  a.push_back({conv_case("conv_1x1_s2", conv_shape(32, 32, 16, 32, 1, 2, 0, 128, -128), 5),
               "conv 1x1, 32x32x16 -> 16x16x32, s2", 4.29});
  a.push_back({depthwise_case("depthwise", conv_shape(25, 5, 64, 64, 3, 1, 1, 128, -128), 6),
               "depthwise 3x3, 25x5x64, s1 (DS-CNN)", 8.33});
  a.push_back({conv_case("pointwise", conv_shape(25, 5, 64, 64, 1, 1, 0, 128, -128), 7),
               "pointwise 1x1, 25x5x64 -> 64", 2.09});
  a.push_back({fully_connected_case("fc", FcShape{1, 256, 10, 128, -3, -128, 127}, 8),
               "fully connected 256 -> 10", 2.12});
  // The GEMM anchors again with pre-expanded int16 weights (twice the weight flash).
  const auto wide = frugal::kernels::cortexm::WeightFormat::kInt16;
  a.push_back({conv_case("stem16", conv_shape(32, 32, 3, 16, 3, 1, 1, 1, -128), 1, false, wide),
               "stem, int16 weights", 4.82});
  a.push_back({conv_case("conv16_32x32x16", conv_shape(32, 32, 16, 16, 3, 1, 1, 128, -128), 2, false, wide),
               "conv 3x3 32x32x16 -> 16, int16 weights", 2.33});
  a.push_back({conv_case("conv16_16x16x32", conv_shape(16, 16, 32, 32, 3, 1, 1, 128, -128), 3, false, wide),
               "conv 3x3 16x16x32 -> 32, int16 weights", 1.93});
  a.push_back({conv_case("conv16_8x8x64", conv_shape(8, 8, 64, 64, 3, 1, 1, 128, -128), 4, false, wide),
               "conv 3x3 8x8x64 -> 64, int16 weights", 1.76});
  a.push_back({conv_case("conv16_1x1_s2", conv_shape(32, 32, 16, 32, 1, 2, 0, 128, -128), 5, false, wide),
               "conv 1x1 s2, int16 weights", 4.29});
  a.push_back({conv_case("pointwise16", conv_shape(25, 5, 64, 64, 1, 1, 0, 128, -128), 7, false, wide),
               "pointwise 25x5x64 -> 64, int16 weights", 2.09});
  a.push_back({fully_connected_case("fc16", FcShape{1, 256, 10, 128, -3, -128, 127}, 8, wide),
               "fully connected 256 -> 10, int16 weights", 2.12});
  // Not anchors (no CMSIS-NN figure per MAC): per output element instead.
  a.push_back({add_case("add", 16 * 16 * 32, frugal::kernels::make_add_params(0.05f, -3, 0.04f, 7, 0.07f, -1, 1), 9),
               "add 16x16x32 (ResNet-8), per element", 0});
  a.push_back({pool_case("max_pool", PoolShape{32, 32, 32, 16, 16, 2, 2, 2, 2, 0, 0, -128, 127}, true, 10),
               "max pool 2x2 s2, 32x32x32, per element", 0});
  a.push_back({pool_case("average_pool", PoolShape{8, 8, 64, 1, 1, 8, 8, 1, 1, 0, 0, -128, 127}, false, 11),
               "average pool 8x8 (global), 8x8x64, per input element", 0});
  return a;
}

int run(const std::filesystem::path& dir) {
  if (!frugal::mcu::arm_toolchain_available() || !frugal::mcu::qemu_available()) {
    std::fprintf(stderr, "error: arm-none-eabi-g++ and qemu-system-arm are needed\n");
    return 1;
  }
  const std::vector<Anchor> list = anchors();
  std::vector<FirmwareCase> cases;
  for (const Anchor& a : list) cases.push_back(a.c);
  const frugal::mcu::RunResult result = run_bench_firmware(dir, firmware_sources(cases));
  if (result.exit_code != 0 || result.regions.size() != list.size()) {
    std::fprintf(stderr, "error: firmware exit %d, %zu regions\n%s\n", result.exit_code,
                 result.regions.size(), result.guest_stderr.c_str());
    return 1;
  }
  std::printf("| layer | MACs | instructions | instr/MAC | est. cycles/MAC | CMSIS-NN instr/MAC | "
              "ratio | requant | bit-exact |\n|---|---|---|---|---|---|---|---|---|\n");
  bool all_exact = true;
  for (size_t i = 0; i < list.size(); ++i) {
    const FirmwareCase& c = list[i].c;
    const bool exact = read_bytes(dir / (c.name + ".bin")) == c.expected;
    all_exact = all_exact && exact;
    const auto& r = result.regions[i];
    if (list[i].cmsis_instr_per_mac == 0) {
      const int64_t elements = c.name == "average_pool" ? 8 * 8 * 64
                                                         : static_cast<int64_t>(c.expected.size());
      std::printf("| %s | (%lld elements) | %llu | %.2f / element | %.2f / element | - | - | %s | %s |\n",
                  list[i].label, static_cast<long long>(elements),
                  static_cast<unsigned long long>(r.instructions),
                  static_cast<double>(r.instructions) / static_cast<double>(elements),
                  static_cast<double>(r.cycles_estimate) / static_cast<double>(elements),
                  c.requant.empty() ? "-" : c.requant.c_str(), exact ? "yes" : "NO");
      continue;
    }
    const double ipm = static_cast<double>(r.instructions) / static_cast<double>(c.macs);
    const double cpm = static_cast<double>(r.cycles_estimate) / static_cast<double>(c.macs);
    std::printf("| %s | %lld | %llu | %.2f | %.2f | %.2f | %.2f | %s | %s |\n", list[i].label,
                static_cast<long long>(c.macs), static_cast<unsigned long long>(r.instructions),
                ipm, cpm, list[i].cmsis_instr_per_mac, ipm / list[i].cmsis_instr_per_mac,
                c.requant.c_str(), exact ? "yes" : "NO");
  }
  std::printf("\nmarker cost subtracted: %llu instructions per region\n",
              static_cast<unsigned long long>(result.empty_region.instructions));
  return all_exact ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc > 1 ? std::filesystem::path(argv[1])
                        : std::filesystem::path(FRUGAL_BINARY_DIR) / "bench_cortexm");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
