#include "io/os/timed_process.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>

namespace sf::io {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Waits until the pidfd says the child exited, at most `ms`; false on timeout.
bool wait_exit(int pidfd, milliseconds ms) {
  pollfd pfd{pidfd, POLLIN, 0};
  int rc;
  do
    rc = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, ms.count())));
  while (rc < 0 && errno == EINTR);
  return rc > 0;
}

} // namespace

bool timed_outcome::ok() const {
  return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string timed_outcome::describe() const {
  if (!timed_out)
    return describe_exit(status);
  return fmt::format("timed out after {:g} s ({})", static_cast<double>(took.count()) / 1000,
                     describe_exit(status));
}

caf::expected<timed_process> timed_process::start(const spawn_request& req,
                                                  milliseconds timeout, milliseconds grace) {
  auto child = spawn_process(req);
  if (!child)
    return std::move(child.error());
  return timed_process{std::move(*child), clock::now() + timeout, grace};
}

timed_process timed_process::adopt(child_process child, milliseconds timeout, milliseconds grace) {
  return timed_process{std::move(child), clock::now() + timeout, grace};
}

timed_process::timed_process(child_process child, clock::time_point deadline,
                             milliseconds grace)
  : child_(std::move(child)), started_(clock::now()), deadline_(deadline), grace_(grace) {
}

timed_process::~timed_process() {
  // A moved-from command keeps the pid but no pidfd: the process is its new owner's.
  if (child_.pid() <= 0 || child_.pidfd() < 0 || done_)
    return;
  (void) child_.signal_group(SIGKILL);
  wait_exit(child_.pidfd(), std::chrono::seconds(5));
  int status = 0;
  (void) child_.try_reap(status);
}

void timed_process::cut_deadline(clock::time_point at) {
  deadline_ = std::min(deadline_, at);
}

std::optional<timed_outcome> timed_process::wait_for(milliseconds slice) {
  if (done_)
    return done_;
  auto now = clock::now();
  auto until = now + slice;
  // Signals go out at their deadlines, whichever slice of waiting they fall into.
  while (true) {
    now = clock::now();
    if (!termed_at_ && now >= deadline_) {
      (void) child_.signal_group(SIGTERM);
      termed_at_ = now;
    }
    if (termed_at_ && !killed_ && now >= *termed_at_ + grace_) {
      (void) child_.signal_group(SIGKILL);
      killed_ = true;
    }
    auto next = until;
    if (!termed_at_)
      next = std::min(next, deadline_);
    else if (!killed_)
      next = std::min(next, *termed_at_ + grace_);
    if (wait_exit(child_.pidfd(), duration_cast<milliseconds>(next - now) + milliseconds(1))) {
      // A stopped command's group may hold children that outlived the shell: they go with
      // it while the leader's zombie still pins the group id.
      if (termed_at_ || end_group_)
        (void) child_.signal_group(SIGKILL);
      int status = 0;
      if (child_.try_reap(status)) {
        done_ = timed_outcome{status, termed_at_.has_value(),
                              duration_cast<milliseconds>(clock::now() - started_)};
        return done_;
      }
    }
    if (clock::now() >= until)
      return std::nullopt;
  }
}

timed_outcome timed_process::wait() {
  while (true)
    if (auto out = wait_for(std::chrono::seconds(1)))
      return *out;
}

} // namespace sf::io
