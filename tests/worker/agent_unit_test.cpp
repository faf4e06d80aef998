// `agent:` units end to end: the reference worker runs the profile's coding agent (the fake
// claude, codex and aider CLIs of tests/fixtures/agents, first on PATH) on the built prompt,
// reads its stream, records and costs every attempt, resumes the session after `verify`
// fails or the worker was stopped, and commits with the agent's summary. Real repositories,
// the CLI, real processes.
#include "io/files/coordinator_lock.hpp"
#include "support/project.hpp"
#include "support/stop_at_end.hpp"
#include "worker/agent_unit.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <signal.h>

#include <filesystem>
#include <sstream>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// A project whose M001 is one agent unit, with the preferences' agents block as given.
struct agent_project : test_project {
  agent_project(const std::string& unit_yaml, const std::string& agents_yaml,
                const std::string& parallel_extra = "")
      : test_project({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n") {
    setup(*this, unit_yaml, agents_yaml, parallel_extra);
  }

  static void setup(test_project& p, const std::string& unit_yaml, const std::string& agents_yaml,
                    const std::string& parallel_extra);
};

void agent_project::setup(test_project& p, const std::string& unit_yaml,
                          const std::string& agents_yaml, const std::string& parallel_extra) {
  write_file(p.path(".sf/milestones/M001/MILESTONE.md"),
             "---\ntitle: Greeting\nstatus: pending\nslices:\n  - id: S01\n    title: Say hello\n"
             "    units:\n      - id: U01\n        title: Write the greeting\n" +
               unit_yaml +
               "---\n\nThe project needs a greeting file.\n");
  auto with_root = [&](std::string text) {
    for (auto at = text.find("@ROOT@"); at != std::string::npos; at = text.find("@ROOT@"))
      text.replace(at, 6, p.root());
    return text;
  };
  write_file(p.path(".sf/PREFERENCES.md"),
             "---\nparallel:\n  enabled: true\n  auto_merge: auto\n  max_restarts: 0\n"
             "  heartbeat_interval: 0.2\n" +
               with_root(parallel_extra) + with_root(agents_yaml) + "---\n");
  p.git("add -A");
  p.git("commit -q -m agent-plan");
}

// The profile `name` of the fake agent of the same name. Workers pass only an allowlist of the
// environment on, so the fake's settings (`env`: "K=V" words) travel in its command line, as a
// user's wrapper would; the runs are logged outside the worktree, in the project's root.
std::string fake_profile(const std::string& name, const std::string& env,
                         const std::string& extra = "", const std::string& prices = "") {
  std::string cmd = "[env, \"FAKE_AGENT_LOG=@ROOT@/agent-runs.jsonl\"";
  std::istringstream words{env};
  for (std::string w; words >> w;)
    cmd += ", \"" + w + "\"";
  cmd += ", " + name + "]";
  return "agents:\n  profiles:\n    " + name + ":\n      adapter: " + name +
         "\n      command: " + cmd + "\n" + extra + prices;
}

// Runs the CLI with the fake agents first on PATH.
command_result agent_cli(const test_project& p, const std::string& args) {
  return run("HOME=" + sh_quote(p.root()) + " PATH=" + sh_quote(SF_AGENT_FIXTURES) +
               ":\"$PATH\" " + sh_quote(SF_CLI_PATH) + " " + args,
             p.root());
}

std::vector<nlohmann::json> agent_runs(const test_project& p) {
  std::vector<nlohmann::json> out;
  if (!std::filesystem::exists(p.path("agent-runs.jsonl")))
    return out; // No agent has started yet.
  std::istringstream in{read_file(p.path("agent-runs.jsonl"))};
  std::string line;
  while (std::getline(in, line))
    if (!line.empty())
      out.push_back(nlohmann::json::parse(line));
  return out;
}

bool has_arg(const nlohmann::json& run, const std::string& arg) {
  for (const auto& a : run["argv"])
    if (a == arg)
      return true;
  return false;
}

std::string arg_after(const nlohmann::json& run, const std::string& flag) {
  const auto& argv = run["argv"];
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag)
      return argv[i + 1].get<std::string>();
  return {};
}

