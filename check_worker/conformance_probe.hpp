#pragma once
/// One run of a worker under `sf-actors check-worker`: spawned as the coordinator would, its
/// status file followed through inotify and its exit through a pidfd, so every wait ends on
/// an event or a deadline, never after a fixed sleep.

#include "check_worker/conformance_sandbox.hpp"
#include "io/files/status_file.hpp"
#include "io/os/dir_watcher.hpp"
#include "io/os/process.hpp"
#include "io/os/worker_launch.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sf::worker {

/// Thrown out of a wait when the checker itself is asked to end (SIGINT, SIGTERM, SIGHUP);
/// the caller's destructors then kill the worker and remove the sandbox.
struct check_interrupted {};

/// A spawned worker and what it wrote. Kills its process group when destroyed.
class worker_probe {
public:
  /// Monotonic clock used for every deadline and arrival time.
  using clock = std::chrono::steady_clock;

  /// Spawns `argv` for the sandbox's milestone with the coordinator's environment on top of
  /// `base_env`, its output through `log_relay` when given (as the coordinator does).
  /// `interrupt_fd` (a signalfd, or -1) ends any wait with `check_interrupted`.
  static caf::expected<std::unique_ptr<worker_probe>>
  start(const conformance_sandbox& sb, const std::vector<std::string>& argv,
        const std::vector<std::string>& base_env, int interrupt_fd,
        const std::string& log_relay = {});

  /// SIGKILLs the worker's process group and whatever carries its spawn token, reaps the
  /// worker, and waits (bounded) for its log relay to end.
  ~worker_probe();

  worker_probe(const worker_probe&) = delete;
  worker_probe& operator=(const worker_probe&) = delete;

  /// The worker's pid (also its process group id).
  pid_t pid() const { return child_.pid(); }

  /// Waits until `done` holds for the newest status (checked now, then on every new one),
  /// the worker exits, or `deadline` passes; returns whether `done` held.
  bool wait_status(const std::function<bool(const io::worker_status&)>& done,
                   clock::time_point deadline);

  /// Waits for the worker to exit until `deadline`; returns whether it did. Each new status
  /// goes to `on_status` (when set), which may push the deadline out.
  bool wait_exit(clock::time_point& deadline,
                 const std::function<void(const io::worker_status&)>& on_status = {});

  /// Sends `sig` to the worker's process group (and nothing else).
  caf::error signal_group(int sig);

  /// True once the worker has exited and been reaped.
  bool exited() const { return exited_; }

  /// Waitpid-style exit status (valid once `exited()`).
  int exit_status() const { return exit_status_; }

  /// When the worker was spawned.
  clock::time_point started_at() const { return started_at_; }

  /// When the worker exited.
  clock::time_point exited_at() const { return exited_at_; }

  /// The newest status that parsed, if any.
  const std::optional<io::worker_status>& latest() const { return latest_; }

  /// When the first parsable status arrived.
  std::optional<clock::time_point> first_status_at() const { return first_status_at_; }

  /// Why the newest unreadable status file was refused (empty when none was).
  const std::string& last_error() const { return last_error_; }

  /// Arrival times of the statuses whose `lastHeartbeat` changed.
  const std::vector<clock::time_point>& beats() const { return beats_; }

  /// Longest time without a fresh heartbeat within [from, to].
  clock::duration longest_gap(clock::time_point from, clock::time_point to) const;

private:
  worker_probe(const conformance_sandbox& sb, io::launched_worker launched,
               io::dir_watcher watcher, int interrupt_fd, std::string token);
  bool pump(clock::time_point& deadline, const std::function<bool(const io::worker_status&)>& fn);
  bool refresh();
  void on_exit();

  std::string root_;
  std::string status_name_;
  io::child_process child_;
  std::optional<io::child_process> relay_;
  std::string token_;
  io::dir_watcher watcher_;
  int interrupt_fd_;
  clock::time_point started_at_ = clock::now();
  bool exited_ = false;
  int exit_status_ = 0;
  clock::time_point exited_at_{};
  std::string last_text_;
  std::string last_error_;
  std::optional<io::worker_status> latest_;
  std::optional<clock::time_point> first_status_at_;
  std::vector<clock::time_point> beats_;
  int64_t newest_heartbeat_ = 0;
};

} // namespace sf::worker
