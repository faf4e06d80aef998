// The budget through real coordinators and reference workers: a failed unit's reported cost
// counts (once per attempt, across runs), the ceiling covers every run until
// `sf-actors budget reset`, `start` refuses a spent period up front, and a reset starts a new
// period without losing the old ledger or counting a running total twice.
#include "docs/json_schema.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/status_file.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <sstream>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// A unit that notes its run in <root>/runs, reports `usd` and exits with `code`.
std::string paid_unit(const std::string& name, const std::string& usd, int code = 0) {
  return "echo " + name + " >> \"$SF_PROJECT_ROOT/runs\"; echo SF_COST " + usd + "; exit " +
         std::to_string(code);
}

std::vector<std::string> runs(const test_project& p) {
  std::vector<std::string> out;
  struct stat st {};
  if (::stat(p.path("runs").c_str(), &st) != 0)
    return out;
  std::istringstream in(read_file(p.path("runs")));
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

double ledger_total(const test_project& p) {
  auto rec = sf::io::read_ledger_record(p.root());
  REQUIRE(rec);
  return rec->total();
}

// Runs `start --yes` in the foreground to its end; gives its exit status.
int start_to_end(test_project& p) {
  auto cli = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(cli, 120s);
  REQUIRE(status);
  REQUIRE(WIFEXITED(*status));
  return WEXITSTATUS(*status);
}

std::vector<std::string> ledger_archives(const test_project& p) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(p.path(".sf/parallel").c_str())) {
    while (auto* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (name.rfind("ledger-", 0) == 0 && name.size() > 12 &&
          name.compare(name.size() - 5, 5, ".json") == 0)
        out.push_back(name);
    }
    ::closedir(d);
  }
  return out;
}

} // namespace

TEST_CASE("a failing unit's reported cost counts once per attempt, across runs",
          "[runtime][cost][budget]") {
  test_project p({ms("M001", {}, {{"U01", paid_unit("U01", "0.40", 1), {}, -1}})},
                 "  enabled: true\n  heartbeat_interval: 0.2\n  stale_timeout: 5\n");
  // First run: the unit fails (a worker reporting a failure is not restarted).
  CHECK(start_to_end(p) != 0);
  INFO(read_file(p.cli_log(1)));
  auto first = runs(p).size();
  REQUIRE(first == 1);
  CHECK(ledger_total(p) == Approx(0.40 * static_cast<double>(first)));
  CHECK(state_of(p.root(), "M001") == "failed");

  // The attempts are recorded where the next worker of the milestone starts from.
  auto metrics = nlohmann::json::parse(read_file(p.path(".sf/worktrees/M001/.sf/metrics.json")));
  CHECK(metrics["milestones"]["M001"]["failedUnits"].size() == first);
  CHECK(metrics["milestones"]["M001"]["cost"].get<double>() ==
        Approx(0.40 * static_cast<double>(first)));

  // A second run (a new coordinator, continuing the ledger) adds its own attempts only.
  CHECK(start_to_end(p) != 0);
  INFO(read_file(p.cli_log(2)));
  auto all = runs(p).size();
  REQUIRE(all == 2);
  CHECK(ledger_total(p) == Approx(0.40 * static_cast<double>(all)));
  auto shown = nlohmann::json::parse(p.cli("status --json").out);
  CHECK(shown["totalCost"].get<double>() == Approx(0.40 * static_cast<double>(all)));
}

