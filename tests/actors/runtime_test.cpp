// The actor runtime end to end: the real CLI, real worker processes, real signals.
#include "io/files/run_file.hpp"
#include "io/files/status_file.hpp"
#include "io/os/proc_scan.hpp"
#include "io/os/process.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

std::string shell_worker(int units, double seconds, double cost) {
  return "  worker_command: \"exec sh " + original_worker_script() + " " + std::to_string(units) + " " +
         std::to_string(seconds) + " " + std::to_string(cost) + "\"\n";
}

std::vector<unit_spec> units(int n) {
  std::vector<unit_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({"U0" + std::to_string(i), "true", {}, -1});
  return out;
}





} // namespace

TEST_CASE("independent milestones run at once and a dependent waits", "[runtime]") {
  test_project p({ms("M001", {}, units(3)),
                  ms("M002", {}, units(3)),
                  ms("M003", {"M001"}, units(3))},
                 // manual: the run ends with M003 waiting (confirm would wait for an answer).
                 "  enabled: true\n  max_workers: 2\n  auto_merge: manual\n" +
                   shell_worker(3, 0.3, 0.1));
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  // Each ran in its own worktree on its own branch.
  for (std::string mid : {"M001", "M002"}) {
    CHECK(std::filesystem::exists(p.path(".sf/worktrees/" + mid + "/original-worker-units.log")));
    auto head = run("git rev-parse --abbrev-ref HEAD", p.path(".sf/worktrees/" + mid));
    CHECK(head.out == "milestone/" + mid + "\n");
    CHECK(state_of(p.root(), mid) == "complete");
  }
  // Their running windows overlap: both started before either completed.
  auto s1 = event_time(p.root(), "M001", "running");
  auto s2 = event_time(p.root(), "M002", "running");
  auto c1 = event_time(p.root(), "M001", "complete");
  auto c2 = event_time(p.root(), "M002", "complete");
  REQUIRE(s1 > 0);
  REQUIRE(s2 > 0);
  REQUIRE(c1 > 0);
  REQUIRE(c2 > 0);
  CHECK(std::max(s1, s2) < std::min(c1, c2));
  // M003 depends on M001, which is complete but not on main: it never started.
  CHECK(state_of(p.root(), "M003") == "waiting");
  CHECK(event_time(p.root(), "M003", "starting") == -1);
  CHECK_FALSE(std::filesystem::exists(p.path(".sf/worktrees/M003")));
  auto shown = p.cli("status");
  CHECK(shown.exit_code == 0);
  CHECK(shown.out.find("waiting for M001 (complete, not yet on main)") != std::string::npos);
}

TEST_CASE("pause holds the next unit, resume continues, stop of one leaves the other",
          "[runtime]") {
  test_project p({ms("M001", {}, units(6)), ms("M002", {}, units(6))},
                 "  enabled: true\n  max_workers: 2\n  stop_grace: 5\n" +
                   shell_worker(6, 0.25, 0.1));
  auto cli = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto s = status_of(p.root(), "M001");
    return s && s->unit.has_value();
  }, 20s));
  auto paused = p.cli("pause M001");
  CHECK(paused.exit_code == 0);
  CHECK(paused.out.find("M001: pause requested") != std::string::npos);
  // The running unit finishes, then the worker holds.
  REQUIRE(wait_for(p.root(), [&] {
    auto s = status_of(p.root(), "M001");
    return s && s->state == sf::core::worker_state::paused;
  }, 20s));
  auto at_pause = status_of(p.root(), "M001");
  REQUIRE(at_pause);
  CHECK_FALSE(at_pause->unit.has_value());
  CHECK(at_pause->completed_units >= 1);
  CHECK(at_pause->completed_units < 6);
  // Stopping M002 leaves M001 (paused) alive.
  auto stopped = p.cli("stop M002");
  CHECK(stopped.exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] { return state_of(p.root(), "M002") == "stopped"; }, 20s));
  auto still = status_of(p.root(), "M001");
  REQUIRE(still);
  CHECK(still->state == sf::core::worker_state::paused);
  CHECK(still->completed_units == at_pause->completed_units);
  CHECK(p.cli("resume M001").exit_code == 0);
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK(row_of(p.root(), "M001").completed_units == 6);
  CHECK(row_of(p.root(), "M002").completed_units < 6);
  // A clean end leaves no status or signal file behind.
  CHECK_FALSE(status_of(p.root(), "M001"));
  CHECK_FALSE(std::filesystem::exists(p.path(".sf/parallel/M001.signal.json")));
}

