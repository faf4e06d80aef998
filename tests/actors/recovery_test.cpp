// Crash recovery: adoption after a coordinator crash, the restart policy, hung workers.
#include "io/files/ledger_file.hpp"
#include "io/files/run_file.hpp"
#include "io/files/status_file.hpp"
#include "io/os/process.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <sstream>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// Each unit appends its name to <root>/runs when it starts.
std::string trace(const std::string& name) {
  return "echo " + name + " >> \"$SF_PROJECT_ROOT/runs\"";
}

std::vector<std::string> runs(const test_project& p) {
  std::vector<std::string> out;
  std::string text;
  try {
    text = read_file(p.path("runs"));
  } catch (const std::exception&) {
    return out;
  }
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

TEST_CASE("a restarted coordinator adopts live workers instead of spawning new ones",
          "[recovery]") {
  auto held = [](const std::string& name) {
    return unit_spec{name, trace(name) +
                             "; while [ ! -e \"$SF_PROJECT_ROOT/go\" ]; do sleep 0.05; done; "
                             "echo SF_COST 0.25; echo " + name + " > " + name + ".txt",
                     {}, -1};
  };
  test_project p({ms("M001", {}, {held("A1"), held("A2")}), ms("M002", {}, {held("B1"), held("B2")})},
                 "  enabled: true\n  max_workers: 2\n  auto_merge: auto\n  heartbeat_interval: "
                 "0.3\n  stale_timeout: 20\n");
  auto first = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto a = status_of(p.root(), "M001");
    auto b = status_of(p.root(), "M002");
    return a && b && a->unit && b->unit;
  }, 30s));
  auto pid1 = status_of(p.root(), "M001")->pid;
  auto pid2 = status_of(p.root(), "M002")->pid;
  REQUIRE(first.signal(SIGKILL) == caf::error{});
  REQUIRE(wait_exit(first, 10s));
  // The workers outlive the coordinator.
  CHECK(alive(pid1));
  CHECK(alive(pid2));
  auto second = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    return event_lines(p.root(), "adopted after a coordinator restart").size() >= 2;
  }, 30s));
  CHECK(event_lines(p.root(), "(pid " + std::to_string(pid1) + ")").size() >= 1);
  CHECK(event_lines(p.root(), "(pid " + std::to_string(pid2) + ")").size() >= 1);
  // status shows them adopted, as text and as data, for as long as they run.
  // (run.json is written right after the event line: waited for, not assumed.)
  CHECK(wait_for(p.root(), [&] {
    return row_of(p.root(), "M001").adopted && row_of(p.root(), "M002").adopted;
  }, 10s));
  auto shown = p.cli("status");
  INFO(shown.out);
  CHECK(shown.out.find("M001: running (adopted)") != std::string::npos);
  CHECK(shown.out.find("M002: running (adopted)") != std::string::npos);
  write_file(p.path("go"), "");
  auto status = wait_exit(second, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(state_of(p.root(), "M001") == "merged");
  CHECK(state_of(p.root(), "M002") == "merged");
  // Every unit ran exactly once: nothing ran twice.
  auto r = runs(p);
  for (std::string u : {"A1", "A2", "B1", "B2"})
    CHECK(std::count(r.begin(), r.end(), u) == 1);
  // The ledger continued across the restart: both workers' costs, once each.
  auto ledger = sf::io::read_ledger(p.root());
  REQUIRE(ledger);
  double total = 0;
  for (const auto& [k, v] : *ledger)
    total += v;
  CHECK(total == Approx(1.0));
  CHECK(p.git("show main:A2.txt") == "A2\n");
  CHECK(p.git("show main:B2.txt") == "B2\n");
}

