#pragma once
/// Spawning, signalling, reaping and identifying worker processes (Linux only).

#include "io/os/proc_files.hpp"
#include "io/os/unique_fd.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sf::io {

/// What to run and where; nothing of the parent's environment is passed on implicitly.
struct spawn_request {
  std::vector<std::string> argv; ///< Program and arguments; argv[0] without '/' is looked up.
  std::string cwd;               ///< Working folder of the child; empty keeps the parent's.
  std::vector<std::string> env;  ///< The child's whole environment, "KEY=VALUE" each.
  std::string log_path;          ///< stdout+stderr appended here; empty means /dev/null.
  int output_fd = -1;            ///< When >= 0, stdout+stderr go to this fd (e.g. a pipe)
                                 ///< instead of `log_path`; the caller keeps ownership.
  int input_fd = -1;             ///< When >= 0, stdin reads this fd instead of /dev/null;
                                 ///< the caller keeps ownership.
};

/// A spawned child: owns its pidfd; never kills on destruction (workers outlive restarts).
/// Not thread-safe: one owner (an actor) uses it at a time.
class child_process {
public:
  /// An empty handle (no process).
  child_process() = default;

  /// Adopts an already spawned, unreaped child of this process.
  child_process(pid_t pid, unique_fd pidfd, uint64_t start_time);

  child_process(child_process&&) noexcept = default;
  child_process& operator=(child_process&&) noexcept = default;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Closes the pidfd only; the process keeps running.
  ~child_process() = default;

  /// Process id (also the process group id), or -1 when empty.
  pid_t pid() const noexcept { return pid_; }

  /// Pollable descriptor: becomes readable once the process has exited; -1 when empty.
  int pidfd() const noexcept { return pidfd_.get(); }

  /// Start time in clock ticks since boot (field 22 of /proc/<pid>/stat), read at spawn.
  uint64_t start_time() const noexcept { return start_time_; }

  /// True once `try_reap` has collected the exit status.
  bool reaped() const noexcept { return reaped_; }

  /// True for a process taken over with `adopt_process` (not our child: no exit status).
  bool adopted() const noexcept { return adopted_; }

  /// Collects the exit without blocking; true and a waitpid-style `status` once it exited.
  /// Returns true again (same status) if already reaped.
  bool try_reap(int& status);

  /// Sends `sig` to the process itself through its pidfd; refused once reaped.
  caf::error signal(int sig);

  /// Sends `sig` to the whole process group; refused once the leader is reaped.
  caf::error signal_group(int sig);

private:
  friend caf::expected<child_process> adopt_process(const struct process_identity& id);
  pid_t pid_ = -1;
  unique_fd pidfd_;
  uint64_t start_time_ = 0;
  bool reaped_ = false;
  bool adopted_ = false;
  int status_ = 0;
};

/// Starts a child with posix_spawn in its own process group, empty signal mask, default
/// signal dispositions, stdin from /dev/null (or `input_fd`), stdout+stderr appended to the
/// log (or `output_fd`), and only
/// fds 0-2 open. Errors: missing/non-executable program, unusable cwd or log.
caf::expected<child_process> spawn_process(const spawn_request& req);

/// Same, but the child starts a new session (setsid) so it outlives our terminal.
caf::expected<child_process> spawn_session_leader(const spawn_request& req);

/// Human text for a waitpid-style status: "exited with code 3", "killed by SIGKILL".
std::string describe_exit(int status);

/// What identifies one incarnation of a process across pid reuse and reboots.
struct process_identity {
  int64_t pid = 0;         ///< Process id.
  uint64_t start_time = 0; ///< Clock ticks since boot at process start.
  std::string boot_id;     ///< /proc/sys/kernel/random/boot_id of the boot it ran in.
};

/// Takes a pidfd on a live process that is not our child (a worker left by a coordinator that
/// died), then checks it is still the process `id` describes, so a reused pid is never taken.
/// Its exit is seen through the pidfd; its exit status is unknown (reported as -1).
caf::expected<child_process> adopt_process(const process_identity& id);

/// Identity of a running process now.
caf::expected<process_identity> read_identity(int64_t pid);

/// True if that very process still runs: same boot, same start time, and not a zombie.
bool identity_matches(const process_identity& id);

/// If the log exceeds `max_bytes`, keeps its last max_bytes/2 bytes in `<path>.1` (atomic
/// replace) and empties the log. Bytes a child appends during the call may be lost.
caf::error cap_log(const std::string& path, std::size_t max_bytes);

/// The last `n` lines of a log (reads at most the last 64 KiB of it and of its rotated copy
/// `<path>.1`, which holds the lines before); empty if unreadable.
std::string tail_lines(const std::string& path, std::size_t n);

} // namespace sf::io
