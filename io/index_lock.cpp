#include "io/index_lock.hpp"

#include "io/safe_file.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <utility>

namespace sf::io {

namespace {

bool same_file(const std::string& path, dev_t dev, ino_t ino) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

} // namespace

index_lock::index_lock(std::string lock, std::string index, dev_t dev, ino_t ino)
  : lock_(std::move(lock)), index_(std::move(index)), dev_(dev), ino_(ino), held_(true) {
}

index_lock::index_lock(index_lock&& other) noexcept
  : lock_(std::move(other.lock_)),
    index_(std::move(other.index_)),
    dev_(other.dev_),
    ino_(other.ino_),
    held_(std::exchange(other.held_, false)) {
}

index_lock& index_lock::operator=(index_lock&& other) noexcept {
  if (this != &other) {
    release();
    lock_ = std::move(other.lock_);
    index_ = std::move(other.index_);
    dev_ = other.dev_;
    ino_ = other.ino_;
    held_ = std::exchange(other.held_, false);
  }
  return *this;
}

index_lock::~index_lock() {
  release();
}

caf::expected<index_lock> index_lock::acquire(const std::string& gitdir,
                                              const std::string& checkout,
                                              std::chrono::milliseconds patience) {
  std::string dir = gitdir;
  if (!dir.empty() && dir.back() != '/')
    dir += '/';
  auto lock = dir + "index.lock";
  auto deadline = std::chrono::steady_clock::now() + patience;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    unique_fd fd{::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666)};
    if (fd) {
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) {
        int err = errno;
        ::unlink(lock.c_str());
        return make_error(ec::io_error, "cannot inspect " + lock + ": " + errno_text(err));
      }
      return index_lock{lock, dir + "index", st.st_dev, st.st_ino};
    }
    if (errno != EEXIST)
      return make_error(ec::io_error, "cannot create " + lock + ": " + errno_text(errno) +
                                        "; check that " + dir + " is writable");
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return make_error(ec::locked,
                        lock + " exists: another git process seems to be running in " +
                          checkout + "; when it ends the merge goes on, and if no git process "
                          "runs, remove the file (rm " + lock + ")");
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

bool index_lock::still_ours() const noexcept {
  return held_ && same_file(lock_, dev_, ino_);
}

caf::error index_lock::commit(const std::string& new_index) {
  if (!still_ours()) {
    ::unlink(new_index.c_str());
    held_ = false;
    return make_error(ec::locked, lock_ + " was removed by another process while sf-actors held "
                                          "it; the index was left as it was");
  }
  // The lock file is replaced by the new index under its name, so it stays taken until the
  // second rename publishes the index and frees the lock in one step.
  if (::rename(new_index.c_str(), lock_.c_str()) != 0) {
    int err = errno;
    ::unlink(new_index.c_str());
    return make_error(ec::io_error, "cannot move the new index onto " + lock_ + ": " +
                                      errno_text(err));
  }
  struct stat st;
  if (::lstat(lock_.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  if (::rename(lock_.c_str(), index_.c_str()) != 0)
    return make_error(ec::io_error, "cannot rename " + lock_ + " to " + index_ + ": " +
                                      errno_text(errno));
  held_ = false;
  return {};
}

void index_lock::release() noexcept {
  if (still_ours())
    ::unlink(lock_.c_str());
  held_ = false;
}

bool index_lock::remove_stale(const std::string& gitdir, dev_t dev, ino_t ino) {
  std::string dir = gitdir;
  if (!dir.empty() && dir.back() != '/')
    dir += '/';
  auto lock = dir + "index.lock";
  return same_file(lock, dev, ino) && ::unlink(lock.c_str()) == 0;
}

} // namespace sf::io
