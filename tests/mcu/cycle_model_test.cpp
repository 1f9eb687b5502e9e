#include "cycle_model.h"

#include <gtest/gtest.h>

#include <vector>

namespace frugal::mcu {
namespace {

// Encodings produced by arm-none-eabi-as (-mcpu=cortex-m4 -mfpu=fpv4-sp-d16) for the listed
// instructions; the expected classes and transfer counts are read off the Cortex-M4 TRM.
struct Case {
  const char* text;
  uint16_t first;
  uint16_t second;
  InsnClass kind;
  unsigned transfers;
  unsigned float_cycles;
};

const Case kCases[] = {
    {"adds r1, #1", 0x3101, 0, InsnClass::kAlu, 0, 1},
    {"ldr r0, [r1]", 0x6808, 0, InsnClass::kLoadStore, 0, 1},
    {"push {r4, lr}", 0xB510, 0, InsnClass::kLoadStoreMultiple, 2, 1},
    {"pop {r4-r7, pc}", 0xBDF0, 0, InsnClass::kLoadStoreMultiple, 5, 1},
    {"ldr.w r0, [r1, #4]", 0xF8D1, 0x0004, InsnClass::kLoadStore, 0, 1},
    {"smlad r0, r1, r2, r3", 0xFB21, 0x3002, InsnClass::kMac, 0, 1},
    {"smulbb r0, r1, r2", 0xFB11, 0xF002, InsnClass::kMac, 0, 1},
    {"mla r0, r1, r2, r3", 0xFB01, 0x3002, InsnClass::kMac, 0, 1},
    {"sdiv r0, r1, r2", 0xFB91, 0xF0F2, InsnClass::kDivide, 0, 1},
    {"udiv r0, r1, r2", 0xFBB1, 0xF0F2, InsnClass::kDivide, 0, 1},
    {"smull r0, r1, r2, r3", 0xFB82, 0x0103, InsnClass::kMac, 0, 1},
    {"ldmia.w r0, {r1, r2, r3}", 0xE890, 0x000E, InsnClass::kLoadStoreMultiple, 3, 1},
    {"stmdb sp!, {r4-r11, lr}", 0xE92D, 0x4FF0, InsnClass::kLoadStoreMultiple, 9, 1},
    {"ldrd r0, r1, [r2]", 0xE9D2, 0x0100, InsnClass::kLoadStoreMultiple, 2, 1},
    {"tbb [r0, r1]", 0xE8D0, 0xF001, InsnClass::kLoadStore, 0, 1},
    {"ldrex r0, [r1]", 0xE851, 0x0F00, InsnClass::kLoadStore, 0, 1},
    {"vldr s0, [r0]", 0xED90, 0x0A00, InsnClass::kLoadStore, 0, 1},
    {"vpush {s16-s19}", 0xED2D, 0x8A04, InsnClass::kLoadStoreMultiple, 4, 1},
    {"vdiv.f32 s0, s1, s2", 0xEE80, 0x0A81, InsnClass::kFloat, 0, 14},
    {"vmla.f32 s0, s1, s2", 0xEE00, 0x0A81, InsnClass::kFloat, 0, 3},
    {"vfma.f32 s0, s1, s2", 0xEEA0, 0x0A81, InsnClass::kFloat, 0, 3},
    {"vadd.f32 s0, s1, s2", 0xEE30, 0x0A81, InsnClass::kFloat, 0, 1},
    {"vsqrt.f32 s0, s1", 0xEEB1, 0x0AE0, InsnClass::kFloat, 0, 14},
    {"vmov r0, s0", 0xEE10, 0x0A10, InsnClass::kAlu, 0, 1},
    {"bl", 0xF7FF, 0xFFFE, InsnClass::kAlu, 0, 1},
    {"bne.w", 0xF47F, 0xAFFE, InsnClass::kAlu, 0, 1},
    {"ldrb r0, [r1, r2]", 0x5C88, 0, InsnClass::kLoadStore, 0, 1},
    {"strh r0, [r1, #2]", 0x8048, 0, InsnClass::kLoadStore, 0, 1},
    {"ldr r0, [sp, #8]", 0x9802, 0, InsnClass::kLoadStore, 0, 1},
    {"ldmia r0!, {r1, r2}", 0xC806, 0, InsnClass::kLoadStoreMultiple, 2, 1},
    {"sxtb16 r0, r1", 0xFA2F, 0xF081, InsnClass::kAlu, 0, 1},
    {"b.n .", 0xE7FE, 0, InsnClass::kAlu, 0, 1},
};

TEST(CycleModel, DecodesThumbEncodings) {
  for (const Case& c : kCases) {
    const DecodedInsn insn = decode_thumb(c.first, c.second);
    EXPECT_EQ(insn.kind, c.kind) << c.text;
    EXPECT_EQ(insn.size_bytes, is_thumb32(c.first) ? 4 : 2) << c.text;
    if (c.kind == InsnClass::kLoadStoreMultiple) {
      EXPECT_EQ(insn.transfers, c.transfers) << c.text;
    }
    if (c.kind == InsnClass::kFloat) {
      EXPECT_EQ(insn.float_cycles, c.float_cycles) << c.text;
    }
  }
}

uint64_t cost(CycleModel model, const std::vector<std::pair<uint16_t, uint16_t>>& code) {
  BlockCoster coster(model);
  for (const auto& [first, second] : code) coster.add(decode_thumb(first, second));
  return coster.total();
}

TEST(CycleModel, CortexM4Table) {
  const std::pair<uint16_t, uint16_t> adds{0x3101, 0}, ldr{0x6808, 0}, ldrw{0xF8D1, 0x0004},
      smlad{0xFB21, 0x3002}, sdiv{0xFB91, 0xF0F2}, push{0xB510, 0}, ldm3{0xE890, 0x000E};
  EXPECT_EQ(cost(CycleModel::kCortexM4, {adds, smlad}), 2u);
  EXPECT_EQ(cost(CycleModel::kCortexM4, {ldr}), 2u);
  EXPECT_EQ(cost(CycleModel::kCortexM4, {ldr, ldrw, ldr}), 2u + 1u + 1u);  // pipelined
  EXPECT_EQ(cost(CycleModel::kCortexM4, {ldr, adds, ldr}), 2u + 1u + 2u);
  EXPECT_EQ(cost(CycleModel::kCortexM4, {push, ldm3}), 3u + 4u);
  EXPECT_EQ(cost(CycleModel::kCortexM4, {sdiv}), 7u);
  EXPECT_EQ(taken_branch_penalty(CycleModel::kCortexM4), 2u);
}

TEST(CycleModel, CortexM7PairsSingleCycleInstructions) {
  const std::pair<uint16_t, uint16_t> adds{0x3101, 0}, ldr{0x6808, 0}, smlad{0xFB21, 0x3002},
      smulbb{0xFB11, 0xF002}, ldm3{0xE890, 0x000E};
  EXPECT_EQ(cost(CycleModel::kCortexM7, {adds, adds}), 1u);
  EXPECT_EQ(cost(CycleModel::kCortexM7, {adds, adds, adds}), 2u);
  EXPECT_EQ(cost(CycleModel::kCortexM7, {ldr, smlad}), 1u);
  EXPECT_EQ(cost(CycleModel::kCortexM7, {ldr, ldr}), 2u);        // one load/store port
  EXPECT_EQ(cost(CycleModel::kCortexM7, {smlad, smulbb}), 2u);   // one MAC unit
  EXPECT_EQ(cost(CycleModel::kCortexM7, {ldm3}), 1u + 2u);       // 64-bit data path
  EXPECT_EQ(taken_branch_penalty(CycleModel::kCortexM7), 1u);
}

TEST(CycleModel, ParsesModelNames) {
  EXPECT_EQ(parse_cycle_model("m4"), CycleModel::kCortexM4);
  EXPECT_EQ(parse_cycle_model("m7"), CycleModel::kCortexM7);
  EXPECT_FALSE(parse_cycle_model("m0").has_value());
}

}  // namespace
}  // namespace frugal::mcu
