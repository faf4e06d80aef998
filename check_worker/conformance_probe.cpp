#include "check_worker/conformance_probe.hpp"

#include "core/sf_paths.hpp"
#include "io/os/proc_scan.hpp"
#include "io/os/safe_file.hpp"
#include "io/os/worker_launch.hpp"
#include "messages/error.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace sf::worker {

caf::expected<std::unique_ptr<worker_probe>>
worker_probe::start(const conformance_sandbox& sb, const std::vector<std::string>& argv,
                    const std::vector<std::string>& base_env, int interrupt_fd,
                    const std::string& log_relay) {
  // Watch before spawning, so not even the first status write can be missed.
  auto watcher = io::dir_watcher::create(core::parallel_dir(sb.root()));
  if (!watcher)
    return watcher.error();
  io::worker_launch launch{sb.root(), conformance_sandbox::milestone, sb.worktree(), argv,
                           base_env,  io::new_spawn_token()};
  auto launched = io::spawn_worker(launch, log_relay);
  if (!launched)
    return launched.error();
  std::unique_ptr<worker_probe> probe{new worker_probe(sb, std::move(*launched),
                                                       std::move(*watcher), interrupt_fd,
                                                       launch.spawn_token)};
  probe->refresh();
  return probe;
}

worker_probe::worker_probe(const conformance_sandbox& sb, io::launched_worker launched,
                           io::dir_watcher watcher, int interrupt_fd, std::string token)
    : root_(sb.root()), status_name_(std::string(conformance_sandbox::milestone) + ".status.json"),
      child_(std::move(launched.worker)), relay_(std::move(launched.relay)),
      token_(std::move(token)), watcher_(std::move(watcher)), interrupt_fd_(interrupt_fd) {}

worker_probe::~worker_probe() {
  if (!exited_) {
    // Only the group we spawned is ever signalled; SIGKILL cannot be ignored, so the bounded
    // wait is for the kernel, not for the worker's good will.
    (void)child_.signal_group(SIGKILL);
    pollfd pfd{child_.pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    int status = 0;
    (void)child_.try_reap(status);
  }
  // What left the group (setsid daemons) carries the token, as under a coordinator.
  (void)io::kill_token_holders(root_, token_);
  if (relay_) {
    // It ends once the last writer of the worker's pipe is gone.
    pollfd pfd{relay_->pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    int status = 0;
    (void)relay_->try_reap(status);
  }
}

caf::error worker_probe::signal_group(int sig) {
  return child_.signal_group(sig);
}

bool worker_probe::refresh() {
  auto text = io::read_file_capped(core::parallel_file(root_, status_name_), io::max_status_bytes);
  if (!text) {
    if (code_of(text.error()) != ec::not_found)
      last_error_ = describe(text.error());
    return false;
  }
  // inotify reports a rename and a close-after-write alike; read each content once.
  if (*text == last_text_)
    return false;
  last_text_ = *text;
  // The milestone id is compared by the checks, which can then say what was wrong.
  auto st = io::decode_status(*text, "");
  if (!st) {
    last_error_ = describe(st.error());
    return false;
  }
  auto now = clock::now();
  if (!first_status_at_)
    first_status_at_ = now;
  // Any new value is a heartbeat, as for the coordinator: a worker's clock may step back.
  if (st->last_heartbeat != newest_heartbeat_) {
    newest_heartbeat_ = st->last_heartbeat;
    beats_.push_back(now);
  }
  latest_ = std::move(*st);
  return true;
}

void worker_probe::on_exit() {
  // Leftovers of the worker die with it, while its zombie still pins the group id.
  (void)child_.signal_group(SIGKILL);
  int status = 0;
  if (!child_.try_reap(status))
    return;
  exited_ = true;
  exit_status_ = status;
  exited_at_ = clock::now();
  (void)watcher_.read_events();
}

bool worker_probe::pump(clock::time_point& deadline,
                        const std::function<bool(const io::worker_status&)>& fn) {
  while (!exited_) {
    auto now = clock::now();
    if (now >= deadline)
      return false;
    pollfd pfds[3] = {
        {watcher_.fd(), POLLIN, 0}, {child_.pidfd(), POLLIN, 0}, {interrupt_fd_, POLLIN, 0}};
    nfds_t count = interrupt_fd_ >= 0 ? 3 : 2;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    int rc = ::poll(pfds, count, static_cast<int>(std::min<long long>(left, 60000)));
    if (rc < 0 && errno != EINTR)
      return false;
    if (rc <= 0)
      continue;
    if (count == 3 && (pfds[2].revents & POLLIN) != 0)
      throw check_interrupted{};
    if ((pfds[0].revents & POLLIN) != 0) {
      bool relevant = false;
      for (const auto& ev : watcher_.read_events())
        if (ev.kind == io::dir_event::overflow ||
            (ev.kind == io::dir_event::changed && ev.name == status_name_))
          relevant = true;
      if (relevant && refresh() && fn && fn(*latest_))
        return true;
    }
    if ((pfds[1].revents & (POLLIN | POLLHUP)) != 0) {
      on_exit();
      // The last words a worker writes just before it exits count too.
      if (exited_ && refresh() && fn && fn(*latest_))
        return true;
    }
  }
  return false;
}

bool worker_probe::wait_status(const std::function<bool(const io::worker_status&)>& done,
                               clock::time_point deadline) {
  if (latest_ && done(*latest_))
    return true;
  return pump(deadline, done);
}

bool worker_probe::wait_exit(clock::time_point& deadline,
                             const std::function<void(const io::worker_status&)>& on_status) {
  pump(deadline, [&](const io::worker_status& s) {
    if (on_status)
      on_status(s);
    return false;
  });
  return exited_;
}

worker_probe::clock::duration worker_probe::longest_gap(clock::time_point from,
                                                        clock::time_point to) const {
  // Measured from the last heartbeat before the window: a silence that began earlier counts.
  auto last = from;
  clock::duration longest{0};
  for (auto t : beats_) {
    if (t <= from) {
      last = t;
      continue;
    }
    if (t > to)
      break;
    longest = std::max(longest, t - last);
    last = t;
  }
  return std::max(longest, to - last);
}

} // namespace sf::worker
