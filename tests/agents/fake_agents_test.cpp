// The fake agent CLIs run as real processes from the adapters' launch lines, their output read
// by the matching parser: every scenario, prompts delivered, sessions resumed or refused.
#include "agents/agent_process.hpp"
#include "config/cost.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

using sf::agent_adapter;
using sf::test::agent_process;
using sf::test::exited_with;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 10s;

// A home (sessions, the run log, the prompt) and a worktree for one test.
struct agent_fixture {
  sf::test::temp_dir home;
  sf::test::temp_dir worktree;
  std::string prompt = "Fix the parser.\nKeep the tests green.";

  // The worktree is a git repository, as the worker's are (Codex refuses to run elsewhere).
  agent_fixture() {
    sf::test::write_file(home / "prompt.md", prompt);
    sf::test::init_git_repo(worktree.path());
  }

  sf::agent_profile profile(agent_adapter a) const {
    sf::agent_profile p;
    p.name = "fake";
    p.adapter = a;
    if (a != agent_adapter::generic)
      p.command = {sf::test::fake_agent(a == agent_adapter::claude  ? "claude"
                                        : a == agent_adapter::codex ? "codex"
                                                                    : "aider")};
    return p;
  }

  sf::agents::launch_request request(std::string session = "", bool resume = false,
                                     const std::string& cwd = "") const {
    sf::agents::launch_request r;
    r.prompt_file = home / "prompt.md";
    r.prompt_text = prompt;
    r.worktree = cwd.empty() ? worktree.path() : cwd;
    r.session_id = std::move(session);
    r.resume = resume;
    return r;
  }

  std::vector<std::string> env(const std::string& scenario,
                               std::vector<std::string> more = {}) const {
    more.push_back("HOME=" + home.path());
    more.push_back("FAKE_AGENT_SCENARIO=" + scenario);
    more.push_back("FAKE_AGENT_LOG=" + (home / "runs.jsonl"));
    more.push_back("FAKE_AGENT_EDIT=notes.txt");
    return more;
  }

  // The fakes' records of their runs, oldest first.
  std::vector<nlohmann::json> runs() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(home / "runs.jsonl");
    for (std::string line; std::getline(in, line);)
      out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

// Runs one agent to its end.
struct finished_run {
  int status = -1;
  sf::agents::stream_report report;
  std::vector<std::string> transcript;
  std::vector<std::string> argv;
};

finished_run run_to_end(const sf::agent_profile& p, const sf::agents::launch_request& req,
                        const std::vector<std::string>& env) {
  agent_process proc(p, req, env);
  auto status = proc.wait(deadline);
  REQUIRE(status);
  return {*status, proc.report(), proc.transcript(), proc.line().argv};
}

bool has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

bool killed_by(int status, int sig) {
  return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

// The arguments the fake received: the launch line without the program.
std::vector<std::string> args_of(const std::vector<std::string>& argv) {
  return {argv.begin() + 1, argv.end()};
}

// Starts a hanging agent, waits for its first event, stops it with SIGTERM.
void check_hang_ends_on_sigterm(const agent_fixture& f, agent_adapter a) {
  agent_process proc(f.profile(a), f.request(), f.env("hang"));
  REQUIRE(proc.read_until([](const auto& r) { return r.events > 0; }, deadline));
  proc.signal(SIGTERM);
  auto status = proc.wait(deadline);
  REQUIRE(status);
  CHECK(killed_by(*status, SIGTERM));
  CHECK_FALSE(proc.report().finished);
}

} // namespace

TEST_CASE("fake claude: a pinned session succeeds; prompt, argv, edit and cost as documented",
          "[agents][fake][claude]") {
  agent_fixture f;
  auto uuid = sf::agents::make_session_uuid();
  auto r = run_to_end(f.profile(agent_adapter::claude), f.request(uuid),
                      f.env("success", {"FAKE_AGENT_COST=0.5"}));
  CHECK(exited_with(r.status, 0));
  CHECK(r.report.session_id == uuid);
  CHECK(r.report.model == "claude-sonnet-4-5-20250929");
  CHECK(r.report.finished);
  CHECK_FALSE(r.report.is_error);
  CHECK(r.report.result == "Fixed the uninitialised counter; tests pass.");
  CHECK(r.report.usage.usd == 0.5);
  CHECK(r.report.usage.input == 9905);
  CHECK(r.report.usage.cached == 112503);
  CHECK(r.report.usage.output == 1822);
  CHECK(has(r.transcript, "[tool] Edit src/parse.cc"));
  CHECK(has(r.transcript, "[bash] ctest --output-on-failure"));
  CHECK(has(r.transcript, "[assistant] Running the tests."));
  CHECK(has(r.transcript, "[result] Fixed the uninitialised counter; tests pass."));

  auto runs = f.runs();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0]["agent"] == "claude");
  CHECK(runs[0]["cwd"] == f.worktree.path());
  CHECK(runs[0]["prompt"] == f.prompt);
  CHECK(runs[0]["argv"].get<std::vector<std::string>>() == args_of(r.argv));
  CHECK(sf::test::read_file(f.worktree / "notes.txt") == "edited by fake claude (success)\n");
  std::string cwd_key = f.worktree.path();
  std::replace(cwd_key.begin(), cwd_key.end(), '/', '-');
  CHECK(std::filesystem::exists(f.home / (".fake-claude/" + cwd_key + "/" + uuid)));
}

