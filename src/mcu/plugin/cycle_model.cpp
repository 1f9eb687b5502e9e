#include "cycle_model.h"

#include <bit>

namespace frugal::mcu {
namespace {

DecodedInsn make(InsnClass kind, uint8_t size_bytes, uint32_t transfers = 0,
                 uint8_t float_cycles = 1) {
  DecodedInsn insn;
  insn.kind = kind;
  insn.size_bytes = size_bytes;
  insn.transfers = static_cast<uint8_t>(transfers > 255 ? 255 : transfers);
  insn.float_cycles = float_cycles;
  return insn;
}

DecodedInsn decode16(uint16_t hw) {
  if ((hw >> 11) == 0x09) return make(InsnClass::kLoadStore, 2);            // LDR literal
  if ((hw >> 12) == 0x5) return make(InsnClass::kLoadStore, 2);             // register offset
  if ((hw >> 13) == 0x3) return make(InsnClass::kLoadStore, 2);             // word/byte imm
  if ((hw >> 12) == 0x8) return make(InsnClass::kLoadStore, 2);             // halfword imm
  if ((hw >> 12) == 0x9) return make(InsnClass::kLoadStore, 2);             // SP-relative
  if ((hw & 0xFE00) == 0xB400 || (hw & 0xFE00) == 0xBC00) {                 // PUSH / POP
    const uint32_t extra = (hw >> 8) & 1u;                                   // LR or PC
    return make(InsnClass::kLoadStoreMultiple, 2, std::popcount(hw & 0xFFu) + extra);
  }
  if ((hw >> 12) == 0xC) {                                                   // LDM / STM
    return make(InsnClass::kLoadStoreMultiple, 2, std::popcount(hw & 0xFFu));
  }
  // Everything else (shifts, add/sub/mov/cmp, data processing incl. MULS, BX/BLX, ADR,
  // extends, REV, IT, hints, CBZ, B<c>, B, SVC, BKPT) issues in one cycle.
  return make(InsnClass::kAlu, 2);
}

DecodedInsn decode_coprocessor(uint16_t hw1, uint16_t hw2) {
  if ((hw1 & 0xFE00) == 0xEC00) {                  // extension register load/store
    if ((hw1 & 0xFFE0) == 0xEC40) return make(InsnClass::kAlu, 4);   // VMOV two core regs
    if ((hw1 & 0xFF20) == 0xED00) return make(InsnClass::kLoadStore, 4);  // VLDR / VSTR
    return make(InsnClass::kLoadStoreMultiple, 4, hw2 & 0xFFu);      // VLDM/VSTM/VPUSH/VPOP
  }
  const uint32_t coprocessor = (hw2 >> 8) & 0xFu;
  if ((hw1 & 0xFF00) == 0xEE00 && (hw2 & 0x10u) == 0 && (coprocessor & 0xEu) == 0xA) {
    const uint32_t opc1 = ((hw1 >> 4) & 0x3u) | ((hw1 >> 5) & 0x4u);  // bits 7,5,4 -> 2..0
    switch (opc1) {
      case 0x0:  // VMLA / VMLS
      case 0x1:  // VNMLA / VNMLS
      case 0x5:  // VFNMA / VFNMS
      case 0x6:  // VFMA / VFMS
        return make(InsnClass::kFloat, 4, 0, 3);
      case 0x4:  // VDIV
        return make(InsnClass::kFloat, 4, 0, 14);
      case 0x7: {
        const bool vsqrt = (hw1 & 0xFu) == 0x1 && ((hw2 >> 6) & 0x3u) == 0x3;
        return make(InsnClass::kFloat, 4, 0, vsqrt ? 14 : 1);
      }
      default:  // VMUL, VNMUL, VADD, VSUB
        return make(InsnClass::kFloat, 4, 0, 1);
    }
  }
  return make(InsnClass::kAlu, 4);  // VMOV/VMRS/VMSR and other coprocessor operations
}

DecodedInsn decode32(uint16_t hw1, uint16_t hw2) {
  if ((hw1 & 0xEC00) == 0xEC00) return decode_coprocessor(hw1, hw2);
  if ((hw1 & 0xFE40) == 0xE800) {                  // LDM / STM / PUSH.W / POP.W
    return make(InsnClass::kLoadStoreMultiple, 4, std::popcount(static_cast<uint32_t>(hw2)));
  }
  if ((hw1 & 0xFE40) == 0xE840) {                  // dual, exclusive, table branch
    const uint32_t op1 = (hw1 >> 7) & 0x3u;
    const uint32_t op2 = (hw1 >> 4) & 0x3u;
    if (op1 <= 1 && op2 <= 1) return make(InsnClass::kLoadStore, 4);   // LDREX*, STREX*, TBB/TBH
    return make(InsnClass::kLoadStoreMultiple, 4, 2);                    // LDRD / STRD
  }
  if ((hw1 & 0xFE00) == 0xF800) return make(InsnClass::kLoadStore, 4);  // single load/store
  if ((hw1 & 0xFF80) == 0xFB00) return make(InsnClass::kMac, 4);        // MUL, MLA, SMLAD, ...
  if ((hw1 & 0xFF80) == 0xFB80) {                                        // long multiply, divide
    const uint32_t op1 = (hw1 >> 4) & 0x7u;
    const uint32_t op2 = (hw2 >> 4) & 0xFu;
    if ((op1 == 0x1 || op1 == 0x3) && op2 == 0xF) return make(InsnClass::kDivide, 4);
    return make(InsnClass::kMac, 4);
  }
  // Data processing (shifted register, immediate, register), branches, misc control.
  return make(InsnClass::kAlu, 4);
}

bool single_issue_slot(const DecodedInsn& insn) {
  return insn.kind == InsnClass::kAlu || insn.kind == InsnClass::kMac ||
         insn.kind == InsnClass::kLoadStore ||
         (insn.kind == InsnClass::kFloat && insn.float_cycles == 1);
}

}  // namespace

DecodedInsn decode_thumb(uint16_t first_halfword, uint16_t second_halfword) {
  return is_thumb32(first_halfword) ? decode32(first_halfword, second_halfword)
                                    : decode16(first_halfword);
}

std::optional<CycleModel> parse_cycle_model(std::string_view name) {
  if (name == "m4") return CycleModel::kCortexM4;
  if (name == "m7") return CycleModel::kCortexM7;
  return std::nullopt;
}

std::string_view to_string(CycleModel model) {
  return model == CycleModel::kCortexM4 ? "m4" : "m7";
}

uint32_t taken_branch_penalty(CycleModel model) {
  // Cortex-M4: a taken branch refills the 3-stage pipeline (1 + P, P = 1..3; we use 2).
  // Cortex-M7: the branch target address cache predicts loop branches; a predicted taken
  // branch costs about one extra cycle.
  return model == CycleModel::kCortexM4 ? 2 : 1;
}

uint32_t BlockCoster::add(const DecodedInsn& insn) {
  uint32_t cycles = 0;
  if (model_ == CycleModel::kCortexM4) {
    switch (insn.kind) {
      case InsnClass::kAlu:
      case InsnClass::kMac:
        cycles = 1;
        break;
      case InsnClass::kLoadStore:
        // Address and data phases of neighbouring loads/stores overlap.
        cycles = previous_was_load_store_ ? 1 : 2;
        break;
      case InsnClass::kLoadStoreMultiple:
        cycles = 1u + insn.transfers;
        break;
      case InsnClass::kDivide:
        cycles = 7;  // 2..12 depending on the operands
        break;
      case InsnClass::kFloat:
        cycles = insn.float_cycles;
        break;
    }
  } else {
    switch (insn.kind) {
      case InsnClass::kAlu:
      case InsnClass::kMac:
      case InsnClass::kLoadStore:
        cycles = 1;
        break;
      case InsnClass::kLoadStoreMultiple:
        cycles = 1u + (insn.transfers + 1u) / 2u;  // 64-bit data path
        break;
      case InsnClass::kDivide:
        cycles = 7;
        break;
      case InsnClass::kFloat:
        cycles = insn.float_cycles;
        break;
    }
    // Dual issue: a single-cycle instruction shares the cycle of the one before it unless
    // both need the same unique pipe (one MAC unit, one load/store port modelled).
    const bool pairable = single_issue_slot(insn) && issue_slot_open_ &&
                          !(insn.kind == InsnClass::kMac && previous_kind_ == InsnClass::kMac) &&
                          !(insn.kind == InsnClass::kLoadStore &&
                            previous_kind_ == InsnClass::kLoadStore) &&
                          !(insn.kind == InsnClass::kFloat && previous_kind_ == InsnClass::kFloat);
    if (pairable) {
      cycles = 0;
      issue_slot_open_ = false;
    } else {
      issue_slot_open_ = single_issue_slot(insn);
    }
    previous_kind_ = insn.kind;
  }
  previous_was_load_store_ = insn.kind == InsnClass::kLoadStore;
  total_ += cycles;
  return cycles;
}

}  // namespace frugal::mcu
