// The chaos harness: its scenario files are checked strictly, its invariants really fail when
// broken, and the whole scenario catalog keeps every invariant on this machine.
#include "chaos/invariants.hpp"
#include "chaos/scenario.hpp"
#include "docs/json_schema.hpp"
#include "io/os/proc_files.hpp"
#include "messages/error.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

using namespace sf;
using namespace sf::test;

namespace {

std::vector<std::string> catalog() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(SF_SOURCE_DIR "/chaos/scenarios"))
    if (e.path().extension() == ".yaml")
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// The scenarios of the catalog the suite runs: all but those marked `slow` (long timeouts whose
// behaviour an integration test also covers; `scripts/reliability.sh` runs them too).
std::vector<std::string> fast_catalog() {
  std::vector<std::string> fast;
  for (const auto& f : catalog()) {
    auto s = chaos::load_scenario(f);
    REQUIRE(s);
    if (!s->slow)
      fast.push_back(f);
  }
  return fast;
}

// Runs every `part`-th scenario of the fast catalog (of `parts`) through the CLI and checks
// the JSON results row by row, so a failure names the scenario and the invariant.
void run_catalog_part(std::size_t part, std::size_t parts) {
  std::string args = "chaos --json";
  auto files = fast_catalog();
  std::size_t mine = 0;
  for (std::size_t i = part; i < files.size(); i += parts, ++mine)
    args += " " + sh_quote(files[i]);
  auto res = run_cli(args);
  INFO(res.err);
  auto results = nlohmann::json::parse(res.out, nullptr, false);
  REQUIRE(results.is_array());
  check_valid("chaos-output", results);
  REQUIRE(results.size() == mine);
  for (const auto& r : results) {
    INFO("scenario " << r.value("name", "?") << ", kept in " << r.value("workdir", "-"));
    if (r.value("skipped", false)) {
      WARN("skipped: " << r.value("skipReason", ""));
      continue;
    }
    REQUIRE(r["checks"].size() == chaos::invariant_names().size());
    for (const auto& c : r["checks"]) {
      INFO(c.value("name", "") << ": " << c.value("detail", ""));
      CHECK(c.value("result", "") != "fail");
    }
  }
  CHECK(res.exit_code == 0);
}

std::string scenario_file(const temp_dir& dir, const std::string& text) {
  auto path = dir / "s.yaml";
  write_file(path, text);
  return path;
}

} // namespace

TEST_CASE("the scenario catalog holds at least 30 scenarios, each loading cleanly", "[chaos]") {
  auto files = catalog();
  CHECK(files.size() >= 30);
  for (const auto& f : files) {
    auto s = chaos::load_scenario(f);
    INFO(f);
    REQUIRE(s);
    CHECK_FALSE(s->fault.empty());
  }
}

TEST_CASE("scenario errors name the file, the line, the key and the fix", "[chaos]") {
  temp_dir dir;
  auto bad_key = chaos::load_scenario(scenario_file(dir, "fault: x\nmilestones:\n  - {id: M001}\nexpekt: {}\n"));
  REQUIRE_FALSE(bad_key);
  CHECK(describe(bad_key.error()).find("s.yaml:4: unknown key `expekt`") != std::string::npos);
  CHECK(describe(bad_key.error()).find("use one of:") != std::string::npos);

  auto bad_action = chaos::load_scenario(scenario_file(
    dir, "fault: x\nmilestones:\n  - {id: M001}\ninject:\n  - when: {event: progress}\n    do: "
         "explode M001\n"));
  REQUIRE_FALSE(bad_action);
  CHECK(describe(bad_action.error()).find("unknown action `explode`") != std::string::npos);

  auto bad_point = chaos::load_scenario(scenario_file(
    dir, "fault: x\nmilestones:\n  - {id: M001}\ninject:\n  - when: {fault_point: merge.nowhere}\n"
         "    do: kill-coordinator\n"));
  REQUIRE_FALSE(bad_point);
  CHECK(describe(bad_point.error()).find("unknown fault point `merge.nowhere`") !=
        std::string::npos);

  auto no_fault = chaos::load_scenario(scenario_file(dir, "milestones:\n  - {id: M001}\n"));
  REQUIRE_FALSE(no_fault);
  CHECK(describe(no_fault.error()).find("`fault` is missing") != std::string::npos);

  auto bad_knob = chaos::load_scenario(scenario_file(
    dir, "fault: x\nmilestones:\n  - {id: M001}\nknobs:\n  M002: {crash_after: 1}\n"));
  REQUIRE_FALSE(bad_knob);
  CHECK(describe(bad_knob.error()).find("knobs for unknown milestone `M002`") != std::string::npos);

  scenario_file(dir, "fault: x\nmilestones:\n  - {id: M001}\nexpekt: {}\n");
  auto cli = run_cli("chaos " + sh_quote(dir / "s.yaml"));
  CHECK(cli.exit_code == 1);
  CHECK(cli.err.find("s.yaml:4") != std::string::npos);
}