nlohmann::json milestone_metrics(const test_project& p, const std::string& rev) {
  auto text = p.git("show " + rev + ":.sf/metrics.json");
  return nlohmann::json::parse(text)["milestones"]["M001"];
}

const std::string sonnet = "      model: sonnet\n";

// Starts the run detached with the fake's hang scenario, waits for the agent, and stops it:
// the unit's session is recorded, the coordinator gone.
void start_and_stop_hung_agent(const test_project& p) {
  REQUIRE(agent_cli(p, "start --yes --detach").exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] { return agent_runs(p).size() == 1; }, 30s));
  REQUIRE(agent_cli(p, "stop").exit_code == 0);
  // The detached coordinator is gone (its lock released), so the next start may run.
  REQUIRE(wait_for(p.root(), [&] { return !sf::io::coordinator_lock::is_held(p.root()); },
                   30s));
}

// The next run's fake succeeds and edits greeting.txt (committed: a run reads what is).
void let_next_run_succeed(test_project& p) {
  auto prefs = read_file(p.path(".sf/PREFERENCES.md"));
  prefs.replace(prefs.find("FAKE_AGENT_SCENARIO=hang"), 24, "FAKE_AGENT_EDIT=greeting.txt");
  write_file(p.path(".sf/PREFERENCES.md"), prefs);
  p.git("commit -q -am next-run");
}

// The project's restart policy allows `n` restarts at once (agent_project allows none).
void allow_restarts(test_project& p, int n) {
  auto prefs = read_file(p.path(".sf/PREFERENCES.md"));
  prefs.replace(prefs.find("max_restarts: 0"), 15,
                "max_restarts: " + std::to_string(n) + "\n  restart_backoff: 0");
  write_file(p.path(".sf/PREFERENCES.md"), prefs);
  p.git("commit -q -am restarts");
}

} // namespace

TEST_CASE("a Claude unit gets the prompt, its work is committed with its summary and costed",
          "[agents][worker]") {
  agent_project p("        agent: claude\n        prompt: Write hello to greeting.txt.\n",
                  fake_profile("claude", "FAKE_AGENT_EDIT=greeting.txt", sonnet));
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err << read_file(p.path(".sf/parallel/M001.log")));
  REQUIRE(started.exit_code == 0);

  // The agent ran once, headless, in the worktree, with a pinned session and the whole prompt.
  auto runs = agent_runs(p);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0]["agent"] == "claude");
  CHECK(runs[0]["cwd"] == p.path(".sf/worktrees/M001"));
  CHECK(has_arg(runs[0], "-p"));
  CHECK(arg_after(runs[0], "--output-format") == "stream-json");
  CHECK(has_arg(runs[0], "--verbose"));
  CHECK(arg_after(runs[0], "--model") == "sonnet");
  auto session = arg_after(runs[0], "--session-id");
  CHECK(session.size() == 36);
  auto prompt = runs[0]["prompt"].get<std::string>();
  CHECK(prompt.find("The project needs a greeting file.") != std::string::npos);
  CHECK(prompt.find("Write the greeting") != std::string::npos);
  CHECK(prompt.find("Write hello to greeting.txt.") != std::string::npos);

  // Its work reached main, committed with the agent's own summary as the subject.
  CHECK(p.git("show main:greeting.txt") == "edited by fake claude (success)\n");
  auto subject = p.git("log -1 --format=%s milestone/M001");
  CHECK(subject == "M001/U01: Fixed the uninitialised counter; tests pass.\n");

  // Cost and tokens of the unit, in the committed metrics and the status.
  auto m = milestone_metrics(p, "main");
  REQUIRE(m["units"].size() == 1);
  CHECK(m["units"][0]["cost"].get<double>() == Approx(0.18342));
  CHECK(m["units"][0]["agent"] == "claude");
  CHECK(m["units"][0]["tokens"]["input"] == 31 + 9874);
  CHECK(m["units"][0]["tokens"]["output"] == 1822);
  CHECK(m["units"][0]["tokens"]["cached"] == 112503);
  CHECK_FALSE(m.contains("agentSessions"));
  auto status = nlohmann::json::parse(agent_cli(p, "status --json").out);
  CHECK(status["totalCost"].get<double>() == Approx(0.18342));

  // The log holds a transcript a person reads; the raw stream is kept beside it.
  auto log = read_file(p.path(".sf/parallel/M001.log"));
  CHECK(log.find("[tool] Edit src/parse.cc") != std::string::npos);
  CHECK(log.find("{\"type\":") == std::string::npos);
  auto raw = read_file(p.path(".sf/parallel/M001.agent.jsonl"));
  CHECK(raw.find("{\"type\":\"result\"") != std::string::npos);
}

