#pragma once
/// Runs one unit's shell command, copying its output and summing the costs it reports.

#include <caf/expected.hpp>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sf::worker {

/// What to run and how to watch it.
struct unit_request {
  std::string command;                        ///< Given to `/bin/sh -c` (when `argv` is empty).
  std::vector<std::string> argv;              ///< Run directly instead (an agent's launch line).
  int input_fd = -1;                          ///< stdin (e.g. the prompt file); /dev/null if < 0.
  std::string cwd;                            ///< Working folder (the worktree).
  std::vector<std::string> env;               ///< The command's whole environment.
  int copy_fd = 1;                            ///< Everything the unit prints is copied here.
  int stop_fd = -1;                           ///< Readable means "stop the unit" (a signalfd).
  std::chrono::milliseconds heartbeat{5000};  ///< Period of `on_heartbeat` while it runs.
  std::function<void()> on_heartbeat;         ///< Called every `heartbeat`; may be empty.
  std::chrono::milliseconds kill_grace{2000}; ///< SIGTERM to SIGKILL delay when stopping.
  /// Sees every chunk of output as it arrives (an agent's stream parser); may be empty.
  std::function<void(std::string_view)> on_output;
  /// Asked after output and at every heartbeat: a reason ends the unit (its group gets
  /// SIGTERM, then SIGKILL after `kill_grace`) with `ended_by` set to it; may be empty.
  std::function<std::optional<std::string>()> should_end;
  /// The unit is ended with `ended_by` "timeout" after this long; none = no limit.
  std::optional<std::chrono::milliseconds> timeout;
  /// `on_idle(true)` once no output came for this long, `on_idle(false)` when output resumes.
  std::optional<std::chrono::milliseconds> idle_timeout;
  std::function<void(bool idle)> on_idle;     ///< See `idle_timeout`.
};

/// How a unit ended.
struct unit_result {
  pid_t pid = -1;            ///< Process id of the unit's shell (also its process group).
  int exit_status = 0;       ///< waitpid-style status of the shell.
  bool interrupted = false;  ///< `stop_fd` fired and the unit's group was terminated.
  double reported_cost = 0;  ///< Sum of its `SF_COST` lines (see agents/cost_scanner.hpp).
  std::size_t cost_reports = 0; ///< Number of `SF_COST` lines seen.
  std::string ended_by;      ///< Why the runner ended it ("timeout", or `should_end`'s reason).

  /// True when the shell exited with code 0 and was not interrupted.
  bool succeeded() const;
};

/// Runs `/bin/sh -c <command>` in its own process group (empty signal mask, default signal
/// dispositions, stdin /dev/null, stdout+stderr into a pipe, no other fds) and waits for it
/// without busy polling. When `stop_fd` becomes readable (it is not read), the group gets
/// SIGTERM, then SIGKILL after `kill_grace`. Once the shell exits, whatever is left of its
/// process group is killed, so no background job keeps touching the worktree. Errors only
/// for failures to start or watch the process; a failing unit is a normal result.
caf::expected<unit_result> run_unit(const unit_request& req);

} // namespace sf::worker
