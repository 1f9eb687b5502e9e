// Where the data sets live: the full shared set when it can be found, else the small subset
// bundled in fixtures/data. Tools print which one they use, since accuracies differ.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace frugal::data {

enum class DataRootSource {
  kEnvironment,       // $FRUGAL_DATA
  kBesideWorkingDir,  // <cwd>/../shared/data
  kBesideSource,      // <source dir>/../shared/data
  kFixtures,          // <source dir>/fixtures/data
};

struct DataRoot {
  std::filesystem::path path;
  DataRootSource source = DataRootSource::kFixtures;
  // True when `path` is the bundled subset (also when $FRUGAL_DATA points at it).
  bool fixtures = true;

  // One line for stderr, e.g. "data: /x/shared/data (full shared set, beside the source tree)".
  std::string describe() const;
};

// Search order: $FRUGAL_DATA, <cwd>/../shared/data, <source>/../shared/data, <source>/fixtures/data.
// Throws ir::Error if $FRUGAL_DATA is set but is not a directory, or if nothing is found.
DataRoot find_data_root();
// Same search with explicit inputs (for tests).
DataRoot find_data_root(const std::optional<std::filesystem::path>& env_path,
                        const std::filesystem::path& working_dir,
                        const std::filesystem::path& source_dir);

// The source tree this library was built from (compile definition).
std::filesystem::path source_dir();

}  // namespace frugal::data
