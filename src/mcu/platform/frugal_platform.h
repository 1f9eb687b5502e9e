/* Firmware platform API shared by the QEMU and the real-board builds.
 *
 * Freestanding C/C++17: no heap, no exceptions, no RTTI, no stdio. The QEMU build
 * (FRUGAL_TARGET_QEMU, target_qemu.cc) talks to the host through semihosting; the board build
 * (FRUGAL_TARGET_BOARD, target_board.cc) has no host and records DWT->CYCCNT at each mark.
 *
 * Region measurement: frugal_mark_calibrate() opens region 0; every later frugal_mark()
 * closes the current region and opens the next:
 *     frugal_mark_calibrate(); layer0(); frugal_mark(); layer1(); frugal_mark();
 * measures two regions. The calibration pair's empty region is what the marker itself costs
 * (call and return); the host subtracts it from every region.
 */
#ifndef FRUGAL_PLATFORM_H
#define FRUGAL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Out of line, never inlined, body a single `bx lr`: the QEMU plugin finds it by symbol and
 * closes a region each time it executes; on a board it records the cycle counter. */
void frugal_mark(void);

/* Ends the program. Under QEMU the code becomes QEMU's exit status. */
void frugal_exit(int code) __attribute__((noreturn));

#ifdef FRUGAL_TARGET_BOARD
/* Cycle counter values recorded by frugal_mark(), in call order. */
#define FRUGAL_MAX_MARKS 256
extern volatile uint32_t frugal_mark_cycles[FRUGAL_MAX_MARKS];
extern volatile uint32_t frugal_mark_count;
#endif

#ifdef FRUGAL_TARGET_QEMU
/* Host file access through semihosting; paths are relative to QEMU's working directory.
 * Each returns the number of bytes transferred, or -1 on failure. */
long frugal_host_file_size(const char* path);
long frugal_host_read_file(const char* path, void* buffer, size_t capacity);
long frugal_host_write_file(const char* path, const void* data, size_t size);
/* Text to QEMU's console (its stderr). */
void frugal_print(const char* text);
#endif

#ifdef __cplusplus
}
#endif

/* Two back-to-back marks: the empty region between them is the marker's own cost. Always
 * inlined so the calls look exactly like the ones around real regions. */
static inline __attribute__((always_inline)) void frugal_mark_calibrate(void) {
  frugal_mark();
  frugal_mark();
}

#endif /* FRUGAL_PLATFORM_H */
