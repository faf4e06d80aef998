#include "core/milestone_state.hpp"

#include "core/name_table.hpp"

#include <algorithm>

namespace sf::core {

namespace {

using ms = milestone_state;

// The one name table of the enum (core/name_table.hpp).
constexpr name_table<milestone_state, all_milestone_states.size()> names = {
    {"idle", "waiting", "queued", "starting", "running", "paused", "stale", "stopping",
     "restarting", "stopped", "complete", "merged", "conflict", "failed", "gate_failed"}};

} // namespace

std::string_view to_string(milestone_state s) {
  return names.name(s);
}

std::optional<milestone_state> parse_milestone_state(std::string_view name) {
  return names.parse(name);
}

bool holds_slot(milestone_state s) {
  return s == ms::starting || s == ms::running || s == ms::paused || s == ms::stale ||
         s == ms::stopping || s == ms::restarting;
}

bool has_live_worker(milestone_state s) {
  return s == ms::starting || s == ms::running || s == ms::paused || s == ms::stale ||
         s == ms::stopping;
}

milestone_state as_milestone_state(worker_state w) {
  switch (w) {
  case worker_state::running:
    return ms::running;
  case worker_state::paused:
    return ms::paused;
  case worker_state::stopped:
    return ms::stopped;
  case worker_state::error:
    return ms::failed;
  }
  return ms::failed;
}

bool is_settled(milestone_state s) {
  return s == ms::stopped || s == ms::merged || s == ms::conflict || s == ms::failed ||
         s == ms::gate_failed;
}

const std::vector<milestone_move>& milestone_moves() {
  static const std::vector<milestone_move> moves = {
      {ms::idle, ms::queued, "start requests it"},
      {ms::idle, ms::running, "its live worker is adopted after a coordinator restart"},
      {ms::stopped, ms::queued, "start requests it again"},
      {ms::failed, ms::queued, "start requests it again"},
      {ms::merged, ms::queued, "start requests it again"},
      {ms::conflict, ms::queued, "start requests it again"},
      {ms::gate_failed, ms::queued, "start requests it again"},
      {ms::complete, ms::queued, "start requests it again, or its agent is to fix a gate failure"},

      {ms::queued, ms::waiting, "a dependency is not on main"},
      {ms::waiting, ms::queued, "its dependencies are on main; no slot or budget"},
      {ms::queued, ms::starting, "a worker slot is free"},
      {ms::waiting, ms::starting, "its dependencies are on main and a slot is free"},
      {ms::queued, ms::running, "its live worker is adopted after a coordinator restart"},
      {ms::queued, ms::complete, "its branch already says complete: queued for merge"},
      {ms::waiting, ms::complete, "its branch already says complete: queued for merge"},
      {ms::queued, ms::merged, "its branch is already on main"},
      {ms::waiting, ms::merged, "its branch is already on main"},
      {ms::queued, ms::stopped, "stopped before it started"},
      {ms::waiting, ms::stopped, "stopped before it started"},

      {ms::starting, ms::running, "the worker's first status"},
      {ms::starting, ms::paused, "the worker's first status says paused"},
      {ms::running, ms::paused, "the worker holds between units"},
      {ms::paused, ms::running, "the worker resumes"},
      {ms::starting, ms::stale, "no heartbeat within stale_timeout"},
      {ms::running, ms::stale, "no heartbeat within stale_timeout"},
      {ms::paused, ms::stale, "no heartbeat within stale_timeout"},
      {ms::starting, ms::stopping, "a stop or the budget"},
      {ms::running, ms::stopping, "a stop or the budget"},
      {ms::paused, ms::stopping, "a stop or the budget"},
      {ms::stale, ms::stopping, "a stop or the budget"},

      {ms::starting, ms::complete, "the worker exits with every unit done"},
      {ms::running, ms::complete, "the worker exits with every unit done"},
      {ms::paused, ms::complete, "the worker exits with every unit done"},
      {ms::stopping, ms::complete, "the worker exits with every unit done"},
      {ms::stale, ms::complete, "the worker exits with every unit done"},
      {ms::starting, ms::restarting, "the worker died; the restart policy allows another"},
      {ms::running, ms::restarting, "the worker died; the restart policy allows another"},
      {ms::paused, ms::restarting, "the worker died; the restart policy allows another"},
      {ms::stale, ms::restarting, "the worker died; the restart policy allows another"},
      {ms::starting, ms::stopped, "the worker exits before its units are done"},
      {ms::running, ms::stopped, "the worker exits before its units are done"},
      {ms::paused, ms::stopped, "the worker exits before its units are done"},
      {ms::stale, ms::stopped, "the worker exits before its units are done"},
      {ms::stopping, ms::stopped, "the worker exits after the stop"},
      {ms::starting, ms::failed, "an error a restart cannot fix, or the restart limit"},
      {ms::running, ms::failed, "an error a restart cannot fix, or the restart limit"},
      {ms::paused, ms::failed, "an error a restart cannot fix, or the restart limit"},
      {ms::stale, ms::failed, "an error a restart cannot fix, or the restart limit"},
      {ms::stopping, ms::failed, "the worker exits with an error after the stop"},
      {ms::restarting, ms::starting, "the backoff has passed"},
      {ms::restarting, ms::stopped, "a stop or the budget before the restart"},

      {ms::complete, ms::merged, "the merge queue merged its branch"},
      {ms::complete, ms::conflict, "its merge stopped at a conflict"},
      {ms::conflict, ms::merged, "merged after the user resolved the conflict"},
      {ms::conflict, ms::complete, "queued for merge again"},
      {ms::complete, ms::gate_failed, "the merge gate failed on its merge"},
      {ms::gate_failed, ms::merged, "merged after the user fixed what the gate found"},
      {ms::gate_failed, ms::complete, "queued for merge again"},
      {ms::starting, ms::gate_failed, "its agent could not fix the gate failure"},
      {ms::running, ms::gate_failed, "its agent could not fix the gate failure"},
      {ms::paused, ms::gate_failed, "its agent could not fix the gate failure"},
      {ms::stale, ms::gate_failed, "its agent could not fix the gate failure"},
      {ms::stopping, ms::gate_failed, "its agent could not fix the gate failure"},
  };
  return moves;
}

bool can_move(milestone_state from, milestone_state to) {
  if (from == to)
    return true;
  const auto& moves = milestone_moves();
  return std::any_of(moves.begin(), moves.end(),
                     [&](const milestone_move& m) { return m.from == from && m.to == to; });
}

} // namespace sf::core
