// `on_gate_failure: agent` end to end: a milestone whose agent's work fails the merge gate
// together with another milestone is given back to its agent (the fake Claude Code CLI,
// resumed in its own session) with the gate's report, and merges once the fix passes. Real
// repositories, the real CLI, worker and gate; git state is read with git.
#include "support/gate_project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <string>
#include <vector>

using namespace sf::test;

namespace {

// The agent of M003: each run writes parts/b.txt with the next value of `values` (the last one
// repeats), as an agent that changes its mind when told what failed; then it is the fake
// `claude`, which prints the documented stream and logs its run in `log`.
void write_agent(const test_project& p, const std::string& values, const std::string& log) {
  write_file(p.path("agent.sh"),
             "#!/bin/sh\n"
             "set -e\n"
             "n=$(cat \"$SF_PROJECT_ROOT/agent-runs\" 2>/dev/null || echo 0)\n"
             "n=$((n + 1))\n"
             "echo $n > \"$SF_PROJECT_ROOT/agent-runs\"\n"
             "v=$(echo '" + values + "' | awk -v n=$n '{ print (n <= NF) ? $n : $NF }')\n"
             "mkdir -p parts && echo $v > parts/b.txt\n"
             "FAKE_AGENT_LOG=" + sh_quote(log) + " exec " +
               sh_quote(SF_AGENT_FIXTURES "/claude") + " \"$@\"\n");
  ::chmod(p.path("agent.sh").c_str(), 0755);
}

// M003 as an agent unit of the `claude` profile.
void add_agent_milestone(const test_project& p) {
  write_file(p.path(".sf/milestones/M003/MILESTONE.md"),
             "---\ntitle: Part b\nstatus: pending\ndependsOn: []\nslices:\n"
             "  - id: S01\n    title: Slice one\n    units:\n"
             "      - id: U01\n        title: Add part b\n        agent: claude\n"
             "        prompt: Add parts/b.txt.\n---\n\nAdd part b.\n");
  p.git("add -A");
  p.git("commit -q -m 'M003 is for an agent'");
}

std::string fix_prefs(const std::string& root, const std::string& extra) {
  return gate_prefs("  on_gate_failure: agent\n" + extra) +
         "agents:\n  profiles:\n    claude:\n      command: [" + sh_quote(root + "/agent.sh") +
         "]\n";
}

// M002 (a shell unit, part a = 6) and M003 (the agent, part b = each of `values` in turn),
// under the gate and on_gate_failure: agent; runs `start` to its end.
finished_run run_with_agent(test_project& p, const std::string& values, const std::string& log,
                            const std::string& extra) {
  write_agent(p, values, log);
  write_file(p.path(".sf/PREFERENCES.md"),
             "---\nparallel:\n" + fix_prefs(p.root(), extra) + "---\n");
  add_agent_milestone(p);
  add_check(p);
  return start_to_end(p);
}

// The fake agent's runs: one JSON object per run (cwd, argv, prompt).
std::vector<nlohmann::json> agent_runs(const std::string& log) {
  std::vector<nlohmann::json> out;
  for (const auto& line : split_lines(read_file(log)))
    out.push_back(nlohmann::json::parse(line));
  return out;
}

bool has_arg(const nlohmann::json& run, const std::string& a, const std::string& b) {
  const auto& argv = run["argv"];
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == a && argv[i + 1] == b)
      return true;
  return false;
}

// The argument after `a` in a run's argv, or "".
std::string arg_after(const nlohmann::json& run, const std::string& a) {
  const auto& argv = run["argv"];
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == a)
      return argv[i + 1].get<std::string>();
  return {};
}

// A run that ended with M002 merged and M003 held as gate_failed, its note saying `why`, after
// `gate_runs_expected` gate runs; nothing of M003 is lost.
void check_m003_held(const test_project& p, const finished_run& r, const std::string& why,
                     int gate_runs_expected) {
  INFO(r.output);
  CHECK(r.exit_code == 9);
  check_main_always_passes(p);
  CHECK(merges_on_main(p).size() == 1);
  auto row = status_row(p, "M003");
  CHECK(row.value("state", "") == "gate_failed");
  CHECK(contains(row.value("note", ""), why));
  CHECK(gate_runs(p) == gate_runs_expected);
  CHECK(exists(p.path(".sf/worktrees/M003/parts/b.txt")));
  CHECK_FALSE(p.git("rev-parse --verify milestone/M003").empty());
}

} // namespace

