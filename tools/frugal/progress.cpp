#include "progress.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace frugal::cli {

Progress::Progress(size_t total, std::string unit)
    : total_(total), unit_(std::move(unit)), terminal_(::isatty(::fileno(stderr)) != 0) {}

void Progress::draw(size_t done, double elapsed_seconds) {
  constexpr int kWidth = 30;
  double fraction = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  int filled = static_cast<int>(fraction * kWidth);
  double rate = elapsed_seconds > 0.0 ? static_cast<double>(done) / elapsed_seconds : 0.0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  fmt::print(stderr, "{}[{}] {:3.0f}% {}/{} {:.1f} {}/s{}", terminal_ ? "\r" : "", bar, std::floor(fraction * 100.0), done,
             total_, rate, unit_, terminal_ ? "" : "\n");
  std::fflush(stderr);
}

void Progress::update(size_t done, double elapsed_seconds) {
  if (terminal_) {
    draw(done, elapsed_seconds);
    return;
  }
  int decile = total_ == 0 ? 10 : static_cast<int>(done * 10 / total_);
  if (decile > last_decile_) {
    last_decile_ = decile;
    draw(done, elapsed_seconds);
  }
}

void Progress::finish(size_t done, double elapsed_seconds) {
  update(done, elapsed_seconds);
  if (terminal_) fmt::print(stderr, "\n");
}

}  // namespace frugal::cli
