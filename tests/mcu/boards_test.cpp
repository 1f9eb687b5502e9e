#include "codegen/boards.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ir/graph.h"

namespace frugal::codegen {
namespace {

constexpr uint32_t kKiB = 1024;

// Figures from the boards' datasheets (ST DS10693, DS12023, DS10916, DS12110).
TEST(Boards, RealBoardsMatchTheirDatasheets) {
  const Board& f446 = find_board("nucleo-f446re");
  EXPECT_EQ(f446.core, "cortex-m4");
  EXPECT_EQ(f446.clock_hz, 180'000'000u);
  EXPECT_EQ(f446.flash_bytes(), 512 * kKiB);
  EXPECT_EQ(f446.ram_bytes(), 128 * kKiB);
  EXPECT_EQ(f446.flash.origin, 0x08000000u);
  EXPECT_EQ(f446.qemu_machine, "mps2-an386");

  const Board& l4r5 = find_board("nucleo-l4r5zi");
  EXPECT_EQ(l4r5.clock_hz, 120'000'000u);
  EXPECT_EQ(l4r5.flash_bytes(), 2048 * kKiB);
  EXPECT_EQ(l4r5.ram_bytes(), 640 * kKiB);

  const Board& f746 = find_board("nucleo-f746zg");
  EXPECT_EQ(f746.core, "cortex-m7");
  EXPECT_EQ(f746.clock_hz, 216'000'000u);
  EXPECT_EQ(f746.flash_bytes(), 1024 * kKiB);
  EXPECT_EQ(f746.ram_bytes(), 320 * kKiB);
  EXPECT_EQ(f746.qemu_machine, "mps2-an500");
  EXPECT_EQ(f746.cycle_model, "m7");

  const Board& h743 = find_board("nucleo-h743zi");
  EXPECT_EQ(h743.clock_hz, 480'000'000u);
  EXPECT_EQ(h743.flash_bytes(), 2048 * kKiB);
  EXPECT_EQ(h743.ram.origin, 0x24000000u);  // AXI SRAM
  EXPECT_EQ(h743.ram_bytes(), 512 * kKiB);

  const Board& an547 = find_board("mps3-an547");
  EXPECT_EQ(an547.core, "cortex-m55");
  EXPECT_EQ(an547.qemu_machine, "mps3-an547");
  EXPECT_TRUE(an547.qemu_only);
}

TEST(Boards, EveryBoardHasAConsistentEntry) {
  std::set<std::string> names;
  for (const Board& board : boards()) {
    EXPECT_TRUE(names.insert(std::string(board.name)).second) << board.name;
    EXPECT_NE(board.gcc_flags.find("-mcpu=" + std::string(board.core)), std::string::npos)
        << board.name;
    EXPECT_NE(board.gcc_flags.find("-mthumb"), std::string::npos);
    EXPECT_TRUE(board.cycle_model == "m4" || board.cycle_model == "m7") << board.name;
    // Everything the real board holds must fit the QEMU stand-in.
    EXPECT_LE(board.flash.bytes, board.qemu_flash.bytes) << board.name;
    EXPECT_LE(board.ram.bytes, board.qemu_ram.bytes) << board.name;
    EXPECT_EQ(board.qemu_flash.origin, 0u) << "QEMU stand-ins boot from address 0";
  }
  EXPECT_GE(names.size(), 5u);
}

TEST(Boards, UnknownBoardListsTheKnownOnes) {
  try {
    find_board("nucleo-xyz");
    FAIL() << "expected ir::Error";
  } catch (const ir::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("nucleo-xyz"), std::string::npos);
    EXPECT_NE(message.find("nucleo-f446re"), std::string::npos);
    EXPECT_NE(message.find("mps3-an547"), std::string::npos);
  }
}

}  // namespace
}  // namespace frugal::codegen
