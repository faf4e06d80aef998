// `stop`, `pause` and `resume` with --json: one object saying what was done to each milestone,
// through a running coordinator and without one, in the shape of control-output.schema.json.
#include "docs/json_schema.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// Runs `args` (which ends in --json) and returns its output, checked against the schema, with
// the process's exit code next to the one it reports.
nlohmann::json control_json(const test_project& p, const std::string& args) {
  auto r = p.cli(args);
  INFO(args << "\nstdout: " << r.out << "\nstderr: " << r.err);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  check_valid("control-output", j);
  CHECK(j["exitCode"] == r.exit_code);
  return j;
}

} // namespace

TEST_CASE("stop, pause and resume --json without a coordinator name the signal files left",
          "[cli]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  auto none = control_json(p, "pause --json");
  CHECK(none["command"] == "pause");
  CHECK(none["milestone"] == nullptr);
  CHECK(none["via"] == "signal_file");
  CHECK(none["milestones"].empty());
  REQUIRE(none["messages"].size() == 1);
  CHECK(none["messages"][0].get<std::string>().find("no worker is running") == 0);
  // Named, but with no worker: nothing is left for the next worker to find.
  auto named = p.cli("pause M001");
  CHECK(named.exit_code == 0);
  CHECK(named.out == "M001: no worker is running (no coordinator and no status file); nothing sent\n");
  CHECK_FALSE(std::filesystem::exists(sf::io::signal_path(p.root(), "M001")));
  // A worker's status file makes it a target: its signal is left where it looks.
  sf::io::worker_status s;
  s.milestone_id = "M001";
  s.pid = ::getpid();
  s.state = sf::core::worker_state::running;
  s.last_heartbeat = s.started_at = sf::io::now_ms();
  s.worktree_path = p.path(".sf/worktrees/M001");
  REQUIRE_FALSE(sf::io::write_status(p.root(), s));
  for (std::string verb : {"pause", "resume", "stop"}) {
    auto j = control_json(p, verb + " --json");
    CHECK(j["command"] == verb);
    REQUIRE(j["milestones"].size() == 1);
    CHECK(j["milestones"][0]["milestoneId"] == "M001");
    CHECK(j["milestones"][0]["state"] == nullptr);
    CHECK(j["milestones"][0]["text"].get<std::string>().find(verb + " signal written") == 0);
    CHECK(j["messages"].empty());
    auto signal = nlohmann::json::parse(read_file(sf::io::signal_path(p.root(), "M001")));
    CHECK(signal["signal"] == verb);
  }
  auto one = control_json(p, "stop M001 --json");
  CHECK(one["milestone"] == "M001");
  CHECK(one["milestones"].size() == 1);
  // A worker that holds already: the pause is answered, and no signal is left for it.
  s.state = sf::core::worker_state::paused;
  REQUIRE_FALSE(sf::io::write_status(p.root(), s));
  ::unlink(sf::io::signal_path(p.root(), "M001").c_str());
  auto paused = p.cli("pause M001");
  INFO(paused.out << paused.err);
  CHECK(paused.exit_code == 0);
  CHECK(paused.out == "M001: already paused (no coordinator is running)\n");
  CHECK_FALSE(std::filesystem::exists(sf::io::signal_path(p.root(), "M001")));
}

TEST_CASE("stop, pause and resume --json through a coordinator give each milestone's state",
          "[cli]") {
  test_project p({ms("M001", {}, {{"U01", hold("M001"), {}, -1}, {"U02", "true", {}, -1}}),
                  ms("M002", {"M001"}, {{"U01", "true", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n");
  auto started = p.cli("start --yes --detach");
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] { return state_of(p.root(), "M001") == "running"; }, 30s));
  auto paused = control_json(p, "pause --json");
  CHECK(paused["via"] == "coordinator");
  CHECK(paused["milestone"] == nullptr);
  // M001 runs; M002 waits for it in the run.
  REQUIRE(paused["milestones"].size() == 2);
  CHECK(paused["milestones"][0]["milestoneId"] == "M001");
  CHECK(paused["milestones"][0]["state"] == "running");
  CHECK(paused["milestones"][0]["text"].get<std::string>().find("pause requested") == 0);
  CHECK(paused["milestones"][1]["milestoneId"] == "M002");
  CHECK(paused["milestones"][1]["state"] == "waiting");
  CHECK(paused["messages"].empty());
  auto resumed = control_json(p, "resume M001 --json");
  CHECK(resumed["milestone"] == "M001");
  REQUIRE(resumed["milestones"].size() == 1);
  CHECK(resumed["milestones"][0]["text"] == "resume requested");
  auto stopped = control_json(p, "stop --json");
  CHECK(stopped["via"] == "coordinator");
  REQUIRE(stopped["milestones"].size() == 2);
  CHECK(stopped["milestones"][0]["state"] == "stopping");
  CHECK(stopped["milestones"][1]["state"] == "stopped");
  CHECK(stopped["milestones"][1]["text"] == "removed from the queue");
  CHECK(stopped["exitCode"] == 0);
  // The run ends: the coordinator lets go of its lock.
  REQUIRE(wait_for(p.root(), [&] {
    return !std::filesystem::exists(p.path(".sf/parallel/coordinator.lock")) ||
           p.cli("status --json").out.find("\"running\": false") != std::string::npos;
  }, 30s));
}
