#include "worker/unit_runner.hpp"

#include "agents/cost_scanner.hpp"
#include "io/os/process.hpp"
#include "io/os/unique_fd.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

namespace sf::worker {

namespace {

using clock_type = std::chrono::steady_clock;

/// Output read in one turn of the watch loop before its checks run again.
constexpr std::size_t max_read_per_turn = 1u << 20;

/// Milliseconds from now until `t`, rounded up so poll never wakes just before it; >= 0.
int ms_until(clock_type::time_point t) {
  auto left = t - clock_type::now();
  if (left <= clock_type::duration::zero())
    return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 1000000 ? 1000000 : static_cast<int>(ms);
}

/// Copies unit output to the worker's log; a broken log is reported once, not fatal, since
/// losing log lines must not fail the unit.
class output_copier {
public:
  explicit output_copier(int fd) : fd_(fd) {}

  void write(const char* data, std::size_t size) {
    while (size > 0 && !broken_) {
      ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        broken_ = true;
        std::cerr << "sf-actors worker: cannot copy unit output to fd " << fd_ << ": "
                  << std::strerror(errno) << "; further output of this unit is not logged\n";
        return;
      }
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }

private:
  int fd_;
  bool broken_ = false;
};

} // namespace

bool unit_result::succeeded() const {
  return !interrupted && ended_by.empty() && WIFEXITED(exit_status) &&
         WEXITSTATUS(exit_status) == 0;
}

caf::expected<unit_result> run_unit(const unit_request& req) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return make_error(ec::process_error, std::string("cannot create the output pipe of a unit: ") +
                                             std::strerror(errno));
  io::unique_fd read_end{fds[0]};
  io::unique_fd write_end{fds[1]};
  io::spawn_request sp;
  sp.argv = req.argv.empty() ? std::vector<std::string>{"/bin/sh", "-c", req.command} : req.argv;
  sp.input_fd = req.input_fd;
  sp.cwd = req.cwd;
  sp.env = req.env;
  sp.output_fd = write_end.get();
  auto child = io::spawn_process(sp);
  // Our copy of the write end must go, or the pipe never reports end of file.
  write_end.reset();
  if (!child)
    return child.error();
  if (::fcntl(read_end.get(), F_SETFL, O_NONBLOCK) != 0)
    return make_error(ec::io_error, std::string("cannot make the unit's output pipe "
                                                "non-blocking: ") + std::strerror(errno));

  unit_result result;
  result.pid = child->pid();
  const auto began = clock_type::now();
  auto last_output = began;
  bool idle = false;
  agents::cost_scanner costs;
  output_copier copier{req.copy_fd};
  char buf[16384];
  // Reads what is available, at most max_read_per_turn: a unit that prints faster than it is
  // read must not keep the loop from its heartbeat, timeout and stop checks. Returns false at
  // end of file or on a read error.
  auto drain = [&]() -> bool {
    for (std::size_t taken = 0; taken < max_read_per_turn;) {
      ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
      if (n > 0) {
        taken += static_cast<std::size_t>(n);
        copier.write(buf, static_cast<std::size_t>(n));
        costs.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        if (req.on_output)
          req.on_output(std::string_view(buf, static_cast<std::size_t>(n)));
        last_output = clock_type::now();
        if (idle) {
          idle = false;
          req.on_idle(false);
        }
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
      return false;
    }
    return true; // More may be waiting: the next turn of the loop reads it.
  };

  enum class phase { running, terminating, killing } ph = phase::running;
  auto period = req.heartbeat.count() > 0 ? req.heartbeat : std::chrono::milliseconds(1000);
  auto next_beat = clock_type::now() + period;
  auto kill_at = clock_type::time_point::max();
  const auto end_at = req.timeout ? began + *req.timeout : clock_type::time_point::max();
  auto terminate = [&](std::string why) {
    result.ended_by = std::move(why);
    (void) child->signal_group(SIGTERM);
    ph = phase::terminating;
    kill_at = clock_type::now() + req.kill_grace;
  };
  for (;;) {
    pollfd pfds[3];
    nfds_t n = 0;
    pfds[n++] = {child->pidfd(), POLLIN, 0};
    int pipe_slot = -1;
    if (read_end) {
      pipe_slot = static_cast<int>(n);
      pfds[n++] = {read_end.get(), POLLIN, 0};
    }
    int stop_slot = -1;
    if (ph == phase::running && req.stop_fd >= 0) {
      stop_slot = static_cast<int>(n);
      pfds[n++] = {req.stop_fd, POLLIN, 0};
    }
    int timeout = ms_until(next_beat);
    if (ph == phase::terminating)
      timeout = std::min(timeout, ms_until(kill_at));
    if (ph == phase::running && req.timeout)
      timeout = std::min(timeout, ms_until(end_at));
    if (ph == phase::running && req.idle_timeout && req.on_idle && !idle)
      timeout = std::min(timeout, ms_until(last_output + *req.idle_timeout));
    int rc = ::poll(pfds, n, timeout);
    if (rc < 0 && errno != EINTR) {
      int err = errno;
      // We cannot watch it any more: do not leave it running unsupervised.
      (void) child->signal_group(SIGKILL);
      int status = 0;
      while (!child->try_reap(status)) {
        pollfd p{child->pidfd(), POLLIN, 0};
        (void) ::poll(&p, 1, -1);
      }
      return make_error(ec::process_error,
                        std::string("cannot wait for a unit's process: poll failed: ") +
                            std::strerror(err));
    }
    if (pipe_slot >= 0 && (pfds[pipe_slot].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (!drain())
        read_end.reset();
    }
    if (stop_slot >= 0 && (pfds[stop_slot].revents & POLLIN) != 0) {
      result.interrupted = true;
      terminate("");
    }
    if (ph == phase::running && clock_type::now() >= end_at)
      terminate("timeout");
    if (ph == phase::running && req.should_end)
      if (auto why = req.should_end())
        terminate(*why);
    if (ph == phase::running && req.idle_timeout && req.on_idle && !idle &&
        clock_type::now() >= last_output + *req.idle_timeout) {
      idle = true;
      req.on_idle(true);
    }
    if (ph == phase::terminating && clock_type::now() >= kill_at) {
      (void) child->signal_group(SIGKILL);
      ph = phase::killing;
    }
    if ((pfds[0].revents & POLLIN) != 0)
      break;
    if (clock_type::now() >= next_beat) {
      if (req.on_heartbeat)
        req.on_heartbeat();
      next_beat = clock_type::now() + period;
    }
  }
  // The shell has exited: its own writes are all in the pipe by now. Do not wait for end of
  // file, since a background job may hold the pipe open.
  if (read_end)
    (void) drain();
  costs.finish();
  // The unreaped shell still pins its process group id, so this cannot hit a reused group.
  (void) child->signal_group(SIGKILL);
  int status = 0;
  if (!child->try_reap(status))
    return make_error(ec::process_error, "cannot collect the exit status of unit process " +
                                             std::to_string(result.pid));
  result.exit_status = status;
  result.reported_cost = costs.total();
  result.cost_reports = costs.reports();
  return result;
}

} // namespace sf::worker
