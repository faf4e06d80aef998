#pragma once
/// merge_queue: merges completed milestones (or slices) into main one at a time, in the
/// configured order, and tells the coordinator how each attempt ended.

#include "config/preferences.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace sf {

/// Settings of the queue.
struct merge_queue_config {
  std::string root;                 ///< Project root.
  preferences prefs;                ///< Order, auto_merge, push remote, branch deletion.
  bool can_confirm = false;         ///< A terminal can answer `confirm` questions.
  std::shared_ptr<spdlog::logger> log; ///< The run's logger.
  coordinator_actor coordinator;    ///< Receives every outcome.
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
};

/// Behavior of the queue; reloads a persisted queue of `cfg.root` if one exists.
merge_queue_actor::behavior_type
merge_queue(merge_queue_actor::stateful_pointer<merge_queue_state> self, merge_queue_config cfg);

/// Why `item` may not merge yet under sequential order, or empty when it may.
std::string sequential_blocker(const merge_item& item, const std::set<std::string>& running);

} // namespace sf
