// What a run starts ends with it: daemons a unit leaves behind, workers of a supervisor that
// died, and a foreground `start` whose coordinator died. Real projects, the real CLI, real
// processes and signals.
#include "io/os/proc_scan.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// A unit that starts a daemon the way a dev server is started: setsid, all output away, so
// it is neither in the unit's process group nor tied to its pipes. Its pid goes to `pid_file`.
std::string daemonize(const std::string& pid_file) {
  return "setsid sleep 600 >/dev/null 2>&1 </dev/null & echo $! > " + sh_quote(pid_file);
}

// Waits (bounded) until `pid` is gone; SIGKILL takes effect asynchronously.
bool ends_within(int64_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (alive(pid)) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Test cleanup only: whatever of the project still runs (the test started all of it).
void end_project_processes(const std::string& root) {
  for (const auto& p : sf::io::find_project_processes(root))
    ::kill(static_cast<pid_t>(p.pid), SIGKILL);
}

// The CLI with extra environment entries, bounded by coreutils' timeout so an old build that
// hangs fails the test instead of stalling the suite.
command_result cli_with_env(const test_project& p, const std::string& env,
                            const std::string& args) {
  return run(env + " HOME=" + sh_quote(p.root()) + " timeout -s KILL 90 " + sh_quote(SF_CLI_PATH) +
                 " " + args,
             p.root());
}

const char* prefs = "  enabled: true\n  max_workers: 2\n  auto_merge: auto\n"
                    "  heartbeat_interval: 0.2\n  stale_timeout: 10\n  stop_grace: 2\n"
                    "  restart_backoff: 0\n";

} // namespace

TEST_CASE("a daemon a unit started ends with its worker when the milestone finishes",
          "[proctree]") {
  temp_dir trace;
  auto pid_file = trace / "daemon.pid";
  test_project p({ms("M001", {}, {{"U1", daemonize(pid_file) + "; echo a > a.txt", {}, -1}})},
                 prefs);
  auto r = p.cli("start --yes");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(state_of(p.root(), "M001") == "merged");
  auto daemon = std::stoll(read_file(pid_file));
  CHECK(ends_within(daemon, 10s));
  end_project_processes(p.root());
}

TEST_CASE("a daemon a unit started ends with its worker on `sf-actors stop`", "[proctree]") {
  temp_dir trace;
  auto pid_file = trace / "daemon.pid";
  test_project p({ms("M001", {}, {{"U1", daemonize(pid_file) + "; exec sleep 600", {}, -1}})},
                 prefs);
  auto coordinator = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(
      p.root(),
      [&] {
        auto s = status_of(p.root(), "M001");
        return s && s->unit && std::filesystem::exists(pid_file) && !read_file(pid_file).empty();
      },
      30s));
  auto daemon = std::stoll(read_file(pid_file));
  REQUIRE(alive(daemon));
  auto stop = p.cli("stop");
  INFO(stop.out << stop.err);
  CHECK(stop.exit_code == 0);
  auto status = wait_exit(coordinator, 30s);
  REQUIRE(status);
  CHECK(ends_within(daemon, 10s));
  end_project_processes(p.root());
}

TEST_CASE("a supervisor that dies ends its worker and goes to the restart policy", "[proctree]") {
  test_project p({ms("M001", {}, {{"U1", "sleep 0.5; echo a > a.txt", {}, -1}})}, prefs);
  auto r = cli_with_env(p, "SF_FAULT_POINTS=supervisor.status=fail", "start --yes");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(state_of(p.root(), "M001") == "merged");
  auto down = event_lines(p.root(), "its supervisor ended unexpectedly");
  REQUIRE_FALSE(down.empty());
  // Its worker was ended with it before the milestone started again.
  CHECK(down.front().find("\"restarting\"") != std::string::npos);
  CHECK(down.front().find("ended its worker") != std::string::npos);
  end_project_processes(p.root());
}

TEST_CASE("a foreground start whose coordinator dies ends with a clear error", "[proctree]") {
  test_project p({ms("M001", {}, {{"U1", "sleep 0.3; echo a > a.txt", {}, -1}})}, prefs);
  auto r = cli_with_env(p, "SF_FAULT_POINTS=coordinator.progress=fail", "start --yes");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("error: the coordinator ended unexpectedly") != std::string::npos);
  // Its worker is not tied to it: it finishes its milestone on its own.
  end_project_processes(p.root());
}
