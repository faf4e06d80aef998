#pragma once
/// coordinator: owns a run. Decides which milestones start, keeps the worker slots full,
/// serves commands, and publishes typed events to subscribers.

#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "core/milestone_state.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/common.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace sf::io {
class fd_reactor;
class coordinator_lock;
class state_writer;
}

namespace sf {

struct watch_routes; // actors/fs_watcher.hpp

/// Settings of one run, validated before the coordinator is spawned.
struct coordinator_config {
  std::string root;                     ///< Absolute project root.
  preferences prefs;                    ///< Validated preferences.
  plan milestones;                      ///< Validated plan.
  std::vector<std::string> worker_argv; ///< The reference worker's command line.
  bool can_confirm = false;             ///< A terminal answers `auto_merge: confirm` questions.
  std::string log_relay;                ///< `sf-log-relay` that writes workers' output to their
                                        ///< capped logs; empty: output goes to the log directly
                                        ///< (capped only at status reads), with a warning.
  /// Every part (ledger, merge queue, branch reader, worktree helpers) runs as a scheduled
  /// actor instead of on a thread of its own, and `reactor`, when set, is used instead of a
  /// new one. For CAF's deterministic test scheduler, whose single thread must be the only
  /// one that sends; a real run leaves both alone.
  bool parts_on_scheduler = false;
  spdlog::level::level_enum log_level = spdlog::level::info; ///< Of `coordinator.log`.
  std::shared_ptr<io::fd_reactor> reactor; ///< A reactor its host polls (see above); may be null.
};

/// The coordinator's view of one milestone of the run.
struct milestone_entry {
  std::string id;                            ///< Milestone id.
  std::string title;                         ///< Its title.
  int64_t total_units = 0;                   ///< Units in the plan.
  std::vector<std::string> depends_on;       ///< Its dependencies.
  core::milestone_state state = core::milestone_state::idle; ///< See core/milestone_state.hpp.
  std::string note;                          ///< Why it is in this state.
  bool in_run = false;                       ///< Requested by `start`.
  bool stop_requested = false;               ///< A stop was asked for.
  std::optional<worker_supervisor_actor> supervisor; ///< Set while a worker runs.
  worker_progress progress;                  ///< Last progress received.
  std::vector<int64_t> slice_ends;           ///< Cumulative unit count at the end of each slice.
  std::vector<std::string> slice_ids;        ///< Slice ids, in order.
  std::vector<std::string> unit_lines;       ///< "U01 title" per unit, for merge messages.
  std::size_t slices_queued = 0;             ///< Slices already queued for a per-slice merge.
  std::optional<worker_identity> identity;   ///< The running worker, as its supervisor told.
  std::vector<std::chrono::steady_clock::time_point> restarts; ///< Restart times (policy).
  uint64_t restart_gen = 0;                  ///< Cancels an older scheduled restart.
  bool stale_stop = false;                   ///< Being stopped because it hung.
  bool branch_read = false;                  ///< Its branch was read since it was queued and
                                             ///< holds no finished work: start a worker.
  double cost = 0;                           ///< Ledger's cost of the milestone (all sessions).
  core::token_counts tokens;                 ///< Ledger's tokens of the milestone (all sessions).
  bool adopted = false;                       ///< Its worker was adopted, not spawned by us.
  bool pause_requested = false;              ///< Paused by `pause`, not resumed since: a
                                             ///< worker holds between units, a queued
                                             ///< milestone does not start.
  std::vector<std::string> changed_files;    ///< Paths its branch changed (outside `.sf/`),
                                             ///< as read after its last committed unit.
  int gate_fixes = 0;                        ///< Gate fixes asked of its agent in this run.
  bool fixing_gate = false;                  ///< Its next worker fixes a gate failure.
  std::string queued_tip;                    ///< The tip (hex) last queued for its merge.
  std::string gate_failed_tip;               ///< The tip that failed the gate, while fixing:
                                             ///< a worker that ends on it fixed nothing.
};

/// State of the coordinator.
struct coordinator_state {
  static inline const char* name = "coordinator";    ///< Actor name for logs.
  coordinator_config cfg;                            ///< Settings.
  std::shared_ptr<io::fd_reactor> reactor;           ///< pidfd and inotify readiness.
  std::shared_ptr<spdlog::logger> log;               ///< Coordinator log.
  std::shared_ptr<io::coordinator_lock> lock;        ///< One coordinator per project root.
  std::shared_ptr<io::state_writer> writer;          ///< Writes run.json, workers.json, events.
  budget_ledger_actor ledger;                        ///< Costs.
  fs_watcher_actor watcher;                          ///< File changes.
  control_server_actor control;                      ///< Requests of other terminals.
  std::shared_ptr<watch_routes> routes;              ///< Watcher's routing table (shared).
  merge_queue_actor merger;                          ///< Merges completed milestones.
  branch_reader_actor reader;                        ///< Reads milestone branches.
  /// Milestones about to start whose branch is being read (a branch that says complete is
  /// merged, not run again). Each holds a worker slot until the answer.
  std::set<std::string> reading;
  std::set<std::string> pending_merges;              ///< Completions the queue has not answered.
  /// Complete milestones whose merge waits for the user's yes (`auto_merge: confirm`: the
  /// prompt of a foreground start, or `sf-actors merge`). While a milestone of the run waits
  /// for one of them, the run stays open for the answer.
  std::set<std::string> awaiting_answer;
  /// Overlapping pairs already warned about, with the shared paths named then: a warning is
  /// repeated only when the pair shares a path it did not share before.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> overlaps_told;
  std::vector<std::string> last_running;             ///< Last running set sent to the queue.
  std::map<std::string, milestone_entry> entries;    ///< By id, sorted.
  std::set<std::string> complete_on_main;            ///< Milestones complete in the root checkout.
  std::vector<event_sink_actor> subscribers;         ///< Event receivers.
  /// Supervisors that reported their worker's exit and are still cleaning up after it (its
  /// files, leftover unit processes). A new supervisor of the milestone waits for the old one;
  /// `finished` waits for all of them.
  std::map<std::string, worker_supervisor_actor> retiring;
  /// Milestones waiting for a slot whose worktree a `worktree_helper` makes now, and those
  /// made ahead so far; `finished` waits for the ones in the making.
  std::set<std::string> preparing;
  std::set<std::string> prepared;
  /// Set by a stop of the run: worktrees being made ahead stop at their next file.
  std::shared_ptr<std::atomic<bool>> ahead_cancel = std::make_shared<std::atomic<bool>>(false);
  bool budget_reached = false;                       ///< No new worker or unit may start.
  bool paused_all = false;                           ///< `pause` of every worker: nothing new
                                                     ///< starts until `resume`.
  bool shutting_down = false;                        ///< Stop everything, start nothing.
  bool finished_published = false;                   ///< `finished` sent for the current run.
  /// Runs asked for so far (`start`); 0: none, so there is no run to call finished (merges a
  /// dead coordinator left in the queue may end before the first start arrives).
  uint64_t runs_started = 0;
  bool pushing = false;                              ///< The merge queue's push is in flight.
  double total_cost = 0;                             ///< From the ledger.
  core::token_counts total_tokens;                   ///< From the ledger.
  std::string message;                               ///< Run-level note for status.

