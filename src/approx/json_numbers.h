// Strict number reading for the approximation files (skip configs, significance reports).
// nlohmann's get<int>() converts whatever number it finds: a float outside the integer's range is
// undefined behaviour, a large integer silently wraps and 2.5 becomes 2. These helpers accept
// only values that the target type holds exactly, so the readers can refuse the rest with a
// message instead.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace frugal::approx::json_numbers {

// An integral JSON number that fits T; nullopt for anything else (floats included, so "2.0"
// is refused: every writer of these files writes integers as integers).
template <typename T>
std::optional<T> integer(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (std::in_range<T>(v)) return static_cast<T>(v);
  } else if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    if (std::in_range<T>(v)) return static_cast<T>(v);
  }
  return std::nullopt;
}

// A JSON number that a float holds without overflowing (converting a larger double to float is
// undefined behaviour); nullopt for anything else.
inline std::optional<float> single(const nlohmann::json& value) {
  if (!value.is_number()) return std::nullopt;
  const double v = value.get<double>();
  if (!(std::fabs(v) <= static_cast<double>(std::numeric_limits<float>::max()))) return std::nullopt;
  return static_cast<float>(v);
}

}  // namespace frugal::approx::json_numbers
