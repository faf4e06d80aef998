#pragma once
/// timed_process: a child process with a deadline. Past it the child's process group gets
/// SIGTERM, then SIGKILL after a grace. Hooks and `worktree_setup` run this way.

#include "io/os/process.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace sf::io {

/// How a timed command ended.
struct timed_outcome {
  int status = 0;         ///< waitpid-style status.
  bool timed_out = false; ///< Stopped because it ran past its deadline.
  std::chrono::milliseconds took{0}; ///< From the spawn to its end.

  /// True for a command that exited with code 0 in time.
  bool ok() const;

  /// "exited with code 3", or "timed out after 2 s (killed by SIGTERM)".
  std::string describe() const;
};

/// Owns one started command until it has ended; the destructor kills and reaps what still
/// runs, so a command is never left behind. Not thread-safe: one owner at a time.
class timed_process {
public:
  using clock = std::chrono::steady_clock;

  /// Spawns `req` (its own process group) that may run until `timeout` has passed.
  static caf::expected<timed_process> start(const spawn_request& req,
                                            std::chrono::milliseconds timeout,
                                            std::chrono::milliseconds grace);

  /// Takes over a child started by the caller (with its own process group) under the same rules.
  static timed_process adopt(child_process child, std::chrono::milliseconds timeout,
                             std::chrono::milliseconds grace);

  timed_process(timed_process&&) noexcept = default;
  timed_process& operator=(timed_process&&) noexcept = default;
  timed_process(const timed_process&) = delete;
  timed_process& operator=(const timed_process&) = delete;

  /// SIGKILLs the group of a command that still runs and reaps it.
  ~timed_process();

  /// Waits at most `slice` for the end, escalating signals at their deadlines; the outcome
  /// once the command has ended, else empty.
  std::optional<timed_outcome> wait_for(std::chrono::milliseconds slice);

  /// Waits for the end (at most the timeout plus the grace and a reap).
  timed_outcome wait();

  /// When the command itself exits, whatever it left running in its process group goes too
  /// (the merge gate: a test server left behind must not serve the next run).
  void end_group_at_exit() { end_group_ = true; }

  /// Moves the deadline earlier (never later): a run that ends must not wait for a hook.
  void cut_deadline(clock::time_point at);

  /// The process id (and group id).
  pid_t pid() const { return child_.pid(); }

  /// Readable once the command has exited (for a reactor); -1 when moved from.
  int pidfd() const { return child_.pidfd(); }

  /// Clock ticks since boot at the command's start (its identity with the pid).
  uint64_t start_time() const { return child_.start_time(); }

private:
  timed_process(child_process child, clock::time_point deadline,
                std::chrono::milliseconds grace);

  child_process child_;
  clock::time_point started_;
  clock::time_point deadline_;
  std::chrono::milliseconds grace_;
  std::optional<clock::time_point> termed_at_; ///< When SIGTERM went out.
  bool killed_ = false;                        ///< SIGKILL went out.
  bool end_group_ = false;                     ///< See end_group_at_exit.
  std::optional<timed_outcome> done_;
};

} // namespace sf::io