TEST_CASE("fake claude: error, denial, noise and unknown-event scenarios parse as documented",
          "[agents][fake][claude]") {
  agent_fixture f;
  auto p = f.profile(agent_adapter::claude);
  SECTION("max turns: exit 1, the error, the spend") {
    auto r = run_to_end(p, f.request(), f.env("error_max_turns", {"FAKE_AGENT_COST=0.9113"}));
    CHECK(exited_with(r.status, 1));
    CHECK(r.report.is_error);
    CHECK(r.report.outcome == "error_max_turns");
    CHECK(r.report.error == "Reached maximum number of turns (40)");
    CHECK(r.report.usage.usd == 0.9113);
  }
  SECTION("API error on a success subtype: exit 1") {
    auto r = run_to_end(p, f.request(), f.env("api_error"));
    CHECK(exited_with(r.status, 1));
    CHECK(r.report.is_error);
    CHECK(r.report.outcome == "success");
    CHECK(r.report.error.rfind("API Error: 429", 0) == 0);
    CHECK(r.report.usage.usd == 0.0);
  }
  SECTION("permission denial: a normal end with the denied tool") {
    auto r = run_to_end(p, f.request(), f.env("permission_denial"));
    CHECK(exited_with(r.status, 0));
    CHECK_FALSE(r.report.is_error);
    CHECK(r.report.permission_denials == std::vector<std::string>{"Write"});
    CHECK(std::any_of(r.transcript.begin(), r.transcript.end(), [](const std::string& l) {
      return l.rfind("[tool error] Claude requested permissions to write to", 0) == 0;
    }));
  }
  SECTION("unknown events, junk and CRLF change nothing") {
    auto r = run_to_end(p, f.request(), f.env("unknown_events"));
    CHECK(exited_with(r.status, 0));
    CHECK(r.report.finished);
    CHECK(r.report.usage.input == 9905);
    CHECK(r.report.usage.usd == 0.18342);
    CHECK(r.report.last_plain_line == "[1,2,3]");
    CHECK(r.report.result == "Fixed the uninitialised counter; tests pass.");
  }
  SECTION("stderr noise shows in the transcript, not in the result") {
    auto r = run_to_end(p, f.request(), f.env("stderr_noise"));
    CHECK(exited_with(r.status, 0));
    CHECK(r.report.finished);
    CHECK(has(r.transcript, "warning: fake claude is starting"));
    CHECK(r.report.result == "Fixed the uninitialised counter; tests pass.");
  }
  SECTION("silence: no output, then a plain exit") {
    auto r = run_to_end(p, f.request(), f.env("silence", {"FAKE_AGENT_SILENCE=0.1"}));
    CHECK(exited_with(r.status, 0));
    CHECK(r.report.events == 0);
    CHECK_FALSE(r.report.finished);
  }
}

