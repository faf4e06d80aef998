#include "check_worker/conformance.hpp"

#include "check_worker/conformance_probe.hpp"
#include "check_worker/conformance_sandbox.hpp"
#include "io/files/signal_file.hpp"
#include "io/os/process.hpp"
#include "io/os/worker_launch.hpp"
#include "messages/error.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

namespace sf::worker {

namespace {

using clock = worker_probe::clock;
using std::chrono::milliseconds;

// Scheduling and fsync on a busy machine delay a heartbeat a little beyond its period.
constexpr milliseconds heartbeat_slack{250};

// Heartbeats are watched over this many intervals in each state.
constexpr int watched_intervals = 3;

enum check_index : std::size_t {
  status_check,
  heartbeat_check,
  pause_check,
  resume_check,
  stop_file_check,
  sigterm_check,
  completion_check,
  check_count,
};

const check_result check_table[check_count] = {
    {"status_file", "status file appears, parses, names the milestone and the worker's pid",
     check_outcome::skip, "not run"},
    {"heartbeat", "lastHeartbeat advances within 1.5 intervals, running and paused",
     check_outcome::skip, "not run"},
    {"pause", "a pause signal pauses it between units; no progress while paused",
     check_outcome::skip, "not run"},
    {"resume", "a resume signal makes it run and progress again", check_outcome::skip, "not run"},
    {"stop_signal", "a stop signal file ends it in time: state stopped, exit code 0",
     check_outcome::skip, "not run"},
    {"stop_sigterm", "SIGTERM to its process group ends it in time with exit code 0",
     check_outcome::skip, "not run"},
    {"completion", "a run to completion exits 0 with state stopped", check_outcome::skip,
     "not run"},
};

std::string secs(clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", std::chrono::duration<double>(d).count());
  return buf;
}

bool exited_ok(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string state_of(const worker_probe& p) {
  return p.latest() ? "`" + std::string(core::to_string(p.latest()->state)) + "`" : "(no status)";
}

/// The three runs of the worker and the checks each one answers.
class checker {
public:
  checker(const conformance_options& opts, const conformance_sandbox& sb, int interrupt_fd,
          std::vector<check_result>& out)
      : opts_(opts), sb_(sb), interrupt_fd_(interrupt_fd), out_(out) {}

  /// Checks 1-5 on one worker: status, heartbeats, pause, resume, stop by signal file.
  void control_run();

  /// Check 6 on a fresh worker: SIGTERM.
  void sigterm_run();

  /// Check 7 on a fresh worker with every gate open: it runs to its end.
  void completion_run();

private:
  void set(check_index i, check_outcome o, std::string detail) {
    out_[i].outcome = o;
    out_[i].detail = std::move(detail);
  }

  void skip_from(check_index first, check_index last, const std::string& why) {
    for (std::size_t i = first; i <= last; ++i)
      set(static_cast<check_index>(i), check_outcome::skip, why);
  }

  milliseconds gap_limit() const { return opts_.interval * 3 / 2 + heartbeat_slack; }

  clock::time_point in(milliseconds d) const { return clock::now() + d; }

  // Starts a worker on a clean runtime folder; a failure is the result of check `who`.
  std::unique_ptr<worker_probe> spawn(check_index who) {
    sb_.clear_runtime_files();
    auto probe = worker_probe::start(sb_, opts_.argv, opts_.base_env, interrupt_fd_,
                                     opts_.log_relay);
    if (!probe) {
      set(who, check_outcome::fail, "cannot start the worker: " + describe(probe.error()));
      return nullptr;
    }
    return std::move(*probe);
  }

  // Waits for a first status that parses; says why there is none otherwise.
  bool first_status(worker_probe& p, std::string& why) {
    if (p.wait_status([](const io::worker_status&) { return true; }, in(opts_.timeout)))
      return true;
    if (!p.last_error().empty())
      why = "the status file never parsed: " + p.last_error();
    else if (p.exited())
      why = "the worker " + io::describe_exit(p.exit_status()) + " before writing a status file";
    else
      why = "no status file within " + secs(opts_.timeout) + " (expected .sf/parallel/" +
            conformance_sandbox::milestone + ".status.json)";
    return false;
  }

  // How the worker ended after a stop request made at `asked`.
  std::string ended(const worker_probe& p, clock::time_point asked) const {
    return io::describe_exit(p.exit_status()) + ", " + secs(p.exited_at() - asked);
  }

  bool signal(io::signal_kind kind, check_index who) {
    if (auto err = io::send_signal(sb_.root(), conformance_sandbox::milestone, kind)) {
      set(who, check_outcome::fail, "cannot write the signal file: " + describe(err));
      return false;
    }
    return true;
  }

  void check_identity(const worker_probe& p);
  void check_stop_by_file(worker_probe& p);

  const conformance_options& opts_;
  const conformance_sandbox& sb_;
  int interrupt_fd_;
  std::vector<check_result>& out_;
};

void checker::check_identity(const worker_probe& p) {
  const auto& s = *p.latest();
  std::string mid = conformance_sandbox::milestone;
  if (s.milestone_id != mid) {
    set(status_check, check_outcome::fail,
        "milestoneId is \"" + s.milestone_id + "\", expected \"" + mid + "\"");
    return;
  }
  if (!io::pid_belongs_to_worker(p.pid(), s.pid)) {
    set(status_check, check_outcome::fail,
        "pid " + std::to_string(s.pid) + " is neither the worker (pid " + std::to_string(p.pid()) +
            ") nor a process of its process group");
    return;
  }
  set(status_check, check_outcome::pass,
      "appeared after " + secs(*p.first_status_at() - p.started_at()) + ": milestoneId " + mid +
          ", pid " + std::to_string(s.pid) +
          (s.pid == p.pid() ? " (the worker)" : " (in the worker's process group)") + ", state `" +
          std::string(core::to_string(s.state)) + "`");
}

void checker::control_run() {
  auto probe = spawn(status_check);
  if (!probe) {
    skip_from(heartbeat_check, stop_file_check, "needs a running worker (status_file failed)");
    return;
  }
  auto& p = *probe;
  std::string why;
  if (!first_status(p, why)) {
    set(status_check, check_outcome::fail, why);
    skip_from(heartbeat_check, stop_file_check, "needs a status file (status_file failed)");
    return;
  }
  check_identity(p);

  // Heartbeats while a unit runs: the first unit's gate stays closed meanwhile.
  auto window = opts_.interval * watched_intervals;
  auto run_from = *p.first_status_at();
  auto run_to = run_from + window;
  p.wait_status([](const io::worker_status&) { return false; }, run_to);
  if (p.exited()) {
    set(heartbeat_check, check_outcome::fail,
        "the worker " + io::describe_exit(p.exit_status()) + " while running its first unit");
    skip_from(pause_check, stop_file_check, "needs a running worker (it exited)");
    return;
  }
  auto running_gap = p.longest_gap(run_from, run_to);
  auto limit = secs(gap_limit());

  // Pause: the unit in progress may finish, then the worker must wait.
  auto done_before = p.latest()->completed_units;
  auto asked = clock::now();
  if (!signal(io::signal_kind::pause, pause_check))
    return;
  sb_.open_gate(static_cast<std::size_t>(done_before) + 1);
  bool paused = p.wait_status([](const io::worker_status& s) { return s.state == core::worker_state::paused; },
                              in(opts_.timeout));
  if (!paused) {
    set(pause_check, check_outcome::fail,
        p.exited()
            ? "the worker " + io::describe_exit(p.exit_status()) + " instead of pausing"
            : "state still " + state_of(p) + " " + secs(opts_.timeout) + " after the pause signal");
    if (running_gap > gap_limit())
      set(heartbeat_check, check_outcome::fail,
          "no heartbeat for " + secs(running_gap) + " while running (limit " + limit + ")");
    else
      set(heartbeat_check, check_outcome::skip,
          "running: longest gap " + secs(running_gap) + " (limit " + limit +
              "); paused: not seen, the worker did not pause");
    set(resume_check, check_outcome::skip, "needs a paused worker (pause failed)");
  } else {
    auto paused_at = clock::now();
    auto held = p.latest()->completed_units;
    // Let the next unit run: a worker that ignores the pause would now make progress.
    sb_.open_gate(static_cast<std::size_t>(held) + 1);
    auto most = held;
    std::string left_state;
    p.wait_status(
        [&](const io::worker_status& s) {
          most = std::max(most, s.completed_units);
          if (s.state != core::worker_state::paused && left_state.empty())
            left_state = std::string(core::to_string(s.state));
          return false;
        },
        paused_at + window);
    auto paused_to = p.exited() ? p.exited_at() : paused_at + window;
    auto paused_gap = p.longest_gap(paused_at, paused_to);
    if (p.exited())
      set(pause_check, check_outcome::fail,
          "the worker " + io::describe_exit(p.exit_status()) + " while paused");
    else if (most > held)
      set(pause_check, check_outcome::fail,
          "completedUnits went from " + std::to_string(held) + " to " + std::to_string(most) +
              " while paused");
    else if (!left_state.empty())
      set(pause_check, check_outcome::fail,
          "state changed to `" + left_state + "` while paused, without a resume");
    else
      set(pause_check, check_outcome::pass,
          "paused " + secs(paused_at - asked) + " after the signal; completedUnits stayed " +
              std::to_string(held) + " for " + secs(window));
    if (running_gap > gap_limit())
      set(heartbeat_check, check_outcome::fail,
          "no heartbeat for " + secs(running_gap) + " while running (limit " + limit + ")");
    else if (paused_gap > gap_limit())
      set(heartbeat_check, check_outcome::fail,
          "no heartbeat for " + secs(paused_gap) + " while paused (limit " + limit + ")");
    else
      set(heartbeat_check, check_outcome::pass,
          "longest gap " + secs(running_gap) + " running, " + secs(paused_gap) + " paused (limit " +
              limit + ")");

    if (p.exited()) {
      skip_from(resume_check, stop_file_check, "needs a running worker (it exited)");
      return;
    }
    if (out_[pause_check].outcome != check_outcome::pass) {
      set(resume_check, check_outcome::skip, "needs a paused worker (pause failed)");
    } else if (signal(io::signal_kind::resume, resume_check)) {
      auto resumed_asked = clock::now();
      bool going = p.wait_status(
          [held](const io::worker_status& s) {
            return s.state == core::worker_state::running && s.completed_units > held;
          },
          in(opts_.timeout));
      if (going)
        set(resume_check, check_outcome::pass,
            "running again; completedUnits " + std::to_string(held) + " -> " +
                std::to_string(p.latest()->completed_units) + " " +
                secs(clock::now() - resumed_asked) + " after the signal");
      else if (p.exited())
        set(resume_check, check_outcome::fail,
            "the worker " + io::describe_exit(p.exit_status()) + " after the resume signal");
      else if (p.latest()->state != core::worker_state::running)
        set(resume_check, check_outcome::fail,
            "state still " + state_of(p) + " " + secs(opts_.timeout) + " after the resume signal");
      else
        set(resume_check, check_outcome::fail,
            "state `running` but completedUnits stayed " + std::to_string(held) + " for " +
                secs(opts_.timeout));
    }
  }
  check_stop_by_file(p);
}

void checker::check_stop_by_file(worker_probe& p) {
  if (p.exited()) {
    set(stop_file_check, check_outcome::skip,
        "needs a running worker (it " + io::describe_exit(p.exit_status()) + ")");
    return;
  }
  auto done = p.latest()->completed_units;
  auto asked = clock::now();
  if (!signal(io::signal_kind::stop, stop_file_check))
    return;
  // Only the unit in progress may finish: a worker that ignores the stop then blocks in the
  // next unit instead of running to its end and passing by accident.
  sb_.open_gate(static_cast<std::size_t>(done) + 1);
  auto deadline = in(opts_.timeout);
  if (!p.wait_exit(deadline))
    set(stop_file_check, check_outcome::fail,
        "still running " + secs(opts_.timeout) + " after the stop signal file (killed)");
  else if (!exited_ok(p.exit_status()))
    set(stop_file_check, check_outcome::fail,
        ended(p, asked) + " after the stop signal; expected exit code 0");
  else if (!p.latest() || p.latest()->state != core::worker_state::stopped)
    set(stop_file_check, check_outcome::fail,
        ended(p, asked) + " after the stop signal, but the last state is " + state_of(p) +
            ", expected `stopped`");
  else
    set(stop_file_check, check_outcome::pass,
        ended(p, asked) + " after the stop signal; state `stopped`");
}

void checker::sigterm_run() {
  auto probe = spawn(sigterm_check);
  if (!probe)
    return;
  auto& p = *probe;
  std::string why;
  if (!first_status(p, why)) {
    set(sigterm_check, check_outcome::fail, why);
    return;
  }
  // Stopping in the middle of a unit is the case that matters; a worker that never names
  // its unit is signalled anyway after two intervals.
  p.wait_status([](const io::worker_status& s) { return s.unit.has_value(); },
                in(opts_.interval * 2));
  if (p.exited()) {
    set(sigterm_check, check_outcome::fail,
        "the worker " + io::describe_exit(p.exit_status()) + " before SIGTERM was sent");
    return;
  }
  std::string during = p.latest()->unit ? " during unit " + p.latest()->unit->id : "";
  auto asked = clock::now();
  if (auto err = p.signal_group(SIGTERM)) {
    set(sigterm_check, check_outcome::fail, "cannot send SIGTERM: " + describe(err));
    return;
  }
  auto deadline = in(opts_.timeout);
  if (!p.wait_exit(deadline))
    set(sigterm_check, check_outcome::fail,
        "still running " + secs(opts_.timeout) + " after SIGTERM to its process group (killed)");
  else if (!exited_ok(p.exit_status()))
    set(sigterm_check, check_outcome::fail,
        ended(p, asked) + " after SIGTERM" + during + "; expected exit code 0");
  else
    set(sigterm_check, check_outcome::pass,
        ended(p, asked) + " after SIGTERM" + during + "; last state " + state_of(p));
}

void checker::completion_run() {
  sb_.open_all_gates();
  auto probe = spawn(completion_check);
  if (!probe)
    return;
  auto& p = *probe;
  // The deadline follows progress: a long plan is fine, a stuck worker is not.
  auto deadline = in(opts_.timeout);
  int64_t done = -1;
  p.wait_exit(deadline, [&](const io::worker_status& s) {
    if (s.completed_units != done) {
      done = s.completed_units;
      deadline = in(opts_.timeout);
    }
  });
  if (!p.exited()) {
    set(completion_check, check_outcome::fail,
        "no progress for " + secs(opts_.timeout) + " (completedUnits " +
            (p.latest() ? std::to_string(p.latest()->completed_units) : "unknown") + "); killed");
    return;
  }
  auto how = io::describe_exit(p.exit_status());
  const auto& last = p.latest();
  if (!exited_ok(p.exit_status()))
    set(completion_check, check_outcome::fail, how + " with every unit able to run; expected 0");
  else if (!last)
    set(completion_check, check_outcome::fail, how + " without ever writing a status file");
  else if (last->state != core::worker_state::stopped)
    set(completion_check, check_outcome::fail,
        how + " but the last state is `" + std::string(core::to_string(last->state)) + "`, expected `stopped`");
  else if (last->total_units && last->completed_units != *last->total_units)
    set(completion_check, check_outcome::fail,
        how + " after " + std::to_string(last->completed_units) + " of " +
            std::to_string(*last->total_units) + " units");
  else
    set(completion_check, check_outcome::pass,
        how + " with completedUnits " + std::to_string(last->completed_units) +
            ", state `stopped`");
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

/// Blocks the signals that would end the checker, so they arrive on a signalfd instead and
/// the worker is still killed and the sandbox removed; restores the mask on destruction.
class interrupt_guard {
public:
  interrupt_guard() {
    sigemptyset(&mask_);
    sigaddset(&mask_, SIGINT);
    sigaddset(&mask_, SIGTERM);
    sigaddset(&mask_, SIGHUP);
    if (::pthread_sigmask(SIG_BLOCK, &mask_, &old_) == 0) {
      blocked_ = true;
      fd_.reset(::signalfd(-1, &mask_, SFD_CLOEXEC | SFD_NONBLOCK));
    }
  }
  ~interrupt_guard() {
    if (!blocked_)
      return;
    // Take a pending request here: it has been acted on, and must not kill us on unblock.
    signalfd_siginfo info;
    while (fd_ && ::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  interrupt_guard(const interrupt_guard&) = delete;
  interrupt_guard& operator=(const interrupt_guard&) = delete;

  /// The signalfd, or -1 when the signals could not be redirected.
  int fd() const { return fd_.get(); }

private:
  sigset_t mask_;
  sigset_t old_;
  bool blocked_ = false;
  io::unique_fd fd_;
};

} // namespace

const char* to_string(check_outcome o) {
  switch (o) {
  case check_outcome::pass:
    return "PASS";
  case check_outcome::fail:
    return "FAIL";
  case check_outcome::skip:
    return "SKIP";
  }
  return "?";
}

std::size_t conformance_report::count(check_outcome o) const {
  std::size_t n = 0;
  for (const auto& c : checks)
    n += c.outcome == o ? 1 : 0;
  return n;
}

bool conformance_report::passed() const {
  return !interrupted && count(check_outcome::fail) == 0;
}

caf::expected<conformance_report> check_worker(const conformance_options& opts) {
  if (opts.argv.empty())
    return make_error(ec::usage, "no worker command given");
  interrupt_guard interrupts;
  auto sb = conformance_sandbox::create(opts.interval, opts.timeout);
  if (!sb)
    return sb.error();
  conformance_report report;
  report.checks.assign(std::begin(check_table), std::end(check_table));
  try {
    checker c{opts, *sb, interrupts.fd(), report.checks};
    c.control_run();
    c.sigterm_run();
    c.completion_run();
  } catch (const check_interrupted&) {
    report.interrupted = true;
    for (auto& c : report.checks)
      if (c.detail == "not run")
        c.detail = "not run: the checker was interrupted";
  }
  report.log_tail = split_lines(
      io::tail_lines(io::worker_log_path(sb->root(), conformance_sandbox::milestone), 10));
  return report;
}

} // namespace sf::worker
