#pragma once
/// One background thread that waits (epoll, no timeout) for fds to become readable.

#include "io/os/unique_fd.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace sf::io {

/// Runs a callback on its own thread whenever a watched fd is readable (level-triggered).
///
/// Callbacks must be short, must not throw and must not block on whoever calls `unwatch`
/// (the actors just send a message). Guarantee: once `unwatch(id)` returns, the callback
/// of `id` is not running and will never run again. The reactor thread looks an event's id
/// up under a mutex right before calling, and `unwatch` (from another thread) waits until
/// a callback of that id already in progress has returned; from inside a callback it
/// cannot wait for itself, and needs not, since later lookups will not find the id.
/// Close a watched fd only after `unwatch` returns (epoll keys on the fd number).
class fd_reactor {
public:
  /// Handle of one watch; never 0.
  using watch_id = uint64_t;

  /// Creates the epoll set and the wake-up eventfd and starts the thread.
  static caf::expected<std::unique_ptr<fd_reactor>> create();

  /// A reactor without a thread: callbacks run inside `poll`, on the caller's thread. For a
  /// host that owns the only thread allowed to send (CAF's deterministic test scheduler).
  static caf::expected<std::unique_ptr<fd_reactor>> create_manual();

  /// Manual reactors only: waits up to `wait` for readiness and runs the callbacks of the
  /// ready fds; returns how many ran (0 after a stop or when nothing became ready).
  std::size_t poll(std::chrono::milliseconds wait);

  /// Stops and joins the thread. Must not run on the reactor thread.
  ~fd_reactor();

  fd_reactor(const fd_reactor&) = delete;
  fd_reactor& operator=(const fd_reactor&) = delete;

  /// Calls `on_readable` on the reactor thread each time `fd` is readable, until unwatched.
  /// The callback must consume the readiness (or unwatch), or it is called again at once.
  /// One watch per fd at a time.
  caf::expected<watch_id> watch(int fd, std::function<void()> on_readable);

  /// Like `watch`, but removes the watch right before the single call (for a pidfd, which
  /// stays readable forever once its process exited).
  caf::expected<watch_id> watch_once(int fd, std::function<void()> on_readable);

  /// Removes a watch; unknown ids are ignored. Safe from any thread and from callbacks.
  void unwatch(watch_id id);

  /// Stops the thread and drops all watches; idempotent, safe from any thread. Called on the
  /// reactor thread (from a callback) it only requests the stop; the destructor joins.
  void stop();

  /// True when called on the reactor thread.
  bool on_reactor_thread() const;

private:
  /// One registered fd.
  struct entry {
    int fd;                                   ///< The watched descriptor.
    bool once;                                ///< Remove before the first call.
    std::shared_ptr<std::function<void()>> cb; ///< Shared so a call survives an erase.
  };

  fd_reactor(unique_fd epoll, unique_fd wake, bool threaded);

  /// Creates the epoll set and the wake-up eventfd.
  static caf::expected<std::unique_ptr<fd_reactor>> make(bool threaded);

  /// Thread body: dispatch until stopped.
  void run();

  /// One wait of at most `timeout_ms` (-1: forever), then the callbacks of what is ready;
  /// counts them into `ran`. False once the reactor is stopping.
  bool dispatch(int timeout_ms, std::size_t& ran);

  /// Registers `fd` in the map and the epoll set.
  caf::expected<watch_id> add(int fd, std::function<void()> cb, bool once);

  unique_fd epoll_;
  unique_fd wake_;
  mutable std::mutex mtx_;
  std::condition_variable idle_;
  std::unordered_map<watch_id, entry> entries_;
  watch_id next_id_ = 1;
  watch_id running_ = 0;
  bool stopping_ = false;
  std::thread::id thread_id_;
  std::mutex join_mtx_;
  std::thread thread_;
};

} // namespace sf::io