TEST_CASE("fake claude: resume works in the same cwd only; a pinned id is used once",
          "[agents][fake][claude]") {
  agent_fixture f;
  sf::test::temp_dir elsewhere;
  auto p = f.profile(agent_adapter::claude);
  auto uuid = sf::agents::make_session_uuid();
  // Killed mid-run, as a worker crash leaves it; the session stays resumable.
  REQUIRE(killed_by(run_to_end(p, f.request(uuid), f.env("crash_midstream")).status, SIGKILL));

  auto resumed = run_to_end(p, f.request(uuid, true), f.env("success"));
  CHECK(exited_with(resumed.status, 0));
  CHECK(resumed.report.session_id == uuid);
  CHECK(f.runs().back()["argv"].get<std::vector<std::string>>() == args_of(resumed.argv));
  CHECK(has(resumed.argv, "--resume"));
  CHECK_FALSE(has(resumed.argv, "--session-id"));

  auto wrong_cwd = run_to_end(p, f.request(uuid, true, elsewhere.path()), f.env("success"));
  CHECK(exited_with(wrong_cwd.status, 1));
  CHECK(wrong_cwd.report.events == 0);
  CHECK(wrong_cwd.report.last_plain_line == "No conversation found with session ID: " + uuid);

  auto unknown = run_to_end(p, f.request("no-such-session", true), f.env("success"));
  CHECK(exited_with(unknown.status, 1));
  CHECK(unknown.report.last_plain_line == "No conversation found with session ID: no-such-session");

  auto reused = run_to_end(p, f.request(uuid), f.env("success"));
  CHECK(exited_with(reused.status, 1));
  CHECK(reused.report.events == 0);
}

TEST_CASE("fake claude: a crash mid-stream leaves the session and the tokens so far",
          "[agents][fake][claude]") {
  agent_fixture f;
  auto uuid = sf::agents::make_session_uuid();
  auto r = run_to_end(f.profile(agent_adapter::claude), f.request(uuid), f.env("crash_midstream"));
  CHECK(killed_by(r.status, SIGKILL));
  CHECK_FALSE(r.report.finished);
  CHECK(r.report.session_id == uuid);
  CHECK(r.report.usage.input == 1214);
  CHECK(r.report.usage.output == 96);
  CHECK_FALSE(r.report.usage.usd);
  for (const auto& line : r.transcript)
    CHECK(line.find('{') == std::string::npos);
}

TEST_CASE("fake claude, codex and aider: a hang ends on SIGTERM", "[agents][fake]") {
  agent_fixture f;
  check_hang_ends_on_sigterm(f, agent_adapter::claude);
  check_hang_ends_on_sigterm(f, agent_adapter::codex);
  check_hang_ends_on_sigterm(f, agent_adapter::aider);
}

TEST_CASE("fake codex: a thread, then its resume; usage is the thread's running total",
          "[agents][fake][codex]") {
  agent_fixture f;
  auto p = f.profile(agent_adapter::codex);
  p.model = "gpt-5-codex";
  p.permission_mode = "workspace-write";
  auto first = run_to_end(p, f.request(), f.env("success"));
  CHECK(exited_with(first.status, 0));
  CHECK(first.report.finished);
  CHECK(first.report.usage.input == 48213 - 40960);
  CHECK(first.report.usage.cached == 40960);
  CHECK(first.report.usage.output == 1377);
  CHECK(first.report.result == "Initialised the counter in src/parse.cc; re-run ctest to confirm.");
  CHECK(has(first.transcript, "[bash] ctest --output-on-failure"));
  auto thread = first.report.session_id;
  REQUIRE_FALSE(thread.empty());

  auto second = run_to_end(p, f.request(thread, true), f.env("success"));
  CHECK(exited_with(second.status, 0));
  CHECK(second.report.session_id == thread);
  CHECK(sf::agents::usage_since(second.report.usage, first.report.usage) == first.report.usage);

  auto runs = f.runs();
  REQUIRE(runs.size() == 2);
  CHECK(runs[0]["prompt"] == f.prompt);
  CHECK(runs[0]["argv"].get<std::vector<std::string>>() == args_of(first.argv));
  CHECK(runs[1]["prompt"] == f.prompt);
  CHECK(runs[1]["cwd"] == f.worktree.path());
  CHECK(runs[1]["argv"].get<std::vector<std::string>>() == args_of(second.argv));
  CHECK(sf::test::read_file(f.worktree / "notes.txt") ==
        "edited by fake codex (success)\nedited by fake codex (success)\n");
}