TEST_CASE("verify failing resumes the agent's session with the failure until it passes",
          "[agents][worker]") {
  // The greeting needs two lines: the first attempt writes one, the resumed one the second.
  agent_project p("        agent: claude\n        verify: test \"$(wc -l < greeting.txt)\" "
                         "-ge 2 || { echo 'greeting too short'; exit 3; }\n        max_attempts: 3\n",
                  fake_profile("claude", "FAKE_AGENT_EDIT=greeting.txt FAKE_AGENT_COST=0.25"));
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err << read_file(p.path(".sf/parallel/M001.log")));
  REQUIRE(started.exit_code == 0);
  auto runs = agent_runs(p);
  REQUIRE(runs.size() == 2);
  auto session = arg_after(runs[0], "--session-id");
  CHECK(arg_after(runs[1], "--resume") == session);
  CHECK_FALSE(has_arg(runs[1], "--session-id"));
  auto retry_prompt = runs[1]["prompt"].get<std::string>();
  CHECK(retry_prompt.find("failed after your work (exited with code 3)") != std::string::npos);
  CHECK(retry_prompt.find("greeting too short") != std::string::npos);

  // Both attempts were paid for and recorded; the unit's record is the one that passed.
  auto m = milestone_metrics(p, "main");
  REQUIRE(m["failedUnits"].size() == 1);
  CHECK(m["failedUnits"][0]["attempt"] == 1);
  CHECK(m["failedUnits"][0]["outcome"] == "verify failed (exited with code 3)");
  CHECK(m["failedUnits"][0]["cost"].get<double>() == Approx(0.25));
  REQUIRE(m["units"].size() == 1);
  CHECK(m["units"][0]["attempt"] == 2);
  CHECK(m["cost"].get<double>() == Approx(0.50));
  CHECK(m["tokens"]["output"] == 2 * 1822);
  CHECK(p.git("show main:greeting.txt") ==
        "edited by fake claude (success)\nedited by fake claude (success)\n");
}

TEST_CASE("verify out of attempts fails the milestone without a restart; an agent failure "
          "restarts and resumes",
          "[agents][worker]") {
  // Restarts allowed: only the agent's own failure may use them.
  agent_project p("        agent: claude\n        verify: exit 3\n        max_attempts: 2\n",
                  fake_profile("claude", "FAKE_AGENT_EDIT=greeting.txt"));
  allow_restarts(p, 2);
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err << read_file(p.path(".sf/parallel/M001.log")));
  CHECK(started.exit_code == 1);
  CHECK(agent_runs(p).size() == 2); // max_attempts paid runs, no more.
  CHECK(started.out.find("restart") == std::string::npos);
  CHECK(started.out.find("verify `exit 3` still failed after 2 attempts") != std::string::npos);

  // The agent itself failing (max turns) is worth a resumed run under the restart policy.
  agent_project q("        agent: claude\n",
                  fake_profile("claude", "FAKE_AGENT_SCENARIO=error_max_turns FAKE_AGENT_EDIT=g.txt"));
  allow_restarts(q, 1);
  auto again = agent_cli(q, "start --yes");
  INFO(again.out << again.err);
  CHECK(again.exit_code == 1);
  auto runs = agent_runs(q);
  REQUIRE(runs.size() == 2);
  CHECK(arg_after(runs[1], "--resume") == arg_after(runs[0], "--session-id"));
  CHECK(again.out.find("restart 1 of 1") != std::string::npos);
}

