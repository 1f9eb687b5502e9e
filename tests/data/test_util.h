// Temporary directories and file writers for the data reader tests.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace frugal::data::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() / ("frugal_data_test_" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& file, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file);
  out << text;
}

// The shared data set, if this checkout has one beside it.
inline std::optional<std::filesystem::path> shared_data() {
  if (const char* env = std::getenv("FRUGAL_DATA"); env != nullptr && *env != '\0') {
    std::filesystem::path path(env);
    if (std::filesystem::exists(path / "cifar10" / "test_batch_filenames.csv")) return path;
  }
  std::filesystem::path beside = std::filesystem::path(FRUGAL_SOURCE_DIR) / ".." / "shared" / "data";
  if (std::filesystem::exists(beside / "cifar10" / "test_batch_filenames.csv")) return beside;
  return std::nullopt;
}

}  // namespace frugal::data::testing
