// What loading a model's constants from external storage into RAM would cost: the baseline a
// bundle's run-time switch is compared with (YONO reports its switching against loading from
// external storage). A documented first-order model, not a measurement: the bytes at the bus's
// raw rate, plus the protocol's framing and its fixed access latency, with the CPU waiting.
// docs/product-quantization.md lists the parameters and their sources.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace frugal::mcu {

struct StorageLink {
  std::string_view name;
  double bits_per_second;      // raw data rate of the bus
  double access_seconds;       // once per load: command, address, the device's access latency
  size_t block_bytes;          // 0: one continuous read
  double block_overhead_bits;  // framing per block (start token, CRC, polling)

  double load_seconds(size_t bytes) const {
    const size_t blocks = block_bytes == 0 ? 0 : (bytes + block_bytes - 1) / block_bytes;
    const double bits = 8.0 * static_cast<double>(blocks == 0 ? bytes : blocks * block_bytes) +
                        static_cast<double>(blocks) * block_overhead_bits;
    return access_seconds + bits / bits_per_second;
  }
  uint64_t load_cycles(size_t bytes, double clock_hz) const {
    return static_cast<uint64_t>(load_seconds(bytes) * clock_hz + 0.5);
  }
};

// SD card in SPI mode at 25 MHz (the SD specification's default-speed limit; SPI moves one bit
// per clock), one multi-block read (CMD18) of whole 512-byte sectors: 1 ms of access latency
// (a typical card; the specification allows up to 100 ms), then per sector a start token, the
// data and a 16-bit CRC, plus about 8 bytes of polling for the next token.
inline constexpr StorageLink kSdCardSpi{"SD card over SPI (25 MHz)", 25e6, 1e-3, 512, 8.0 * (1 + 2 + 8)};

// Quad-SPI NOR flash, quad-output fast read at 80 MHz (4 bits per clock), one read command of
// 8 instruction + 24 address + 8 dummy clocks, no further framing.
inline constexpr StorageLink kQspiNorFlash{"QSPI NOR flash (quad read, 80 MHz)", 4 * 80e6, 40.0 / 80e6, 0, 0.0};

}  // namespace frugal::mcu
