// Hooks (`parallel.hooks`) run for real: each hook appends what it was given (variables and
// stdin) to a file, and the test reads what every event kind handed over. A failing and a
// hanging hook are logged and the run still ends, within the hanging hook's timeout.
#include "docs/json_schema.hpp"
#include "support/text_files.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/stop_at_end.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// A hook that appends its variables, then its stdin (one JSON line), to hooks-seen.txt.
const std::string record =
  R"('{ echo "== $SF_EVENT $SF_EVENT_KIND $SF_MILESTONE $SF_COMPLETED_UNITS/$SF_TOTAL_UNITS )"
  R"($SF_EVENT_STATE"; echo "root=$SF_PROJECT_ROOT"; echo "text=$SF_EVENT_TEXT"; cat; } )"
  R"(>> .sf/parallel/hooks-seen.txt')";

// `hooks:` with the recording hook on each of `events`.
std::string record_hooks(const std::vector<std::string>& events) {
  std::string yaml = "  hooks:\n";
  for (const auto& e : events)
    yaml += "    " + e + ": " + record + "\n";
  return yaml;
}

// One hook call as the recording hook wrote it.
struct hook_call {
  std::string header;  ///< "unit_done progress M001 1/2 running".
  std::string root;    ///< SF_PROJECT_ROOT.
  std::string text;    ///< SF_EVENT_TEXT.
  nlohmann::json event; ///< Its stdin.
};

std::vector<hook_call> calls_in(const std::string& path) {
  std::vector<hook_call> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("== ", 0) != 0)
      continue;
    hook_call c;
    c.header = line.substr(3);
    std::string json;
    std::getline(in, c.root);
    std::getline(in, c.text);
    std::getline(in, json);
    c.root = c.root.substr(5);
    c.text = c.text.substr(5);
    // A record still being written (the test polls while hooks run) is not a call yet; the
    // checks after the run count every call, so a broken one still fails them.
    c.event = nlohmann::json::parse(json, nullptr, false);
    if (c.event.is_discarded())
      continue;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<hook_call> calls_of(const std::vector<hook_call>& all, const std::string& prefix) {
  std::vector<hook_call> out;
  for (const auto& c : all)
    if (c.header.rfind(prefix, 0) == 0)
      out.push_back(c);
  return out;
}

// The event's line in events.jsonl, without the time (a hook stamps its arrival).
bool logged(const std::string& root, nlohmann::json ev) {
  ev.erase("at");
  for (const auto& line : event_lines(root, "\"" + ev["kind"].get<std::string>() + "\"")) {
    auto j = nlohmann::json::parse(line);
    j.erase("at");
    if (j == ev)
      return true;
  }
  return false;
}

std::string seen(const test_project& p) {
  return p.path(".sf/parallel/hooks-seen.txt");
}

} // namespace

