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

TEST_CASE("agent milestones and their expectations are read strictly", "[chaos]") {
  temp_dir dir;
  auto good = chaos::load_scenario(scenario_file(
    dir, "fault: x\nmilestones:\n  - id: M001\n    agent: {cli: codex, scenario: hang_ignoring_term, "
         "once: true, cost: -5, delay: 0.2, silence: 3, timeout: 2, idle_timeout: 0.5, "
         "max_attempts: 2}\n  - {id: M002}\nexpect:\n  max_bytes: {.sf/parallel/M001.log: 100}\n"
         "  worker_max_rss_mib: 64\n  agent_runs: {M001: 2}\n"));
  REQUIRE(good);
  REQUIRE(good->milestones[0].agent);
  const auto& a = *good->milestones[0].agent;
  CHECK(a.cli == "codex");
  CHECK(a.scenario == "hang_ignoring_term");
  CHECK(a.once);
  CHECK(a.cost == -5.0);
  CHECK(a.delay == 0.2);
  CHECK(a.silence == 3.0);
  CHECK(a.timeout == 2.0);
  CHECK(a.idle_timeout == 0.5);
  CHECK(a.max_attempts == 2);
  CHECK_FALSE(good->milestones[1].agent);
  CHECK(good->needs_agents());
  CHECK(good->expect.max_bytes.at(".sf/parallel/M001.log") == 100);
  CHECK(good->expect.worker_max_rss_mib == 64);
  CHECK(good->expect.agent_runs.at("M001") == 2);
  // What one unit in flight may claim: a negative claim is none, a huge one the maximum.
  CHECK(chaos::unit_claim(good->milestones[0]) == 0);
  good->milestones[0].agent->cost = 1e308;
  CHECK(chaos::unit_claim(good->milestones[0]) == 1e6);

  auto defaults = chaos::load_scenario(
    scenario_file(dir, "fault: x\nmilestones:\n  - {id: M001, agent: {}}\n"));
  REQUIRE(defaults);
  CHECK(defaults->milestones[0].agent->cli == "claude");
  CHECK(defaults->milestones[0].agent->scenario == "success");
  CHECK_FALSE(defaults->milestones[0].agent->once);

  auto error_of = [&](const std::string& text) {
    auto s = chaos::load_scenario(scenario_file(dir, "fault: x\nmilestones:\n" + text));
    REQUIRE_FALSE(s);
    return describe(s.error());
  };
  // Each bad milestone or expectation, and what its one-line error must say.
  const std::pair<const char*, const char*> bad[] = {
    {"  - {id: M001, agent: {cli: gemini}}\n",
     "s.yaml:3: M001.agent.cli is `gemini`; use claude, codex or aider"},
    {"  - {id: M001, agent: {scenario: 'hang; rm'}}\n",
     "M001.agent.scenario is `hang; rm`; name a scenario of tests/fixtures/agents/claude"},
    {"  - {id: M001, agent: {clii: claude}}\n", "unknown key `clii` in M001.agent; use one of:"},
    {"  - {id: M001, agent: {timeout: 0}}\n", "M001.agent.timeout is 0; give a number above 0"},
    {"  - {id: M001, agent: {max_attempts: 0}}\n",
     "M001.agent.max_attempts is 0; give a number of at least 1"},
    {"  - {id: M001, agent: {once: maybe}}\n", "M001.agent.once has the wrong type"},
    {"  - {id: M001, agent: {cost: .inf}}\n", "M001.agent.cost is"},
    {"  - {id: M001, run: 'true', agent: {}}\n", "M001 has both `run` and `agent`; drop `run`"},
    {"  - {id: M001}\nexpect:\n  max_bytes: {/etc/passwd: 1}\n",
     "s.yaml:5: expect.max_bytes names `/etc/passwd`"},
    {"  - {id: M001}\nexpect:\n  max_bytes: {a.log: -1}\n",
     "expect.max_bytes.a.log is -1; give a whole number of bytes"},
    {"  - {id: M001}\nexpect:\n  agent_runs: {M001: 1}\n",
     "expect.agent_runs names `M001`; name a milestone that has `agent:`"},
    {"  - {id: M001}\nexpect:\n  worker_max_rss_mib: -3\n",
     "expect.worker_max_rss_mib is negative"},
  };
  for (const auto& [text, says] : bad) {
    auto error = error_of(text);
    INFO(text << " -> " << error);
    CHECK(error.find(says) != std::string::npos);
  }
}

TEST_CASE("an agent scenario without the fake agent CLIs fails and says where they were looked for",
          "[chaos]") {
  temp_dir dir;
  auto path = scenario_file(dir, "fault: x\nmilestones:\n  - {id: M001, agent: {}}\n");
  auto res = run_cli("chaos --json --agent-fixtures " + sh_quote(dir / "nowhere") + " " +
                     sh_quote(path));
  CHECK(res.exit_code == 1);
  auto results = nlohmann::json::parse(res.out, nullptr, false);
  REQUIRE(results.is_array());
  REQUIRE(results.size() == 1);
  CHECK_FALSE(results[0].value("passed", true));
  INFO(results.dump(1));
  CHECK(results[0].dump().find("M001 needs the fake agent CLI " + (dir / "nowhere") +
                               "/claude, which is missing") != std::string::npos);
  CHECK(results[0].dump().find("pass --agent-fixtures") != std::string::npos);
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

TEST_CASE("the outcome fails on a file over its size, a wrong agent run count or a large worker",
          "[chaos]") {
  temp_dir dir;
  init_git_repo(dir.path());
  chaos::scenario s;
  chaos::scenario_milestone m;
  m.id = "M001";
  m.agent.emplace();
  s.milestones.push_back(m);
  chaos::run_record r;
  r.root = dir.path();
  r.workdir = dir.path();
  r.last_exit = 0;
  write_file(dir / "big.log", std::string(100, 'x'));
  write_file(chaos::agent_runs_file(r.workdir, "M001"), "{}\n");
  auto outcome = [&] {
    auto checks = chaos::check_all(s, r);
    return checks.back();
  };
  CHECK(outcome().verdict == chaos::check_result::pass);
  s.expect.max_bytes["big.log"] = 99;
  CHECK(outcome().detail == "big.log holds 100 bytes, more than 99");
  s.expect.max_bytes["big.log"] = 100;
  s.expect.max_bytes["missing.log"] = 0;
  s.expect.agent_runs["M001"] = 2;
  CHECK(outcome().detail == "the agent of M001 was started 1 time(s), expected 2");
  s.expect.agent_runs["M001"] = 1;
  s.expect.worker_max_rss_mib = 1;
#if !defined(__SANITIZE_ADDRESS__) // Under ASan no memory bound is checked (its shadow memory).
  CHECK(outcome().detail == "no worker's memory was sampled");
  r.worker_peak_kib["M001"] = 4096;
  CHECK(outcome().detail == "the worker of M001 reached 4.0 MiB resident, more than 1 MiB");
#else
  r.worker_peak_kib["M001"] = 4096;
  CHECK(outcome().verdict == chaos::check_result::pass);
#endif
  s.expect.worker_max_rss_mib = 8;
  CHECK(outcome().verdict == chaos::check_result::pass);
  CHECK(outcome().detail == "exit 0, 0 merged, worker peak 4.0 MiB");
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
