// render_explore_report EXPLORE_JSON OUT_HTML: the page `frugal explore --report` writes, from a
// saved `frugal explore --json` object. The browser test uses it where the data a real
// exploration needs (the full CIFAR-10 set: calibration images come from its training batches)
// is not there, so the explore page is still checked with the fixtures alone.
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/graph.h"
#include "report/html_report.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: render_explore_report EXPLORE_JSON OUT_HTML\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) throw frugal::ir::Error(std::string("cannot read '") + argv[1] + "'");
    const nlohmann::json explore = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    frugal::report::write_report(argv[2], frugal::report::explore_report_html(explore));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
