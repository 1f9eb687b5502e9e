// Helpers of the readers of untrusted flatbuffers files (the TFLite importer, the bundle reader),
// used after the flatbuffers Verifier has accepted the buffer.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace frugal::import {

inline std::string printable(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : ir::printable(s->string_view());
}

// The verifier checks a vector's length field for 4-byte alignment but not its elements for
// their own alignment, so 8-byte elements (zero points) may sit misaligned: copy bytes.
template <typename T>
std::vector<T> to_vector(const flatbuffers::Vector<T>* v) {
  if (v == nullptr || v->size() == 0) return {};
  std::vector<T> out(v->size());
  std::memcpy(out.data(), v->Data(), out.size() * sizeof(T));
  return out;
}

// A file's 4 identifier bytes as a message shows them (quotes and backslashes escaped too).
inline std::string printable_identifier(const uint8_t* p) {
  std::string out;
  for (int i = 0; i < 4; ++i) {
    const uint8_t c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

inline std::string shape_str(const std::vector<int32_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

}  // namespace frugal::import