TEST_CASE("the ceiling covers every run until `budget reset`, and start refuses a spent period",
          "[runtime][cost][budget]") {
  test_project p({ms("M001", {},
                     {{"U01", paid_unit("U01", "0.60"), {}, -1},
                      {"U02", paid_unit("U02", "0.60"), {}, -1},
                      {"U03", paid_unit("U03", "0.10"), {}, -1}})},
                 "  enabled: true\n  heartbeat_interval: 0.2\n  stale_timeout: 5\n"
                 "  auto_merge: auto\n  budget_ceiling: 1.0\n");
  // The first run stops at the ceiling, before U03.
  start_to_end(p);
  INFO(read_file(p.cli_log(1)));
  REQUIRE(runs(p) == std::vector<std::string>{"U01", "U02"});
  CHECK(ledger_total(p) == Approx(1.2));
  auto ledger_text = read_file(sf::io::ledger_path(p.root()));

  // The ledger outlived the run: `start` refuses before it asks or starts anything.
  auto before = p.cli("status --json");
  auto refused = p.cli("start --yes");
  CHECK(refused.exit_code == 6);
  CHECK(refused.out.find("Start ") == std::string::npos);
  CHECK(refused.err ==
        "sf-actors: the budget ceiling is reached: spent $1.20 of $1.00 ceiling in this budget "
        "period (all runs since it began); fix: raise `parallel.budget_ceiling` in "
        ".sf/PREFERENCES.md or start a new period with `sf-actors budget reset`\n");
  CHECK(runs(p).size() == 2);
  CHECK(p.cli("status --json").out == before.out);

  // `budget` and `status` say what the period spent, against what, and since when.
  auto budget = p.cli("budget --json");
  REQUIRE(budget.exit_code == 0);
  auto shown = nlohmann::json::parse(budget.out);
  check_valid("budget-output", shown);
  CHECK(shown["spent"].get<double>() == Approx(1.2));
  CHECK(shown["ceiling"].get<double>() == Approx(1.0));
  CHECK(shown["reached"] == true);
  CHECK(shown["covers"] == "all_runs_until_reset");
  REQUIRE(shown["milestones"].size() == 1);
  CHECK(shown["milestones"][0]["milestoneId"] == "M001");
  auto old_start = shown["periodStart"].get<int64_t>();
  CHECK(old_start > 0);
  auto status_text = p.cli("status").out;
  INFO(status_text);
  CHECK(status_text.find("Total cost: $1.20 of $1.00 ceiling") != std::string::npos);
  CHECK(status_text.find("Budget period: since " + shown["periodStartUtc"].get<std::string>() +
                         ", all runs until `sf-actors budget reset`") != std::string::npos);
  auto status_json = nlohmann::json::parse(p.cli("status --json").out);
  CHECK(status_json["budgetPeriod"]["since"].get<int64_t>() == old_start);
  CHECK(status_json["budgetReached"] == true);

  // A reset keeps the old ledger byte for byte and starts the new period at zero.
  auto reset = p.cli("budget reset");
  INFO(reset.out << reset.err);
  REQUIRE(reset.exit_code == 0);
  CHECK(reset.out.find("spent $1.20") != std::string::npos);
  auto archives = ledger_archives(p);
  REQUIRE(archives.size() == 1);
  CHECK(read_file(p.path(".sf/parallel/" + archives[0])) == ledger_text);
  CHECK(reset.out.find(archives[0]) != std::string::npos);
  auto fresh = sf::io::read_ledger_record(p.root());
  REQUIRE(fresh);
  CHECK(fresh->total() == 0);
  CHECK(fresh->period_start > old_start);
  CHECK(fresh->carried["M001"] == Approx(1.2));
  check_valid("ledger", nlohmann::json::parse(read_file(sf::io::ledger_path(p.root()))));
  auto after = nlohmann::json::parse(p.cli("budget --json").out);
  CHECK(after["spent"].get<double>() == 0);
  CHECK(after["reached"] == false);
  auto after_status = p.cli("status").out;
  INFO(after_status);
  CHECK(after_status.find("Total cost: $0.00 of $1.00 ceiling") != std::string::npos);
  // The last run's outcome is told as what it was: the past period's.
  CHECK(after_status.find("\nbefore this budget period began: budget ceiling reached ($1.20 of "
                          "$1.00)\n") != std::string::npos);
  CHECK(nlohmann::json::parse(p.cli("status --json").out)["budgetReached"] == false);

  // The next run resumes M001: its worker's running total (1.20 so far) counts only beyond
  // what the last period counted, so U03 runs and the new period spent $0.10.
  CHECK(start_to_end(p) == 0);
  INFO(read_file(p.cli_log(2)));
  CHECK(runs(p) == std::vector<std::string>{"U01", "U02", "U03"});
  CHECK(state_of(p.root(), "M001") == "merged");
  CHECK(ledger_total(p) == Approx(0.1));
  auto last = nlohmann::json::parse(p.cli("budget --json").out);
  check_valid("budget-output", last);
  CHECK(last["spent"].get<double>() == Approx(0.1));
  CHECK(last["periodStart"].get<int64_t>() == fresh->period_start);
  auto last_status = nlohmann::json::parse(p.cli("status --json").out);
  check_valid("status-output", last_status);
  CHECK(last_status["totalCost"].get<double>() == Approx(0.1));
  CHECK(last_status["budgetReached"] == false);
}

