// docs/schemas/*.schema.json describe the files sf-actors really writes: validate real files
// from a real run and from the io functions, and check the validator rejects wrong ones.
#include "actors/orchestrator.hpp"
#include "docs/json_schema.hpp"
#include "io/files/control_file.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/merge_queue_file.hpp"
#include "io/files/merge_report_json.hpp"
#include "io/files/signal_file.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>

#include <chrono>
#include <future>
#include <sstream>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

nlohmann::json parse_file(const std::string& path) {
  return nlohmann::json::parse(read_file(path));
}

// Names in `dir` that end with `suffix`.
std::vector<std::string> names_ending(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.push_back(name);
    }
    ::closedir(d);
  }
  return out;
}

} // namespace

TEST_CASE("the schema checker rejects what the schemas forbid", "[docs]") {
  auto status = load_schema("status");
  nlohmann::json good = {{"milestoneId", "M001"},  {"pid", 42},         {"state", "running"},
                         {"currentUnit", nullptr}, {"completedUnits", 0}, {"cost", 0.5},
                         {"lastHeartbeat", 1},     {"startedAt", 1},    {"worktreePath", "/x"},
                         {"somethingNew", true}};
  CHECK(schema_errors(status, good).empty());
  auto bad = good;
  bad["state"] = "sleeping";
  CHECK(schema_errors(status, bad).size() == 1);
  bad = good;
  bad.erase("pid");
  CHECK(schema_errors(status, bad).size() == 1);
  bad = good;
  bad["cost"] = -1;
  CHECK(schema_errors(status, bad).size() == 1);
  bad["cost"] = 1.7e308; // finite, past the documented maximum
  CHECK(schema_errors(status, bad).size() == 1);
  bad["cost"] = 1000000;
  CHECK(schema_errors(status, bad).empty());
  bad = good;
  bad["currentUnit"] = {{"type", "unit"}};
  CHECK_FALSE(schema_errors(status, bad).empty());
  bad = good;
  bad["completedUnits"] = 1.5;
  CHECK(schema_errors(status, bad).size() == 1);
  auto ledger = load_schema("ledger");
  CHECK(schema_errors(ledger, {{"costs", {{"M001", 1.0}}}, {"total", 1.0}}).empty());
  CHECK(schema_errors(ledger, {{"costs", {{"M001", "x"}}}, {"total", 1.0}}).size() == 1);
  CHECK(schema_errors(ledger, {{"costs", {{"M001", 1.7e308}}}, {"total", 1.0}}).size() == 1);
  CHECK(schema_errors(ledger, {{"costs", nlohmann::json::object()}, {"total", 0}, {"extra", 1}}).size() == 1);
  // Array sizes: an overlap names exactly two milestones and at least one file.
  auto overlap = load_schema("run")["properties"]["overlaps"]["items"];
  CHECK(schema_errors(overlap, {{"milestones", {"M001", "M002"}}, {"files", {"a"}}}).empty());
  CHECK(schema_errors(overlap, {{"milestones", {"M001"}}, {"files", {"a"}}}).size() == 1);
  CHECK(schema_errors(overlap, {{"milestones", {"M1", "M2", "M3"}}, {"files", {"a"}}}).size() ==
        1);
  CHECK(schema_errors(overlap, {{"milestones", {"M001", "M002"}},
                                {"files", nlohmann::json::array()}}).size() == 1);
}

TEST_CASE("files of a real run match the documented schemas", "[docs]") {
  // Each unit copies its own status file while it runs, since a clean exit removes it.
  auto copy = [](const std::string& to) {
    return "cp \"$SF_PROJECT_ROOT/.sf/parallel/$SF_MILESTONE_LOCK.status.json\" " + to +
           " && echo SF_COST 0.25";
  };
  test_project p({ms("M001", {}, {{"U01", copy("s1.json"), {"s1.json"}, -1},
                                  {"U02", copy("s2.json"), {"s2.json"}, -1}}),
                  ms("M002", {}, {{"U01", copy("s3.json"), {"s3.json"}, -1}})},
                 "  enabled: true\n  max_workers: 2\n  auto_merge: manual\n"
                 "  budget_ceiling: 100\n");
  sf::orchestrator_options opts;
  auto prefs = sf::load_preferences(p.root(), p.root());
  REQUIRE(prefs);
  opts.prefs = *prefs;
  opts.worker_argv = {SF_CLI_PATH, "worker"};
  {
    sf::orchestrator_runtime rt{p.root(), opts};
    REQUIRE_FALSE(rt.error());
    auto reply = rt.start();
    REQUIRE(reply);
    REQUIRE(rt.wait_finished(120s));
  }
  std::vector<nlohmann::json> statuses;
  for (std::string f : {".sf/worktrees/M001/s1.json", ".sf/worktrees/M001/s2.json",
                        ".sf/worktrees/M002/s3.json"})
    statuses.push_back(parse_file(p.path(f)));
  for (const auto& s : statuses)
    check_valid("status", s);
  CHECK(statuses[1]["completedUnits"] == 1);
  CHECK(statuses[1]["currentUnit"]["id"] == "U02");

  check_valid("run", parse_file(p.path(".sf/parallel/run.json")));
  auto status = p.cli("status --json");
  CHECK(status.exit_code == 0);
  auto shown = nlohmann::json::parse(status.out);
  check_valid("status-output", shown);
  CHECK(shown["workers"].size() == 2);
  CHECK(shown["workers"][0]["state"] == "complete");
  auto ledger = parse_file(p.path(".sf/parallel/ledger.json"));
  check_valid("ledger", ledger);
  CHECK(ledger["total"].get<double>() == Approx(0.75));

  std::istringstream events(read_file(p.path(".sf/parallel/events.jsonl")));
  std::string line;
  int count = 0;
  while (std::getline(events, line)) {
    check_valid("event", nlohmann::json::parse(line));
    ++count;
  }
  CHECK(count > 5);
}

