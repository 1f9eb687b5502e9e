#include "data/data_root.h"

#include <cstdlib>
#include <system_error>

#include "ir/graph.h"

namespace frugal::data {
namespace fs = std::filesystem;

namespace {

bool directory_exists(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  bool same = fs::equivalent(a, b, ec);
  return !ec && same;
}

fs::path normalized(const fs::path& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  return ec ? path.lexically_normal() : canonical;
}

}  // namespace

fs::path source_dir() { return fs::path(FRUGAL_DATA_SOURCE_DIR); }

std::string DataRoot::describe() const {
  std::string where;
  switch (source) {
    case DataRootSource::kEnvironment: where = "from $FRUGAL_DATA"; break;
    case DataRootSource::kBesideWorkingDir: where = "beside the working directory"; break;
    case DataRootSource::kBesideSource: where = "beside the source tree"; break;
    case DataRootSource::kFixtures: where = "bundled with the source tree"; break;
  }
  std::string kind = fixtures ? "bundled fixtures, a small subset" : "full shared set";
  return "data: " + path.string() + " (" + kind + ", " + where + ")";
}

DataRoot find_data_root(const std::optional<fs::path>& env_path, const fs::path& working_dir,
                        const fs::path& source) {
  const fs::path fixtures_dir = source / "fixtures" / "data";
  auto make = [&](const fs::path& path, DataRootSource kind) {
    return DataRoot{normalized(path), kind, same_directory(path, fixtures_dir)};
  };
  if (env_path && !env_path->empty()) {
    if (!directory_exists(*env_path)) {
      throw ir::Error("FRUGAL_DATA is set to '" + env_path->string() + "', which is not a directory");
    }
    return make(*env_path, DataRootSource::kEnvironment);
  }
  if (fs::path beside_cwd = working_dir / ".." / "shared" / "data"; directory_exists(beside_cwd)) {
    return make(beside_cwd, DataRootSource::kBesideWorkingDir);
  }
  if (fs::path beside_source = source / ".." / "shared" / "data"; directory_exists(beside_source)) {
    return make(beside_source, DataRootSource::kBesideSource);
  }
  if (directory_exists(fixtures_dir)) return make(fixtures_dir, DataRootSource::kFixtures);
  throw ir::Error("no data found: set FRUGAL_DATA, or put shared/data beside the checkout (looked for " +
                  (source / ".." / "shared" / "data").string() + " and " + fixtures_dir.string() + ")");
}

DataRoot find_data_root() {
  std::optional<fs::path> env_path;
  if (const char* value = std::getenv("FRUGAL_DATA"); value != nullptr && *value != '\0') {
    env_path = fs::path(value);
  }
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  return find_data_root(env_path, ec ? fs::path(".") : cwd, source_dir());
}

}  // namespace frugal::data
