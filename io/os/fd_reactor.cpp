#include "io/os/fd_reactor.hpp"

#include "messages/error.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

namespace sf::io {

namespace {

// epoll data of the internal wake-up eventfd; watch ids start at 1.
constexpr uint64_t wake_tag = 0;

} // namespace

caf::expected<std::unique_ptr<fd_reactor>> fd_reactor::create() { return make(true); }

caf::expected<std::unique_ptr<fd_reactor>> fd_reactor::create_manual() { return make(false); }

caf::expected<std::unique_ptr<fd_reactor>> fd_reactor::make(bool threaded) {
  unique_fd ep{::epoll_create1(EPOLL_CLOEXEC)};
  if (!ep)
    return make_error(ec::io_error, std::string("cannot create epoll set: ") +
                                        std::strerror(errno) + "; raise the fd limit");
  unique_fd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  if (!wake)
    return make_error(ec::io_error, std::string("cannot create eventfd: ") +
                                        std::strerror(errno) + "; raise the fd limit");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_tag;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0)
    return make_error(ec::io_error, std::string("cannot add eventfd to epoll: ") +
                                        std::strerror(errno));
  return std::unique_ptr<fd_reactor>(new fd_reactor(std::move(ep), std::move(wake), threaded));
}

fd_reactor::fd_reactor(unique_fd epoll, unique_fd wake, bool threaded)
  : epoll_(std::move(epoll)), wake_(std::move(wake)) {
  if (!threaded)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  thread_ = std::thread([this] { run(); });
  thread_id_ = thread_.get_id();
}

std::size_t fd_reactor::poll(std::chrono::milliseconds wait) {
  {
    // The polling thread is the reactor thread while it polls: an unwatch from one of its
    // callbacks must not wait for itself.
    std::lock_guard<std::mutex> guard{mtx_};
    if (thread_.joinable() || stopping_)
      return 0;
    thread_id_ = std::this_thread::get_id();
  }
  std::size_t ran = 0;
  dispatch(static_cast<int>(wait.count()), ran);
  return ran;
}

fd_reactor::~fd_reactor() {
  stop();
}

bool fd_reactor::on_reactor_thread() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::this_thread::get_id() == thread_id_;
}

caf::expected<fd_reactor::watch_id> fd_reactor::watch(int fd, std::function<void()> cb) {
  return add(fd, std::move(cb), false);
}

caf::expected<fd_reactor::watch_id> fd_reactor::watch_once(int fd, std::function<void()> cb) {
  return add(fd, std::move(cb), true);
}

caf::expected<fd_reactor::watch_id> fd_reactor::add(int fd, std::function<void()> cb,
                                                    bool once) {
  if (!cb)
    return make_error(ec::io_error, "cannot watch fd " + std::to_string(fd) +
                                        ": the callback is empty");
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopping_)
    return make_error(ec::io_error, "cannot watch fd " + std::to_string(fd) +
                                        ": the reactor is stopped");
  auto id = next_id_++;
  epoll_event ev{};
  // EPOLLONESHOT keeps a one-shot fd from waking the thread again before it is removed.
  ev.events = EPOLLIN | (once ? EPOLLONESHOT : 0u);
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    return make_error(ec::io_error, "cannot watch fd " + std::to_string(fd) + ": " +
                                        std::strerror(errno) +
                                        (errno == EEXIST ? " (already watched; unwatch first)"
                                                         : ""));
  entries_.emplace(id, entry{fd, once, std::make_shared<std::function<void()>>(std::move(cb))});
  return id;
}

void fd_reactor::unwatch(watch_id id) {
  std::unique_lock<std::mutex> lock{mtx_};
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    // ENOENT/EBADF mean the fd was closed already, which removed it from the set.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
    entries_.erase(it);
  }
  if (std::this_thread::get_id() != thread_id_)
    idle_.wait(lock, [&] { return running_ != id; });
}

void fd_reactor::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_) {
      stopping_ = true;
      uint64_t one = 1;
      // Cannot fail short of a counter overflow, which one write never reaches.
      [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
    }
    if (std::this_thread::get_id() == thread_id_)
      return;
  }
  std::lock_guard<std::mutex> join_guard{join_mtx_};
  if (thread_.joinable())
    thread_.join();
  std::lock_guard<std::mutex> guard{mtx_};
  entries_.clear();
}

void fd_reactor::run() {
  std::size_t ran = 0;
  while (dispatch(-1, ran)) {
  }
}

bool fd_reactor::dispatch(int timeout_ms, std::size_t& ran) {
  constexpr int max_events = 64;
  epoll_event events[max_events];
  int n = ::epoll_wait(epoll_.get(), events, max_events, timeout_ms);
  if (n < 0) {
    if (errno == EINTR)
      return true;
    // Only EBADF/EFAULT/EINVAL are possible: a bug, and a silent stop would hang callers.
    std::fprintf(stderr, "fd_reactor: epoll_wait failed: %s\n", std::strerror(errno));
    std::terminate();
  }
  for (int i = 0; i < n; ++i) {
    auto id = events[i].data.u64;
    if (id == wake_tag) {
      uint64_t count;
      [[maybe_unused]] auto r = ::read(wake_.get(), &count, sizeof(count));
      continue;
    }
    std::shared_ptr<std::function<void()>> cb;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_)
        return false;
      // An id unwatched after epoll_wait returned is simply not found here.
      auto it = entries_.find(id);
      if (it == entries_.end())
        continue;
      cb = it->second.cb;
      if (it->second.once) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
        entries_.erase(it);
      }
      running_ = id;
    }
    (*cb)();
    ++ran;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      running_ = 0;
    }
    idle_.notify_all();
  }
  std::lock_guard<std::mutex> guard{mtx_};
  return !stopping_;
}

} // namespace sf::io
