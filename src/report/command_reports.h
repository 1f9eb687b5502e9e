// The reports of `frugal inspect`, `frugal bench` (a model or a bundle) and `frugal compress`
// (`--report DIR`): each built from the very object the command prints with --json, so a report
// never shows a number the JSON does not hold, and it can be rebuilt later from a saved JSON.
//
// Every builder throws ir::Error with a one-line message naming the command and the field
// ("bench JSON: models[1].switch has no 'cycles_estimate'") when the object lacks something it
// reads.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/html_report.h"

namespace frugal::report {

// A table shown in the page and written as CSV. The page rounds and groups digits for reading;
// the CSV keeps each number as the JSON has it, for spreadsheets and scripts.
struct Cell {
  std::string shown;
  std::string raw;
};
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
};

// The <table> of the page (cells escaped).
std::string html_table(const Table& table);
// RFC 4180 quoting (fields with a comma, quote, CR or LF are quoted, quotes doubled), LF line ends.
std::string csv_table(const Table& table);

// One command's report: the page, and its main table, which is also written as CSV.
struct CommandReport {
  std::string html;
  Table table;
};

// `frugal inspect --json`: per-layer MACs, weight bytes and activation (output) bytes.
std::vector<Chart> inspect_charts(const nlohmann::json& inspect_json);
Table inspect_table(const nlohmann::json& inspect_json);
CommandReport inspect_report(const nlohmann::json& inspect_json);

// `frugal bench --json` of a model (per-layer instructions and estimated cycles, flash and RAM
// against the board's) or of a bundle (an object with "models": per-model instructions and
// cycles, each switch against loading the model from external storage, flash and RAM).
std::vector<Chart> bench_charts(const nlohmann::json& bench_json);
Table bench_table(const nlohmann::json& bench_json);
CommandReport bench_report(const nlohmann::json& bench_json);

// `frugal compress --json`: bytes per model (int8 against what the bundle stores for it), the
// accuracy before and after per model, and the totals against fp32 and int8.
std::vector<Chart> compress_charts(const nlohmann::json& compress_json);
Table compress_table(const nlohmann::json& compress_json);
CommandReport compress_report(const nlohmann::json& compress_json);

// Refuses, before a long run, a report directory that cannot become one (an existing file).
// Creates nothing.
void check_report_directory(const std::filesystem::path& directory);

// NAME.html, NAME.json (json_text as given: the object the command prints) and NAME.csv in
// `directory`, created when missing. The constructor writes all three to temporary files, so a
// command can stage its report before writing its other outputs; commit() renames them into
// place. Destroyed uncommitted, or failing, it removes its temporaries and any directory it
// created, so a failed command leaves no report behind. Errors are one-line ir::Errors.
class StagedReport {
 public:
  StagedReport(const std::filesystem::path& directory, const std::string& name, const std::string& json_text,
               const CommandReport& report);
  ~StagedReport();
  StagedReport(const StagedReport&) = delete;
  StagedReport& operator=(const StagedReport&) = delete;

  void commit();
  // The files commit() writes, in order: NAME.html, NAME.json, NAME.csv.
  const std::vector<std::filesystem::path>& files() const { return files_; }

 private:
  void abandon() noexcept;

  std::filesystem::path created_;  // the topmost directory this report created, if any
  std::vector<std::filesystem::path> files_, temporaries_;
  bool committed_ = false;
};

// Stages and commits at once: for commands that write nothing else.
std::vector<std::filesystem::path> write_command_report(const std::filesystem::path& directory, const std::string& name,
                                                        const std::string& json_text, const CommandReport& report);

}  // namespace frugal::report
