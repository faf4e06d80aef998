#pragma once
/// milestone_state: the states a milestone passes through in a run, their one name table, and
/// the moves between them. Plain C++: no CAF, no I/O, so it is tested as pure logic.

#include "core/worker_state.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace sf::core {

/// Where a milestone stands, as the coordinator sees it.
enum class milestone_state : uint8_t {
  idle,       ///< Known from the plan, not requested by this run.
  waiting,    ///< Requested; a dependency is not on main yet.
  queued,     ///< Requested and eligible; waits for a worker slot (or the budget).
  starting,   ///< A supervisor spawns its worker; no status file yet.
  running,    ///< Its worker runs units.
  paused,     ///< Its worker holds between units.
  stale,      ///< Its heartbeat stopped; it is being stopped.
  stopping,   ///< A stop was sent; the worker has not exited yet.
  restarting, ///< Its worker died; a new one starts after the backoff.
  stopped,    ///< Ended by a stop, the budget or a shutdown before it was complete.
  complete,   ///< Every unit is done on its branch; not (yet) on main.
  merged,     ///< Its branch is on main.
  conflict,   ///< Its merge stopped at a conflict; the user resolves it.
  failed,     ///< Gave up: restart limit reached, or an error that a restart cannot fix.
  gate_failed, ///< Complete, but the merge gate failed on its merge; main unchanged.
};

/// Every state, in declaration order.
inline constexpr std::array<milestone_state, 15> all_milestone_states = {
    milestone_state::idle,     milestone_state::waiting,  milestone_state::queued,
    milestone_state::starting, milestone_state::running,  milestone_state::paused,
    milestone_state::stale,    milestone_state::stopping, milestone_state::restarting,
    milestone_state::stopped,  milestone_state::complete, milestone_state::merged,
    milestone_state::conflict, milestone_state::failed,   milestone_state::gate_failed};

/// The states a coordinator gives a milestone when it loads the plan: idle, or complete when
/// main or an unfinished merge-queue item shows every unit done.
inline constexpr std::array<milestone_state, 2> initial_milestone_states = {
    milestone_state::idle, milestone_state::complete};

/// The state's name in run.json, events, logs and `status`.
std::string_view to_string(milestone_state s);

/// The state named `name`, if any.
std::optional<milestone_state> parse_milestone_state(std::string_view name);

/// True while the milestone holds a worker slot (its supervisor may still be alive).
bool holds_slot(milestone_state s);

/// True while a worker process may be alive and writing heartbeats (starting, running, paused,
/// stale, stopping): its status file is fresher than the coordinator's row.
bool has_live_worker(milestone_state s);

/// How `status` shows a milestone whose worker's own file is all it has: a worker in `error`
/// is about to exit with it, which the coordinator would call failed.
milestone_state as_milestone_state(worker_state w);

/// True for a state the run leaves alone until a new `start` (stopped, merged, conflict,
/// failed, gate_failed).
bool is_settled(milestone_state s);

/// One legal move, with the reason it happens (for the diagram and the docs).
struct milestone_move {
  milestone_state from; ///< State before.
  milestone_state to;   ///< State after.
  std::string_view why; ///< What causes it.
};

/// Every legal move between two different states. Staying in a state (with a new note) is
/// always legal and not listed.
const std::vector<milestone_move>& milestone_moves();

/// True when `from -> to` is in the table, or `from == to`.
bool can_move(milestone_state from, milestone_state to);

} // namespace sf::core
