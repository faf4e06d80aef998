#pragma once
/// worker_supervisor: one per worker process. Turns typed commands into signal files and
/// signals, and status files and pidfd events into typed messages for the coordinator.

#include "io/git/worktree_setup.hpp"
#include "io/os/process.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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

struct watch_routes; // actors/fs_watcher.hpp

/// Everything a supervisor needs, validated by the coordinator.
struct supervisor_config {
  std::string root;                          ///< Absolute project root.
  std::string milestone;                     ///< Validated milestone id.
  std::vector<std::string> worker_argv;      ///< Command that runs the worker.
  std::vector<std::string> base_env;         ///< Allowlisted "K=V" entries from our environment.
  std::chrono::milliseconds stale_timeout{30000}; ///< Heartbeat deadline.
  std::chrono::milliseconds stop_grace{10000};    ///< SIGTERM to SIGKILL.
  std::shared_ptr<io::fd_reactor> reactor;   ///< Delivers pidfd readiness.
  std::shared_ptr<spdlog::logger> log;       ///< The run's logger.
  coordinator_actor coordinator;             ///< Receives progress, exits, staleness.
  fs_watcher_actor watcher;                  ///< Routes status-file changes to us.
  std::optional<worker_identity> adopt;      ///< Take over this verified live worker instead
                                             ///< of spawning one (coordinator restart).
  std::string spawn_token;                   ///< Token for the new worker; empty: make one.
  std::shared_ptr<watch_routes> routes;      ///< The watcher's routing table, to enter
                                             ///< before the first read; may be empty.
  std::function<void()> before_spawn;        ///< Runs right before the spawn (waits until
                                             ///< workers.json holds the token); may be empty.
  std::optional<worker_supervisor_actor> predecessor; ///< The milestone's previous supervisor,
                                             ///< still cleaning up: wait until it is gone.
  std::string log_relay;                     ///< `sf-log-relay` for the worker's output; empty:
                                             ///< output goes to the log file directly.
  io::worktree_setup setup;                  ///< Run in a new worktree before the first worker.
  bool helper_on_scheduler = false;          ///< The worktree helper is scheduled, not
                                             ///< detached (deterministic tests only).
};

/// State of a supervisor; owns the child's pidfd and the reactor registration.
struct worker_supervisor_state {
  static inline const char* name = "worker_supervisor"; ///< Actor name for logs.
  supervisor_config cfg;                       ///< Settings.
  std::optional<io::child_process> child;      ///< The worker, once spawned.
  std::shared_ptr<io::child_process> relay;    ///< Its log relay, until reaped.
  uint64_t reactor_id = 0;                     ///< Registration of the pidfd, 0 when none.
  std::string spawn_token;                     ///< Secret given to this spawn via the env.
  uint64_t heartbeat_gen = 0;                  ///< Cancels older heartbeat deadlines.
  bool deadline_armed = false;                 ///< A heartbeat deadline timer is pending.
  caf::actor_clock::time_point heartbeat_seen_at; ///< When the newest heartbeat was read.
  uint64_t stop_gen = 0;                       ///< Cancels older stop-grace timers.
  int64_t last_heartbeat = 0;                  ///< Last heartbeat value seen (worker's ms).
  caf::actor_clock::time_point forwarded_at;   ///< When progress was last sent on (ours).
  bool stopping = false;                       ///< A stop was requested.
  bool stale_reported = false;                 ///< Staleness already reported for this gap.
  std::string last_read_error;                 ///< Last status read error, to report once.
  worker_progress last;                        ///< Last progress sent.
  std::set<int64_t> accepted_pids;             ///< Pids verified as this worker's processes.
  /// Set by a stop: the worktree helper's checkout in progress ends at its next file.
  std::shared_ptr<std::atomic<bool>> creation_cancel = std::make_shared<std::atomic<bool>>(false);

  ~worker_supervisor_state();
};

/// Behavior: waits for its predecessor, has the worktree prepared on a helper thread, spawns
/// the worker, then supervises it. Runs on the shared scheduler: nothing in it blocks for long.
worker_supervisor_actor::behavior_type
worker_supervisor(worker_supervisor_actor::stateful_pointer<worker_supervisor_state> self,
                  supervisor_config cfg);

} // namespace sf
