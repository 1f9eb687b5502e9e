// Instructions and estimated cycles of the computation-skipping conv kernels (sparse_conv.h)
// against the dense kernel (conv.h) on ResNet-8, DS-CNN and LeNet layers, at kept densities of
// 100/75/50/25% of the kernel quads (random whole-quad masks, i.e. masks already realised at the
// kernel's granularity). One firmware (arm-none-eabi-g++ -O2, Cortex-M4F) under QEMU with
// frugal's counting plugin; every output checked against the host reference on the zeroed
// weights. Prints a Markdown table.
//
//   bench_cortexm_sparse_runner [work-directory]     (CMake target: bench_cortexm_sparse)
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "codegen/boards.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"
#include "sparse_firmware.h"

namespace {

using namespace frugal::kernels::cortexm::testing;

struct Layer {
  const char* label;
  const char* id;
  ConvShape shape;
  bool unrolled;  // also the unrolled form (GCC needs minutes for the larger layers' code)
};

struct Row {
  size_t layer = 0;
  bool dense = false;
  bool unrolled = false;
  bool channel = false;  // channel-quad table (ChannelQuadGemm)
  SparseCase sc;
};

// Bytes of the emitted GEMM struct's functions (two + one) in the ELF.
size_t unrolled_code_bytes(const std::filesystem::path& elf, const std::string& gemm) {
  const std::string command = "arm-none-eabi-nm -S -C '" + elf.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  size_t total = 0;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    const std::string text(line);
    if (text.find(" " + gemm + "::two(") == std::string::npos &&
        text.find(" " + gemm + "::one(") == std::string::npos) {
      continue;
    }
    const size_t space = text.find(' ');
    total += std::stoul(text.substr(space + 1, text.find(' ', space + 1) - space - 1), nullptr, 16);
  }
  pclose(pipe);
  return total;
}

