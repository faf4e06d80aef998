#pragma once
/// Atoms naming the requests and notifications between sf-actors' actors.

#include <caf/atom.hpp>

namespace sf::atom {

using start = caf::atom_constant<caf::atom("sf_start")>;       ///< Start workers.
constexpr start start_v{};  ///< Value of `start`.
using stop = caf::atom_constant<caf::atom("sf_stop")>;         ///< Stop workers.
constexpr stop stop_v{};  ///< Value of `stop`.
using pause = caf::atom_constant<caf::atom("sf_pause")>;       ///< Pause between units.
constexpr pause pause_v{};  ///< Value of `pause`.
using resume = caf::atom_constant<caf::atom("sf_resume")>;     ///< Resume paused workers.
constexpr resume resume_v{};  ///< Value of `resume`.
using status = caf::atom_constant<caf::atom("sf_status")>;     ///< Ask for a snapshot.
constexpr status status_v{};  ///< Value of `status`.
using subscribe = caf::atom_constant<caf::atom("sf_sub")>;     ///< Subscribe to events.
constexpr subscribe subscribe_v{};  ///< Value of `subscribe`.
using event = caf::atom_constant<caf::atom("sf_event")>;       ///< An event for subscribers.
constexpr event event_v{};  ///< Value of `event`.
using progress = caf::atom_constant<caf::atom("sf_prog")>;     ///< A worker's new status.
constexpr progress progress_v{};  ///< Value of `progress`.
using exited = caf::atom_constant<caf::atom("sf_exited")>;     ///< A worker process ended.
constexpr exited exited_v{};  ///< Value of `exited`.
using pidfd_ready = caf::atom_constant<caf::atom("sf_pidfd")>; ///< A worker's pidfd is readable.
constexpr pidfd_ready pidfd_ready_v{};  ///< Value of `pidfd_ready`.
using stale = caf::atom_constant<caf::atom("sf_stale")>;       ///< A worker went quiet.
constexpr stale stale_v{};  ///< Value of `stale`.
using file = caf::atom_constant<caf::atom("sf_file")>;         ///< A watched file changed.
constexpr file file_v{};  ///< Value of `file`.
using changed = caf::atom_constant<caf::atom("sf_changed")>; ///< Names changed in a folder.
constexpr changed changed_v{};  ///< Value of `changed`.
using watch = caf::atom_constant<caf::atom("sf_watch")>;       ///< Route a milestone's files.
constexpr watch watch_v{};  ///< Value of `watch`.
using unwatch = caf::atom_constant<caf::atom("sf_unwatch")>;   ///< Stop routing.
constexpr unwatch unwatch_v{};  ///< Value of `unwatch`.
using heartbeat_due = caf::atom_constant<caf::atom("sf_hbdue")>; ///< A heartbeat deadline came.
constexpr heartbeat_due heartbeat_due_v{};  ///< Value of `heartbeat_due`.
using restart_due = caf::atom_constant<caf::atom("sf_rstdue")>; ///< A restart's backoff ended.
constexpr restart_due restart_due_v{};  ///< Value of `restart_due`.
using kill = caf::atom_constant<caf::atom("sf_kill")>;         ///< Stop grace elapsed.
constexpr kill kill_v{};  ///< Value of `kill`.
using cost = caf::atom_constant<caf::atom("sf_cost")>;         ///< A worker's cumulative cost.
constexpr cost cost_v{};  ///< Value of `cost`.
using control = caf::atom_constant<caf::atom("sf_ctl")>;       ///< A control request arrived.
constexpr control control_v{};  ///< Value of `control`.
using spawned = caf::atom_constant<caf::atom("sf_spawned")>;   ///< A worker was spawned.
constexpr spawned spawned_v{};  ///< Value of `spawned`.
using make_worktree = caf::atom_constant<caf::atom("sf_mkwtree")>; ///< Make a worktree.
constexpr make_worktree make_worktree_v{};  ///< Value of `make_worktree`.
using read_branch = caf::atom_constant<caf::atom("sf_rdbrnch")>; ///< Read a milestone branch.
constexpr read_branch read_branch_v{};  ///< Value of `read_branch`.
using read_changes = caf::atom_constant<caf::atom("sf_rdchng")>; ///< Files a branch changed.
constexpr read_changes read_changes_v{};  ///< Value of `read_changes`.
using clean_up = caf::atom_constant<caf::atom("sf_cleanup")>; ///< Clean up after a worker.
constexpr clean_up clean_up_v{};  ///< Value of `clean_up`.
using shutdown = caf::atom_constant<caf::atom("sf_shut")>;     ///< End the run.
constexpr shutdown shutdown_v{};  ///< Value of `shutdown`.

using merge = caf::atom_constant<caf::atom("sf_merge")>;       ///< Merge completed milestones.
constexpr merge merge_v{};  ///< Value of `merge`.
using enqueue = caf::atom_constant<caf::atom("sf_enq")>;       ///< Queue a milestone for merging.
constexpr enqueue enqueue_v{};  ///< Value of `enqueue`.
using merged = caf::atom_constant<caf::atom("sf_merged")>;     ///< A merge attempt ended.
constexpr merged merged_v{};  ///< Value of `merged`.
using running = caf::atom_constant<caf::atom("sf_running")>;   ///< Milestones still running.
constexpr running running_v{};  ///< Value of `running`.
using retry = caf::atom_constant<caf::atom("sf_retry")>;       ///< Try a blocked merge again.
constexpr retry retry_v{};  ///< Value of `retry`.
using obstacle = caf::atom_constant<caf::atom("sf_obstcl")>;   ///< A watched obstacle changed.
constexpr obstacle obstacle_v{};  ///< Value of `obstacle`.
using pushed = caf::atom_constant<caf::atom("sf_pushed")>;     ///< A push process ended.
constexpr pushed pushed_v{};  ///< Value of `pushed`.
using push_late = caf::atom_constant<caf::atom("sf_pushlt")>;  ///< A push ran past its timeout.
constexpr push_late push_late_v{};  ///< Value of `push_late`.
using repush = caf::atom_constant<caf::atom("sf_repush")>;     ///< Try a failed push again.
constexpr repush repush_v{};  ///< Value of `repush`.
using gate_done = caf::atom_constant<caf::atom("sf_gatedn")>; ///< The merge gate's command ended.
constexpr gate_done gate_done_v{};  ///< Value of `gate_done`.
using gate_late = caf::atom_constant<caf::atom("sf_gatelt")>; ///< The gate ran past its timeout.
constexpr gate_late gate_late_v{};  ///< Value of `gate_late`.
using decline = caf::atom_constant<caf::atom("sf_decline")>; ///< The user said no to a merge.
constexpr decline decline_v{};  ///< Value of `decline`.
using hook_tick = caf::atom_constant<caf::atom("sf_hooktk")>; ///< Look at the running hook.
constexpr hook_tick hook_tick_v{};  ///< Value of `hook_tick`.

} // namespace sf::atom