TEST_CASE("a failing agent fails its unit with the agent's reason and its cost still counts",
          "[agents][worker]") {
  agent_project p("        agent: claude\n",
                  fake_profile("claude", "FAKE_AGENT_SCENARIO=error_max_turns "
                                         "FAKE_AGENT_EDIT=greeting.txt FAKE_AGENT_COST=0.9113"));
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err);
  CHECK(started.exit_code == 1);
  auto log = read_file(p.path(".sf/parallel/M001.log"));
  INFO(log);
  CHECK(log.find("unit U01 failed: agent `claude` (claude) exited with code 1: Reached maximum "
                 "number of turns (40)") != std::string::npos);
  // Not committed, yet paid for: in the worktree's metrics and the budget ledger.
  CHECK(p.git("log --format=%s milestone/M001").find("M001/U01") == std::string::npos);
  auto m = nlohmann::json::parse(read_file(p.path(".sf/worktrees/M001/.sf/metrics.json")));
  CHECK(m["milestones"]["M001"]["failedUnits"][0]["cost"].get<double>() == Approx(0.9113));
  auto budget = nlohmann::json::parse(agent_cli(p, "budget --json").out);
  CHECK(budget["spent"].get<double>() == Approx(0.9113));
}

TEST_CASE("an agent past its timeout is stopped and its unit fails with that reason",
          "[agents][worker]") {
  agent_project p("        agent: claude\n        timeout: 1\n",
                  fake_profile("claude", "FAKE_AGENT_SCENARIO=hang"), "  stop_grace: 5\n");
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err);
  CHECK(started.exit_code == 1);
  auto log = read_file(p.path(".sf/parallel/M001.log"));
  INFO(log);
  CHECK(log.find("unit U01 failed: unit U01 ran past its timeout of 1 s and was stopped") !=
        std::string::npos);
}

TEST_CASE("an agent that crosses the budget ceiling is stopped, not finished",
          "[agents][worker][budget]") {
  agent_project p("        agent: claude\n",
                  fake_profile("claude", "FAKE_AGENT_EDIT=greeting.txt FAKE_AGENT_COST=0.4 "
                                         "FAKE_AGENT_DELAY=0.3"),
                  "  budget_ceiling: 0.1\n");
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err << read_file(p.path(".sf/parallel/M001.log")));
  CHECK(started.exit_code == 6);
  // Nothing of the unit was committed or merged; what it spent counts.
  CHECK(p.git("log --format=%s milestone/M001").find("M001/U01") == std::string::npos);
  CHECK(run("git show main:greeting.txt", p.root()).exit_code != 0);
  auto budget = nlohmann::json::parse(agent_cli(p, "budget --json").out);
  CHECK(budget["spent"].get<double>() == Approx(0.4));
  CHECK(read_file(p.path(".sf/parallel/M001.log")).find("the agent was stopped during unit U01") !=
        std::string::npos);
}

TEST_CASE("a stopped agent unit resumes its recorded session in the next run",
          "[agents][worker]") {
  agent_project p("        agent: claude\n", fake_profile("claude", "FAKE_AGENT_SCENARIO=hang"),
                  "  stop_grace: 5\n");
  start_and_stop_hung_agent(p);
  auto session = arg_after(agent_runs(p)[0], "--session-id");
  REQUIRE(session.size() == 36);
  let_next_run_succeed(p);
  auto again = agent_cli(p, "start --yes");
  INFO(again.out << again.err << read_file(p.path(".sf/parallel/M001.log")));
  REQUIRE(again.exit_code == 0);
  auto runs = agent_runs(p);
  REQUIRE(runs.size() == 2);
  CHECK(arg_after(runs[1], "--resume") == session);
  CHECK(runs[1]["prompt"].get<std::string>().find("was interrupted") != std::string::npos);
  CHECK(p.git("show main:greeting.txt") == "edited by fake claude (success)\n");
}

