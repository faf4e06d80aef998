#pragma once
/// merge_queue: merges completed milestones (or slices) into main one at a time, in the
/// configured order, and tells the coordinator how each attempt ended. A merge that an obstacle
/// holds (the user's changes in the way, a git operation in progress, a held lock) is retried
/// when the files behind the obstacle change, and pushes run as child processes beside the
/// queue, ended at push_timeout.

#include "config/preferences.hpp"
#include "core/gate_bisect.hpp"
#include "io/git/gate_run.hpp"
#include "io/git/merge_compose.hpp"
#include "io/os/change_watch.hpp"
#include "io/os/process.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
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
}

namespace sf {

/// Settings of the queue.
struct merge_queue_config {
  std::string root;                 ///< Project root.
  preferences prefs;                ///< Order, auto_merge, push remote, branch deletion.
  bool can_confirm = false;         ///< A terminal can answer `confirm` questions.
  std::shared_ptr<spdlog::logger> log; ///< The run's logger.
  coordinator_actor coordinator;    ///< Receives every outcome.
  std::shared_ptr<io::fd_reactor> reactor; ///< Delivers obstacle and push readiness; may be
                                           ///< empty (then only the backstop timer retries).
  std::string log_relay;                ///< `sf-log-relay` for the gate's log; empty = direct.
  std::vector<std::string> gate_env;    ///< Environment of the merge gate command.
};

/// The merge gate's test of one batch, from its start until main has moved or it failed.
struct gate_test {
  std::vector<merge_item> batch;   ///< Merged together, in queue order.
  io::composed_merge chain;        ///< Their merge commits on main (chain.tip is tested).
  std::optional<io::gate_run> run; ///< The command, while it runs.
  uint64_t reactor_id = 0;         ///< Its pidfd's reactor registration, 0 when none.
  bool late = false;               ///< Past merge_gate_timeout: SIGTERM went out.
  bool passed = false;             ///< Tested: main moves to chain.tip next.
};

/// State of the queue.
struct merge_queue_state {
  static inline const char* name = "merge_queue"; ///< Actor name for logs.
  merge_queue_config cfg;                         ///< Settings.
  std::vector<merge_item> items;                  ///< Waiting to merge.
  std::set<std::string> running;                  ///< Milestones of the run still running.
  std::string halted_by;                          ///< Milestone whose conflict halted the queue.
  int64_t next_sequence = 1;                      ///< Completion order counter.
  std::set<std::string> told_waiting;             ///< "waiting" already reported (id + reason).
  bool unsaved = false;                           ///< Items changed since the last save.
  std::vector<merge_item> to_clean;               ///< Merged; worktree not removed yet.
  std::set<std::string> approved;                 ///< Asked for by `merge` (manual, confirm).
  /// The obstacle holding the queue: what was told, what is watched, and the generation that
  /// cancels older watches, debounces and backstop timers.
  std::string obstacle_told;
  std::optional<io::change_watch> obstacle_watch; ///< The folders behind the obstacle.
  uint64_t obstacle_watch_id = 0;                 ///< Its reactor registration, 0 when none.
  uint64_t obstacle_gen = 0;
  bool retry_pending = false;                     ///< A debounced retry is scheduled.
  std::chrono::milliseconds backstop{2000};       ///< Next backstop delay (doubles, capped).
  bool blocked = false;                           ///< An obstacle holds the queue now.
  /// The push child, the merges it carries, and what comes after it.
  std::optional<io::child_process> push;
  uint64_t push_reactor_id = 0;
  uint64_t push_gen = 0;
  bool push_timed_out = false;
  bool push_stopped = false;
  bool push_wanted = false;                       ///< Main moved since the last push started.
  bool push_announced = false;                    ///< The coordinator was told a push follows.
  int push_failures = 0;                          ///< Failed pushes in a row.
  std::vector<std::string> push_carries;          ///< Milestones merged since the last push.
  std::vector<std::string> pushing_for;           ///< Those the running push carries.
  bool shutting_down = false;                     ///< No new push; the run ends.
  /// The merge gate (parallel.merge_gate): the test in flight, its generation, what the
  /// bisection knows, and the items that failed it (kept, not tried again until asked).
  std::optional<gate_test> gate;
  uint64_t gate_gen = 0;
  core::gate_bisect bisect;
  std::set<std::string> gate_held;
  /// While `merge` runs: the outcomes it causes, for its report.
  std::vector<merge_outcome>* capture = nullptr;

  ~merge_queue_state();
};

/// Behavior of the queue; reloads a persisted queue of `cfg.root` if one exists.
merge_queue_actor::behavior_type
merge_queue(merge_queue_actor::stateful_pointer<merge_queue_state> self, merge_queue_config cfg);

} // namespace sf
