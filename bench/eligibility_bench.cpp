// Times analyze_eligibility on synthetic plans: n milestones of 20 files drawn from 50,000 paths.
// Usage: eligibility_bench [--trials N] [--quick]
// Prints one line per size: "<name> <median> ms min=<ms> p99=<ms> trials=<n>", so the first three
// fields follow the "name value unit" shape other benchmarks use.
#include "config/eligibility.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

sf::plan make_plan(std::size_t count, std::size_t files_per, std::size_t pool) {
  std::mt19937 rng{42}; // Fixed seed: every run measures the same plan.
  sf::plan p;
  p.milestones.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    sf::milestone m;
    char id[32];
    std::snprintf(id, sizeof id, "M%05zu", i);
    m.id = id;
    m.title = "Milestone " + std::to_string(i);
    sf::unit u;
    u.id = "U1";
    u.run = "true";
    for (std::size_t k = 0; k < files_per; ++k)
      u.files.push_back("src/f" + std::to_string(rng() % pool) + ".cc");
    m.slices.push_back(sf::slice{"S01", "Work", {std::move(u)}});
    p.milestones.push_back(std::move(m));
  }
  return p;
}

/// Value at quantile q (0..1) of sorted samples, nearest rank.
double quantile(const std::vector<double>& sorted, double q) {
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

void run(std::size_t count, int trials) {
  auto p = make_plan(count, 20, 50000);
  std::vector<double> ms;
  std::size_t sink = 0;
  for (int t = 0; t < trials; ++t) {
    auto start = std::chrono::steady_clock::now();
    auto r = sf::analyze_eligibility(p);
    auto stop = std::chrono::steady_clock::now();
    sink += r.overlaps.size() + r.overlaps_omitted; // Keeps the call from being optimised away.
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("eligibility_%zux20 %.3f ms min=%.3f p99=%.3f trials=%d pairs=%zu\n", count,
              quantile(ms, 0.5), ms.front(), quantile(ms, 0.99), trials,
              sink / static_cast<std::size_t>(trials));
}

} // namespace

int main(int argc, char** argv) {
  int trials = 20;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--trials" && i + 1 < argc) {
      trials = std::atoi(argv[++i]);
      if (trials < 1) {
        std::fprintf(stderr, "eligibility_bench: --trials needs a positive number, got '%s'\n",
                     argv[i]);
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: eligibility_bench [--trials N] [--quick]\n");
      return 2;
    }
  }
  if (quick)
    trials = std::min(trials, 3);
  run(1000, trials);
  if (!quick)
    run(10000, trials);
  return 0;
}
