// While milestones run, the coordinator reads which files each branch changed (after every
// committed unit) and warns when two unmerged milestones changed the same file: an event, a
// line in `status`, and `overlaps` in `status --json`. Real repositories, workers and commits.
#include "actors/file_overlaps.hpp"
#include "docs/json_schema.hpp"
#include "io/git/branch_changes.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/stop_at_end.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using namespace std::chrono_literals;
using namespace sf::test;

TEST_CASE("find_overlaps pairs milestones by the paths they share", "[overlap]") {
  std::map<std::string, std::vector<std::string>> changed = {
    {"M001", {"a.c", "b.c", "docs/x.md"}},
    {"M002", {"b.c", "c.c", "docs/x.md"}},
    {"M003", {"z.c"}},
    {"M004", {"a.c"}}};
  auto got = sf::find_overlaps(changed);
  REQUIRE(got.size() == 2);
  CHECK(got[0].first == "M001");
  CHECK(got[0].second == "M002");
  CHECK(got[0].files == std::vector<std::string>{"b.c", "docs/x.md"});
  CHECK(got[1].first == "M001");
  CHECK(got[1].second == "M004");
  CHECK(got[1].files == std::vector<std::string>{"a.c"});
  CHECK(sf::find_overlaps({{"M001", {"a"}}, {"M002", {"b"}}}).empty());
  CHECK(sf::overlap_text(got[0]) == "M001 and M002 both changed b.c, docs/x.md");
  sf::file_overlap many{"M001", "M002", {"1", "2", "3", "4", "5", "6", "7"}};
  CHECK(sf::overlap_text(many) == "M001 and M002 both changed 1, 2, 3, 4, 5 and 2 more");
}

TEST_CASE("a branch's changes are its own work since it left main, outside .sf/",
          "[overlap][git]") {
  test_project p({ms("M001", {}, {unit("U01", "true")})}, "  enabled: true\n");
  write_file(p.path("old.txt"), "old\n");
  write_file(p.path("kept.txt"), "kept\n");
  p.git("add old.txt kept.txt");
  p.git("commit -q -m base");
  CHECK_FALSE(*sf::io::read_branch_changes(p.root(), "M001")); // No branch yet.
  p.git("branch milestone/M001");
  auto none = sf::io::read_branch_changes(p.root(), "M001");
  REQUIRE(none);
  REQUIRE(*none);
  CHECK((*none)->files.empty());
  p.git("switch -q milestone/M001");
  p.git("mv old.txt new.txt");
  write_file(p.path("added.txt"), "added\n");
  write_file(p.path(".sf/metrics.json"), "{}\n");
  p.git("add -A");
  p.git("commit -q -m work");
  p.git("switch -q main");
  // main moves on by itself: its own changes are not the branch's.
  write_file(p.path("kept.txt"), "changed on main\n");
  p.git("commit -q -am main-work");
  auto got = sf::io::read_branch_changes(p.root(), "M001");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->files == std::vector<std::string>{"added.txt", "new.txt", "old.txt"});
  CHECK((*got)->tip == p.git("rev-parse milestone/M001").substr(0, 40));
}

TEST_CASE("two running milestones that change the same file are warned about while they run",
          "[overlap][runtime]") {
  // Each writes its file and commits, then holds; M003 works elsewhere.
  test_project p({ms("M001", {}, {unit("U01", "echo one >> shared.txt; echo a > a.txt"),
                                  unit("U02", hold("one"))}),
                  ms("M002", {}, {unit("U01", "echo two >> shared.txt; echo b > a.txt"),
                                  unit("U02", hold("two"))}),
                  ms("M003", {}, {unit("U01", "echo three > three.txt"),
                                  unit("U02", hold("three"))})},
                 "  enabled: true\n  max_workers: 3\n  auto_merge: manual\n  stop_grace: 5\n");
  auto started = p.cli("start --yes --detach");
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  stop_at_end cleanup{p};
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "\"overlap\"").empty(); },
                   60s));
  auto lines = event_lines(p.root(), "\"overlap\"");
  REQUIRE(lines.size() == 1); // One warning for the pair, naming both files.
  auto ev = nlohmann::json::parse(lines[0]);
  check_valid("event", ev);
  CHECK(ev["milestone"] == "M002");
  CHECK(ev["with"] == "M001");
  CHECK(ev["files"] == nlohmann::json::array({"a.txt", "shared.txt"}));
  CHECK(ev["text"] == "M001 and M002 both changed a.txt, shared.txt; merging the second may "
                      "conflict (`sf-actors merge --dry-run` predicts it)");

  auto status = p.cli("status --json");
  REQUIRE(status.exit_code == 0);
  auto j = nlohmann::json::parse(status.out);
  check_valid("status-output", j);
  REQUIRE(j["overlaps"].size() == 1);
  CHECK(j["overlaps"][0]["milestones"] == nlohmann::json::array({"M001", "M002"}));
  CHECK(j["overlaps"][0]["files"] == nlohmann::json::array({"a.txt", "shared.txt"}));
  auto text = p.cli("status").out;
  INFO(text);
  CHECK(text.find("\nOverlapping changes (the later merge may conflict):\n"
                  "- M001 and M002 both changed a.txt, shared.txt\n") != std::string::npos);

  // The run ends with both complete and unmerged: the warning stays until one is merged.
  for (const char* gate : {"one", "two", "three"})
    release(p, gate);
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "run finished").empty(); },
                   60s));
  CHECK(event_lines(p.root(), "\"overlap\"").size() == 1);
  auto after = nlohmann::json::parse(p.cli("status --json").out);
  CHECK(after["overlaps"].size() == 1);
  auto merged = p.cli("merge M001");
  INFO(merged.out << merged.err);
  REQUIRE(merged.exit_code == 0);
  auto last = nlohmann::json::parse(p.cli("status --json").out);
  check_valid("status-output", last);
  CHECK(last["overlaps"].empty());
  CHECK(p.cli("status").out.find("Overlapping changes") == std::string::npos);
}