TEST_CASE("a Codex unit is priced from its tokens with the preferences' price table",
          "[agents][worker]") {
  agent_project p("        agent: codex\n",
                  fake_profile("codex", "FAKE_AGENT_EDIT=greeting.txt",
                               "      model: gpt-5-codex\n      permission_mode: workspace-write\n",
                               "  prices:\n    gpt-5-codex: {input: 1.25, output: 10, cached: "
                               "0.125}\n"));
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err << read_file(p.path(".sf/parallel/M001.log")));
  REQUIRE(started.exit_code == 0);
  auto runs = agent_runs(p);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0]["argv"][0] == "exec");
  CHECK(has_arg(runs[0], "--json"));
  CHECK(arg_after(runs[0], "--sandbox") == "workspace-write");
  CHECK(arg_after(runs[0], "-m") == "gpt-5-codex");
  // 48213 input of which 40960 cached, 1377 output, at the table's prices per million.
  const double usd = (48213 - 40960) * 1.25e-6 + 40960 * 0.125e-6 + 1377 * 10e-6;
  auto m = milestone_metrics(p, "main");
  CHECK(m["units"][0]["cost"].get<double>() == Approx(usd));
  CHECK(m["units"][0]["tokens"]["input"] == 48213 - 40960);
  CHECK(m["units"][0]["tokens"]["cached"] == 40960);
  CHECK(m["units"][0]["tokens"]["output"] == 1377);
  CHECK(p.git("show main:greeting.txt") == "edited by fake codex (success)\n");
}

TEST_CASE("an aider unit reports the session cost of its Tokens/Cost lines", "[agents][worker]") {
  agent_project p("        agent: aider\n",
                  fake_profile("aider", "FAKE_AGENT_EDIT=greeting.txt FAKE_AGENT_COST=0.0393",
                               sonnet));
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err << read_file(p.path(".sf/parallel/M001.log")));
  REQUIRE(started.exit_code == 0);
  auto runs = agent_runs(p);
  REQUIRE(runs.size() == 1);
  CHECK(has_arg(runs[0], "--message-file"));
  CHECK(has_arg(runs[0], "--no-auto-commits"));
  auto m = milestone_metrics(p, "main");
  CHECK(m["units"][0]["cost"].get<double>() == Approx(0.0393));
  CHECK(p.git("show main:greeting.txt") == "edited by fake aider (success)\n");
  // Its chat history (written in the worktree, for a resume) is in no commit.
  CHECK(read_file(p.path(".sf/parallel/M001.agent.jsonl")).find("Tokens:") != std::string::npos);
  CHECK(p.git("log --all --name-only --format=").find(".aider") == std::string::npos);
}

TEST_CASE("an agent unit that changed nothing leaves its milestone unmerged, saying why",
          "[agents][worker]") {
  // The fake agent succeeds but edits no file (no FAKE_AGENT_EDIT).
  agent_project p("        agent: claude\n", fake_profile("claude", "FAKE_AGENT_COST=0.05"));
  auto before = p.git("rev-parse main");
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err);
  CHECK(started.exit_code == 0);
  CHECK(p.git("rev-parse main") == before);
  auto status = agent_cli(p, "status").out;
  INFO(status);
  CHECK(status.find("complete, but its units changed no file outside .sf/, so there is nothing "
                    "to merge; see `sf-actors logs M001`") != std::string::npos);
}

// Prose only: the milestone's text, no units.
void write_prose_milestone(test_project& p) {
  write_file(p.path(".sf/milestones/M001/MILESTONE.md"),
             "---\ntitle: Greeting\nstatus: pending\n---\n\nWrite a greeting to greeting.txt.\n");
  p.git("commit -q -am prose-only");
}

