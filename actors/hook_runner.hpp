#pragma once
/// hook_runner: runs the user's hooks (`parallel.hooks`) for the run's events, one at a time
/// and in order, on a thread of its own, so a slow hook never holds the coordinator. A hook
/// gets the event's events.jsonl line on stdin and its fields as variables; one that fails or
/// times out is logged with its exit and the tail of its output, never fatal.

#include "actors/hook_trigger.hpp"
#include "config/hook_settings.hpp"
#include "io/os/timed_process.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace sf {

/// Hooks that wait while one runs; an event past that is dropped and the drop logged.
constexpr std::size_t hook_queue_cap = 32;

/// Everything a hook runner needs, from the coordinator's validated preferences.
struct hook_runner_config {
  std::string root;                           ///< Absolute project root (the hooks' cwd).
  std::map<hook_event, hook_command> hooks;   ///< `parallel.hooks`.
  double budget_ceiling = 0;                  ///< USD; 0 = none.
  std::vector<std::string> base_env;          ///< Allowlisted "K=V" entries.
  std::chrono::milliseconds grace{2000};      ///< SIGTERM to SIGKILL of a hook's group.
  std::size_t queue_cap = hook_queue_cap;     ///< See `hook_queue_cap`.
  std::shared_ptr<spdlog::logger> log;        ///< `coordinator.log`.
  caf::actor coordinator;                     ///< Watched: once it is gone, the queue drains
                                              ///< within one hook timeout, then we end.
};

/// One hook to run: which, and the event with the time it arrived.
struct pending_hook {
  hook_event which = hook_event::unit_done; ///< Its name under `hooks:`.
  run_event ev;                             ///< What fired it.
  int64_t at_ms = 0;                        ///< When the event arrived (ms since the epoch).
};

/// State of a hook runner; owns the running hook's process.
struct hook_runner_state {
  static inline const char* name = "hook_runner"; ///< Actor name for logs.
  hook_runner_config cfg;                         ///< Settings.
  std::optional<hook_trigger> trigger;            ///< Event -> hook rules.
  std::deque<pending_hook> queue;                 ///< Waiting, oldest first.
  std::optional<io::timed_process> running;       ///< The hook that runs now.
  pending_hook current;                           ///< What `running` runs.
  std::size_t output_from = 0;                    ///< Where its output starts in hooks.log.
  bool ticking = false;                           ///< A hook_tick is on its way.
  /// Set once the coordinator is gone: nothing runs past it.
  std::optional<io::timed_process::clock::time_point> drain_until;
};

/// Path of the log that holds every hook's output: `.sf/parallel/hooks.log`.
std::string hooks_log_path(const std::string& root);

/// The coordinator's own environment: hooks are the user's commands, and a notifier needs
/// what a terminal has (DISPLAY, DBUS_SESSION_BUS_ADDRESS, tokens), not a worker's allowlist.
std::vector<std::string> inherited_environment();

/// The environment of a hook run for `p`: `base` (without the variables set here) plus `SF_EVENT` (the hook's name),
/// `SF_EVENT_KIND`, `SF_MILESTONE`, `SF_EVENT_TEXT`, `SF_EVENT_STATE`, `SF_EVENT_COST`,
/// `SF_COMPLETED_UNITS`, `SF_TOTAL_UNITS` and `SF_PROJECT_ROOT`.
std::vector<std::string> hook_environment(const std::vector<std::string>& base,
                                          const std::string& root, const pending_hook& p);

/// Behavior: spawn it detached (it waits on hook processes), subscribe it to the run's events.
hook_runner_actor::behavior_type
hook_runner(hook_runner_actor::stateful_pointer<hook_runner_state> self, hook_runner_config cfg);

} // namespace sf
