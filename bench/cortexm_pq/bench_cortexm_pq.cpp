// Instructions and estimated cycles of the product-quantized conv / FC kernels (pq_conv.h,
// pq_fully_connected.h), direct and lookup-table forms, against the dense kernels (conv.h,
// fully_connected.h) on ResNet-8, DS-CNN, VWW and anomaly-detection (AD) layers, for the
// codebooks of the paper's settings. One firmware per layer (arm-none-eabi-g++ -O2, Cortex-M4F)
// under QEMU with frugal's counting plugin; every output checked against the host reference on
// the decoded weights. Prints a Markdown table.
//
//   bench_cortexm_pq_runner [work-directory [layer-id ...]]     (CMake target: bench_cortexm_pq)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "codegen/boards.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"
#include "pq_firmware.h"

namespace {

using namespace frugal::kernels::cortexm;
using namespace frugal::kernels::cortexm::testing;

struct Config {
  PqWeightLayout layout;
  int32_t codewords, subvector;
};

struct Layer {
  const char* label;
  const char* id;
  bool fc;
  PqConvShape conv;  // fc: in_c = depth, out_c = out_depth, batch 1
  std::vector<Config> configs;
};

struct Row {
  std::string kernel;  // "dense", "direct", "table"
  Config config{};
  PqFirmwareCase pc;
};

std::string config_name(const Config& c) {
  return std::string(c.layout == kPqKernel ? "kernel" : "row") + " K=" + std::to_string(c.codewords) +
         " d=" + std::to_string(c.subvector) + " (" + std::to_string(pq_index_bits(c.codewords)) + "-bit)";
}

PqFcShape fc_shape(const PqConvShape& s, const Config& c) {
  return PqFcShape{1, s.in_c, s.out_c, s.input_offset, s.output_offset, s.act_min, s.act_max, c.subvector, c.codewords};
}

int run(const std::filesystem::path& root, const std::vector<std::string>& only) {
  if (!frugal::mcu::arm_toolchain_available() || !frugal::mcu::qemu_available()) {
    std::fprintf(stderr, "error: arm-none-eabi-g++ and qemu-system-arm are needed\n");
    return 1;
  }
  // row256d4: the codebooks of the five-model bundles (docs/reproduction-yono.md).
  const Config row256{kPqRow, 256, 8}, row256d4{kPqRow, 256, 4}, kernel256{kPqKernel, 256, 9}, row16{kPqRow, 16, 4},
      kernel16{kPqKernel, 16, 9};
  const auto conv = [](int32_t hw, int32_t in_c, int32_t out_c, int32_t k) {
    return pq_conv_shape(hw == 25 ? 25 : hw, hw == 25 ? 5 : hw, in_c, out_c, k, 1, k / 2, kPqRow, 1, 2);
  };
  const std::vector<Layer> layers = {
      {"ResNet-8 conv 3x3 16x16x32 -> 32", "r16", false, conv(16, 32, 32, 3), {row256, row256d4, kernel256, row16, kernel16}},
      {"ResNet-8 conv 3x3 8x8x64 -> 64", "r8", false, conv(8, 64, 64, 3), {row256, row256d4, kernel256, row16, kernel16}},
      {"DS-CNN conv 1x1 25x5x64 -> 64", "ds", false, conv(25, 64, 64, 1), {row256, row256d4, row16}},
      {"VWW conv 1x1 6x6x128 -> 128", "v6", false, conv(6, 128, 128, 1), {row256, row256d4, row16}},
      {"VWW conv 1x1 3x3x256 -> 256", "v3", false, conv(3, 256, 256, 1), {row256, row256d4, row16}},
      {"AD FC 640 -> 128", "fc640", true, conv(1, 640, 128, 1), {row256, row256d4, row16}},
      {"AD FC 128 -> 128", "fc128", true, conv(1, 128, 128, 1), {row256, row256d4, row16}},
  };
  std::printf("| layer | weights | kernel | instructions | vs dense | est. cycles | vs dense | model (instr) | "
              "weights / indices (B) | codebook (B, shared) | scratch RAM (B) | bit-exact |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  bool all_exact = true;
  bool all_fast = true;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& layer = layers[l];
    if (!only.empty() && std::find(only.begin(), only.end(), layer.id) == only.end()) continue;
    const uint32_t seed = static_cast<uint32_t>(300 + l);
    const PqConvShape& s = layer.conv;
    std::vector<Row> rows;
    Row dense;
    dense.kernel = "dense";
    dense.pc.c = layer.fc ? fully_connected_case(std::string(layer.id) + "_dense",
                                                 FcShape{1, s.in_c, s.out_c, s.input_offset, s.output_offset,
                                                         s.act_min, s.act_max},
                                                 seed)
                          : conv_case(std::string(layer.id) + "_dense",
                                      ConvShape{s.in_h, s.in_w, s.in_c, s.out_h, s.out_w, s.out_c, s.kh, s.kw,
                                                s.stride_h, s.stride_w, s.pad_h, s.pad_w, 1, 1, 1, s.input_offset,
                                                s.output_offset, s.act_min, s.act_max},
                                      seed);
    dense.pc.index_bytes = static_cast<size_t>((s.out_c + 1) / 2) * static_cast<size_t>(round_up4(s.kh * s.kw * s.in_c)) * 2;
    dense.pc.scratch_bytes = layer.fc ? static_cast<size_t>(round_up4(s.in_c)) * 4
                                      : static_cast<size_t>(round_up4(s.kh * s.kw * s.in_c)) * 4;
    rows.push_back(dense);
    for (const Config& config : layer.configs) {
      for (const PqForm form : {PqForm::kDirect, PqForm::kTable}) {
        Row r;
        r.kernel = pq_form_name(form);
        r.config = config;
        const std::string name = std::string(layer.id) + "_" + (config.layout == kPqKernel ? "k" : "r") +
                                 std::to_string(config.codewords) + "_" + std::to_string(config.subvector) + "_" +
                                 r.kernel;
        if (layer.fc) {
          r.pc = pq_fc_case(name, fc_shape(s, config), seed, form);
        } else {
          PqConvShape cs = s;
          cs.layout = config.layout, cs.codewords = config.codewords, cs.subvector = config.subvector;
          r.pc = pq_conv_case(name, cs, seed, form);
        }
        rows.push_back(r);
      }
    }
    std::vector<FirmwareCase> cases;
    for (const Row& r : rows) cases.push_back(r.pc.c);
    const std::filesystem::path dir = root / layer.id;
    const frugal::mcu::RunResult result = run_bench_firmware(dir, firmware_sources(cases));
    if (result.exit_code != 0 || result.regions.size() != rows.size()) {
      std::fprintf(stderr, "error: firmware exit %d, %zu regions\n%s\n", result.exit_code, result.regions.size(),
                   result.guest_stderr.c_str());
      return 1;
    }
    const auto& base = result.regions[0];
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& row = rows[i];
      const FirmwareCase& c = row.pc.c;
      const bool exact = read_bytes(dir / (c.name + ".bin")) == c.expected;
      all_exact = all_exact && exact;
      const auto& reg = result.regions[i];
      const int64_t model = row.kernel == "dense"   ? 0
                            : row.kernel == "table" ? row.pc.packed.cost.table
                                                    : row.pc.packed.cost.direct;
      all_fast = all_fast && c.requant == "fast";
      std::printf("| %s | %s | %s | %llu | %.2f | %llu | %.2f | %s | %zu | %s | %zu | %s |\n", layer.label,
                  row.kernel == "dense" ? "int8 (decoded)" : config_name(row.config).c_str(), row.kernel.c_str(),
                  static_cast<unsigned long long>(reg.instructions),
                  static_cast<double>(reg.instructions) / static_cast<double>(base.instructions),
                  static_cast<unsigned long long>(reg.cycles_estimate),
                  static_cast<double>(reg.cycles_estimate) / static_cast<double>(base.cycles_estimate),
                  model > 0 ? std::to_string(model).c_str() : "-",
                  row.pc.index_bytes, row.kernel == "dense" ? "-" : std::to_string(row.pc.codebook_bytes).c_str(),
                  row.pc.scratch_bytes, exact ? "yes" : "NO");
      std::fflush(stdout);
    }
  }
  std::printf("\nRequantization as the packers choose: %s. Instructions exact, cycles the plugin's Cortex-M4 "
              "estimate, marker cost subtracted.\n",
              all_fast ? "RequantFast on every row" : "RequantExact on some rows");
  return all_exact ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> only;
    for (int i = 2; i < argc; ++i) only.emplace_back(argv[i]);
    return run(argc > 1 ? std::filesystem::path(argv[1]) : std::filesystem::path(FRUGAL_BINARY_DIR) / "bench_cortexm_pq",
               only);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
