// QEMU TCG plugin: exact executed-instruction counts and estimated cycles, split into regions
// at every execution of the guest's `frugal_mark` function.
//
// Arguments (each `-plugin libfrugal_qemu_plugin.so,key=value,...`):
//   out=PATH      file the counts are written to at exit (required)
//   model=m4|m7|none   cycle table (none: instructions only, no per-block callback)
//   mark=0xADDR   address of frugal_mark; without it the marker is found by symbol name
//   symbol=NAME   marker symbol name (default frugal_mark)
//
// Counting: every translation block (TB) gets two inline 64-bit adds at its start (its
// instruction count and its static cycle cost), which QEMU emits as guest-code-speed
// arithmetic. Taken branches need run-time information: a per-TB callback compares the TB's
// start with the fall-through address of the TB executed before it. The Cortex-M machines
// have one vCPU, so plain globals suffice.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "cycle_model.h"
#include "qemu_plugin_api.h"

extern "C" {
FRUGAL_QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;
}

namespace {

using frugal::mcu::BlockCoster;
using frugal::mcu::CycleModel;

struct Counts {
  uint64_t instructions = 0;
  uint64_t cycles = 0;
};

struct BlockInfo {
  uint64_t start = 0;
  uint64_t fall_through = 0;
};

struct State {
  std::string out_path;
  bool estimate_cycles = true;
  CycleModel model = CycleModel::kCortexM4;
  bool mark_by_address = false;
  uint64_t mark_address = 0;
  std::string mark_symbol = "frugal_mark";

  uint64_t instructions = 0;
  uint64_t static_cycles = 0;
  uint64_t taken_branches = 0;
  uint64_t last_fall_through = UINT64_MAX;
  std::vector<Counts> marks;
  std::deque<BlockInfo> blocks;  // stable addresses for callback user data
};

State* g_state = nullptr;

Counts now() {
  Counts counts;
  counts.instructions = g_state->instructions;
  counts.cycles = g_state->static_cycles +
                  g_state->taken_branches * frugal::mcu::taken_branch_penalty(g_state->model);
  return counts;
}

void on_block_exec(unsigned int /*vcpu*/, void* userdata) {
  const auto* block = static_cast<const BlockInfo*>(userdata);
  if (block->start != g_state->last_fall_through) ++g_state->taken_branches;
  g_state->last_fall_through = block->fall_through;
}

void on_mark(unsigned int /*vcpu*/, void* /*userdata*/) { g_state->marks.push_back(now()); }

uint16_t halfword(const uint8_t* bytes, size_t offset) {
  return static_cast<uint16_t>(bytes[offset] | (bytes[offset + 1] << 8));
}

bool is_marker(const qemu_plugin_insn* insn) {
  if (g_state->mark_by_address) return qemu_plugin_insn_vaddr(insn) == g_state->mark_address;
  const char* symbol = qemu_plugin_insn_symbol(insn);
  return symbol != nullptr && g_state->mark_symbol == symbol;
}

void on_block_translate(qemu_plugin_id_t /*id*/, qemu_plugin_tb* tb) {
  const size_t count = qemu_plugin_tb_n_insns(tb);
  BlockCoster coster(g_state->model);
  uint64_t end = qemu_plugin_tb_vaddr(tb);
  for (size_t i = 0; i < count; ++i) {
    qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const size_t size = qemu_plugin_insn_size(insn);
    const auto* bytes = static_cast<const uint8_t*>(qemu_plugin_insn_data(insn));
    const uint16_t first = size >= 2 ? halfword(bytes, 0) : 0;
    const uint16_t second = size >= 4 ? halfword(bytes, 2) : 0;
    coster.add(frugal::mcu::decode_thumb(first, second));
    end = qemu_plugin_insn_vaddr(insn) + size;
    if (is_marker(insn)) {
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, nullptr);
    }
  }
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &g_state->instructions,
                                           count);
  if (!g_state->estimate_cycles) return;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                           &g_state->static_cycles, coster.total());
  g_state->blocks.push_back(BlockInfo{qemu_plugin_tb_vaddr(tb), end});
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block_exec, QEMU_PLUGIN_CB_NO_REGS,
                                       &g_state->blocks.back());
}

void write_line(FILE* file, const char* label, const Counts& counts) {
  std::fprintf(file, "%s %" PRIu64 " %" PRIu64 "\n", label, counts.instructions, counts.cycles);
}

Counts difference(const Counts& later, const Counts& earlier) {
  return Counts{later.instructions - earlier.instructions, later.cycles - earlier.cycles};
}

void on_exit(qemu_plugin_id_t /*id*/, void* /*userdata*/) {
  const Counts total = now();
  // Write then rename, so a reader never sees a half-written file.
  const std::string temporary = g_state->out_path + ".tmp";
  FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) {
    std::fprintf(stderr, "frugal plugin: cannot write %s: %s\n", temporary.c_str(),
                 std::strerror(errno));
    return;
  }
  const auto& marks = g_state->marks;
  std::fprintf(file, "frugal-qemu-counts 1\n");
  std::fprintf(file, "model %s\n",
               g_state->estimate_cycles ? std::string(to_string(g_state->model)).c_str() : "none");
  std::fprintf(file, "marks %zu\n", marks.size());
  for (size_t i = 0; i + 1 < marks.size(); ++i) {
    const std::string label = "region " + std::to_string(i);
    write_line(file, label.c_str(), difference(marks[i + 1], marks[i]));
  }
  write_line(file, "before", marks.empty() ? total : marks.front());
  write_line(file, "after", marks.empty() ? Counts{} : difference(total, marks.back()));
  write_line(file, "total", total);
  const bool ok = std::fclose(file) == 0;
  if (ok) std::rename(temporary.c_str(), g_state->out_path.c_str());
}

bool parse_argument(std::string_view argument) {
  const size_t equals = argument.find('=');
  if (equals == std::string_view::npos) return false;
  const std::string_view key = argument.substr(0, equals);
  const std::string value(argument.substr(equals + 1));
  if (key == "out") {
    g_state->out_path = value;
  } else if (key == "model") {
    if (value == "none") {
      g_state->estimate_cycles = false;
    } else if (auto model = frugal::mcu::parse_cycle_model(value)) {
      g_state->model = *model;
    } else {
      return false;
    }
  } else if (key == "mark") {
    char* end = nullptr;
    g_state->mark_address = std::strtoull(value.c_str(), &end, 0) & ~uint64_t{1};  // Thumb bit
    g_state->mark_by_address = end != nullptr && *end == '\0' && !value.empty();
    return g_state->mark_by_address;
  } else if (key == "symbol") {
    g_state->mark_symbol = value;
  } else {
    return false;
  }
  return true;
}

}  // namespace

extern "C" FRUGAL_QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                                             const qemu_info_t* /*info*/,
                                                             int argc, char** argv) {
  g_state = new State();  // lives until the process exits
  for (int i = 0; i < argc; ++i) {
    if (!parse_argument(argv[i])) {
      std::fprintf(stderr, "frugal plugin: bad argument '%s'\n", argv[i]);
      return -1;
    }
  }
  if (g_state->out_path.empty()) {
    std::fprintf(stderr, "frugal plugin: missing out=PATH\n");
    return -1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_block_translate);
  qemu_plugin_register_atexit_cb(id, on_exit, nullptr);
  return 0;
}