TEST_CASE("stop of all ends every worker and the run", "[runtime]") {
  test_project p({ms("M001", {}, units(50)), ms("M002", {}, units(50))},
                 "  enabled: true\n  max_workers: 2\n  stop_grace: 5\n" +
                   shell_worker(50, 0.2, 0.0));
  auto cli = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto a = status_of(p.root(), "M001");
    auto b = status_of(p.root(), "M002");
    return a && b && a->unit && b->unit;
  }, 20s));
  auto pid1 = status_of(p.root(), "M001")->pid;
  auto pid2 = status_of(p.root(), "M002")->pid;
  auto r = p.cli("stop");
  CHECK(r.exit_code == 0);
  auto status = wait_exit(cli, 30s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(state_of(p.root(), "M001") == "stopped");
  CHECK(state_of(p.root(), "M002") == "stopped");
  // The processes are gone (their group was signalled; the shell's sleep child too).
  CHECK_FALSE(alive(pid1));
  CHECK_FALSE(alive(pid2));
  // Nothing of this project is left, looked up by environment so that other tests' processes
  // running at the same time do not count.
  CHECK(sf::io::find_project_processes(p.root()).empty());
}

TEST_CASE("a killed worker is reported at once, a frozen one after stale_timeout", "[runtime]") {
  test_project p({ms("M001", {}, units(100)), ms("M002", {}, units(100))},
                 "  enabled: true\n  max_workers: 2\n  stale_timeout: 1.5\n  heartbeat_interval: "
                 "0.2\n  stop_grace: 1\n  max_restarts: 0\n" +
                   shell_worker(100, 0.1, 0.0));
  auto cli = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto a = status_of(p.root(), "M001");
    auto b = status_of(p.root(), "M002");
    return a && b && a->unit && b->unit;
  }, 20s));
  auto victim = status_of(p.root(), "M001")->pid;
  auto killed_at = sf::io::now_ms();
  REQUIRE(::kill(static_cast<pid_t>(victim), SIGKILL) == 0);
  REQUIRE(wait_for(p.root(), [&] { return event_time(p.root(), "M001", "failed") > 0; }, 10s));
  CHECK(event_time(p.root(), "M001", "failed") - killed_at < 1000);
  CHECK(event_lines(p.root(), "killed by SIGKILL").size() >= 1);
  auto frozen = status_of(p.root(), "M002")->pid;
  auto frozen_at = sf::io::now_ms();
  REQUIRE(::kill(static_cast<pid_t>(frozen), SIGSTOP) == 0);
  REQUIRE(wait_for(p.root(), [&] { return event_time(p.root(), "M002", "stale") > 0; }, 20s));
  auto stale_at = event_time(p.root(), "M002", "stale");
  CHECK(stale_at - frozen_at >= 1000); // Not before the heartbeat could have been missed.
  CHECK(event_lines(p.root(), "no heartbeat for 1.5 s").size() >= 1);
  ::kill(static_cast<pid_t>(frozen), SIGCONT);
  auto stop = p.cli("stop");
  INFO(stop.out << stop.err << read_file(p.path(".sf/parallel/coordinator.log")));
  CHECK(stop.exit_code == 0);
  REQUIRE(wait_exit(cli, 30s));
}

