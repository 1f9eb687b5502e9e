// The files of src/mcu/platform/, compiled into the library (platform_files.cpp is generated
// by CMake) so that a firmware project can be written from an installed frugal binary.
#pragma once

#include <span>
#include <string_view>

namespace frugal::mcu {

struct EmbeddedFile {
  std::string_view name;
  std::string_view contents;
};

std::span<const EmbeddedFile> platform_files();

}  // namespace frugal::mcu
