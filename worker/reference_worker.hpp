#pragma once
/// The reference worker (`sf-actors worker`): runs one milestone's units in its worktree,
/// committing each, heartbeating through the status file and obeying signal files.
///
/// Exit codes: 0 finished, stopped (signal, SIGTERM) or stopped by the budget; 1 a unit or
/// the worker failed (the status file says why); 2 the environment is missing or invalid;
/// 3 another worker holds the milestone's `.sf/auto.lock`.

#include "worker/worker_hooks.hpp"

#include <caf/expected.hpp>

#include <optional>
#include <string>

namespace sf::worker {

/// Exit codes of the worker process.
enum worker_exit : int {
  worker_exit_ok = 0,      ///< All units done, or stopped on request or by the budget.
  worker_exit_failure = 1, ///< A unit failed or the worker hit an error.
  worker_exit_usage = 2,   ///< Missing or invalid environment.
  worker_exit_busy = 3,    ///< Another worker already runs this milestone.
  worker_exit_agent = 4,   ///< An agent unit's agent failed or timed out; a restart resumes
                           ///< its recorded session.
};

/// Where and what the worker runs, as the coordinator passes it.
struct worker_options {
  std::string milestone;                  ///< `SF_MILESTONE_LOCK`, a valid milestone id.
  std::string root;                       ///< `SF_PROJECT_ROOT`, absolute, holds `.sf/parallel`.
  std::string worktree;                   ///< Absolute working directory (the worktree).
  std::optional<std::string> spawn_token; ///< `SF_SPAWN_TOKEN`, echoed in the status file.
  worker_hooks* hooks = nullptr;          ///< A test harness's hooks; none in the shipped worker.
};

/// Reads the options from the environment and the working directory; `ec::usage` naming the
/// variable and the fix when one is missing or invalid.
caf::expected<worker_options> options_from_env();

/// Runs the worker to its end and returns its exit code (see `worker_exit`). Blocks SIGTERM
/// and SIGINT for the process and handles them through a signalfd.
int run_reference_worker(const worker_options& opts);

} // namespace sf::worker
