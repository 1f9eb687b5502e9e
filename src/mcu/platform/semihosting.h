/* Arm semihosting calls (QEMU build only): `bkpt 0xAB` with the operation in r0 and a
 * pointer to its argument block in r1; the result comes back in r0. */
#ifndef FRUGAL_SEMIHOSTING_H
#define FRUGAL_SEMIHOSTING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  FRUGAL_SYS_OPEN = 0x01,
  FRUGAL_SYS_CLOSE = 0x02,
  FRUGAL_SYS_WRITE0 = 0x04,
  FRUGAL_SYS_WRITE = 0x05,
  FRUGAL_SYS_READ = 0x06,
  FRUGAL_SYS_FLEN = 0x0C,
  FRUGAL_SYS_EXIT_EXTENDED = 0x20,
};

/* SYS_OPEN modes (ISO C fopen equivalents). */
enum { FRUGAL_OPEN_RB = 1, FRUGAL_OPEN_WB = 5 };

/* ADP_Stopped_ApplicationExit: with SYS_EXIT_EXTENDED the second word is the exit code. */
#define FRUGAL_ADP_APPLICATION_EXIT 0x20026u

int32_t frugal_semihost(uint32_t operation, const void* argument);

int32_t frugal_sh_open(const char* path, uint32_t mode);
int32_t frugal_sh_close(int32_t handle);
/* Return the number of bytes NOT transferred (0 = all), as the semihosting spec defines. */
int32_t frugal_sh_write(int32_t handle, const void* data, size_t size);
int32_t frugal_sh_read(int32_t handle, void* buffer, size_t size);
int32_t frugal_sh_flen(int32_t handle);
void frugal_sh_write0(const char* text);
void frugal_sh_exit(int code) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* FRUGAL_SEMIHOSTING_H */
