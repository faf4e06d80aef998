// Runs every benchmark program once in --quick mode: each must exit 0 and print its metrics as
// "name value unit" lines. Numbers are not judged here (the machine is shared); bench/run does.

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using sf::test::run;
using sf::test::sh_quote;

/// The benchmark binaries are built next to the CLI.
std::string bench_path(const std::string& name) {
  return (std::filesystem::path(SF_CLI_PATH).parent_path() / name).string();
}

/// First word -> second word of every line that is not a note ('#').
std::map<std::string, std::string> metrics(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream words(line);
    std::string name, value;
    if (words >> name >> value)
      m[name] = value;
  }
  return m;
}

bool is_number(const std::string& s) {
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

void check_quick_run(const std::string& name, const std::vector<std::string>& expected) {
  auto path = bench_path(name);
  INFO(name);
  REQUIRE(std::filesystem::exists(path));
  auto r = run(sh_quote(path) + " --quick");
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  auto m = metrics(r.out);
  for (const auto& metric : expected) {
    INFO("metric " << metric);
    REQUIRE(m.count(metric) == 1);
    CHECK(is_number(m[metric]));
  }
}

} // namespace

TEST_CASE("eligibility_bench quick run prints its metric", "[bench]") {
  check_quick_run("eligibility_bench", {"eligibility_1000x20"});
}

TEST_CASE("exit_latency_bench quick run prints its metrics", "[bench]") {
  check_quick_run("exit_latency_bench", {"exit_latency_trials", "exit_latency_min",
                                         "exit_latency_median", "exit_latency_p99"});
}

TEST_CASE("merge_bench quick run prints every contender", "[bench]") {
  check_quick_run("merge_bench",
                  {"merge_milestone", "git_cli", "git_merge_commits", "git_merge_no_ff"});
}

TEST_CASE("gate_bench quick run prints every scenario's gate runs and times", "[bench]") {
  std::vector<std::string> expected{"gate_seconds", "gate_culprit_bound"};
  for (std::string sc : {"allpass", "culprit", "serial"})
    for (std::string m : {"runs", "merged", "held", "runs_per_merged", "wall", "gate_sum", "ratio"})
      expected.push_back("gate_" + sc + "_" + m);
  check_quick_run("gate_bench", expected);
}

TEST_CASE("worktree_bench quick run prints both contenders and the ratio", "[bench]") {
  check_quick_run("worktree_bench", {"ensure_worktree", "git_worktree_add", "ratio_median"});
}

TEST_CASE("runtime_bench quick run prints every runtime metric", "[bench]") {
  check_quick_run("runtime_bench",
                  {"runtime_exit_latency_trials", "runtime_exit_latency_min",
                   "runtime_exit_latency_median", "runtime_exit_latency_p99",
                   "runtime_status_latency_trials", "runtime_status_latency_median",
                   "runtime_status_latency_p99", "runtime_load_workers", "runtime_load_cpu",
                   "runtime_load_peak_rss", "runtime_idle_workers", "runtime_idle_cpu",
                   "runtime_stop16_term_median", "runtime_stop16_term_max", "runtime_stop_grace",
                   "runtime_stop16_kill_max", "runtime_sched_makespan", "runtime_sched_ideal",
                   "runtime_sched_ratio", "runtime_sched_merged", "runtime_pause_rtt_trials",
                   "runtime_pause_rtt_median", "runtime_pause_rtt_p99"});
}
