#include "io/os/captured_run.hpp"

#include "messages/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sf::io {

namespace {

// Appends `n` bytes, keeping only the last `cap` of everything appended.
void keep_tail(captured_result& out, const char* data, std::size_t n, std::size_t cap) {
  out.output.append(data, n);
  if (out.output.size() > cap) {
    out.output.erase(0, out.output.size() - cap);
    out.truncated = true;
  }
}

// Reads what the pipe holds now; false at its end (every writer closed it).
bool drain(int fd, captured_result& out, std::size_t cap) {
  char buf[8192];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      keep_tail(out, buf, static_cast<std::size_t>(n), cap);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0; // EAGAIN: more may come; 0: the end
  }
}

} // namespace

caf::expected<captured_result> run_captured(spawn_request req, std::chrono::milliseconds timeout,
                                            std::chrono::milliseconds grace,
                                            std::size_t max_output, int stop_fd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return make_error(ec::process_error, "cannot create a pipe for `" +
                                           (req.argv.empty() ? std::string{} : req.argv[0]) +
                                           "`: " + std::strerror(errno));
  unique_fd read_end{fds[0]};
  unique_fd write_end{fds[1]};
  // Only our end reads without blocking: the command writes to a blocking pipe as usual.
  (void) ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
  req.output_fd = write_end.get();
  auto proc = timed_process::start(req, timeout, grace);
  if (!proc)
    return std::move(proc.error());
  write_end.reset();
  // A daemon the command started must not keep the pipe (and us) open once it exits.
  proc->end_group_at_exit();
  captured_result out;
  bool open = true;
  for (;;) {
    if (auto done = proc->wait_for(std::chrono::milliseconds(0))) {
      // Its group is gone: what it wrote before is in the pipe (a writer that escaped the group
      // with setsid may hold it open, so only what is there now is read).
      if (open)
        (void) drain(read_end.get(), out, max_output);
      out.outcome = *done;
      return out;
    }
    pollfd pfds[3] = {{open ? read_end.get() : -1, POLLIN, 0}, {proc->pidfd(), POLLIN, 0},
                      {out.stopped ? -1 : stop_fd, POLLIN, 0}};
    // Bounded, so SIGTERM and SIGKILL go out at their deadlines (wait_for above sends them).
    int rc = ::poll(pfds, 3, 50);
    if (rc < 0 && errno != EINTR)
      return make_error(ec::process_error, std::string{"waiting for a command failed: "} +
                                             std::strerror(errno));
    if (open && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
      open = drain(read_end.get(), out, max_output);
    if (!out.stopped && stop_fd >= 0 && (pfds[2].revents & POLLIN) != 0) {
      out.stopped = true;
      proc->cut_deadline(timed_process::clock::now());
    }
  }
}

} // namespace sf::io