TEST_CASE("a prose-only milestone is one unit of the default agent, merged with its work",
          "[agents][worker]") {
  agent_project p("        agent: claude\n",
                  fake_profile("claude", "FAKE_AGENT_EDIT=greeting.txt", sonnet));
  write_prose_milestone(p);
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err << read_file(p.path(".sf/parallel/M001.log")));
  REQUIRE(started.exit_code == 0);
  CHECK(started.err.find("has no units") == std::string::npos);
  auto runs = agent_runs(p);
  REQUIRE(runs.size() == 1);
  auto prompt = runs[0]["prompt"].get<std::string>();
  CHECK(prompt.find("Greeting") != std::string::npos);
  CHECK(prompt.find("Write a greeting to greeting.txt.") != std::string::npos);
  CHECK(p.git("show main:greeting.txt") == "edited by fake claude (success)\n");
  CHECK(p.git("log -1 --format=%s milestone/M001") ==
        "M001/U01: Fixed the uninitialised counter; tests pass.\n");
  auto status = nlohmann::json::parse(agent_cli(p, "status --json").out);
  REQUIRE(status["workers"].size() == 1);
  CHECK(status["workers"][0]["state"] == "merged");
  CHECK(status["workers"][0]["completedUnits"] == 1);
  CHECK(status["workers"][0]["totalUnits"] == 1);
  CHECK(milestone_metrics(p, "main")["units"][0]["agent"] == "claude");
}

TEST_CASE("a prose-only milestone without an agent profile is named, not merged",
          "[agents][worker]") {
  agent_project p("        agent: claude\n", "");
  write_prose_milestone(p);
  auto before = p.git("rev-parse main");
  auto eligible = agent_cli(p, "eligibility");
  CHECK(eligible.exit_code == 0);
  const std::string why = "M001 has no units and no agent profile to work on its text, so the "
                          "reference worker does nothing and its dependents will wait";
  CHECK(eligible.err.find("sf-actors: warning: " + why) != std::string::npos);
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err);
  CHECK(started.exit_code == 0);
  CHECK(started.err.find("sf-actors: warning: " + why) != std::string::npos);
  CHECK(p.git("rev-parse main") == before);
  CHECK(read_file(p.path(".sf/parallel/M001.log")).find(why) != std::string::npos);
  auto status = agent_cli(p, "status").out;
  INFO(status);
  CHECK(status.find("complete, but it has no units and nothing worked on its text (its branch "
                    "changed no file outside .sf/), so there is nothing to merge and its "
                    "dependents wait") != std::string::npos);
}

TEST_CASE("a milestone without units or text gathers its dependencies and merges as before",
          "[agents][worker]") {
  agent_project p("        agent: claude\n", "");
  write_file(p.path(".sf/milestones/M001/MILESTONE.md"),
             "---\ntitle: Release\nstatus: pending\n---\n");
  write_file(p.path(".sf/milestones/M002/MILESTONE.md"),
             "---\ntitle: After\nstatus: pending\ndependsOn: [M001]\nslices:\n  - id: S01\n"
             "    units:\n      - id: U01\n        run: echo after > after.txt\n---\n");
  p.git("add -A");
  p.git("commit -q -m umbrella");
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err);
  CHECK(started.exit_code == 0);
  CHECK(started.err.find("has no units") == std::string::npos); // Nothing to warn about.
  CHECK(p.git("show main:.sf/milestones/M001/MILESTONE.md").find("status: complete") !=
        std::string::npos);
  CHECK(p.git("show main:after.txt") == "after\n");
}

