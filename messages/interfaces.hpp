#pragma once
/// Every typed actor interface of sf-actors, in one place, so an actor can name another's
/// handle without seeing its implementation.

#include "messages/atoms.hpp"
#include "messages/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sf {

/// Anything that wants run events: the CLI's progress view, an embedding host's actor.
using event_sink_actor = caf::typed_actor<
  /// Receives one event.
  caf::reacts_to<atom::event, run_event>>;

/// Runs the user's hooks (`parallel.hooks`) for the events it receives, one at a time.
using hook_runner_actor = caf::typed_actor<
  /// An event of the run, as every subscriber gets it.
  caf::reacts_to<atom::event, run_event>,
  /// Its own wakeup: waits briefly for the running hook, then looks at the mailbox again.
  caf::reacts_to<atom::hook_tick>>;

/// Sums the cost of every worker of a run and persists it.
using budget_ledger_actor = caf::typed_actor<
  /// Records a worker's cumulative cost and tokens for (milestone, session); lower values are
  /// anomalies and ignored. Sessions of one milestone add up; an empty session is the whole
  /// milestone.
  caf::replies_to<atom::cost, std::string, std::string, double,
                  core::token_counts>::with<budget_update>,
  /// The current totals (milestone empty).
  caf::replies_to<atom::status>::with<budget_update>>;

/// Owns one worker process: its worktree, its pidfd, its heartbeat deadline, its signals.
using worker_supervisor_actor = caf::typed_actor<
  /// The worker's status file changed (from the fs_watcher).
  caf::reacts_to<atom::file>,
  /// Ask the worker to pause after its current unit.
  caf::reacts_to<atom::pause>,
  /// Ask a paused worker to continue.
  caf::reacts_to<atom::resume>,
  /// Stop the worker: signal file, SIGTERM, then SIGKILL after the grace period.
  caf::reacts_to<atom::stop>,
  /// The worker's pidfd became readable (from the reactor thread).
  caf::reacts_to<atom::pidfd_ready>,
  /// Heartbeat deadline of the given generation elapsed.
  caf::reacts_to<atom::heartbeat_due, uint64_t>,
  /// Stop grace of the given generation elapsed: SIGKILL the group.
  caf::reacts_to<atom::kill, uint64_t>>;

/// Makes (or finds) one milestone's worktree, answers with its path, and ends.
using worktree_helper_actor = caf::typed_actor<
  /// Make the worktree now (blocking: the helper runs detached).
  caf::replies_to<atom::make_worktree>::with<std::string>>;

/// Removes an exited worker's runtime files and ends what it left running, then ends.
using worker_cleanup_actor = caf::typed_actor<
  /// Clean up now (blocking: the helper runs detached); answers how many processes it ended.
  caf::replies_to<atom::clean_up>::with<int>>;

/// Reads milestone branches (libgit2 and the YAML of the committed MILESTONE.md) on a thread of
/// its own, so the coordinator never waits on the repository.
using branch_reader_actor = caf::typed_actor<
  /// What `milestone/<MID>` holds now.
  caf::replies_to<atom::read_branch, std::string>::with<branch_report>,
  /// Which files `milestone/<MID>` changed since it left the integration branch.
  caf::replies_to<atom::read_changes, std::string>::with<branch_changes>>;

/// Turns the control request files of other terminals into typed coordinator requests, and
/// writes each typed answer back as the request's response file.
using control_server_actor = caf::typed_actor<
  /// Request files arrived in `.sf/parallel/control/` (names, from the fs_watcher).
  caf::reacts_to<atom::control, std::vector<std::string>>>;

/// Watches `.sf/parallel/` and routes each change to the actor that owns it.
using fs_watcher_actor = caf::typed_actor<
  /// Route `<MID>.status.json` changes to this supervisor.
  caf::reacts_to<atom::watch, std::string, worker_supervisor_actor>,
  /// Stop routing a milestone's changes.
  caf::reacts_to<atom::unwatch, std::string>,
  /// Names that changed in `.sf/parallel/` (drained on the reactor thread); true = overflow.
  caf::reacts_to<atom::changed, std::vector<std::string>, bool>,
  /// Names that changed in `.sf/parallel/control/`.
  caf::reacts_to<atom::control, std::vector<std::string>>>;