TEST_CASE("unit_done, milestone_complete and failed hooks get the event on stdin and as "
          "variables",
          "[hooks][runtime]") {
  // U02 holds until the first unit's hook ran, so the two units are two progress events.
  test_project p({ms("M001", {}, {unit("U01", "echo a > a.txt"), unit("U02", hold("u2"))}),
                  ms("M002", {}, {unit("U01", "echo broken >&2; exit 3")})},
                 "  enabled: true\n  max_workers: 2\n  auto_merge: manual\n" +
                   record_hooks({"unit_done", "milestone_complete", "failed"}));
  auto cli = p.spawn_cli({"start", "--yes"});
  stop_at_end cleanup{p};
  REQUIRE(wait_for(p.root(),
                   [&] { return !calls_of(calls_in(seen(p)), "unit_done").empty(); }, 60s));
  release(p, "u2");
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  // The CLI ended after the run's last hooks: nothing is waited for here.
  auto all = calls_in(seen(p));
  INFO(text_of(seen(p)));
  auto units = calls_of(all, "unit_done progress M001");
  REQUIRE(units.size() == 2);
  CHECK(units[0].header == "unit_done progress M001 1/2 running");
  CHECK(units[1].header.rfind("unit_done progress M001 2/2", 0) == 0);
  CHECK(units[0].event["kind"] == "progress");
  CHECK(units[0].event["completedUnits"] == 1);
  CHECK(units[0].event["totalUnits"] == 2);
  CHECK(units[1].event["completedUnits"] == 2);
  auto done = calls_of(all, "milestone_complete");
  REQUIRE(done.size() == 1);
  CHECK(done[0].header == "milestone_complete completed M001 2/2 complete");
  CHECK(done[0].event["kind"] == "completed");
  CHECK(done[0].event["state"] == "complete");
  auto failed = calls_of(all, "failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].header.rfind("failed state_changed M002 0/1 failed", 0) == 0);
  CHECK(failed[0].event["state"] == "failed");
  CHECK(failed[0].event["milestone"] == "M002");
  CHECK(failed[0].text == failed[0].event["text"].get<std::string>());
  CHECK(failed[0].text.find("exit") != std::string::npos);
  CHECK(calls_of(all, "unit_done progress M002").empty());
  for (const auto& c : all) {
    CHECK(c.root == p.root());
    check_valid("event", c.event);
    CHECK(logged(p.root(), c.event)); // The same line as events.jsonl.
  }
}

TEST_CASE("a conflict hook fires for a merge that stopped at a conflict", "[hooks][runtime]") {
  // Both hold until both run: each branch is made from the same main, so the second merge
  // meets the first one's shared.txt.
  test_project p({ms("M001", {}, {unit("U01", "echo one > shared.txt; " + hold("both"))}),
                  ms("M002", {}, {unit("U01", "echo two > shared.txt; " + hold("both"))})},
                 "  enabled: true\n  max_workers: 2\n  auto_merge: auto\n" +
                   record_hooks({"conflict"}));
  auto cli = p.spawn_cli({"start", "--yes"});
  stop_at_end cleanup{p};
  bool both = wait_for(p.root(), [&] {
    return state_of(p.root(), "M001") == "running" && state_of(p.root(), "M002") == "running";
  }, 60s);
  INFO(text_of(p.path(".sf/parallel/events.jsonl")) << text_of(p.cli_log(1)));
  REQUIRE(both);
  release(p, "both");
  REQUIRE(wait_exit(cli, 60s));
  INFO(text_of(seen(p)));
  auto conflicts = calls_in(seen(p));
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0].header.rfind("conflict merge M00", 0) == 0);
  CHECK(conflicts[0].event["kind"] == "merge");
  CHECK(conflicts[0].event["state"] == "conflict");
  CHECK(conflicts[0].text.find("CONFLICT (1 file(s)): shared.txt") != std::string::npos);
  CHECK(logged(p.root(), conflicts[0].event));
}

TEST_CASE("a budget_reached hook fires once when the ceiling is reached", "[hooks][runtime]") {
  test_project p({ms("M001", {}, {{"U01", "echo a > a.txt", {}, 2.5}, unit("U02", hold("never"))})},
                 "  enabled: true\n  budget_ceiling: 1\n  stop_grace: 2\n" +
                   record_hooks({"budget_reached"}));
  auto r = p.cli("start --yes");
  INFO(r.out << r.err << text_of(seen(p)));
  auto budget = calls_in(seen(p));
  REQUIRE(budget.size() == 1);
  CHECK(budget[0].header.rfind("budget_reached budget M001", 0) == 0);
  CHECK(budget[0].event["kind"] == "budget");
  CHECK(budget[0].event["cost"] == 2.5);
  CHECK(budget[0].text.rfind("budget ceiling reached", 0) == 0);
  CHECK(logged(p.root(), budget[0].event));
}

TEST_CASE("a failing and a hanging hook are logged, and the run ends within the timeout",
          "[hooks][runtime]") {
  test_project p({ms("M001", {}, {unit("U01", "true"), unit("U02", "true")})},
                 "  enabled: true\n  auto_merge: manual\n  hooks:\n"
                 "    unit_done: 'echo the hook said no; exit 7'\n"
                 "    milestone_complete: {command: 'echo $$ > .sf/parallel/sleeper.pid; exec "
                 "sleep 60', timeout: 1}\n");
  auto started = std::chrono::steady_clock::now();
  auto r = p.cli("start --yes");
  auto took = std::chrono::steady_clock::now() - started;
  INFO(r.out << r.err);
  CHECK(took < 30s); // Not the hook's 60 s: its timeout of 1 s.
  CHECK_FALSE(event_lines(p.root(), "run finished: 1 complete").empty());
  CHECK(state_of(p.root(), "M001") == "complete");
  auto log = text_of(p.path(".sf/parallel/coordinator.log"));
  INFO(log);
  CHECK(log.find("hook_runner: hook unit_done for M001 (echo the hook said no; exit 7) exited "
                 "with code 7; last output: the hook said no; the run goes on") !=
        std::string::npos);
  CHECK(log.find("hook_runner: hook milestone_complete for M001 (echo $$ > "
                 ".sf/parallel/sleeper.pid; exec sleep 60) timed out after 1") !=
        std::string::npos);
  auto pid = std::stol(text_of(p.path(".sf/parallel/sleeper.pid")));
  CHECK_FALSE(alive(pid));
  // Every hook's output is kept in one log beside the others.
  CHECK(text_of(p.path(".sf/parallel/hooks.log")).find("the hook said no\n") !=
        std::string::npos);
}
