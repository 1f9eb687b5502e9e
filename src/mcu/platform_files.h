// The files of src/mcu/platform/, compiled into the library (platform_files.cpp is generated
// by CMake) so that a firmware project can be written from an installed frugal binary.
#pragma once

#include <span>

#include "codegen/embedded_file.h"

namespace frugal::mcu {

using codegen::EmbeddedFile;

std::span<const EmbeddedFile> platform_files();

}  // namespace frugal::mcu