int run(const std::filesystem::path& root) {
  if (!frugal::mcu::arm_toolchain_available() || !frugal::mcu::qemu_available()) {
    std::fprintf(stderr, "error: arm-none-eabi-g++ and qemu-system-arm are needed\n");
    return 1;
  }
  const std::vector<Layer> layers = {
      {"ResNet-8 conv 3x3 16x16x32 -> 32", "r16", conv_shape(16, 16, 32, 32, 3, 1, 1, 128, -128), true},
      {"ResNet-8 conv 3x3 8x8x64 -> 64", "r8", conv_shape(8, 8, 64, 64, 3, 1, 1, 128, -128), false},
      {"DS-CNN pointwise 25x5x64 -> 64", "pw", conv_shape(25, 5, 64, 64, 1, 1, 0, 128, -128), true},
      {"LeNet conv 3x3 15x15x32 -> 13x13x64 VALID", "lenet",
       conv_shape(15, 15, 32, 64, 3, 1, 0, 128, -128), false},
  };
  std::printf("| layer | kernel | kept | MACs executed | instructions | vs dense | est. cycles | "
              "vs dense | instr / executed MAC | weight bytes (table: packed arrays; unrolled: "
              "emitted code) | vs dense packed | bit-exact |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  bool all_exact = true;
  uint64_t marker = 0;
  // One firmware per layer: the unrolled GEMMs are large.
  for (size_t l = 0; l < layers.size(); ++l) {
    const uint32_t seed = static_cast<uint32_t>(100 + l);
    std::vector<Row> rows;
    Row dense;
    dense.layer = l;
    dense.dense = true;
    dense.sc.c = conv_case(std::string(layers[l].id) + "_dense", layers[l].shape, seed);
    const int32_t k = layers[l].shape.kh * layers[l].shape.kw * layers[l].shape.in_c;
    dense.sc.dense_bytes = dense.sc.packed_bytes =
        static_cast<size_t>((layers[l].shape.out_c + 1) / 2) * static_cast<size_t>((k + 3) & ~3) * 2;
    rows.push_back(dense);
    for (const int kept : {100, 75, 50, 25}) {
      Row r;
      r.layer = l;
      r.sc = sparse_conv_case(std::string(layers[l].id) + "_kept" + std::to_string(kept),
                              layers[l].shape, seed, 1.0 - kept / 100.0, MaskKind::kGroups);
      rows.push_back(r);
    }
    for (const int kept : {100, 75, 50, 25}) {
      Row r;
      r.layer = l;
      r.channel = true;
      r.sc = sparse_conv_case(std::string(layers[l].id) + "_channel" + std::to_string(kept), layers[l].shape, seed,
                              1.0 - kept / 100.0, MaskKind::kGroups, TableForm::kChannelQuads);
      rows.push_back(r);
    }
    for (const int kept : {100, 75, 50, 25}) {
      if (!layers[l].unrolled) break;
      Row r;
      r.layer = l;
      r.unrolled = true;
      r.sc = unrolled_conv_case(std::string(layers[l].id) + "_unrolled" + std::to_string(kept),
                                layers[l].shape, seed, 1.0 - kept / 100.0, MaskKind::kGroups);
      rows.push_back(r);
    }
    std::vector<FirmwareCase> cases;
    for (const Row& r : rows) cases.push_back(r.sc.c);
    const std::filesystem::path dir = root / layers[l].id;
    const frugal::mcu::RunResult result = run_bench_firmware(dir, sparse_firmware_sources(cases));
    if (result.exit_code != 0 || result.regions.size() != rows.size()) {
      std::fprintf(stderr, "error: firmware exit %d, %zu regions\n%s\n", result.exit_code,
                   result.regions.size(), result.guest_stderr.c_str());
      return 1;
    }
    marker = result.empty_region.instructions;
    uint64_t dense_instr = 0, dense_cycles = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      Row& row = rows[i];
      const FirmwareCase& c = row.sc.c;
      const bool exact = read_bytes(dir / (c.name + ".bin")) == c.expected;
      all_exact = all_exact && exact;
      const auto& reg = result.regions[i];
      if (row.dense) dense_instr = reg.instructions, dense_cycles = reg.cycles_estimate;
      if (row.unrolled) row.sc.packed_bytes = unrolled_code_bytes(dir / "build" / "qemu" / "firmware.elf", c.name + "_gemm");
      const double kept = row.dense ? 1.0 : row.sc.kept_quads;
      const double executed = kept * static_cast<double>(c.macs);
      std::printf("| %s | %s | %.1f%% %s | %.0f | %llu | %.2f | %llu | %.2f | %.2f | %zu | %.2f | %s |\n",
                  layers[row.layer].label,
                  row.dense       ? "dense conv2d"
                  : row.unrolled  ? "unrolled_conv2d"
                  : row.channel   ? "sparse_conv2d, channel quads"
                                  : "sparse_conv2d, pair quads",
                  100 * kept, row.dense ? "" : row.unrolled ? "SMLADs" : "quads", executed,
                  static_cast<unsigned long long>(reg.instructions),
                  static_cast<double>(reg.instructions) / static_cast<double>(dense_instr),
                  static_cast<unsigned long long>(reg.cycles_estimate),
                  static_cast<double>(reg.cycles_estimate) / static_cast<double>(dense_cycles),
                  executed > 0 ? static_cast<double>(reg.instructions) / executed : 0.0,
                  row.sc.packed_bytes,
                  static_cast<double>(row.sc.packed_bytes) / static_cast<double>(row.sc.dense_bytes),
                  exact ? "yes" : "NO");
      std::fflush(stdout);
    }
  }
  std::printf("\nmarker cost subtracted: %llu instructions per region\n",
              static_cast<unsigned long long>(marker));
  return all_exact ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc > 1 ? std::filesystem::path(argv[1])
                        : std::filesystem::path(FRUGAL_BINARY_DIR) / "bench_cortexm_sparse");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
