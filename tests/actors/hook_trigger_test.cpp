// Which hook each run event fires: the rules of actors/hook_trigger, without processes.
#include "actors/hook_trigger.hpp"

#include <catch2/catch.hpp>

using sf::hook_event;
using sf::hook_trigger;
using sf::run_event;
using sf::core::event_kind;
using sf::core::merge_kind;
using sf::core::milestone_state;

namespace {

run_event units(event_kind kind, const std::string& mid, int64_t done, int64_t total = 3) {
  run_event ev;
  ev.kind = kind;
  ev.milestone = mid;
  ev.completed_units = done;
  ev.total_units = total;
  return ev;
}

} // namespace

TEST_CASE("unit_done fires once per growth of a milestone's completed units", "[hooks]") {
  hook_trigger t{0};
  // The start gives the count; a state change that already carries the next count does not
  // hide the progress event that reports it.
  CHECK_FALSE(t.fire(units(event_kind::state_changed, "M001", 0)));
  CHECK_FALSE(t.fire(units(event_kind::state_changed, "M001", 1)));
  CHECK(t.fire(units(event_kind::progress, "M001", 1)) == hook_event::unit_done);
  CHECK_FALSE(t.fire(units(event_kind::progress, "M001", 1))); // Cost or current unit moved.
  CHECK(t.fire(units(event_kind::progress, "M001", 3)) == hook_event::unit_done);
  // Another milestone counts on its own; its first event is its starting point.
  CHECK_FALSE(t.fire(units(event_kind::progress, "M002", 2)));
  CHECK(t.fire(units(event_kind::progress, "M002", 3)) == hook_event::unit_done);
}

TEST_CASE("completion, attention, conflicts and failures fire their hooks", "[hooks]") {
  hook_trigger t{0};
  auto complete = units(event_kind::completed, "M009", 3);
  complete.state = milestone_state::complete;
  CHECK(t.fire(complete) == hook_event::milestone_complete);
  run_event attention;
  attention.kind = event_kind::needs_attention;
  attention.milestone = "M001";
  CHECK(t.fire(attention) == hook_event::needs_attention);
  run_event merge;
  merge.kind = event_kind::merge;
  merge.merge = merge_kind::merged;
  CHECK_FALSE(t.fire(merge));
  merge.merge = merge_kind::conflict;
  CHECK(t.fire(merge) == hook_event::conflict);
  auto state = units(event_kind::state_changed, "M002", 0);
  state.state = milestone_state::running;
  CHECK_FALSE(t.fire(state));
  state.state = milestone_state::failed;
  CHECK(t.fire(state) == hook_event::failed);
  state.text = "the same failure, told again";
  CHECK_FALSE(t.fire(state));
  // Complete once, whatever notes follow; complete again after it ran again.
  auto again = units(event_kind::completed, "M001", 3);
  again.state = milestone_state::complete;
  CHECK(t.fire(again) == hook_event::milestone_complete);
  again.text = "complete, queued for merge";
  CHECK_FALSE(t.fire(again));
  auto rerun = units(event_kind::state_changed, "M001", 0);
  rerun.state = milestone_state::running;
  CHECK_FALSE(t.fire(rerun));
  CHECK(t.fire(again) == hook_event::milestone_complete);
  run_event note;
  note.kind = event_kind::message;
  CHECK_FALSE(t.fire(note));
  note.kind = event_kind::finished;
  CHECK_FALSE(t.fire(note));
}

TEST_CASE("budget_reached fires once, for the first budget event at the ceiling", "[hooks]") {
  run_event budget;
  budget.kind = event_kind::budget;
  hook_trigger none{0};
  budget.cost = 1e9;
  CHECK_FALSE(none.fire(budget)); // No ceiling, nothing to reach.
  hook_trigger t{1.0};
  budget.cost = 0.4;
  CHECK_FALSE(t.fire(budget));
  budget.cost = 0.4 + 0.6; // Just under 1.0 in floating point: the ceiling counts it reached.
  CHECK(t.fire(budget) == hook_event::budget_reached);
  budget.cost = 2;
  CHECK_FALSE(t.fire(budget));
}
