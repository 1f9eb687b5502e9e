#include "codegen/boards.h"

#include <array>
#include <string>

#include "ir/graph.h"

namespace frugal::codegen {
namespace {

constexpr uint32_t kKiB = 1024;
constexpr uint32_t kMiB = 1024 * kKiB;

constexpr std::string_view kM4Flags = "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16";
constexpr std::string_view kM7Flags = "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16";
constexpr std::string_view kM55Flags = "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -mfpu=auto";

// MPS2 AN386 (Cortex-M4) and AN500 (Cortex-M7): 4 MB of code memory at 0 (where the core
// fetches its vector table) and 4 MB of SRAM at 0x20000000.
constexpr MemoryRegion kMps2Code{0x00000000u, 4 * kMiB};
constexpr MemoryRegion kMps2Ram{0x20000000u, 4 * kMiB};
// MPS3 AN547 (Cortex-M55): 512 KB ITCM at 0 and 512 KB DTCM at 0x20000000.
constexpr MemoryRegion kAn547Code{0x00000000u, 512 * kKiB};
constexpr MemoryRegion kAn547Ram{0x20000000u, 512 * kKiB};

constexpr std::array kBoards = {
    Board{"nucleo-f446re", "STM32F446RE, Cortex-M4F 180 MHz, 512 KB flash, 128 KB SRAM",
          "cortex-m4", 180'000'000u, {0x08000000u, 512 * kKiB}, {0x20000000u, 128 * kKiB},
          "mps2-an386", kMps2Code, kMps2Ram, kM4Flags, "m4", false},
    // A small board: SRAM1 (16 KB) and SRAM2 (6 KB) are contiguous at 0x20000000; the 10 KB
    // CCM SRAM at 0x10000000 stays unused. Most MLPerf Tiny models do not fit it.
    Board{"nucleo-g431rb", "STM32G431RB, Cortex-M4F 170 MHz, 128 KB flash, 32 KB SRAM (22 KB contiguous used)",
          "cortex-m4", 170'000'000u, {0x08000000u, 128 * kKiB}, {0x20000000u, 22 * kKiB},
          "mps2-an386", kMps2Code, kMps2Ram, kM4Flags, "m4", false},
    // SRAM1 (192 KB), SRAM2 (64 KB, also mapped at 0x20030000) and SRAM3 (384 KB) form one
    // contiguous 640 KB window at 0x20000000.
    Board{"nucleo-l4r5zi", "STM32L4R5ZI, Cortex-M4F 120 MHz, 2 MB flash, 640 KB SRAM",
          "cortex-m4", 120'000'000u, {0x08000000u, 2 * kMiB}, {0x20000000u, 640 * kKiB},
          "mps2-an386", kMps2Code, kMps2Ram, kM4Flags, "m4", false},
    // DTCM (64 KB) + SRAM1 (240 KB) + SRAM2 (16 KB) are contiguous from 0x20000000.
    Board{"nucleo-f746zg", "STM32F746ZG, Cortex-M7 216 MHz, 1 MB flash, 320 KB SRAM",
          "cortex-m7", 216'000'000u, {0x08000000u, 1 * kMiB}, {0x20000000u, 320 * kKiB},
          "mps2-an500", kMps2Code, kMps2Ram, kM7Flags, "m7", false},
    // 1 MB of SRAM in five windows; the firmware uses the largest contiguous one, the 512 KB
    // AXI SRAM at 0x24000000 (DTCM 128 KB, SRAM1-3 288 KB, SRAM4 64 KB stay unused).
    Board{"nucleo-h743zi", "STM32H743ZI, Cortex-M7 480 MHz, 2 MB flash, 1 MB SRAM (512 KB AXI used)",
          "cortex-m7", 480'000'000u, {0x08000000u, 2 * kMiB}, {0x24000000u, 512 * kKiB},
          "mps2-an500", kMps2Code, kMps2Ram, kM7Flags, "m7", false},
    // QEMU only. The Cortex-M55 table is not modelled separately: the M4 table is used.
    Board{"mps3-an547", "Arm MPS3 AN547 (QEMU only), Cortex-M55 32 MHz, 512 KB ITCM, 512 KB DTCM",
          "cortex-m55", 32'000'000u, kAn547Code, kAn547Ram, "mps3-an547", kAn547Code, kAn547Ram,
          kM55Flags, "m4", true},
};

}  // namespace

std::span<const Board> boards() { return kBoards; }

const Board& find_board(std::string_view name) {
  for (const Board& board : kBoards) {
    if (board.name == name) return board;
  }
  std::string known;
  for (const Board& board : kBoards) {
    if (!known.empty()) known += ", ";
    known += board.name;
  }
  throw ir::Error("unknown board '" + std::string(name) + "' (known boards: " + known + ")");
}

}  // namespace frugal::codegen