TEST_CASE("budget reset is refused while a coordinator runs, and changes nothing",
          "[cli][budget]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})},
                 "  enabled: true\n  budget_ceiling: 5\n");
  // What a worker of the original protocol left: a session's key, and its last status file.
  REQUIRE_FALSE(sf::io::write_ledger(p.root(), {{"M001/3f2a", 2.5}}));
  sf::io::worker_status left;
  left.milestone_id = "M001";
  left.pid = 999999;
  left.state = sf::core::worker_state::stopped;
  left.cost = 2.5;
  left.last_heartbeat = left.started_at = sf::io::now_ms() - 1000;
  left.worktree_path = p.path(".sf/worktrees/M001");
  REQUIRE_FALSE(sf::io::write_status(p.root(), left));
  auto ledger_text = read_file(sf::io::ledger_path(p.root()));
  {
    // We play the running coordinator: we hold its lock.
    auto lock = sf::io::coordinator_lock::acquire(p.root());
    REQUIRE(lock);
    auto refused = p.cli("budget reset");
    CHECK(refused.exit_code == 7);
    CHECK(refused.err == "sf-actors: a coordinator (pid " + std::to_string(::getpid()) +
                           ") runs for " + p.root() +
                           " and records costs in its ledger; stop it first (`sf-actors stop`), "
                           "then run `sf-actors budget reset` again\n");
    CHECK(read_file(sf::io::ledger_path(p.root())) == ledger_text);
    CHECK(ledger_archives(p).empty());
  }
  auto text = p.cli("budget");
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("Spent: $2.50 of $5.00 ceiling ($2.50 left)\n- M001: $2.50\n") !=
        std::string::npos);
  // Without a coordinator it goes through; a second reset keeps the (empty) ledger too.
  auto first = p.cli("budget reset --json");
  INFO(first.out << first.err);
  CHECK(first.exit_code == 0);
  auto reset = nlohmann::json::parse(first.out, nullptr, false);
  check_valid("budget-reset-output", reset);
  CHECK(reset["previousSpent"] == Approx(2.5));
  REQUIRE(reset["archive"].is_string());
  CHECK(std::filesystem::exists(reset["archive"].get<std::string>()));
  CHECK(p.cli("budget reset").exit_code == 0);
  CHECK(ledger_archives(p).size() == 2);
  auto fresh = sf::io::read_ledger_record(p.root());
  REQUIRE(fresh);
  CHECK(fresh->total() == 0);
  CHECK(fresh->carried["M001/3f2a"] == Approx(2.5));
  // The status file was written before the period began: its money was the last period's.
  auto shown = nlohmann::json::parse(p.cli("budget --json").out);
  CHECK(shown["spent"] == 0);
  CHECK(nlohmann::json::parse(p.cli("status --json").out)["totalCost"] == 0);
}

TEST_CASE("budget --json without a ledger says nothing was spent", "[cli][budget]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  auto shown = p.cli("budget --json");
  REQUIRE(shown.exit_code == 0);
  auto j = nlohmann::json::parse(shown.out);
  check_valid("budget-output", j);
  CHECK(j["spent"] == 0);
  CHECK(j["ceiling"].is_null());
  CHECK(j["periodStart"].is_null());
  CHECK(p.cli("budget").out ==
        "Budget period: nothing spent yet, all runs until `sf-actors budget reset`\n"
        "Spent: $0.00 (no budget ceiling)\n");
}

TEST_CASE("an unreadable ledger is never replaced by budget reset, and budget says why",
          "[cli][budget]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  REQUIRE(p.cli("budget reset").exit_code == 0); // Creates .sf/parallel and a first ledger.
  write_file(sf::io::ledger_path(p.root()), "not json");
  auto reset = p.cli("budget reset");
  CHECK(reset.exit_code == 1);
  CHECK(reset.err.find("not a ledger") != std::string::npos);
  CHECK(reset.err.find("`mv " + sf::io::ledger_path(p.root())) != std::string::npos);
  CHECK(read_file(sf::io::ledger_path(p.root())) == "not json");
  CHECK(ledger_archives(p).empty());
  auto shown = p.cli("budget --json");
  CHECK(shown.exit_code == 1);
  auto j = nlohmann::json::parse(shown.out);
  check_valid("budget-output", j);
  REQUIRE(j["problems"].size() == 1);
  CHECK(j["problems"][0].get<std::string>().find("not a ledger") != std::string::npos);
}
