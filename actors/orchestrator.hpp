#pragma once
/// The embedding API: spawn an orchestrator inside a host's actor system, or let
/// `orchestrator_runtime` own one for programs that do not use CAF themselves.

#include "actors/runtime.hpp"
#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <spdlog/common.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

/// Folder of the installed programs (`sf-worker`, `sf-log-relay`); the installed CMake package
/// defines it for its users.
#ifndef SF_ACTORS_INSTALL_BINDIR
#define SF_ACTORS_INSTALL_BINDIR ""
#endif

namespace sf {

/// What an orchestrator needs to know about its project.
struct orchestrator_options {
  std::string root;                     ///< Project root (made absolute).
  std::optional<preferences> prefs;     ///< Preferences; loaded from the files when empty.
  std::optional<plan> milestones;       ///< The plan to run; read from `.sf/milestones/` when empty.
  std::vector<std::string> worker_argv; ///< Worker command; empty = the installed reference worker.
  bool can_confirm = false;             ///< Someone answers `auto_merge: confirm` questions.
  std::string install_bindir = SF_ACTORS_INSTALL_BINDIR; ///< Where to look for the worker first.
  std::string log_relay; ///< `sf-log-relay`; empty = `default_log_relay` finds it.
  spdlog::level::level_enum log_level = spdlog::level::info; ///< Of `coordinator.log`.
};

/// The reference worker's command line: `<dir>/sf-worker`, or else `<dir>/sf-actors worker`, for
/// the first folder of `bindir_hint`, the library's install prefix, the running program's
/// folder, then `PATH` that holds either.
caf::expected<std::vector<std::string>> default_worker_argv(const std::string& bindir_hint = {});

/// The log relay `sf-log-relay`, looked for where `default_worker_argv` looks for
/// the worker, and next to `worker_exe`; empty when it is nowhere.
std::string default_log_relay(const std::string& bindir_hint = {},
                              const std::string& worker_exe = {});

/// Loads and validates preferences and plan of `opts.root`, then spawns its coordinator in
/// `sys` (which must have `add_message_types` applied). Fails with `ec::not_enabled`,
/// `ec::invalid_input`, `ec::already_running`, ... and a line that says how to fix it.
caf::expected<coordinator_actor> spawn_orchestrator(caf::actor_system& sys,
                                                    const orchestrator_options& opts);

/// Spawns an event sink that calls `fn` for every event (on a scheduler thread, in order).
event_sink_actor spawn_callback_sink(caf::actor_system& sys,
                                     std::function<void(const run_event&)> fn);

/// Owns an actor system and one orchestrator; every call blocks until the coordinator answers.
/// Not copyable or movable; `shutdown()` is idempotent and runs from the destructor.
class orchestrator_runtime {
public:
  /// Default wait for a command's answer.
  static constexpr std::chrono::milliseconds default_timeout{30000};

  /// Creates the actor system and spawns the orchestrator for `root` (overrides `opts.root`);
  /// check `error()` afterwards.
  orchestrator_runtime(std::string root, orchestrator_options opts = {},
                       runtime_options sys = {});

  /// Calls `shutdown()`.
  ~orchestrator_runtime();

  orchestrator_runtime(const orchestrator_runtime&) = delete;
  orchestrator_runtime& operator=(const orchestrator_runtime&) = delete;
  orchestrator_runtime(orchestrator_runtime&&) = delete;
  orchestrator_runtime& operator=(orchestrator_runtime&&) = delete;

  /// Why the orchestrator could not be spawned; empty when it runs.
  const caf::error& error() const { return error_; }

  /// True when the orchestrator runs.
  explicit operator bool() const { return !error_; }

  /// Starts the run for `ids` (every eligible milestone when empty).
  caf::expected<command_reply> start(const std::vector<std::string>& ids = {},
                                     std::chrono::milliseconds timeout = default_timeout);

  /// Stops one milestone's worker, or all of them when `mid` is empty.
  caf::expected<command_reply> stop(const std::string& mid = {},
                                    std::chrono::milliseconds timeout = default_timeout);

  /// Pauses one worker, or all.
  caf::expected<command_reply> pause(const std::string& mid = {},
                                     std::chrono::milliseconds timeout = default_timeout);

  /// Resumes one worker, or all.
  caf::expected<command_reply> resume(const std::string& mid = {},
                                      std::chrono::milliseconds timeout = default_timeout);

  /// Merges one milestone, or every queued one when `mid` is empty; `dry_run` only predicts.
  caf::expected<merge_report> merge(const std::string& mid, bool dry_run,
                                    std::chrono::milliseconds timeout = std::chrono::minutes(10));

  /// Tells the coordinator the user said no to merging `mid` (`auto_merge: confirm`): it stays
  /// unmerged, and the run no longer waits for an answer about it.
  void decline(const std::string& mid);

  /// A snapshot of every worker and the budget.
  caf::expected<run_status> status(std::chrono::milliseconds timeout = default_timeout);

  /// Calls `fn` for every later event, in order, on a scheduler thread.
  caf::error subscribe(std::function<void(const run_event&)> fn);

  /// Waits until the run started by the last `start` has finished; false on timeout.
  bool wait_finished(std::chrono::milliseconds timeout);

  /// The owned actor system.
  caf::actor_system& system() { return rt_.system(); }

  /// The coordinator (invalid when `error()` is set).
  const coordinator_actor& coordinator() const { return coordinator_; }

  /// Stops every worker (waiting up to their stop grace), then ends the actors. Idempotent.
  void shutdown();

private:
  template <class Reply, class... Ts>
  caf::expected<Reply> ask(std::chrono::milliseconds timeout, Ts&&... xs);

  void on_event(const run_event& ev);

  /// The coordinator actor went down without being asked to: every sink gets a failed
  /// `finished`, so nobody waits for a run that can no longer end.
  void on_coordinator_down(const caf::error& reason);

  caf::error error_;
  coordinator_actor coordinator_;
  std::vector<event_sink_actor> sinks_;
  event_sink_actor watch_; ///< Tells `on_coordinator_down` when the coordinator is gone.
  std::chrono::milliseconds stop_wait_{15000};
  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t finished_count_ = 0;
  uint64_t finished_target_ = 0;
  bool shut_down_ = false;
  std::atomic<bool> ending_{false}; ///< `shutdown` ends the coordinator: not a failure.
  runtime rt_; // Last: destroyed first, so actors are gone before the state they call into.
};

} // namespace sf
