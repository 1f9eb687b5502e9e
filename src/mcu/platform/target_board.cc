// Real-board build (FRUGAL_TARGET_BOARD): no host to talk to. The region marker records the
// DWT cycle counter (read it with a debugger: frugal_mark_cycles / frugal_mark_count), and
// exit parks the core on a breakpoint so an attached debugger stops there.
#include <stdint.h>

#include "frugal_platform.h"

namespace {

constexpr uintptr_t kDemcr = 0xE000EDFCu;     // CoreDebug->DEMCR
constexpr uintptr_t kDwtCtrl = 0xE0001000u;   // DWT->CTRL
constexpr uintptr_t kDwtCyccnt = 0xE0001004u; // DWT->CYCCNT
constexpr uintptr_t kDwtLar = 0xE0001FB0u;    // DWT->LAR (Cortex-M7 locks the DWT)

volatile uint32_t& word(uintptr_t address) { return *reinterpret_cast<volatile uint32_t*>(address); }

}  // namespace

extern "C" {

volatile uint32_t frugal_mark_cycles[FRUGAL_MAX_MARKS];
volatile uint32_t frugal_mark_count;
volatile int frugal_exit_code;

__attribute__((noinline)) void frugal_mark(void) {
  const uint32_t now = word(kDwtCyccnt);
  const uint32_t index = frugal_mark_count;
  if (index < FRUGAL_MAX_MARKS) {
    frugal_mark_cycles[index] = now;
    frugal_mark_count = index + 1;
  }
}

void frugal_target_init(void) {
  word(kDemcr) |= 1u << 24;  // TRCENA: power the DWT
  word(kDwtLar) = 0xC5ACCE55u;
  word(kDwtCyccnt) = 0;
  word(kDwtCtrl) |= 1u;      // CYCCNTENA
}

void frugal_exit(int code) {
  frugal_exit_code = code;
  for (;;) __asm__ volatile("bkpt 0x00");
}

void frugal_fault(uint32_t vector) { frugal_exit(static_cast<int>(128u + vector)); }

}  // extern "C"
