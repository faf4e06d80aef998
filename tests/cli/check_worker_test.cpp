// `sf-actors check-worker`: the reference worker and the original-protocol sh worker pass,
// a worker that stops heartbeating and ignores SIGTERM fails the named checks, and a missing
// command is a usage error. Every run gets its own TMPDIR and HOME, so the tests can see that
// the throwaway project is removed and no developer preferences leak in.
#include "docs/json_schema.hpp"
#include "support/project.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <map>

using namespace sf::test;
namespace fs = std::filesystem;

namespace {

struct check_run {
  command_result result;
  nlohmann::json report;
  std::map<std::string, std::string> outcome; // check id -> pass | fail | skip
  bool sandbox_left = true;                   // Anything left in TMPDIR afterwards.
};

check_run check_worker(const std::string& options, const std::string& command) {
  temp_dir tmp;
  temp_dir home;
  check_run r;
  r.result = run("TMPDIR=" + sh_quote(tmp.path()) + " HOME=" + sh_quote(home.path()) + " " +
                 sh_quote(SF_CLI_PATH) + " check-worker --json " + options + " -- " + command);
  INFO("stdout: " << r.result.out << "\nstderr: " << r.result.err);
  r.report = nlohmann::json::parse(r.result.out, nullptr, false);
  REQUIRE(r.report.is_object());
  check_valid("check-worker-output", r.report);
  for (const auto& c : r.report.at("checks"))
    r.outcome[c.at("id").get<std::string>()] = c.at("result").get<std::string>();
  r.sandbox_left = !fs::is_empty(tmp.path());
  return r;
}

std::string details(const check_run& r) {
  std::string out;
  for (const auto& c : r.report.at("checks"))
    out += c.at("id").get<std::string>() + " " + c.at("result").get<std::string>() + ": " +
           c.at("detail").get<std::string>() + "\n";
  return out;
}

const std::vector<std::string> all_checks = {"status_file", "heartbeat",    "pause",     "resume",
                                             "stop_signal", "stop_sigterm", "completion"};

} // namespace

TEST_CASE("the reference worker passes every check", "[checkworker]") {
  // A whole second per heartbeat leaves room for a slow fsync on a busy machine.
  auto r = check_worker("--interval 1 --timeout 10", sh_quote(SF_CLI_PATH) + " worker");
  INFO(details(r));
  CHECK(r.result.exit_code == 0);
  for (const auto& id : all_checks)
    CHECK(r.outcome[id] == "pass");
  CHECK(r.report.at("ok") == true);
  CHECK(r.report.at("failed") == 0);
  CHECK_FALSE(r.sandbox_left);
}

TEST_CASE("the original-protocol sh worker passes what it supports", "[checkworker]") {
  // Self-paced: 24 units of 0.15 s outlast the pause and stop checks at a 0.5 s interval.
  auto r =
      check_worker("--interval 0.5 --timeout 10", sh_quote(original_worker_script()) + " 24 0.15");
  INFO(details(r));
  CHECK(r.result.exit_code == 0);
  for (const auto& id : all_checks)
    CHECK(r.outcome[id] == "pass");
  CHECK_FALSE(r.sandbox_left);
}

TEST_CASE("the shipped example worker passes check-worker as its header says to run it",
          "[checkworker]") {
  // The line in the script's own header, run as written from the source tree.
  auto text = read_file(original_worker_script());
  const std::string marker = "#   sf-actors check-worker -- ";
  auto at = text.find(marker);
  REQUIRE(at != std::string::npos);
  auto line = text.substr(at + 4, text.find('\n', at) - at - 4);
  REQUIRE(line ==
          "sf-actors check-worker -- sh \"$PWD/examples/workers/original-protocol-worker.sh\"");
  auto r = run(sh_quote(SF_CLI_PATH) + line.substr(std::string("sf-actors").size()),
               SF_SOURCE_DIR);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("7 checks: 7 passed, 0 failed, 0 skipped: the worker follows the protocol") !=
        std::string::npos);
}

TEST_CASE("a worker that goes silent and ignores SIGTERM fails, and check-worker exits 1",
          "[checkworker]") {
  temp_dir dir;
  auto script = dir / "silent-worker.sh";
  // One correct status, then silence: no heartbeats, no signal files read, SIGTERM ignored.
  write_file(
      script,
      "#!/bin/sh\n"
      "dir=\"$SF_PROJECT_ROOT/.sf/parallel\"\n"
      "now=$(($(date +%s%N) / 1000000))\n"
      "printf '{\"milestoneId\":\"%s\",\"pid\":%d,\"state\":\"running\",\"currentUnit\":null,"
      "\"completedUnits\":0,\"cost\":0,\"lastHeartbeat\":%d,\"startedAt\":%d,"
      "\"worktreePath\":\"%s\"}' \"$SF_MILESTONE_LOCK\" $$ \"$now\" \"$now\" \"$PWD\" "
      "> \"$dir/$SF_MILESTONE_LOCK.status.json.tmp.1\"\n"
      "mv \"$dir/$SF_MILESTONE_LOCK.status.json.tmp.1\" "
      "\"$dir/$SF_MILESTONE_LOCK.status.json\"\n"
      "echo 'silent worker: wrote one status'\n"
      "trap '' TERM\n"
      "exec sleep 600\n");
  REQUIRE(::chmod(script.c_str(), 0755) == 0);
  auto r = check_worker("--interval 0.3 --timeout 1", sh_quote(script));
  INFO(details(r));
  CHECK(r.result.exit_code == 1);
  CHECK(r.outcome["status_file"] == "pass");
  CHECK(r.outcome["heartbeat"] == "fail");
  CHECK(r.outcome["pause"] == "fail");
  CHECK(r.outcome["resume"] == "skip");
  CHECK(r.outcome["stop_signal"] == "fail");
  CHECK(r.outcome["stop_sigterm"] == "fail");
  CHECK(r.outcome["completion"] == "fail");
  CHECK(r.report.at("ok") == false);
  // The worker's own output is handed back to help its author.
  CHECK(r.report.at("workerLog").dump().find("silent worker: wrote one status") !=
        std::string::npos);
  CHECK_FALSE(r.sandbox_left);
}

TEST_CASE("a worker command that cannot run fails the checks, not the checker", "[checkworker]") {
  auto r = check_worker("--interval 0.3 --timeout 1", "/nonexistent/worker-program");
  INFO(details(r));
  CHECK(r.result.exit_code == 1);
  CHECK(r.outcome["status_file"] == "fail");
  CHECK(r.outcome["heartbeat"] == "skip");
  CHECK(r.outcome["stop_sigterm"] == "fail");
  CHECK(r.outcome["completion"] == "fail");
  CHECK_FALSE(r.sandbox_left);
}

TEST_CASE("check-worker without a command is a usage error", "[checkworker]") {
  for (const auto* args : {"check-worker --", "check-worker", "check-worker --json --"}) {
    INFO(args);
    auto r = run_cli(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("needs the worker's command after `--`") != std::string::npos);
    CHECK(r.out.empty());
  }
}
