#include "core/milestone_state.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

using sf::core::milestone_state;
namespace core = sf::core;

TEST_CASE("every milestone state has one distinct name that parses back", "[core]") {
  std::set<std::string> seen;
  for (auto s : core::all_milestone_states) {
    auto name = std::string(core::to_string(s));
    CHECK_FALSE(name.empty());
    CHECK(seen.insert(name).second);
    CHECK(core::parse_milestone_state(name) == s);
  }
  CHECK(seen.size() == core::all_milestone_states.size());
  CHECK_FALSE(core::parse_milestone_state("Running").has_value());
  CHECK_FALSE(core::parse_milestone_state("").has_value());
  // Declaration order is the table's order (the name table is indexed by the value).
  for (std::size_t i = 0; i < core::all_milestone_states.size(); ++i)
    CHECK(static_cast<std::size_t>(core::all_milestone_states[i]) == i);
}

TEST_CASE("the move table is well formed", "[core]") {
  std::set<std::pair<milestone_state, milestone_state>> pairs;
  for (const auto& m : core::milestone_moves()) {
    INFO(core::to_string(m.from) << " -> " << core::to_string(m.to));
    CHECK(m.from != m.to);
    CHECK_FALSE(m.why.empty());
    CHECK(pairs.insert({m.from, m.to}).second); // listed once
    CHECK(core::can_move(m.from, m.to));
  }
  for (auto s : core::all_milestone_states)
    CHECK(core::can_move(s, s));
}

TEST_CASE("every state is reachable from idle and every state can be left", "[core]") {
  std::set<milestone_state> reached = {milestone_state::idle};
  CHECK(core::initial_milestone_states[0] == milestone_state::idle);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& m : core::milestone_moves())
      if (reached.count(m.from) && reached.insert(m.to).second)
        grew = true;
  }
  for (auto s : core::all_milestone_states) {
    INFO(core::to_string(s));
    CHECK(reached.count(s) == 1);
    bool leaves = false;
    for (const auto& m : core::milestone_moves())
      leaves = leaves || m.from == s;
    CHECK(leaves);
  }
}

TEST_CASE("settled states wait for a new start, and a slot is held only by a worker's states",
          "[core]") {
  for (const auto& m : core::milestone_moves()) {
    INFO(core::to_string(m.from) << " -> " << core::to_string(m.to));
    // A settled milestone moves only when start requests it again (or, after a conflict,
    // when its merge goes on).
    if (core::is_settled(m.from) && m.from != milestone_state::conflict &&
        m.from != milestone_state::gate_failed)
      CHECK(m.to == milestone_state::queued);
    // Nothing skips the merge: merged is entered only from complete, conflict or a branch
    // found already on main before it ran.
    if (m.to == milestone_state::merged)
      CHECK((m.from == milestone_state::complete || m.from == milestone_state::conflict ||
             m.from == milestone_state::gate_failed || m.from == milestone_state::queued ||
             m.from == milestone_state::waiting));
    // A slot is entered only through starting (or the adoption of a live worker).
    if (core::holds_slot(m.to) && !core::holds_slot(m.from))
      CHECK((m.to == milestone_state::starting || m.to == milestone_state::running));
  }
  CHECK_FALSE(core::can_move(milestone_state::idle, milestone_state::complete));
  CHECK_FALSE(core::can_move(milestone_state::running, milestone_state::merged));
  CHECK_FALSE(core::can_move(milestone_state::failed, milestone_state::running));
  CHECK(core::holds_slot(milestone_state::restarting));
  CHECK_FALSE(core::holds_slot(milestone_state::queued));
}