  ~coordinator_state();
};

/// What a coordinator that died left behind, read by `spawn_coordinator` before the new one
/// exists: on the caller's thread, so the coordinator's start reads no file and no /proc entry.
struct run_recovery {
  std::vector<std::string> queued;        ///< Milestones whose whole merge is in the queue file.
  std::vector<worker_identity> adoptable; ///< Recorded workers proven alive and ours, to adopt.
  std::vector<std::string> not_adopted;   ///< Log lines about recorded workers that are gone.
  std::string registry_warning;           ///< Why workers.json could not be read; empty if it was.
  int orphans_ended = 0;                  ///< Processes of dead workers ended before the start.
  std::string orphans_of;                 ///< The milestones those dead workers belonged to.
};

/// Behavior of the coordinator (use `spawn_coordinator`); `log` writes `coordinator.log`.
coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self, coordinator_config cfg,
            std::shared_ptr<io::coordinator_lock> lock, std::shared_ptr<io::fd_reactor> reactor,
            std::shared_ptr<spdlog::logger> log, run_recovery recovery);

/// Takes the project's coordinator lock, prepares `.sf/parallel/`, and spawns a coordinator.
/// Fails with `ec::already_running` when another coordinator holds the lock.
caf::expected<coordinator_actor> spawn_coordinator(caf::actor_system& sys, coordinator_config cfg);

} // namespace sf