TEST_CASE("the invariants fail when main, processes or files say so", "[chaos]") {
  temp_dir dir;
  init_git_repo(dir.path());
  chaos::scenario s;
  s.name = "tampered";
  s.expect.exit = 0;
  chaos::run_record r;
  r.root = dir.path();
  r.workdir = dir.path();
  r.clean_stop = true;
  r.last_exit = 0;
  r.bystander = ::getpid();
  r.bystander_log = dir / "bystander.log";
  write_file(r.bystander_log, "ready\n");
  // A commit on main that is neither ours nor the user's, a leftover status file and temp
  // file, a journal naming a commit no branch holds, and a process of the run still alive.
  write_file(dir / "stray.txt", "x\n");
  run("git add stray.txt && git commit -q -m stray", dir.path());
  write_file(dir / ".sf/parallel/M001.status.json", "{}");
  write_file(dir / "journal", "M001 U01 0123456789012345678901234567890123456789\n");
  auto child = run("sh -c 'SF_CHAOS_ROOT=" + dir.path() + " sleep 30 >/dev/null 2>&1 & echo $!'");
  pid_t pid = std::stoi(child.out);
  // `$!` is known before the child has exec'd sleep with SF_CHAOS_ROOT in its environment:
  // wait (with a deadline) until /proc shows it, or the check would see sh's environment.
  REQUIRE(sf::test::eventually(
    [&] { return static_cast<bool>(sf::io::read_environ_value(pid, "SF_CHAOS_ROOT")); }));
  auto checks = chaos::check_all(s, r);
  ::kill(pid, SIGKILL);
  auto verdict = [&](const std::string& name) {
    for (const auto& c : checks)
      if (c.name == name)
        return c.verdict;
    FAIL("no check named " << name);
    return chaos::check_result::pass;
  };
  CHECK(verdict("main moved only by our merges or the user") == chaos::check_result::fail);
  CHECK(verdict("no status/signal/temp file after a clean stop") == chaos::check_result::fail);
  CHECK(verdict("completed units reachable") == chaos::check_result::fail);
  CHECK(verdict("no process of the run alive after stop") == chaos::check_result::fail);
  CHECK(verdict("no process outside the run signalled") == chaos::check_result::pass);
}

TEST_CASE("a scenario whose expectation is wrong fails and keeps its folder", "[chaos]") {
  temp_dir dir;
  auto path = scenario_file(dir, "fault: none\nmilestones:\n  - {id: M001, units: 1}\n"
                                 "expect:\n  exit: 0\n  not_merged: [M001]\n");
  auto res = run_cli("chaos --json " + sh_quote(path));
  CHECK(res.exit_code == 1);
  auto results = nlohmann::json::parse(res.out, nullptr, false);
  REQUIRE(results.is_array());
  check_valid("chaos-output", results);
  REQUIRE(results.size() == 1);
  CHECK_FALSE(results[0].value("passed", true));
  auto workdir = results[0].value("workdir", "");
  REQUIRE_FALSE(workdir.empty());
  CHECK(std::filesystem::exists(workdir + "/repo/.git"));
  std::filesystem::remove_all(workdir);
}

// The catalog in four parts, so ctest -j runs them side by side.
TEST_CASE("chaos catalog, part 1 of 4", "[chaos][catalog]") { run_catalog_part(0, 4); }
TEST_CASE("chaos catalog, part 2 of 4", "[chaos][catalog]") { run_catalog_part(1, 4); }
TEST_CASE("chaos catalog, part 3 of 4", "[chaos][catalog]") { run_catalog_part(2, 4); }
TEST_CASE("chaos catalog, part 4 of 4", "[chaos][catalog]") { run_catalog_part(3, 4); }

TEST_CASE("docs/RELIABILITY.md is generated from the current catalog", "[chaos][docs]") {
  auto doc = read_file(SF_SOURCE_DIR "/docs/RELIABILITY.md");
  CHECK(doc.find("Generated by `sf-actors chaos") != std::string::npos);
  for (const auto& f : catalog()) {
    auto s = chaos::load_scenario(f);
    REQUIRE(s);
    INFO(s->name << " is missing from docs/RELIABILITY.md: run scripts/reliability.sh");
    CHECK(doc.find("| " + s->name + " | ") != std::string::npos);
  }
  for (const auto& name : chaos::invariant_names())
    CHECK(doc.find("**" + name + "**") != std::string::npos);
}
