// The milestone states in the docs and the schemas come from core/milestone_state's table: the
// diagram in docs/architecture.md is its rendering, and run.json's state enum is its names.
#include "core/milestone_state.hpp"
#include "docs/json_schema.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

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