TEST_CASE("the budget ceiling stops the run and status says so", "[runtime]") {
  test_project p({ms("M001", {}, units(6)), ms("M002", {}, units(6))},
                 "  enabled: true\n  max_workers: 2\n  budget_ceiling: 1.00\n  stop_grace: 2\n" +
                   shell_worker(6, 0.2, 0.4));
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 6); // exit_budget_reached
  auto rf = sf::io::read_run_file(p.root());
  REQUIRE(rf);
  CHECK(rf->status.budget_reached);
  // At most the ceiling plus the units that were already running (one per worker).
  CHECK(rf->status.total_cost <= 1.00 + 2 * 0.4 + 1e-9);
  auto shown = p.cli("status");
  CHECK(shown.out.find("budget ceiling reached ($") != std::string::npos);
  auto json = p.cli("status --json");
  CHECK(json.out.find("\"budgetReached\": true") != std::string::npos);
}

TEST_CASE("start refuses nested sessions and a second coordinator", "[runtime]") {
  test_project p({ms("M001", {}, units(40))},
                 "  enabled: true\n" + shell_worker(40, 0.2, 0.0));
  auto r = run("SF_PARALLEL_WORKER=1 HOME=" + sh_quote(p.root()) + " " + sh_quote(SF_CLI_PATH) +
                 " start --yes",
               p.root());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("SF_PARALLEL_WORKER") != std::string::npos);
  auto cli = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] { return status_of(p.root(), "M001").has_value(); }, 20s));
  auto second = p.cli("start --yes");
  CHECK(second.exit_code == 7);
  CHECK(second.err.find("already runs") != std::string::npos);
  CHECK(p.cli("stop").exit_code == 0);
  REQUIRE(wait_exit(cli, 30s));
}

TEST_CASE("start --detach returns, and stop from another terminal ends the run", "[runtime]") {
  test_project p({ms("M001", {}, units(40))}, "  enabled: true\n" + shell_worker(40, 0.2, 0.0));
  auto r = p.cli("start --yes --detach");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("coordinator running in the background") != std::string::npos);
  auto shown = p.cli("status --json");
  CHECK(shown.out.find("\"running\": true") != std::string::npos);
  REQUIRE(wait_for(p.root(), [&] { return status_of(p.root(), "M001").has_value(); }, 20s));
  auto stopped = p.cli("stop");
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.out.find("M001: stopping") != std::string::npos);
  // The background coordinator ends once its worker is gone and releases the lock.
  REQUIRE(wait_for(p.root(), [&] {
    auto j = p.cli("status --json");
    return j.out.find("\"running\": false") != std::string::npos;
  }, 30s));
  CHECK(state_of(p.root(), "M001") == "stopped");
}

TEST_CASE("with the reference worker no unit starts once the ceiling is reached", "[runtime]") {
  auto unit = [](const std::string& name) {
    return unit_spec{name,
                     "echo " + name + " >> \"$SF_PROJECT_ROOT/started\"; sleep 0.2; "
                     "echo SF_COST 0.40",
                     {}, -1};
  };
  test_project p({ms("M001", {}, {unit("A1"), unit("A2"), unit("A3"), unit("A4")}),
                  ms("M002", {}, {unit("B1"), unit("B2"), unit("B3"), unit("B4")})},
                 "  enabled: true\n  max_workers: 2\n  budget_ceiling: 1.00\n  auto_merge: manual\n"
                 "  stop_grace: 2\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 6);
  auto started = read_file(p.path("started"));
  auto count = std::count(started.begin(), started.end(), '\n');
  // 1.00 is crossed by the third unit; at most one more was already running on the other
  // worker. Nothing starts after that.
  CHECK(count >= 3);
  CHECK(count <= 4);
  auto rf = sf::io::read_run_file(p.root());
  REQUIRE(rf);
  CHECK(rf->status.budget_reached);
  CHECK(rf->status.total_cost >= 1.00);
  // The ceiling plus the units that were running when it was crossed (one per worker).
  CHECK(rf->status.total_cost <= 1.00 + 2 * 0.40 + 1e-9);
  CHECK(p.cli("status").out.find("budget ceiling reached ($1.") != std::string::npos);
}

TEST_CASE("a worker speaking only the original protocol is paused and resumed between units",
          "[runtime]") {
  test_project p({ms("M001", {}, units(8))},
                 "  enabled: true\n" + shell_worker(8, 0.15, 0.05));
  auto cli = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto s = status_of(p.root(), "M001");
    return s && s->completed_units >= 1;
  }, 20s));
  CHECK(p.cli("pause").exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] {
    auto s = status_of(p.root(), "M001");
    return s && s->state == sf::core::worker_state::paused;
  }, 20s));
  auto held = status_of(p.root(), "M001");
  REQUIRE(held);
  CHECK_FALSE(held->unit.has_value());
  CHECK(p.cli("resume").exit_code == 0);
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK(row_of(p.root(), "M001").completed_units == 8);
}

