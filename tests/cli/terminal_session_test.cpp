// A person at a terminal: `start` with its prompt, `status --watch`, `pause`, `resume`, the
// merge question and Ctrl-C, each on a real pseudo-terminal; the test reads the screens.
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/pty_session.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string_view>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// The test's environment for a terminal: colour allowed, HOME inside the project.
std::vector<std::string> terminal_env(const test_project& p) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.rfind("HOME=", 0) != 0 && v.rfind("NO_COLOR=", 0) != 0 && v.rfind("TERM=", 0) != 0)
      env.emplace_back(v);
  }
  env.push_back("HOME=" + p.root());
  env.push_back("TERM=xterm-256color");
  return env;
}

std::unique_ptr<pty_session> on_terminal(const test_project& p,
                                         const std::vector<std::string>& args) {
  std::vector<std::string> argv{SF_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<pty_session>(argv, p.root(), terminal_env(p));
}

// Runs a short command on its own terminal and returns its screen once it ended.
std::string typed(const test_project& p, const std::vector<std::string>& args) {
  auto t = on_terminal(p, args);
  auto status = t->wait_exit(30s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  return t->screen();
}

bool has(const std::string& screen, const std::string& needle) {
  return screen.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("a terminal session: start's prompts, status --watch, pause, resume and Ctrl-C",
          "[cli][terminal]") {
  test_project p({ms("M001", {}, {unit("U01", hold("a")), unit("U02", "echo one > one.txt")}),
                  ms("M002", {}, {unit("U01", hold("never"))})},
                 "  enabled: true\n  max_workers: 2\n  stop_grace: 5\n");
  auto start = on_terminal(p, {"start"});
  REQUIRE(start->wait_for("Start 2 milestone(s)? [y/N] ", 30s));
  // The eligibility report in bold and colour, not Markdown asterisks.
  CHECK(has(start->screen(), "\x1b[1m"));
  CHECK_FALSE(has(start->screen(), "**M001**"));
  CHECK_FALSE(has(start->screen(), "# Parallel Eligibility Report"));
  start->type("y\r");
  REQUIRE(start->wait_for("[M001] running", 30s));
  REQUIRE(start->wait_for("[M002] running", 30s));

  auto watch = on_terminal(p, {"status", "--watch"});
  REQUIRE(watch->wait_for("M002", 30s));
  CHECK(has(watch->screen(), "\x1b[2J")); // Redraws in place.
  CHECK_FALSE(has(watch->screen(), "**M001**"));

  auto paused = typed(p, {"pause", "M001"});
  INFO(paused);
  CHECK(has(paused, "M001: pause requested"));
  auto mark = watch->screen().size();
  release(p, "a");
  // The watch redraws by itself when the worker holds.
  REQUIRE(watch->wait_for(": paused", 30s, mark));
  auto again = typed(p, {"pause", "M001"});
  CHECK(has(again, "M001: already paused"));

  auto resumed = typed(p, {"resume", "M001"});
  INFO(resumed);
  CHECK(has(resumed, "M001: resume requested"));
  // M001 completes; the foreground start asks about its merge, on its terminal.
  REQUIRE(start->wait_for("Merge M001 into main? [y/N] ", 60s));
  start->type("y\r");
  REQUIRE(start->wait_for("merged successfully", 30s));
  CHECK(p.git("show main:one.txt") == "one\n");

  // Ctrl-C, as typed: every worker stops, then start ends with 130.
  mark = start->screen().size();
  start->type("\x03");
  REQUIRE(start->wait_for("stopping every worker", 30s, mark));
  auto status = start->wait_exit(60s);
  REQUIRE(status);
  INFO(start->screen());
  REQUIRE(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 130);
  CHECK(state_of(p.root(), "M002") == "stopped");

  watch->type("\x03");
  auto watch_status = watch->wait_exit(30s);
  REQUIRE(watch_status);
  CHECK((WIFSIGNALED(*watch_status) ? 128 + WTERMSIG(*watch_status)
                                    : WEXITSTATUS(*watch_status)) == 130);
}
