#include "io/os/inode_release.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

namespace sf::io {

namespace {

/// Past this many waiting descriptors the caller closes its own: the device is slower than
/// the writers, and deferring further would only grow the queue.
constexpr std::size_t max_pending = 256;

class closer {
public:
  /// Queues `fd`; false when the caller must close it itself.
  bool push(int fd) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!start_locked() || queue_.size() >= max_pending)
      return false;
    queue_.push_back(fd);
    ++queued_;
    cv_.notify_all();
    return true;
  }

  void wait_idle() {
    std::unique_lock<std::mutex> guard{mtx_};
    auto target = queued_;
    cv_.wait(guard, [&] { return closed_ >= target; });
  }

private:
  bool start_locked() {
    if (started_)
      return running_;
    started_ = true;
    try {
      // Detached and never destroyed: descriptors still queued at exit are closed by the
      // kernel, and no static destructor can race a late caller.
      std::thread{[this] { loop(); }}.detach();
      running_ = true;
    } catch (const std::system_error&) {
      running_ = false;
    }
    return running_;
  }

  void loop() {
    // Freeing waits for the device: the lowest CPU and I/O priority keep it from delaying the
    // threads that deliver events.
    (void) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
    (void) ::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, ::gettid(), 3 << 13 /* IDLE */);
    std::unique_lock<std::mutex> guard{mtx_};
    for (;;) {
      cv_.wait(guard, [&] { return !queue_.empty(); });
      int fd = queue_.front();
      queue_.pop_front();
      guard.unlock();
      ::close(fd);
      guard.lock();
      ++closed_;
      cv_.notify_all();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<int> queue_;
  std::uint64_t queued_ = 0;
  std::uint64_t closed_ = 0;
  bool started_ = false;
  bool running_ = false;
};

closer& the_closer() {
  static auto* c = new closer; // Leaked on purpose: see start_locked.
  return *c;
}

} // namespace

unique_fd hold_inode(int dirfd, const char* name) {
  return unique_fd{::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)};
}

unique_fd hold_inode(const std::string& path) {
  return hold_inode(AT_FDCWD, path.c_str());
}

void release_later(unique_fd fd) {
  if (!fd)
    return;
  if (the_closer().push(fd.get()))
    (void) fd.release();
}

int unlink_deferred(int dirfd, const char* name) {
  auto held = hold_inode(dirfd, name);
  int rc = ::unlinkat(dirfd, name, 0);
  int err = errno;
  release_later(std::move(held));
  errno = err;
  return rc;
}

int unlink_deferred(const std::string& path) {
  return unlink_deferred(AT_FDCWD, path.c_str());
}

held_inodes::~held_inodes() {
  for (auto& fd : fds_)
    release_later(std::move(fd));
}

void held_inodes::add(const std::string& path) {
  if (auto fd = hold_inode(path))
    fds_.push_back(std::move(fd));
}

void held_inodes::add_tree(const std::string& path, std::size_t limit) {
  std::size_t budget = limit;
  add_walk(AT_FDCWD, path.c_str(), budget);
}

// Depth first; each folder is held after its entries, as a removal reaches them.
void held_inodes::add_walk(int parent, const char* name, std::size_t& budget) {
  if (budget == 0)
    return;
  int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (d == nullptr) {
    if (fd >= 0)
      ::close(fd);
    add_held(hold_inode(parent, name), budget); // A file, a link, or unreadable.
    return;
  }
  while (dirent* e = ::readdir(d)) {
    if (budget == 0)
      break;
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
      continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)
      add_walk(::dirfd(d), e->d_name, budget);
    else
      add_held(hold_inode(::dirfd(d), e->d_name), budget);
  }
  ::closedir(d);
  add_held(hold_inode(parent, name), budget);
}

void held_inodes::add_held(unique_fd fd, std::size_t& budget) {
  if (!fd || budget == 0)
    return;
  fds_.push_back(std::move(fd));
  --budget;
}

void wait_released() {
  the_closer().wait_idle();
}

} // namespace sf::io