TEST_CASE("no worktree is made ahead while a worker is still starting", "[runtime]") {
  temp_dir gate_dir;
  const auto gate = gate_dir / "go";
  const auto waiting = gate_dir / "waiting";
  const auto released = gate_dir / "released";
  REQUIRE(::mkfifo(gate.c_str(), 0600) == 0);
  // M001's worker stays in "starting" (no status file yet) until the test opens the gate.
  std::string worker = "if [ \\\"$SF_MILESTONE_LOCK\\\" = M001 ]; then touch '" + waiting +
                       "'; read go < '" + gate + "'; touch '" + released +
                       "'; fi; exec '" SF_CLI_PATH "' worker";
  test_project p({ms("M001", {}, units(1)), ms("M002", {}, units(1))},
                 "  enabled: true\n  max_workers: 1\n  worker_command: \"" + worker + "\"\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] { return std::filesystem::exists(waiting); }, 30s));
  REQUIRE(run("echo go > '" + gate + "'", p.root()).exit_code == 0);
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(state_of(p.root(), "M002") == "complete");
  // M002's worktree (its .git link is written once, when it is made) came after M001's worker
  // left "starting". Both times are file times: the kernel stamps them from one coarse clock,
  // which can lag the wall clock of run events by a tick.
  struct stat link {}, gate_open {};
  REQUIRE(::stat(p.path(".sf/worktrees/M002/.git").c_str(), &link) == 0);
  REQUIRE(::stat(released.c_str(), &gate_open) == 0);
  auto nanos = [](const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; };
  CHECK(nanos(link.st_mtim) >= nanos(gate_open.st_mtim));
}

TEST_CASE("a milestone waiting for a slot gets its worktree made ahead", "[runtime]") {
  temp_dir gate_dir;
  const auto gate = gate_dir / "go";
  REQUIRE(::mkfifo(gate.c_str(), 0600) == 0);
  // M001 holds the only slot until the test writes to the gate (its read blocks until then).
  test_project p({ms("M001", {}, {{"U01", "read go < '" + gate + "'", {}, -1}}),
                  ms("M002", {}, units(1))},
                 "  enabled: true\n  max_workers: 1\n  heartbeat_interval: 0.2\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  auto plan_in_m002 = p.path(".sf/worktrees/M002/.sf/milestones/M002/MILESTONE.md");
  REQUIRE(wait_for(p.root(), [&] { return std::filesystem::exists(plan_in_m002); }, 30s));
  // Made while M002 still waits: checked out on its branch, no worker, no status file.
  CHECK(state_of(p.root(), "M002") == "queued");
  CHECK(state_of(p.root(), "M001") == "running");
  CHECK(run("git rev-parse --abbrev-ref HEAD", p.path(".sf/worktrees/M002")).out ==
        "milestone/M002\n");
  CHECK_FALSE(std::filesystem::exists(p.path(".sf/parallel/M002.status.json")));
  REQUIRE(run("echo go > '" + gate + "'", p.root()).exit_code == 0);
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  // Its worker used the prepared worktree and committed its unit there.
  CHECK(state_of(p.root(), "M002") == "complete");
  CHECK(p.git("log --format=%s milestone/M002").find("M002/U01") != std::string::npos);
  CHECK(std::filesystem::exists(plan_in_m002));
}