TEST_CASE("files written by the io functions match the documented schemas", "[docs]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  REQUIRE_FALSE(sf::io::send_signal(p.root(), "M001", sf::io::signal_kind::pause));
  check_valid("signal", parse_file(sf::io::signal_path(p.root(), "M001")));

  REQUIRE_FALSE(sf::io::write_ledger(p.root(), {{"M001", 1.5}, {"M002", 0}}));
  check_valid("ledger", parse_file(sf::io::ledger_path(p.root())));

  sf::merge_item item;
  item.milestone = "M001";
  item.title = "First";
  item.tip = std::string(40, 'a');
  item.units = {"U01 one"};
  item.sequence = 3;
  REQUIRE_FALSE(sf::io::write_merge_queue(p.root(), {item}));
  check_valid("merge-queue", parse_file(p.path(".sf/parallel/merge-queue.json")));

  REQUIRE_FALSE(sf::io::ensure_control_dir(p.root()));
  auto control = p.path(".sf/parallel/control");
  sf::io::control_response paused;
  paused.lines = {"M001: pause requested"};
  paused.milestones = {{"M001", sf::core::milestone_state::running, "pause requested"}};
  REQUIRE_FALSE(sf::io::write_control_response(p.root(), "feed", paused));
  check_valid("control-response", parse_file(control + "/feed.response.json"));

  // A real request: the sender waits for an answer that we give once we have checked it. We
  // play the coordinator, so we hold its lock (the sender gives up when nobody holds it).
  auto lock = sf::io::coordinator_lock::acquire(p.root());
  REQUIRE(lock);
  auto reply = std::async(std::launch::async, [&] {
    return sf::io::send_control_request(p.root(), "merge", "M001", 20s, true);
  });
  std::vector<std::string> requests;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (requests.empty() && std::chrono::steady_clock::now() < deadline) {
    requests = names_ending(control, ".request.json");
    if (requests.empty())
      reply.wait_for(2ms); // Poll with a deadline; the sender writes within microseconds.
  }
  REQUIRE(requests.size() == 1);
  auto request = parse_file(control + "/" + requests[0]);
  check_valid("control-request", request);
  CHECK(request["dryRun"] == true);
  auto id = requests[0].substr(0, requests[0].size() - std::string(".request.json").size());
  // The answer to a merge is the typed report, checked against both schemas on its way.
  sf::merge_outcome would;
  would.milestone = "M001";
  would.kind = sf::core::merge_kind::would_conflict;
  would.text = "M002";
  would.files = {"a.txt", "b/c.txt"};
  sf::io::control_response merged;
  merged.merge = sf::merge_report{{would}, 5, true};
  merged.exit_code = 5;
  check_valid("merge-output", sf::io::merge_report_to_json(*merged.merge));
  REQUIRE_FALSE(sf::io::write_control_response(p.root(), id, merged));
  auto answer = reply.get();
  REQUIRE(answer);
  CHECK(answer->lines.empty());
  CHECK(answer->exit_code == 5);
  REQUIRE(answer->merge);
  REQUIRE(answer->merge->results.size() == 1);
  const auto& got = answer->merge->results[0];
  CHECK(got.milestone == "M001");
  CHECK(got.kind == sf::core::merge_kind::would_conflict);
  CHECK(got.text == "M002");
  CHECK(got.files == would.files);
  CHECK(answer->merge->exit_code == 5);
  CHECK(answer->merge->queue_retries);
}
