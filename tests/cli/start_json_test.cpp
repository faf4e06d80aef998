// `start --json`: standard output is one event line per run event, in the event log's shape,
// then one summary line; nothing else, so a script can read it line by line.
#include "docs/json_schema.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

using namespace sf::test;

namespace {

struct json_run {
  command_result result;
  std::vector<nlohmann::json> events; // Every line but the last.
  nlohmann::json summary;             // The last line.
};

// Runs `start --yes --json` and checks every line against its schema.
json_run start_json(const test_project& p) {
  json_run r;
  r.result = p.cli("start --yes --json");
  INFO("stdout: " << r.result.out << "\nstderr: " << r.result.err);
  std::istringstream lines(r.result.out);
  std::string line;
  std::vector<nlohmann::json> all;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    INFO(line);
    REQUIRE(j.is_object());
    all.push_back(std::move(j));
  }
  REQUIRE(all.size() >= 2);
  r.summary = all.back();
  all.pop_back();
  for (const auto& ev : all)
    check_valid("event", ev);
  check_valid("start-summary", r.summary);
  CHECK(r.summary["exitCode"] == r.result.exit_code);
  CHECK(all.back()["kind"] == "finished");
  r.events = std::move(all);
  return r;
}

} // namespace

TEST_CASE("start --json prints the run's events as JSON lines, then a summary", "[cli]") {
  test_project p({ms("M001", {}, {{"U01", "echo one > one.txt", {"one.txt"}, 0.25},
                                  {"U02", "echo two > two.txt", {"two.txt"}, 0.25}}),
                  ms("M002", {"M001"}, {{"U01", "echo three > three.txt", {"three.txt"}, 0.5}})},
                 "  enabled: true\n  auto_merge: auto\n");
  auto r = start_json(p);
  CHECK(r.result.exit_code == 0);
  // No report, prompt or progress text among the lines: they all parsed above.
  CHECK(r.result.out.find("Eligibility") == std::string::npos);
  CHECK(r.summary["kind"] == "summary");
  CHECK(r.summary["milestones"] == nlohmann::json({{{"milestoneId", "M001"}, {"state", "merged"}},
                                                   {{"milestoneId", "M002"}, {"state", "merged"}}}));
  CHECK(r.summary["counts"] == nlohmann::json({{"merged", 2}}));
  CHECK(r.summary["totalCost"].get<double>() == Approx(1.0));
  // The same events the log holds: each milestone's merge is among them.
  int merged = 0;
  for (const auto& ev : r.events)
    merged += ev.value("state", "") == "merged" && ev["kind"] == "state_changed" ? 1 : 0;
  CHECK(merged == 2);
  CHECK(p.git("log --format=%s main").find("M002") != std::string::npos);
}

TEST_CASE("start --json of a run with a failed milestone says so with exit 1", "[cli]") {
  test_project p({ms("M001", {}, {{"U01", "exit 3", {}, -1}}),
                  ms("M002", {}, {{"U01", "true", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n  max_restarts: 0\n");
  auto r = start_json(p);
  CHECK(r.result.exit_code == 1);
  CHECK(r.summary["counts"] == nlohmann::json({{"complete", 1}, {"failed", 1}}));
  CHECK(r.summary["milestones"][0]["state"] == "failed");
}

TEST_CASE("start --json refuses --detach and needs --yes without a terminal", "[cli]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  auto both = p.cli("start --yes --json --detach");
  CHECK(both.exit_code == 2);
  auto unasked = p.cli("start --json");
  CHECK(unasked.exit_code == 2);
  CHECK(unasked.out.empty());
  CHECK(unasked.err.find("pass --yes") != std::string::npos);
}

TEST_CASE("start --json on a terminal asks on the terminal and keeps stdout for JSON", "[cli]") {
  REQUIRE(std::filesystem::exists("/usr/bin/script")); // util-linux: gives the run a terminal.
  test_project p({ms("M001", {}, {{"U01", "echo hi > hi.txt", {"hi.txt"}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n");
  auto out = p.path("out.jsonl");
  // stdin and stderr are the terminal, stdout a file; the answer waits in the terminal.
  auto inner = sh_quote(SF_CLI_PATH) + " -C " + sh_quote(p.root()) + " start --json > " +
               sh_quote(out);
  auto screen = run("printf 'y\\n' | script -qec " + sh_quote(inner) + " /dev/null");
  INFO("terminal: " << screen.out << screen.err);
  CHECK(screen.exit_code == 0);
  CHECK(screen.out.find("Parallel Eligibility Report") != std::string::npos); // Styled there.
  CHECK(screen.out.find("Start 1 milestone(s)? [y/N]") != std::string::npos);
  std::istringstream lines(read_file(out));
  std::string line;
  nlohmann::json last;
  while (std::getline(lines, line)) {
    INFO(line);
    last = nlohmann::json::parse(line, nullptr, false);
    REQUIRE(last.is_object());
  }
  check_valid("start-summary", last);
  CHECK(last["counts"] == nlohmann::json({{"complete", 1}}));
}
