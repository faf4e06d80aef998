// A merge done by `sf-actors merge` without a coordinator leaves true state behind: the queue
// file a finished run left no longer lists it, and `status` says merged.
#include "io/files/merge_queue_file.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace sf::test;

TEST_CASE("status and the merge queue file are true after a merge without a coordinator",
          "[cli]") {
  // auto_merge: confirm without a terminal waits as manual: the run ends with M001 queued.
  test_project p({ms("M001", {}, {{"U1", "echo one > one.txt", {"one.txt"}, -1}})},
                 "  enabled: true\n");
  auto run = p.cli("start --yes");
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  auto queued = sf::io::read_merge_queue(p.root());
  REQUIRE(queued);
  REQUIRE(queued->size() == 1);
  auto merged = p.cli("merge");
  INFO(merged.out << merged.err);
  REQUIRE(merged.exit_code == 0);
  CHECK(p.git("show main:one.txt").rfind("one", 0) == 0);
  auto after = sf::io::read_merge_queue(p.root());
  REQUIRE(after);
  CHECK(after->empty());
  auto status = p.cli("status --json");
  REQUIRE(status.exit_code == 0);
  auto j = nlohmann::json::parse(status.out);
  REQUIRE(j["workers"].size() == 1);
  CHECK(j["workers"][0]["state"] == "merged");
  auto text = p.cli("status");
  CHECK(text.out.find("M001** — Milestone M001: merged") != std::string::npos);
  // A second merge finds nothing left and changes nothing.
  auto again = p.cli("merge");
  CHECK(again.exit_code == 0);
  CHECK(p.git("log --merges --format=%s main").find("M001") != std::string::npos);
}
