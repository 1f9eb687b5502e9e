// The boards frugal generates firmware for, and the QEMU machine that stands in for each.
//
// Real-board limits (flash, RAM, clock) come from this table and are enforced by the
// generator; QEMU's stand-in machines have larger memories and no timing model, so they are
// used for correctness and instruction/cycle counting only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace frugal::codegen {

// A memory window the linker script places code or data in.
struct MemoryRegion {
  uint32_t origin = 0;
  uint32_t bytes = 0;
};

struct Board {
  std::string_view name;         // "nucleo-f446re"
  std::string_view description;  // "STM32F446RE, Cortex-M4F 180 MHz"
  std::string_view core;         // "cortex-m4", "cortex-m7", "cortex-m55"
  uint32_t clock_hz = 0;
  MemoryRegion flash;            // on the real board
  MemoryRegion ram;              // on the real board: the largest contiguous SRAM
  std::string_view qemu_machine; // "mps2-an386"
  MemoryRegion qemu_flash;       // code window of the QEMU machine (vector table at its origin)
  MemoryRegion qemu_ram;
  std::string_view gcc_flags;    // "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
  std::string_view cycle_model;  // plugin cycle table: "m4" or "m7"
  bool qemu_only = false;        // no real board behind it (e.g. mps3-an547)

  uint32_t flash_bytes() const { return flash.bytes; }
  uint32_t ram_bytes() const { return ram.bytes; }
};

std::span<const Board> boards();

// Throws ir::Error naming the known boards when `name` is not one of them.
const Board& find_board(std::string_view name);

}  // namespace frugal::codegen