TEST_CASE("a worker that crashes after unit 2 of 4 restarts and runs units 3 and 4 only",
          "[recovery]") {
  std::string crash_once = trace("U3") +
                           "; if [ ! -e \"$SF_PROJECT_ROOT/crashed\" ]; then "
                           "touch \"$SF_PROJECT_ROOT/crashed\"; kill -9 $PPID; exit 1; fi";
  test_project p({ms("M001", {}, {{"U1", trace("U1"), {}, -1}, {"U2", trace("U2"), {}, -1},
                                  {"U3", crash_once, {}, -1}, {"U4", trace("U4"), {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n  restart_backoff: 0.05\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(runs(p) == std::vector<std::string>{"U1", "U2", "U3", "U3", "U4"});
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK(event_lines(p.root(), "restart 1 of 3").size() == 1);
  // The branch has one commit per unit: U1 and U2 were not redone.
  auto log = p.git("log --format=%s milestone/M001");
  CHECK(log.find("M001/U1:") != std::string::npos);
  // Seed, plan, 4 units; the last unit's commit marks the milestone complete.
  CHECK(std::count(log.begin(), log.end(), '\n') == 6);
  CHECK(log.rfind("M001/U4:", 0) == 0);
}

TEST_CASE("a worker that crashes every time ends failed while the others finish",
          "[recovery]") {
  test_project p({ms("M001", {}, {{"U1", trace("X") + "; kill -9 $PPID; exit 1", {}, -1}}),
                  ms("M002", {}, {{"U1", "echo ok > ok.txt", {}, -1}})},
                 "  enabled: true\n  max_workers: 2\n  auto_merge: auto\n  max_restarts: 2\n"
                 "  restart_backoff: 0.05\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 1);
  CHECK(state_of(p.root(), "M001") == "failed");
  CHECK(state_of(p.root(), "M002") == "merged");
  auto r = runs(p);
  CHECK(std::count(r.begin(), r.end(), "X") == 3); // first run + 2 restarts
  auto failed = event_lines(p.root(), "gave up after 2 restart(s)");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].find("killed by SIGKILL") != std::string::npos);
  CHECK(failed[0].find("last log lines") != std::string::npos);
}

TEST_CASE("start refuses a worker command whose program does not exist, before anything runs",
          "[recovery]") {
  test_project p({ms("M001", {}, {{"U1", "true", {}, -1}})},
                 "  enabled: true\n  worker_command: \"/nonexistent/worker --go\"\n");
  auto r = p.cli("start --yes");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("parallel.worker_command") != std::string::npos);
  CHECK(r.err.find("/nonexistent/worker does not exist") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(event_lines(p.root(), "\"starting\"").empty());
  // A program found on PATH passes the check; a name that is nowhere does not.
  write_file(p.path(".sf/PREFERENCES.md"),
             "---\nparallel:\n  enabled: true\n  worker_command: no-such-worker-program\n---\n");
  p.git("commit -q -am 'worker command'");
  auto missing = p.cli("start --yes");
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("`no-such-worker-program` is not found on PATH") != std::string::npos);
}

TEST_CASE("a worker command that cannot run is a configuration error, not a crash loop",
          "[recovery]") {
  // `exec` leaves the lookup to the shell, so the coordinator meets the failure at run time.
  test_project p({ms("M001", {}, {{"U1", "true", {}, -1}})},
                 "  enabled: true\n  worker_command: \"exec /nonexistent/worker --go\"\n"
                 "  restart_backoff: 0.01\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 30s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 1);
  CHECK(state_of(p.root(), "M001") == "failed");
  CHECK(event_lines(p.root(), "cannot be executed").size() == 1);
  CHECK(event_lines(p.root(), "\"starting\"").size() == 1);
  CHECK(event_lines(p.root(), "restarting").empty());
}

TEST_CASE("a hung worker is stopped and restarted under the policy", "[recovery]") {
  std::vector<unit_spec> six;
  for (int i = 1; i <= 6; ++i)
    six.push_back({"U" + std::to_string(i), "true", {}, -1});
  test_project p({ms("M001", {}, six)},
                 "  enabled: true\n  stale_timeout: 1\n  heartbeat_interval: 0.2\n"
                 "  stop_grace: 0.5\n  restart_backoff: 0.05\n  worker_command: \"exec sh " +
                   original_worker_script() + " 6 0.3 0\"\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto s = status_of(p.root(), "M001");
    return s && s->unit;
  }, 20s));
  auto frozen = status_of(p.root(), "M001")->pid;
  REQUIRE(::kill(static_cast<pid_t>(frozen), SIGSTOP) == 0);
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK_FALSE(alive(frozen));
  CHECK(event_time(p.root(), "M001", "stale") > 0);
  CHECK(event_time(p.root(), "M001", "restarting") > event_time(p.root(), "M001", "stale"));
  CHECK(event_lines(p.root(), "hung (no heartbeat within stale_timeout)").size() >= 1);
  CHECK(state_of(p.root(), "M001") == "complete");
}

TEST_CASE("an orphaned unit of a worker announced but never recorded is ended, not adopted",
          "[recovery]") {
  test_project p({ms("M001", {}, {{"U01", trace("U01"), {}, -1}})},
                 "  enabled: true\n  auto_merge: auto\n");
  // What a coordinator and its worker killed together in the write-ahead window leave: an
  // entry with the token but no pid, and a unit of that worker still running under init.
  const std::string token = "0123456789abcdef0123456789abcdef";
  REQUIRE(run("mkdir -p .sf/parallel && chmod 700 .sf/parallel && printf '%s' "
              "'{\"version\":1,\"workers\":[{\"milestone\":\"M001\",\"pid\":0,\"startTime\":0,"
              "\"bootId\":\"\",\"token\":\"" + token + "\"}]}' > .sf/parallel/workers.json",
              p.root())
            .exit_code == 0);
  auto orphan = run("SF_PROJECT_ROOT=" + sh_quote(p.root()) + " SF_MILESTONE_LOCK=M001 "
                      "SF_PARALLEL_WORKER=1 SF_SPAWN_TOKEN=" + token + " SF_UNIT_ID=U01 "
                      "setsid sleep 300 >/dev/null 2>&1 </dev/null & echo $!",
                    p.root());
  REQUIRE(orphan.exit_code == 0);
  auto pid = std::stol(orphan.out);
  REQUIRE(wait_for(p.root(), [&] { return alive(pid); }, 5s));
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(event_lines(p.root(), "adopted").empty());
  CHECK_FALSE(alive(pid));
  CHECK(state_of(p.root(), "M001") == "merged");
  CHECK(runs(p) == std::vector<std::string>{"U01"});
}