TEST_CASE("gate fix: the agent is resumed with the gate's report until its merge passes",
          "[gate][gatefix]") {
  test_project p({part("M002", "a", 6)}, "");
  auto log = p.path("agent-log.jsonl");
  auto r = run_with_agent(p, "6 5 4", log, "");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  check_main_always_passes(p);
  CHECK(merges_on_main(p).size() == 2);
  CHECK(parts_total(p, "main") == 10);
  CHECK(status_row(p, "M003").value("state", "") == "merged");

  // Three runs of the agent: the unit, then two fixes (6 + 5 still failed), each resuming the
  // session the unit began, told what the gate printed.
  auto runs = agent_runs(log);
  REQUIRE(runs.size() == 3);
  auto session = arg_after(runs[0], "--session-id");
  REQUIRE_FALSE(session.empty());
  for (std::size_t i = 1; i < runs.size(); ++i) {
    INFO("fix run " << i);
    CHECK(has_arg(runs[i], "--resume", session));
    auto prompt = runs[i]["prompt"].get<std::string>();
    CHECK(contains(prompt, "the project's merge gate failed"));
    CHECK(contains(prompt, "`sh check.sh`"));
    CHECK(contains(prompt, i == 1 ? "total 12" : "total 11"));
    CHECK_FALSE(contains(prompt, "The task, as given before")); // the session knows it
    CHECK(runs[i]["cwd"] == p.path(".sf/worktrees/M003"));
  }
  // Gate runs: M002; M003 failing twice (the retry), its first fix twice, its second once.
  CHECK(gate_runs(p) == 6);
  // Each fix is a commit of its own on the branch, recorded and paid for like a unit.
  auto subjects = p.git("log --format=%s milestone/M003");
  CHECK(contains(subjects, "M003/gate-fix-1: "));
  CHECK(contains(subjects, "M003/gate-fix-2: "));
  auto metrics = nlohmann::json::parse(p.git("show main:.sf/metrics.json"));
  const auto& m3 = metrics["milestones"]["M003"];
  std::vector<std::string> ids;
  for (const auto& u : m3["units"])
    ids.push_back(u["id"]);
  CHECK(ids == std::vector<std::string>{"U01", "gate-fix-1", "gate-fix-2"});
  CHECK(m3["cost"].get<double>() == Approx(3 * 0.18342));
  // The events tell it in order: the gate failed, the agent was asked, the milestone merged.
  auto failed_at = event_index(p.root(), "M003", "queued");
  auto merged_at = event_index(p.root(), "M003", "merged");
  CHECK(failed_at >= 0);
  CHECK(failed_at < merged_at);
  // The report the agent read stays for the person: the last failure's.
  auto report = read_file(p.path(".sf/parallel/M003.gate-failure.md"));
  CHECK(contains(report, "# M003 failed the merge gate"));
  CHECK(contains(report, "total 11"));
}

TEST_CASE("gate fix: an agent whose fix changes nothing leaves the milestone gate_failed",
          "[gate][gatefix]") {
  test_project p({part("M002", "a", 6)}, "");
  auto log = p.path("agent-log.jsonl");
  auto r = run_with_agent(p, "6", log, "  gate_fix_rounds: 3\n");
  // One fix was tried, not three: the same tree would fail the same way.
  check_m003_held(p, r, "changed no file outside .sf/", 3);
  CHECK(agent_runs(log).size() == 2);
}

TEST_CASE("gate fix: a milestone without an agent fails the gate as under hold",
          "[gate][gatefix]") {
  test_project p({part("M002", "a", 6), part("M003", "b", 6)},
                 gate_prefs("  on_gate_failure: agent\n"));
  add_check(p);
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 9);
  CHECK(status_row(p, "M003").value("state", "") == "gate_failed");
  CHECK(gate_runs(p) == 3);
  // Its worker ran once: nothing was started again for a fix.
  int starts = 0;
  for (const auto& line : event_lines(p.root(), "\"M003\""))
    starts += nlohmann::json::parse(line).value("state", "") == "starting" ? 1 : 0;
  CHECK(starts == 1);
}

TEST_CASE("gate fix: a worker_command that ignores the gate's report leaves it gate_failed at once",
          "[gate][gatefix]") {
  test_project p({part("M002", "a", 6)}, "");
  auto log = p.path("agent-log.jsonl");
  // The reference worker, run as a worker of the user's own that never reads the report: it
  // finds every unit done and exits without moving the branch.
  auto worker = std::string("env -u SF_GATE_FAILURE_FILE ") + sh_quote(SF_CLI_PATH) + " worker";
  auto r = run_with_agent(p, "6 4", log, "  worker_command: \"" + worker + "\"\n");
  // The fix was asked once, the worker ran again without the agent, and the same tip was not
  // tested again: M002, then M003 failing twice (the retry).
  check_m003_held(p, r, "exited without committing a fix", 3);
  CHECK(agent_runs(log).size() == 1);
  CHECK(contains(p.git("log -1 --format=%s milestone/M003"), "M003/U01"));
}
