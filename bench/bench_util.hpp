#pragma once
/// Small helpers shared by the benchmark programs: shell quoting, running a command, and
/// summarising samples as min / median / p99 / max.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sf::bench {

/// SF_BENCH_KEEP=1: leave the scratch projects for the caller (bench/run removes them after
/// the last benchmark: deleting many files slows every later file creation on ext4 without a
/// journal, which would bill the next benchmark for this one's cleanup).
inline bool keep_scratch() {
  const char* keep = std::getenv("SF_BENCH_KEEP");
  return keep != nullptr && std::string(keep) == "1";
}

/// Quotes `s` for /bin/sh.
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

/// Runs `cmd` with /bin/sh; reports a failure on stderr, prefixed with `who`.
inline bool sh(const std::string& cmd, const char* who = "bench") {
  int rc = std::system(cmd.c_str());
  if (rc != 0)
    std::fprintf(stderr, "%s: command failed (%d): %s\n", who, rc, cmd.c_str());
  return rc == 0;
}

/// A new repository at `root` on `main`, and a `git fast-import` that writes into it from what
/// is printed to the pipe (close it with pclose, which then gives the import's status); null on
/// failure.
inline FILE* start_fast_import(const std::string& root, const char* who = "bench") {
  if (!sh("git init -q -b main " + quote(root), who))
    return nullptr;
  return ::popen(("cd " + quote(root) + " && git fast-import --quiet").c_str(), "w");
}

/// Summary of a sample set.
struct stats {
  double min = 0, median = 0, p99 = 0, max = 0;
};

/// Nearest-rank quantile `q` (0..1) of the sorted, non-empty `v`.
inline double quantile_of_sorted(const std::vector<double>& v, double q) {
  auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// Nearest-rank summary of `v` (all zero when empty).
inline stats summarize(std::vector<double> v) {
  stats s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.median = quantile_of_sorted(v, 0.5);
  s.p99 = quantile_of_sorted(v, 0.99);
  s.max = v.back();
  return s;
}

/// Milliseconds since `t0` on the steady clock.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace sf::bench