TEST_CASE("init --agent writes a profile and an example milestone that agent runs",
          "[agents][cli]") {
  for (const std::string agent : {"claude", "codex", "aider"}) {
    INFO(agent);
    sf::test::temp_dir dir;
    init_git_repo(dir.path());
    auto cli = [&](const std::string& args) {
      return run("HOME=" + sh_quote(dir.path()) + " PATH=" + sh_quote(SF_AGENT_FIXTURES) +
                   ":\"$PATH\" " + sh_quote(SF_CLI_PATH) + " " + args,
                 dir.path());
    };
    auto made = cli("init --agent " + agent);
    INFO(made.out << made.err);
    REQUIRE(made.exit_code == 0);
    auto prefs = read_file(dir / ".sf/PREFERENCES.md");
    CHECK(prefs.find("\nagents:\n  default: " + agent + "\n  profiles:\n    " + agent +
                     ":\n      adapter: " + agent + "\n") != std::string::npos);
    CHECK(read_file(dir / ".sf/milestones/M001/MILESTONE.md").find("agent: " + agent + "\n") !=
          std::string::npos);
    // The files are valid as written: with parallel mode on, the plan checks out.
    prefs.replace(prefs.find("enabled: false"), 14, "enabled: true");
    write_file(dir / ".sf/PREFERENCES.md", prefs);
    run("git add -A && git commit -q -m plan", dir.path());
    auto report = cli("eligibility --json");
    INFO(report.out << report.err);
    CHECK(report.exit_code == 0);
    CHECK(report.err.empty());
  }
  sf::test::temp_dir other;
  init_git_repo(other.path());
  auto bad = run(sh_quote(SF_CLI_PATH) + " init --agent gemini", other.path());
  CHECK(bad.exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(other / ".sf"));
}

TEST_CASE("an agent unit's commit message: the subject from the template, capped, and the body",
          "[agents][worker]") {
  using sf::worker::agent_commit_message;
  const std::string plain = "{milestone}/{unit}: {summary}";
  CHECK(agent_commit_message(plain, "M001", "U01", "Fix parse", "Fixed it.\n\nDetails here.") ==
        "M001/U01: Fixed it.\n\nUnit U01: Fix parse\n\nFixed it.\n\nDetails here.");
  // An agent that said nothing: the unit's title.
  CHECK(agent_commit_message(plain, "M001", "U01", "Fix parse", "") ==
        "M001/U01: Fix parse\n\nUnit U01: Fix parse");
  CHECK(agent_commit_message("feat({milestone}): {title}", "M002", "U03", "Add cache", "ok") ==
        "feat(M002): Add cache\n\nUnit U03: Add cache\n\nok");
  // At most 72 characters, never cutting a character in two.
  auto long_summary = std::string(60, 'x') + "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9 more";
  auto msg = agent_commit_message(plain, "M001", "U01", "t", long_summary);
  auto subject = msg.substr(0, msg.find('\n'));
  CHECK(subject.size() <= 72);
  CHECK(subject.substr(subject.size() - 3) == "...");
  CHECK(subject.rfind("M001/U01: " + std::string(50, 'x'), 0) == 0);
  CHECK((static_cast<unsigned char>(subject[subject.size() - 4]) & 0xC0) != 0xC0);
}

TEST_CASE("a silent agent is flagged as needing attention while it keeps running",
          "[agents][worker]") {
  // The needs_attention hook keeps what it was given (inside .git: out of every commit).
  agent_project p("        agent: claude\n        idle_timeout: 0.5\n",
                  fake_profile("claude", "FAKE_AGENT_SCENARIO=silence FAKE_AGENT_SILENCE=4"),
                  "  hooks:\n    needs_attention: \"cat > @ROOT@/.git/attention.json; echo "
                  "\\\"$SF_EVENT $SF_MILESTONE\\\" > @ROOT@/.git/attention.env\"\n");
  auto started = agent_cli(p, "start --yes --detach");
  REQUIRE(started.exit_code == 0);
  // While it is silent: the event, and the status says so; the agent still runs.
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "needs_attention").empty(); },
                   30s));
  auto ev = nlohmann::json::parse(event_lines(p.root(), "needs_attention")[0]);
  CHECK(ev["milestone"] == "M001");
  CHECK(ev["text"].get<std::string>().find("no output from the agent for 0.5 s") !=
        std::string::npos);
  auto status = nlohmann::json::parse(agent_cli(p, "status --json").out);
  INFO(status.dump(1));
  CHECK(status["workers"][0]["state"] == "running");
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "run finished").empty(); },
                   60s));
  CHECK(event_lines(p.root(), "needs_attention").size() == 1);
  // The hook got that event as JSON on stdin and as variables (the coordinator, gone, waited
  // for its hooks).
  REQUIRE(wait_for(p.root(), [&] { return !sf::io::coordinator_lock::is_held(p.root()); },
                   30s));
  auto hooked = nlohmann::json::parse(read_file(p.path(".git/attention.json")));
  CHECK(hooked["kind"] == "needs_attention");
  CHECK(hooked["milestone"] == "M001");
  CHECK(hooked["text"] == ev["text"]);
  CHECK(read_file(p.path(".git/attention.env")) == "needs_attention M001\n");
}