TEST_CASE("fake codex: unknown thread, failed turn, declined command, crash, unknown events",
          "[agents][fake][codex]") {
  agent_fixture f;
  auto p = f.profile(agent_adapter::codex);
  SECTION("an unknown thread: no events, the documented error, exit 1") {
    auto r = run_to_end(p, f.request("019a-none", true), f.env("success"));
    CHECK(exited_with(r.status, 1));
    CHECK(r.report.events == 0);
    CHECK(r.report.last_plain_line == "Error: thread/resume: thread/resume failed: no rollout "
                                      "found for thread id 019a-none (code -32600)");
  }
  SECTION("a failed turn: exit 1 and its message") {
    auto r = run_to_end(p, f.request(), f.env("api_error"));
    CHECK(exited_with(r.status, 1));
    CHECK(r.report.is_error);
    CHECK(r.report.error.find("The model is overloaded.") != std::string::npos);
  }
  SECTION("a declined command") {
    auto r = run_to_end(p, f.request(), f.env("permission_denial"));
    CHECK(exited_with(r.status, 0));
    CHECK(r.report.permission_denials == std::vector<std::string>{"rm -rf build"});
  }
  SECTION("a crash mid-stream") {
    auto r = run_to_end(p, f.request(), f.env("crash_midstream"));
    CHECK(killed_by(r.status, SIGKILL));
    CHECK_FALSE(r.report.finished);
    CHECK(r.report.activity == "bash: make");
  }
  SECTION("unknown events, junk, CRLF and stderr noise change nothing") {
    for (const char* scenario : {"unknown_events", "stderr_noise"}) {
      auto r = run_to_end(p, f.request(), f.env(scenario));
      INFO(scenario);
      CHECK(exited_with(r.status, 0));
      CHECK(r.report.finished);
      CHECK(r.report.usage.input == 48213 - 40960);
    }
  }
}

TEST_CASE("fake aider: message file, reports summed, history restored on resume",
          "[agents][fake][aider]") {
  agent_fixture f;
  auto p = f.profile(agent_adapter::aider);
  p.model = "sonnet";
  auto r = run_to_end(p, f.request(), f.env("success"));
  CHECK(exited_with(r.status, 0));
  CHECK(r.report.usage.input == 8400 + 2100 + 1100);
  CHECK(r.report.usage.cached == 15000);
  CHECK(r.report.usage.output == 1000);
  CHECK(r.report.usage.usd == 0.0393);
  CHECK(has(r.transcript, "Applied edit to src/parse.cc"));
  auto runs = f.runs();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0]["prompt"] == f.prompt);
  CHECK(runs[0]["argv"].get<std::vector<std::string>>() == args_of(r.argv));
  CHECK(std::filesystem::exists(f.worktree / ".aider.chat.history.md"));

  auto resumed = run_to_end(p, f.request("", true), f.env("success"));
  CHECK(exited_with(resumed.status, 0));
  CHECK(has(resumed.transcript, "Restored previous conversation history."));
  CHECK_FALSE(has(r.transcript, "Restored previous conversation history."));

  auto no_price = run_to_end(p, f.request(), f.env("no_price"));
  CHECK(no_price.report.usage.input == 2400);
  CHECK_FALSE(no_price.report.usage.usd);

  auto api_error = run_to_end(p, f.request(), f.env("api_error"));
  CHECK(exited_with(api_error.status, 0));
  CHECK(api_error.report.activity ==
        "The API provider has rate limited you. Try again later or check your quotas.");

  auto crash = run_to_end(p, f.request(), f.env("crash_midstream"));
  CHECK(killed_by(crash.status, SIGKILL));
  CHECK(crash.report.usage.input == 0);

  auto crlf = run_to_end(p, f.request(), f.env("unknown_events"));
  CHECK(crlf.report.usage == r.report.usage);
}

