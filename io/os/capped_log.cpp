#include "io/os/capped_log.hpp"

#include "io/os/write_all.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace sf::io {

capped_log::capped_log(std::string path, std::size_t max_bytes)
    : path_(std::move(path)), half_(std::max<std::size_t>(max_bytes, 2) / 2) {}

capped_log::~capped_log() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool capped_log::open_current() {
  // O_NOFOLLOW: the folder is the project's, a link planted there is not followed; O_NONBLOCK:
  // a FIFO planted there fails the open (ENXIO) instead of blocking it.
  int fd = ::open(path_.c_str(),
                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    error_ = path_ + (err == ELOOP   ? std::string(" is a symbolic link; remove it")
                      : err == ENXIO ? std::string(" is a FIFO; remove it")
                                     : ": " + std::string(std::strerror(err)));
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error_ = path_ + " is not a regular file; remove it";
    return false;
  }
  // Another name for the same file (a hard link) could be anywhere: never written through.
  if (st.st_nlink > 1) {
    ::close(fd);
    error_ = path_ + " has other names (hard links); remove it";
    return false;
  }
  fd_ = fd;
  return true;
}

bool capped_log::still_named() const {
  struct stat held;
  struct stat named;
  return ::fstat(fd_, &held) == 0 && ::lstat(path_.c_str(), &named) == 0 &&
         held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

void capped_log::rotate() {
  // Under the lock of the full file: whoever waits for it finds it renamed and follows.
  auto old = path_ + ".1";
  if (::rename(path_.c_str(), old.c_str()) != 0) {
    // `.1` cannot be replaced (a folder planted there): lose the older half instead of
    // letting the log grow.
    error_ = "cannot rotate " + path_ + " to " + old + ": " + std::strerror(errno) +
             "; the log was emptied instead";
    (void)::ftruncate(fd_, 0);
    return;
  }
  ::close(fd_);
  fd_ = -1;
}

void capped_log::drop(std::size_t size, std::string why) {
  dropped_ += size;
  if (!why.empty())
    error_ = std::move(why);
}

void capped_log::append(const char* data, std::size_t size) {
  // Once the log can be written again, it says first what it lost.
  if (dropped_ > noted_ && (fd_ >= 0 || open_current())) {
    std::string note = "[sf-log-relay: " + std::to_string(dropped_ - noted_) +
                       " bytes of output were dropped: " + error_ + "]\n";
    noted_ = dropped_;
    append_raw(note.data(), std::min(note.size(), half_));
  }
  append_raw(data, size);
}

void capped_log::append_raw(const char* data, std::size_t size) {
  // Bounded: each round writes, rotates or gives up; a rotation by another writer costs a
  // round too, hence the generous bound.
  for (int round = 0; size > 0 && round < 64; ++round) {
    if (fd_ < 0 && !open_current()) {
      drop(size, {});
      return;
    }
    if (::flock(fd_, LOCK_EX) != 0) {
      drop(size, "cannot lock " + path_ + ": " + std::strerror(errno));
      return;
    }
    if (!still_named()) {
      // Another relay rotated it (or someone removed it): the name is what counts.
      ::close(fd_);
      fd_ = -1;
      continue;
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
      (void)::flock(fd_, LOCK_UN);
      drop(size, path_ + ": " + std::strerror(errno));
      return;
    }
    auto used = static_cast<std::size_t>(st.st_size);
    if (used >= half_) {
      rotate();
      if (fd_ >= 0)
        (void)::flock(fd_, LOCK_UN);
      continue;
    }
    std::size_t n = std::min(size, half_ - used);
    if (!write_all(fd_, data, n))
      drop(n, "cannot write " + path_ + ": " + std::strerror(errno));
    (void)::flock(fd_, LOCK_UN);
    data += n;
    size -= n;
  }
  if (size > 0)
    drop(size, "gave up writing " + path_ + " after 64 rounds");
}

void capped_log::finish() {
  if (dropped_ > noted_)
    append(nullptr, 0);
}

} // namespace sf::io
