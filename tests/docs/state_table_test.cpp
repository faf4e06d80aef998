// The milestone states in the docs and the schemas come from core/milestone_state's table: the
// diagram in docs/architecture.md is its rendering, and run.json's state enum is its names;
// every other enum a schema lists is checked against its one name table the same way.
#include "core/event_kind.hpp"
#include "core/merge_kind.hpp"
#include "core/milestone_state.hpp"
#include "core/worker_state.hpp"
#include "doctor/doctor.hpp"
#include "io/files/signal_file.hpp"
#include "docs/json_schema.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace sf::test;
namespace core = sf::core;

namespace {

// The Mermaid diagram of the move table, as docs/architecture.md must hold it.
std::string render_state_diagram() {
  std::string out = "```mermaid\nstateDiagram-v2\n";
  for (auto s : core::initial_milestone_states)
    out += "    [*] --> " + std::string(core::to_string(s)) + "\n";
  for (const auto& m : core::milestone_moves())
    out += "    " + std::string(core::to_string(m.from)) + " --> " +
           std::string(core::to_string(m.to)) + "\n";
  out += "```\n";
  return out;
}

std::vector<std::string> merge_kind_names() {
  std::vector<std::string> out;
  for (auto k : core::all_merge_kinds)
    out.emplace_back(core::to_string(k));
  return out;
}

std::vector<std::string> state_names() {
  std::vector<std::string> out;
  for (auto s : core::all_milestone_states)
    out.emplace_back(core::to_string(s));
  return out;
}

} // namespace

TEST_CASE("the state diagram in docs/architecture.md is the core's move table", "[docs]") {
  auto doc = read_file(std::string(SF_SOURCE_DIR) + "/docs/architecture.md");
  const std::string begin = "<!-- milestone-states:begin (generated from core/milestone_state.cpp) -->\n";
  const std::string end = "<!-- milestone-states:end -->";
  auto from = doc.find(begin);
  auto to = doc.find(end);
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  auto block = doc.substr(from + begin.size(), to - from - begin.size());
  // On a mismatch the expected block is printed: paste it between the markers.
  INFO("expected between the markers:\n" << render_state_diagram());
  CHECK(block == render_state_diagram());
}

TEST_CASE("run.json's and status --json's state enums are the core's state names", "[docs]") {
  for (std::string name : {"run", "status-output"}) {
    INFO(name << ".schema.json");
    auto schema = load_schema(name);
    auto states = schema.at("properties").at("workers").at("items").at("properties").at("state");
    CHECK(states.at("enum").get<std::vector<std::string>>() == state_names());
  }
}

TEST_CASE("stop/pause/resume and start --json list the core's state names", "[docs]") {
  auto row = [](const std::string& schema, const std::string& list) {
    return load_schema(schema).at("properties").at(list).at("items").at("properties").at("state");
  };
  CHECK(row("control-output", "milestones").at("oneOf").at(1).at("enum") ==
        nlohmann::json(state_names()));
  CHECK(row("start-summary", "milestones").at("enum") == nlohmann::json(state_names()));
  auto response = load_schema("control-response").at("properties").at("milestones");
  CHECK(response.at("items").at("properties").at("state").at("enum") ==
        nlohmann::json(state_names()));
  // The summary counts milestones per state: one property per state name.
  std::vector<std::string> counted;
  auto summary = load_schema("start-summary");
  for (const auto& entry : summary.at("properties").at("counts").at("properties").items())
    counted.push_back(entry.key());
  auto sorted = state_names();
  std::sort(sorted.begin(), sorted.end());
  CHECK(counted == sorted); // nlohmann::json orders object keys.
}

TEST_CASE("doctor --json's kinds are the doctor's labels in snake_case", "[docs]") {
  std::vector<std::string> ids;
  for (auto k : sf::io::all_finding_kinds)
    ids.push_back(sf::io::id_of(k));
  CHECK(ids.size() == static_cast<std::size_t>(sf::io::finding_kind::check_failed) + 1);
  CHECK(sf::io::id_of(sf::io::finding_kind::half_worktree) == "half_created_worktree");
  auto kind = load_schema("doctor-output").at("properties").at("findings").at("items")
                .at("properties").at("kind");
  CHECK(kind.at("enum").get<std::vector<std::string>>() == ids);
}

TEST_CASE("merge --json's and the control response's result enums are the core's merge kinds",
          "[docs]") {
  auto out = load_schema("merge-output");
  auto result = [](const nlohmann::json& report) {
    return report.at("properties").at("results").at("items").at("properties").at("result");
  };
  CHECK(result(out).at("enum").get<std::vector<std::string>>() == merge_kind_names());
  auto control = load_schema("control-response").at("properties").at("merge");
  CHECK(result(control).at("enum").get<std::vector<std::string>>() == merge_kind_names());
}

TEST_CASE("an event's kind and state are the core's names, as the event schema says",
          "[docs]") {
  // Milestone states first, then the merge kinds that are not also a state's name.
  auto expected = state_names();
  for (const auto& k : merge_kind_names())
    if (std::find(expected.begin(), expected.end(), k) == expected.end())
      expected.push_back(k);
  auto schema = load_schema("event");
  CHECK(schema.at("properties").at("state").at("enum").get<std::vector<std::string>>() ==
        expected);
  std::vector<std::string> kinds;
  for (auto k : core::all_event_kinds) {
    kinds.emplace_back(core::to_string(k));
    CHECK(core::parse_event_kind(kinds.back()) == k);
  }
  CHECK(schema.at("properties").at("kind").at("enum").get<std::vector<std::string>>() == kinds);
}

TEST_CASE("the status and signal files' enums are the worker states and signal kinds",
          "[docs]") {
  std::vector<std::string> states;
  for (auto w : core::all_worker_states) {
    states.emplace_back(core::to_string(w));
    CHECK(core::parse_worker_state(states.back()) == w);
  }
  CHECK(load_schema("status").at("properties").at("state").at("enum").get<std::vector<std::string>>() ==
        states);
  std::vector<std::string> signals;
  for (auto k : {sf::io::signal_kind::pause, sf::io::signal_kind::resume,
                 sf::io::signal_kind::stop, sf::io::signal_kind::rebase}) {
    signals.emplace_back(sf::io::to_string(k));
    CHECK(sf::io::parse_signal_kind(signals.back()) == k);
  }
  CHECK(load_schema("signal").at("properties").at("signal").at("enum").get<std::vector<std::string>>() ==
        signals);
}

TEST_CASE("every merge kind has one distinct name that parses back", "[core]") {
  auto names = merge_kind_names();
  for (std::size_t i = 0; i < core::all_merge_kinds.size(); ++i) {
    auto k = core::all_merge_kinds[i];
    CHECK(static_cast<std::size_t>(k) == i);
    CHECK(core::parse_merge_kind(names[i]) == k);
    CHECK(std::count(names.begin(), names.end(), names[i]) == 1);
  }
  CHECK_FALSE(core::parse_merge_kind("Merged").has_value());
  // An obstacle stops the queue; a merge that landed does not.
  for (auto k : core::all_merge_kinds) {
    INFO(core::to_string(k));
    if (core::is_obstacle(k))
      CHECK(core::stops_queue(k));
    if (core::is_on_main(k))
      CHECK_FALSE(core::stops_queue(k));
  }
  CHECK(core::stops_queue(core::merge_kind::conflict));
  CHECK_FALSE(core::stops_queue(core::merge_kind::waiting));
}