TEST_CASE("fake aider: a missing message file fails at start", "[agents][fake][aider]") {
  agent_fixture f;
  auto req = f.request();
  req.prompt_file = f.home / "missing.md";
  auto r = run_to_end(f.profile(agent_adapter::aider), req, f.env("success"));
  CHECK(exited_with(r.status, 1));
  CHECK(r.report.last_plain_line.rfind("Error: Unable to read message file", 0) == 0);
}

TEST_CASE("generic agent: prompt on stdin and in SF_PROMPT_FILE, SF_COST summed",
          "[agents][fake][generic]") {
  agent_fixture f;
  auto p = f.profile(agent_adapter::generic);
  p.command = {"/bin/sh", "-c",
               "head -n1 \"$SF_PROMPT_FILE\"; echo SF_COST 0.25; tail -n1; echo; echo SF_COST 0.5"};
  auto r = run_to_end(p, f.request(), f.env("success"));
  CHECK(exited_with(r.status, 0));
  CHECK(r.transcript == std::vector<std::string>{"Fix the parser.", "SF_COST 0.25",
                                                 "Keep the tests green.", "SF_COST 0.5"});
  CHECK(r.report.usage.usd == 0.75);
}

TEST_CASE("the fakes refuse what the real CLIs refuse", "[agents][fake]") {
  agent_fixture f;
  sf::test::temp_dir not_a_repo;
  // The generic adapter passes any command line as it is.
  auto refused = [&](std::vector<std::string> argv, const std::string& cwd = "") {
    auto p = f.profile(agent_adapter::generic);
    p.command = std::move(argv);
    auto r = run_to_end(p, f.request("", false, cwd), f.env("success"));
    return std::make_pair(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1,
                          r.report.last_plain_line);
  };
  auto claude = sf::test::fake_agent("claude");
  CHECK(refused({claude, "-p", "--output-format", "stream-json"}) ==
        std::make_pair(1, std::string("Error: When using --print, --output-format=stream-json "
                                      "requires --verbose")));
  CHECK(refused({claude, "-p", "--output-format", "stream-json", "--verbose", "--session-id", "a",
                 "--resume", "a"}) ==
        std::make_pair(1, std::string("Error: --session-id cannot be used with --continue or "
                                      "--resume.")));
  auto codex = sf::test::fake_agent("codex");
  CHECK(refused({codex, "exec", "--json", "--full-auto", "-"}) ==
        std::make_pair(2, std::string("error: unexpected argument '--full-auto' found")));
  CHECK(refused({codex, "exec", "--json", "resume", "t", "-C", "/tmp", "go"}) ==
        std::make_pair(2, std::string("error: unexpected argument '-C' found")));
  CHECK(refused({codex, "exec", "--json", "-"}, not_a_repo.path()) ==
        std::make_pair(1, std::string("Not inside a trusted directory and "
                                      "--skip-git-repo-check was not specified.")));
}

