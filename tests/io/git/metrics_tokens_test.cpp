// metrics.json records of agent units carry tokens (per unit and per milestone); the merge of
// the file into main, its only reader outside the worker, keeps them as written.
#include "io/git/state_merge.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

TEST_CASE("merge_metrics_json keeps the tokens of units and milestones", "[merge][agent]") {
  nlohmann::json tokens = {{"input", 1200}, {"output", 300}, {"cached", 5000}};
  nlohmann::json ours = {{"milestones", {{"M001", {{"cost", 0.1}}}}}};
  nlohmann::json theirs = ours;
  theirs["milestones"]["M002"] = {
      {"cost", 0.4},
      {"tokens", tokens},
      {"units", {{{"id", "U01"}, {"cost", 0.4}, {"tokens", tokens}}}},
      {"failedUnits", {{{"id", "U02"}, {"cost", 0.0}, {"tokens", {{"input", 7}}}}}}};
  auto merged = sf::io::merge_metrics_json(ours.dump(), ours.dump(), theirs.dump());
  REQUIRE(merged);
  auto out = nlohmann::json::parse(*merged);
  CHECK(out["milestones"]["M002"]["tokens"] == tokens);
  CHECK(out["milestones"]["M002"]["units"][0]["tokens"] == tokens);
  CHECK(out["milestones"]["M002"]["failedUnits"][0]["tokens"]["input"] == 7);
  CHECK(out["milestones"]["M001"] == ours["milestones"]["M001"]);
}
