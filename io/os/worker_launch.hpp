#pragma once
/// How a worker process is started: the working folder, environment and log the coordinator
/// gives it. Shared by the worker supervisor and `sf-actors check-worker`, so a worker is
/// checked under exactly the conditions it will run in.

#include "io/os/process.hpp"

#include <sys/types.h>

#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// What identifies one worker spawn.
struct worker_launch {
  std::string root;                  ///< Absolute project root (`SF_PROJECT_ROOT`).
  std::string milestone;             ///< Validated milestone id (`SF_MILESTONE_LOCK`).
  std::string worktree;              ///< The milestone's worktree: the worker's cwd.
  std::vector<std::string> argv;     ///< Worker command line.
  std::vector<std::string> base_env; ///< "K=V" entries passed through (see allowlist).
  std::string spawn_token;           ///< Secret for this spawn (`SF_SPAWN_TOKEN`).
};

/// The spawn request for a worker: its argv and cwd, `base_env` plus the `SF_*` variables,
/// and output appended to `worker_log_path`.
spawn_request worker_spawn_request(const worker_launch& launch);

/// Most bytes a worker's log and its rotated copy `<log>.1` hold together.
constexpr std::size_t worker_log_cap = 8 << 20;

/// A started worker and the relay that writes its output to the log.
struct launched_worker {
  child_process worker;              ///< The worker process (its own process group).
  std::optional<child_process> relay; ///< `sf-log-relay`, when one was given; it ends by
                                      ///< itself once every holder of the pipe is gone.
};

/// Starts the worker of `launch`. With `relay` (the path of `sf-log-relay`) its stdout and
/// stderr go into a pipe read by the relay, started first in its own process group without
/// the worker's variables, which keeps `<MID>.log` plus `.1` within `cap` bytes at every
/// moment. Without it, output is appended to the log directly, as before. Errors: the log is
/// not a regular file, the relay or the worker cannot be started.
caf::expected<launched_worker> spawn_worker(const worker_launch& launch, const std::string& relay,
                                            std::size_t cap = worker_log_cap);

/// Starts `req` (its own process group) with its stdout and stderr relayed by `relay` into
/// `req.log_path`, which then holds (with its rotated copy) at most `cap` bytes at every moment;
/// `spawn_worker` starts workers this way, the merge queue its gate command. Without a relay the
/// output is appended to the log directly.
caf::expected<launched_worker> spawn_relayed(spawn_request req, const std::string& relay,
                                             std::size_t cap);

/// `<root>/.sf/parallel/<mid>.log`: where a worker's stdout and stderr go.
std::string worker_log_path(const std::string& root, const std::string& mid);

/// A fresh random token (32 hex digits) for `SF_SPAWN_TOKEN`.
std::string new_spawn_token();

/// Environment variables passed through to workers (besides the SF_* ones we set).
const std::vector<std::string>& worker_env_allowlist();

/// Prefixes of further variables passed through: what coding agents read (API keys and
/// endpoints of Anthropic, OpenAI, Codex, aider, cloud credentials, XDG folders, proxies).
const std::vector<std::string>& worker_env_prefixes();

/// "K=V" entries of the current environment whose keys are in the allowlist or start with one
/// of `worker_env_prefixes` (never `CLAUDECODE`).
std::vector<std::string> allowlisted_environment();

/// True when `pid` is the worker `leader` itself or another process of its process group (a
/// worker started through a shell may report the pid of the shell's child).
bool pid_belongs_to_worker(pid_t leader, int64_t pid);

} // namespace sf::io
