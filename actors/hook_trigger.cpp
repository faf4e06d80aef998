#include "actors/hook_trigger.hpp"

#include "config/cost.hpp"

namespace sf {

hook_trigger::hook_trigger(double budget_ceiling) : ceiling_(budget_ceiling) {
}

std::optional<hook_event> hook_trigger::fire(const run_event& ev) {
  using core::event_kind;
  // The first event of a milestone gives the count it starts from; only progress events move
  // it (a state change may already carry the count its progress event is about to report).
  bool grew = false;
  if (!ev.milestone.empty() && ev.total_units > 0) {
    auto [it, fresh] = units_done_.emplace(ev.milestone, ev.completed_units);
    if (!fresh && ev.kind == event_kind::progress) {
      grew = ev.completed_units > it->second;
      it->second = ev.completed_units;
    }
  }
  // `completed` and `failed` are told on the way in: a second event in the same state (its
  // note changed, e.g. "queued for merge") is no new completion.
  bool entered = false;
  if (ev.state && !ev.milestone.empty()) {
    auto [it, fresh] = last_state_.emplace(ev.milestone, *ev.state);
    entered = fresh || it->second != *ev.state;
    it->second = *ev.state;
  }
  switch (ev.kind) {
    case event_kind::progress:
      if (grew)
        return hook_event::unit_done;
      return std::nullopt;
    case event_kind::completed:
      if (entered)
        return hook_event::milestone_complete;
      return std::nullopt;
    case event_kind::needs_attention:
      return hook_event::needs_attention;
    case event_kind::merge:
      if (ev.merge && *ev.merge == core::merge_kind::conflict)
        return hook_event::conflict;
      return std::nullopt;
    case event_kind::budget:
      if (budget_told_ || !ceiling_reached(ev.cost, ceiling_))
        return std::nullopt;
      budget_told_ = true;
      return hook_event::budget_reached;
    case event_kind::state_changed:
      if (entered && (*ev.state == core::milestone_state::failed ||
                      *ev.state == core::milestone_state::gate_failed))
        return hook_event::failed;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

} // namespace sf