TEST_CASE("tokens without a price count as $0 and the worker says the price is missing",
          "[agents][worker]") {
  agent_project p("        agent: codex\n",
                  fake_profile("codex", "FAKE_AGENT_EDIT=greeting.txt", "      model: gpt-x\n"));
  auto started = agent_cli(p, "start --yes");
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  auto m = milestone_metrics(p, "main");
  CHECK(m["units"][0]["cost"].get<double>() == 0);
  CHECK(m["units"][0]["tokens"]["output"] == 1377);
  CHECK(read_file(p.path(".sf/parallel/M001.log"))
          .find("unit U01: the tokens of attempt 1 have no price (add the model under "
                "agents.prices); they count as $0") != std::string::npos);
}

TEST_CASE("after its worker is killed, the restarted worker resumes the agent's session",
          "[agents][worker]") {
  agent_project p("        agent: claude\n", fake_profile("claude", "FAKE_AGENT_SCENARIO=hang"),
                  "  stop_grace: 5\n  restart_backoff: 0\n");
  // One restart allowed (the project's preferences say 0: this test's worker may come back).
  auto prefs = read_file(p.path(".sf/PREFERENCES.md"));
  prefs.replace(prefs.find("max_restarts: 0"), 15, "max_restarts: 1");
  write_file(p.path(".sf/PREFERENCES.md"), prefs);
  p.git("commit -q -am one-restart");
  REQUIRE(agent_cli(p, "start --yes --detach").exit_code == 0);
  stop_at_end cleanup{p};
  REQUIRE(wait_for(p.root(), [&] { return agent_runs(p).size() == 1; }, 30s));
  auto first = status_of(p.root(), "M001");
  REQUIRE(first);
  REQUIRE(::kill(static_cast<pid_t>(first->pid), SIGKILL) == 0);
  // The coordinator ends what the dead worker left (the agent), restarts the worker, and the
  // new worker resumes the recorded session instead of starting over.
  REQUIRE(wait_for(p.root(), [&] { return agent_runs(p).size() == 2; }, 60s));
  auto runs = agent_runs(p);
  auto session = arg_after(runs[0], "--session-id");
  REQUIRE(session.size() == 36);
  CHECK(arg_after(runs[1], "--resume") == session);
  CHECK(runs[1]["prompt"].get<std::string>().find("was interrupted") != std::string::npos);
}

TEST_CASE("a recorded session the agent no longer has is started over once, not failed",
          "[agents][worker]") {
  agent_project p("        agent: claude\n", fake_profile("claude", "FAKE_AGENT_SCENARIO=hang"),
                  "  stop_grace: 5\n");
  start_and_stop_hung_agent(p);
  // The agent's own session store is gone (the fake keeps it under $HOME/.fake-claude).
  std::filesystem::remove_all(p.path(".fake-claude"));
  let_next_run_succeed(p);
  auto again = agent_cli(p, "start --yes");
  INFO(again.out << again.err << read_file(p.path(".sf/parallel/M001.log")));
  REQUIRE(again.exit_code == 0);
  auto runs = agent_runs(p);
  REQUIRE(runs.size() == 3); // The hung run, the refused resume, the fresh start.
  CHECK_FALSE(arg_after(runs[1], "--resume").empty());
  CHECK_FALSE(arg_after(runs[2], "--session-id").empty());
  CHECK(p.git("show main:greeting.txt") == "edited by fake claude (success)\n");
}
