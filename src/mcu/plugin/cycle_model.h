// Cycle estimates for Cortex-M cores from decoded Thumb-2 instructions.
//
// QEMU has no timing model, so the plugin estimates cycles from a table: each instruction is
// decoded once, at translation time, into a class and a base cost; a straight-line block
// (a QEMU translation block) gets a static cost, and every taken branch adds a pipeline
// refill penalty at run time. The tables are estimates, not a simulator: no wait states,
// no caches, no register dependencies (see docs/mcu-backend.md for the full table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace frugal::mcu {

enum class InsnClass : uint8_t {
  kAlu,                // data processing, moves, compares, IT, hints, branches (base cost)
  kMac,                // multiplies and multiply-accumulates, incl. DSP (SMLAD, SMULxy, ...)
  kLoadStore,          // single load/store (LDR*, STR*, VLDR, VSTR, LDREX, TBB/TBH)
  kLoadStoreMultiple,  // LDM/STM/PUSH/POP/LDRD/STRD/VLDM/VSTM/VPUSH/VPOP: `transfers` words
  kDivide,             // SDIV/UDIV
  kFloat,              // FPU data processing; `float_cycles` holds its cost
};

struct DecodedInsn {
  InsnClass kind = InsnClass::kAlu;
  uint8_t size_bytes = 2;      // 2 or 4
  uint8_t transfers = 0;       // registers moved by a multiple load/store
  uint8_t float_cycles = 1;    // cost of a kFloat instruction
};

// True when the halfword starts a 32-bit Thumb-2 instruction.
constexpr bool is_thumb32(uint16_t first_halfword) { return (first_halfword >> 11) >= 0x1D; }

// `second_halfword` is ignored for 16-bit instructions.
DecodedInsn decode_thumb(uint16_t first_halfword, uint16_t second_halfword);

enum class CycleModel : uint8_t { kCortexM4, kCortexM7 };

std::optional<CycleModel> parse_cycle_model(std::string_view name);  // "m4", "m7"
std::string_view to_string(CycleModel model);

// Extra cycles each time execution does not fall through into the next block.
uint32_t taken_branch_penalty(CycleModel model);

// Accumulates the static cost of a straight-line instruction sequence.
class BlockCoster {
 public:
  explicit BlockCoster(CycleModel model) : model_(model) {}
  // Returns the cycles charged for `insn` given the instructions added before it.
  uint32_t add(const DecodedInsn& insn);
  uint64_t total() const { return total_; }

 private:
  CycleModel model_;
  uint64_t total_ = 0;
  bool previous_was_load_store_ = false;
  bool issue_slot_open_ = false;      // Cortex-M7: the previous instruction can pair
  InsnClass previous_kind_ = InsnClass::kAlu;
};

}  // namespace frugal::mcu
