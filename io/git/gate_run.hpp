#pragma once
/// One run of the merge gate: the commit under test checked out in `.sf/worktrees/_gate`, the gate
/// command started there in its own process group with its output in `.sf/parallel/gate.log`
/// (capped), recorded in `.sf/parallel/gate.json` while it runs, and ended by SIGTERM then
/// SIGKILL past its timeout.

#include "io/os/process.hpp"
#include "io/os/timed_process.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// What to test and how.
struct gate_request {
  std::string root;                    ///< Project root.
  std::string command;                 ///< `merge_gate`, run by /bin/sh -c.
  std::string commit;                  ///< The composed merge under test (hex).
  std::string base;                    ///< Main's commit it was composed on (hex).
  std::vector<std::string> milestones; ///< What it merges ("M001", "M002/S01"), in order.
  std::vector<std::string> base_env;   ///< Environment given to the command, plus SF_GATE_*.
  std::string relay;                   ///< `sf-log-relay`; empty appends to the log directly.
  std::chrono::milliseconds timeout{1800000}; ///< merge_gate_timeout.
  std::chrono::milliseconds grace{10000};     ///< Between SIGTERM and SIGKILL (stop_grace).
};

/// Most bytes the gate log and its rotated copy hold together.
constexpr std::size_t gate_log_cap = 4 << 20;

/// A started gate command; the destructor kills what still runs and removes the record.
class gate_run {
public:
  /// Checks the commit out in the gate worktree (git's own checkout; it blocks for that long)
  /// and starts the command. Errors: the worktree cannot be made, the command cannot start.
  static caf::expected<gate_run> start(const gate_request& req);

  /// The command moves to the new owner; the old one no longer ends it.
  gate_run(gate_run&& other) noexcept;
  gate_run& operator=(gate_run&&) = delete;
  gate_run(const gate_run&) = delete;
  gate_run& operator=(const gate_run&) = delete;
  ~gate_run();

  /// Readable once the command has exited.
  int pidfd() const { return proc_->pidfd(); }

  /// The outcome once the command has ended (escalating signals whose deadline has passed),
  /// else empty; never blocks.
  std::optional<timed_outcome> poll();

  /// Ends the command now: SIGTERM, then SIGKILL after the grace (at later `poll`s).
  void stop();

  /// How long it has run.
  std::chrono::milliseconds elapsed() const;

  /// The last `n` lines this run wrote to the gate log.
  std::string log_tail(std::size_t n) const;

  /// What it tests.
  const gate_request& request() const { return req_; }

private:
  gate_run(gate_request req, timed_process proc, std::optional<child_process> relay);
  gate_request req_;
  std::optional<timed_process> proc_;
  std::optional<child_process> relay_;
  std::chrono::steady_clock::time_point started_;
  uint64_t log_offset_ = 0; ///< The log's size before this run wrote to it.
  bool ended_ = false;
};

/// Lines of a failed run's output kept for its report (io/files/gate_failure_report.hpp).
constexpr std::size_t gate_tail_lines = 60;

/// A log's lines on one line, joined by " | " (empty lines left out), for reports and status.
std::string lines_on_one_line(const std::string& text);

/// How a gate run that was waited for ended.
struct gate_result {
  timed_outcome outcome; ///< Exit status, timeout, duration.
  std::string tail;      ///< The last lines it wrote to the gate log.
};

/// Runs the gate to its end in this thread (for `sf-actors merge` without a coordinator);
/// a readable `stop_fd` (when >= 0) stops it.
caf::expected<gate_result> run_gate(const gate_request& req, int stop_fd);

} // namespace sf::io
