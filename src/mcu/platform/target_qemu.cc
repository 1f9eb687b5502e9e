// QEMU stand-in build (FRUGAL_TARGET_QEMU): host I/O and exit through semihosting; the
// region marker is a bare `bx lr` that the instruction-counting plugin recognises by symbol.
#include <stddef.h>
#include <stdint.h>

#include "frugal_platform.h"
#include "semihosting.h"

extern "C" {

int32_t frugal_semihost(uint32_t operation, const void* argument) {
  register uint32_t r0 __asm__("r0") = operation;
  register const void* r1 __asm__("r1") = argument;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return static_cast<int32_t>(r0);
}

static uint32_t string_length(const char* text) {
  uint32_t length = 0;
  while (text[length] != '\0') ++length;
  return length;
}

int32_t frugal_sh_open(const char* path, uint32_t mode) {
  const uint32_t block[3] = {reinterpret_cast<uintptr_t>(path), mode, string_length(path)};
  return frugal_semihost(FRUGAL_SYS_OPEN, block);
}

int32_t frugal_sh_close(int32_t handle) {
  const uint32_t block[1] = {static_cast<uint32_t>(handle)};
  return frugal_semihost(FRUGAL_SYS_CLOSE, block);
}

int32_t frugal_sh_write(int32_t handle, const void* data, size_t size) {
  const uint32_t block[3] = {static_cast<uint32_t>(handle), reinterpret_cast<uintptr_t>(data),
                             static_cast<uint32_t>(size)};
  return frugal_semihost(FRUGAL_SYS_WRITE, block);
}

int32_t frugal_sh_read(int32_t handle, void* buffer, size_t size) {
  const uint32_t block[3] = {static_cast<uint32_t>(handle), reinterpret_cast<uintptr_t>(buffer),
                             static_cast<uint32_t>(size)};
  return frugal_semihost(FRUGAL_SYS_READ, block);
}

int32_t frugal_sh_flen(int32_t handle) {
  const uint32_t block[1] = {static_cast<uint32_t>(handle)};
  return frugal_semihost(FRUGAL_SYS_FLEN, block);
}

void frugal_sh_write0(const char* text) { frugal_semihost(FRUGAL_SYS_WRITE0, text); }

void frugal_sh_exit(int code) {
  const uint32_t block[2] = {FRUGAL_ADP_APPLICATION_EXIT, static_cast<uint32_t>(code)};
  frugal_semihost(FRUGAL_SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}

__attribute__((naked, noinline)) void frugal_mark(void) { __asm__ volatile("bx lr"); }

void frugal_exit(int code) { frugal_sh_exit(code); }

void frugal_target_init(void) {}

// Distinct exit codes so a crash is told apart from a program's own failure.
void frugal_fault(uint32_t vector) { frugal_sh_exit(static_cast<int>(128u + vector)); }

void frugal_print(const char* text) { frugal_sh_write0(text); }

long frugal_host_file_size(const char* path) {
  const int32_t handle = frugal_sh_open(path, FRUGAL_OPEN_RB);
  if (handle < 0) return -1;
  const int32_t length = frugal_sh_flen(handle);
  frugal_sh_close(handle);
  return length;
}

long frugal_host_read_file(const char* path, void* buffer, size_t capacity) {
  const int32_t handle = frugal_sh_open(path, FRUGAL_OPEN_RB);
  if (handle < 0) return -1;
  const int32_t length = frugal_sh_flen(handle);
  long result = -1;
  if (length >= 0 && static_cast<size_t>(length) <= capacity) {
    const int32_t not_read = frugal_sh_read(handle, buffer, static_cast<size_t>(length));
    if (not_read == 0) result = length;
  }
  frugal_sh_close(handle);
  return result;
}

long frugal_host_write_file(const char* path, const void* data, size_t size) {
  const int32_t handle = frugal_sh_open(path, FRUGAL_OPEN_WB);
  if (handle < 0) return -1;
  const int32_t not_written = frugal_sh_write(handle, data, size);
  frugal_sh_close(handle);
  return not_written == 0 ? static_cast<long>(size) : -1;
}

}  // extern "C"
