// `graph --json`'s data: every milestone with its status and dependencies, one edge per
// dependency, and dependencies absent from the plan marked, in the documented shape.
#include "cli/plan_graph_json.hpp"
#include "config/plan_builders.hpp"
#include "docs/json_schema.hpp"

#include <catch2/catch.hpp>

using sf::milestone_status;
using sf::test::make_milestone;

TEST_CASE("the graph as JSON lists milestones, edges and missing dependencies", "[eligibility]") {
  sf::plan p;
  p.milestones.push_back(make_milestone("M001", "Core Types", milestone_status::complete));
  p.milestones.push_back(
    make_milestone("M003", "Dashboard UI", milestone_status::active, {"M001", "M009"}));
  p.milestones.push_back(make_milestone("M004", "Later", milestone_status::parked, {"M009"}));
  auto j = sf::cli::graph_to_json(p);
  sf::test::check_valid("graph-output", j);
  REQUIRE(j["milestones"].size() == 3);
  CHECK(j["milestones"][0] == nlohmann::json({{"id", "M001"},
                                              {"title", "Core Types"},
                                              {"status", "complete"},
                                              {"dependsOn", nlohmann::json::array()}}));
  CHECK(j["milestones"][1]["status"] == "active");
  CHECK(j["milestones"][2]["dependsOn"] == nlohmann::json({"M009"}));
  CHECK(j["edges"] == nlohmann::json({{{"from", "M001"}, {"to", "M003"}, {"missing", false}},
                                      {{"from", "M009"}, {"to", "M003"}, {"missing", true}},
                                      {{"from", "M009"}, {"to", "M004"}, {"missing", true}}}));
  CHECK(j["missing"] == nlohmann::json({"M009"}));
}
