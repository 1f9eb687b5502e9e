// Reset handler and vector table, shared by the QEMU and the real-board builds.
// The target-specific parts (what exit and faults do, the cycle counter) live in
// target_qemu.cc / target_board.cc so that no function here needs per-target #ifs.
#include <stdint.h>

#include "frugal_platform.h"

extern "C" {
// Provided by the linker script.
extern uint32_t __data_load_start[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_top[];
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

// Provided by the target file.
void frugal_target_init(void);
void frugal_fault(uint32_t vector) __attribute__((noreturn));

int main(void);

void frugal_reset_handler(void) __attribute__((noreturn));
void frugal_nmi_handler(void) __attribute__((noreturn));
void frugal_hardfault_handler(void) __attribute__((noreturn));
void frugal_default_handler(void) __attribute__((noreturn));
}

namespace {

constexpr uintptr_t kCpacr = 0xE000ED88u;

// Volatile word loops: the compiler must not turn them into memcpy/memset calls, which could
// themselves depend on initialised data.
void copy_words(volatile uint32_t* destination, const volatile uint32_t* source,
                const volatile uint32_t* destination_end) {
  while (destination < destination_end) *destination++ = *source++;
}

void zero_words(volatile uint32_t* destination, const volatile uint32_t* destination_end) {
  while (destination < destination_end) *destination++ = 0;
}

void enable_fpu() {
  // Full access to coprocessors 10 and 11 (the FPU), then make sure the next instruction
  // sees it: without this any float instruction takes a UsageFault.
  *reinterpret_cast<volatile uint32_t*>(kCpacr) |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
}

}  // namespace

extern "C" void frugal_reset_handler(void) {
  enable_fpu();
  copy_words(__data_start, __data_load_start, __data_end);
  zero_words(__bss_start, __bss_end);
  frugal_target_init();
  for (void (**init)(void) = __init_array_start; init < __init_array_end; ++init) (*init)();
  frugal_exit(main());
}

extern "C" void frugal_nmi_handler(void) { frugal_fault(2); }
extern "C" void frugal_hardfault_handler(void) { frugal_fault(3); }
extern "C" void frugal_default_handler(void) { frugal_fault(0); }

// Only the 16 architectural entries: the firmware enables no interrupts.
extern "C" __attribute__((section(".isr_vector"), used)) const uintptr_t frugal_vector_table[16] = {
    reinterpret_cast<uintptr_t>(__stack_top),
    reinterpret_cast<uintptr_t>(&frugal_reset_handler),
    reinterpret_cast<uintptr_t>(&frugal_nmi_handler),
    reinterpret_cast<uintptr_t>(&frugal_hardfault_handler),
    reinterpret_cast<uintptr_t>(&frugal_default_handler),  // MemManage
    reinterpret_cast<uintptr_t>(&frugal_default_handler),  // BusFault
    reinterpret_cast<uintptr_t>(&frugal_default_handler),  // UsageFault
    0,
    0,
    0,
    0,
    reinterpret_cast<uintptr_t>(&frugal_default_handler),  // SVCall
    reinterpret_cast<uintptr_t>(&frugal_default_handler),  // DebugMonitor
    0,
    reinterpret_cast<uintptr_t>(&frugal_default_handler),  // PendSV
    reinterpret_cast<uintptr_t>(&frugal_default_handler),  // SysTick
};
