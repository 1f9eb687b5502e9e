// frugal: command-line front end. Results go to stdout, progress and diagnostics to stderr.
// Exit status: 0 success, 1 error (one "error: <message>" line), 2 command-line usage error.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "distributed/work_pool.h"
#include "ir/graph.h"
#include "verbs.h"

namespace {

// Usage errors in the form of every other error: one "error: " line (CLI11's own adds a second
// line, "Run with --help for more information."), pointing at the help of the verb at fault.
std::string usage_error(const CLI::App* app, const CLI::Error& e) {
  std::string help = "frugal --help";
  for (const CLI::App* verb : app->get_subcommands()) help = "frugal " + verb->get_name() + " --help";
  // CLI11 reports a misspelt verb as "A subcommand is required"; name the word instead.
  const std::vector<std::string> extras = app->remaining();
  if (app->get_subcommands().empty() && !extras.empty()) {
    return fmt::format("error: unknown command '{}' (see {})\n", extras.front(), help);
  }
  return fmt::format("error: {} (see {})\n", e.what(), help);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace frugal::cli;
  CLI::App app{"frugal: int8 neural-network inference for microcontrollers (host tools)"};
  app.set_version_flag("--version", "frugal " FRUGAL_VERSION);
  app.failure_message(usage_error);
  app.require_subcommand(1);

  InspectOptions inspect_options;
  RunOptions run_options;
  EvalOptions eval_options;
  GenerateOptions generate_options;
  BenchOptions bench_options;
  ExploreOptions explore_options;
  CompressOptions compress_options;
  CLI::App* inspect = add_inspect(app, inspect_options);
  CLI::App* run = add_run(app, run_options);
  CLI::App* eval = add_eval(app, eval_options);
  CLI::App* generate = add_generate(app, generate_options);
  CLI::App* bench = add_bench(app, bench_options);
  CLI::App* explore = add_explore(app, explore_options);
  CLI::App* compress = add_compress(app, compress_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Under an MPI launcher every rank parses the same command line: rank 0 alone answers.
    if (const auto launch = frugal::distributed::mpi_launch(); launch && launch->rank != 0) {
      return e.get_exit_code() == 0 ? 0 : 2;
    }
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    if (inspect->parsed()) return run_inspect(inspect_options);
    if (run->parsed()) return run_run(run_options);
    if (eval->parsed()) return run_eval(eval_options);
    if (generate->parsed()) return run_generate(generate_options);
    if (bench->parsed()) return run_bench(bench_options);
    if (explore->parsed()) return run_explore(explore_options);
    if (compress->parsed()) return run_compress(compress_options);
    return 2;
  } catch (const frugal::ir::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
  }
  return 1;
}
