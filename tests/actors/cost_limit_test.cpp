// Absurd costs from real workers: a finite but huge value is refused where it enters, so the
// run's total stays a number that run.json, `status --json` and `status` can show.
#include "io/files/run_file.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <string>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("two shell workers reporting 1.7e308 USD leave a finite total and both rows",
          "[runtime][cost]") {
  // The original-protocol shell worker, one unit each, reporting 1.7e308 after it: finite, and
  // twice that is infinite (written to JSON as null).
  std::string worker =
    "  worker_command: \"exec sh " + original_worker_script() + " 1 0.05 1.7e308\"\n";
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}}), ms("M002", {}, {{"U01", "true", {}, -1}})},
                 "  enabled: true\n  max_workers: 2\n  heartbeat_interval: 0.2\n"
                 "  stale_timeout: 2\n  stop_grace: 1\n  max_restarts: 0\n" + worker);
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 60s);
  REQUIRE(status);
  INFO(read_file(p.cli_log(1)));

  // run.json: both rows, and a total that is a finite number.
  auto text = read_file(p.path(".sf/parallel/run.json"));
  INFO(text);
  auto run = nlohmann::json::parse(text);
  REQUIRE(run["totalCost"].is_number());
  CHECK(std::isfinite(run["totalCost"].get<double>()));
  CHECK(run["totalCost"].get<double>() <= 1e6);
  REQUIRE(run["workers"].size() == 2);
  for (const auto& w : run["workers"]) {
    CHECK(w["cost"].is_number());
    CHECK(std::isfinite(w["cost"].get<double>()));
  }
  REQUIRE(sf::io::read_run_file(p.root()));

  // status --json: the same, parseable, with a numeric total.
  auto js = p.cli("status --json");
  INFO(js.out << js.err);
  auto view = nlohmann::json::parse(js.out);
  REQUIRE(view["totalCost"].is_number());
  CHECK(std::isfinite(view["totalCost"].get<double>()));
  CHECK(view["workers"].size() == 2);

  // status text: both milestones, not "no workers have run".
  auto st = p.cli("status");
  INFO(st.out);
  CHECK(st.out.find("No workers have run") == std::string::npos);
  CHECK(st.out.find("**M001**") != std::string::npos);
  CHECK(st.out.find("**M002**") != std::string::npos);
  CHECK(st.out.find("Total cost: $") != std::string::npos);

  // Each bad status was reported once, naming the file and the reason.
  auto log = read_file(p.path(".sf/parallel/coordinator.log"));
  INFO(log);
  for (std::string mid : {"M001", "M002"})
    CHECK(count_of(log, mid + ".status.json: status field 'cost' is more than the maximum of "
                         "1000000 USD") == 1);
}

TEST_CASE("status shows an out-of-range cost in a live status file as a problem, not a crash",
          "[runtime][cost]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  write_file(p.path(".sf/parallel/M001.status.json"),
             "{\"milestoneId\":\"M001\",\"pid\":1,\"state\":\"running\",\"currentUnit\":null,"
             "\"completedUnits\":0,\"cost\":1.7e308,\"lastHeartbeat\":1,\"startedAt\":1,"
             "\"worktreePath\":\"/x\"}");
  auto js = p.cli("status --json");
  INFO(js.out << js.err);
  auto view = nlohmann::json::parse(js.out);
  REQUIRE(view["totalCost"].is_number());
  CHECK(view["totalCost"].get<double>() == 0);
  REQUIRE(view["problems"].size() == 1);
  CHECK(view["problems"][0].get<std::string>().find("M001.status.json: status field 'cost' is "
                                                     "more than the maximum") != std::string::npos);
  auto st = p.cli("status");
  CHECK(st.exit_code == 0);
  CHECK(st.out.find("cost' is more than the maximum") != std::string::npos);
}