// The fault scenarios every fake has (chaos/scenarios/75-82 run them through the worker).
TEST_CASE("fake agents: flood prints megabytes of valid events, one line too long to keep, "
          "then ends as usual",
          "[agents][fake]") {
  agent_fixture f;
  for (auto a : {agent_adapter::claude, agent_adapter::codex, agent_adapter::aider}) {
    INFO(sf::to_string(a));
    agent_process proc(f.profile(a), f.request(),
                       f.env("flood", {"FAKE_AGENT_FLOOD_MB=3", "FAKE_AGENT_FLOOD_LINE_MB=2"}));
    auto status = proc.wait(deadline);
    REQUIRE(status);
    CHECK(exited_with(*status, 0));
    CHECK(proc.output().size() >= (3u << 20));
    // The 2 MiB line is over the parser's 1 MiB; the 64 KiB lines are events it reads.
    CHECK(proc.report().skipped_lines == 1);
    CHECK(proc.report().events > 10);
    if (a != agent_adapter::aider) {
      CHECK(proc.report().finished);
      CHECK_FALSE(proc.report().is_error);
    }
  }
}

TEST_CASE("fake agents: lying_cost claims an absurd cost and token counts near INT64_MAX, "
          "read as capped numbers",
          "[agents][fake]") {
  agent_fixture f;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  SECTION("claude: 1e308 USD is held at the maximum, summed tokens do not wrap") {
    auto r = run_to_end(f.profile(agent_adapter::claude), f.request(), f.env("lying_cost"));
    CHECK(exited_with(r.status, 0));
    REQUIRE(r.report.usage.usd);
    CHECK(*r.report.usage.usd == sf::max_cost_usd);
    CHECK(r.report.usage.input == max); // input + cache creation, each INT64_MAX.
    CHECK(r.report.usage.cached == max);
    CHECK(r.report.usage.output == max - 1);
  }
  SECTION("claude: a negative cost is no cost") {
    auto r = run_to_end(f.profile(agent_adapter::claude), f.request(),
                        f.env("lying_cost", {"FAKE_AGENT_COST=-5"}));
    CHECK(exited_with(r.status, 0));
    CHECK_FALSE(r.report.usage.usd);
  }
  SECTION("codex: cumulative totals near INT64_MAX") {
    auto r = run_to_end(f.profile(agent_adapter::codex), f.request(), f.env("lying_cost"));
    CHECK(exited_with(r.status, 0));
    CHECK(r.report.finished);
    CHECK(r.report.usage.cached == max);
    CHECK(r.report.usage.output == max - 1);
  }
  SECTION("aider: a 398-digit session cost and 9.2e21 tokens are refused, not wrapped") {
    auto r = run_to_end(f.profile(agent_adapter::aider), f.request(), f.env("lying_cost"));
    CHECK(exited_with(r.status, 0));
    CHECK_FALSE(r.report.usage.usd);
    CHECK(r.report.usage.input == 0);
  }
}

TEST_CASE("fake agents: hang_ignoring_term outlives SIGTERM and ends only by SIGKILL",
          "[agents][fake]") {
  agent_fixture f;
  for (auto a : {agent_adapter::claude, agent_adapter::codex, agent_adapter::aider}) {
    INFO(sf::to_string(a));
    agent_process proc(f.profile(a), f.request(), f.env("hang_ignoring_term"));
    REQUIRE(proc.read_until([](const auto& r) { return r.events > 0; }, deadline));
    proc.signal(SIGTERM);
    // Still running well after the signal: the wait times out.
    CHECK_FALSE(proc.wait(300ms));
    proc.signal(SIGKILL);
    auto status = proc.wait(deadline);
    REQUIRE(status);
    CHECK(killed_by(*status, SIGKILL));
  }
}

TEST_CASE("fake agents: FAKE_AGENT_ONCE plays the scenario in the first run only",
          "[agents][fake]") {
  agent_fixture f;
  auto marker = f.home / "once";
  auto p = f.profile(agent_adapter::claude);
  auto first = run_to_end(p, f.request(), f.env("crash_midstream", {"FAKE_AGENT_ONCE=" + marker}));
  CHECK(killed_by(first.status, SIGKILL));
  CHECK(std::filesystem::exists(marker));
  auto second = run_to_end(p, f.request(), f.env("crash_midstream", {"FAKE_AGENT_ONCE=" + marker}));
  CHECK(exited_with(second.status, 0));
  CHECK(second.report.finished);
  CHECK(second.report.outcome == "success");
}