/// Merges completed milestones into main, one at a time, in the configured order.
using merge_queue_actor = caf::typed_actor<
  /// A milestone (or slice) completed: queue it with the tip recorded now.
  caf::reacts_to<atom::enqueue, merge_item>,
  /// The milestones of the run that are still running (sequential order waits for them).
  caf::reacts_to<atom::running, std::vector<std::string>>,
  /// Merge now: one milestone or all queued (empty id); true = dry run.
  caf::replies_to<atom::merge, std::string, bool>::with<merge_report>,
  /// What is queued and why it waits.
  caf::replies_to<atom::status>::with<std::vector<merge_outcome>>,
  /// Something a blocked merge waits on changed (inotify, from the reactor; a generation).
  caf::reacts_to<atom::obstacle, uint64_t>,
  /// Try the blocked merge again now (debounce or backstop timer of a generation).
  caf::reacts_to<atom::retry, uint64_t>,
  /// The push process of a generation ended (its pidfd, from the reactor).
  caf::reacts_to<atom::pushed, uint64_t>,
  /// The push of a generation ran past push_timeout.
  caf::reacts_to<atom::push_late, uint64_t>,
  /// Push again after a failed push (its generation).
  caf::reacts_to<atom::repush, uint64_t>,
  /// The merge gate's command of a generation ended (its pidfd, from the reactor).
  caf::reacts_to<atom::gate_done, uint64_t>,
  /// The gate of a generation ran past merge_gate_timeout (or its grace after SIGTERM).
  caf::reacts_to<atom::gate_late, uint64_t>,
  /// The run ends: end a running push now.
  caf::reacts_to<atom::shutdown>>;

/// Owns a run: eligibility, slots, commands, events.
using coordinator_actor = caf::typed_actor<
  /// Start the run for these milestones (all eligible when empty).
  caf::replies_to<atom::start, std::vector<std::string>>::with<command_reply>,
  /// Stop one milestone's worker, or all when the id is empty.
  caf::replies_to<atom::stop, std::string>::with<command_reply>,
  /// Pause one worker, or all.
  caf::replies_to<atom::pause, std::string>::with<command_reply>,
  /// Resume one worker, or all.
  caf::replies_to<atom::resume, std::string>::with<command_reply>,
  /// A snapshot of every worker and the budget.
  caf::replies_to<atom::status>::with<run_status>,
  /// Add a subscriber for run events.
  caf::reacts_to<atom::subscribe, event_sink_actor>,
  /// A supervisor learned a new status.
  caf::reacts_to<atom::progress, worker_progress>,
  /// A supervisor's worker process ended.
  caf::reacts_to<atom::exited, worker_exit>,
  /// A supervisor spawned (or adopted) its worker: who it is.
  caf::reacts_to<atom::spawned, worker_identity>,
  /// Restart a crashed milestone's worker now (after its backoff; the number is a generation).
  caf::reacts_to<atom::restart_due, std::string, uint64_t>,
  /// A supervisor's worker missed its heartbeat deadline (milestone, reason).
  caf::reacts_to<atom::stale, std::string, std::string>,
  /// A merge attempt ended (from the merge queue).
  caf::reacts_to<atom::merged, merge_outcome>,
  /// Merge now (from `sf-actors merge` through the control server).
  caf::replies_to<atom::merge, std::string, bool>::with<merge_report>,
  /// The user answered no to a milestone's `auto_merge: confirm` question: it stays unmerged
  /// and no longer holds the run open.
  caf::reacts_to<atom::decline, std::string>,
  /// End the run: stop every worker, then quit when they are gone.
  caf::reacts_to<atom::shutdown>>;

} // namespace sf
