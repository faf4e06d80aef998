#include "io/git/index_lock.hpp"

#include "io/os/safe_file.hpp"
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

// Our lock file holds this many bytes of token; git never writes so few into index.lock.
constexpr std::size_t token_bytes = 16;

/// True when `path` is the file we created: same inode and our token inside.
bool is_our_lock(const std::string& path, dev_t dev, ino_t ino, const std::string& token) {
  struct stat st;
  if (token.empty() || ::lstat(path.c_str(), &st) != 0 || st.st_dev != dev || st.st_ino != ino ||
      !S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) != token.size())
    return false;
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (!fd)
    return false;
  std::string text(token.size(), '\0');
  return ::pread(fd.get(), text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()) &&
         text == token;
}

} // namespace

index_lock::index_lock(std::string lock, std::string index, dev_t dev, ino_t ino,
                       std::string token)
  : lock_(std::move(lock)),
    index_(std::move(index)),
    dev_(dev),
    ino_(ino),
    token_(std::move(token)),
    held_(true) {
}

index_lock::index_lock(index_lock&& other) noexcept
  : lock_(std::move(other.lock_)),
    index_(std::move(other.index_)),
    dev_(other.dev_),
    ino_(other.ino_),
    token_(std::move(other.token_)),
    held_(std::exchange(other.held_, false)) {
}

index_lock& index_lock::operator=(index_lock&& other) noexcept {
  if (this != &other) {
    release();
    lock_ = std::move(other.lock_);
    index_ = std::move(other.index_);
    dev_ = other.dev_;
    ino_ = other.ino_;
    token_ = std::move(other.token_);
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
      auto token = random_hex(token_bytes / 2);
      struct stat st;
      if (::write(fd.get(), token.data(), token.size()) != static_cast<ssize_t>(token.size()) ||
          ::fstat(fd.get(), &st) != 0) {
        int err = errno;
        ::unlink(lock.c_str());
        return make_error(ec::io_error, "cannot write " + lock + ": " + errno_text(err));
      }
      return index_lock{lock, dir + "index", st.st_dev, st.st_ino, std::move(token)};
    }
    if (errno != EEXIST)
      return make_error(ec::io_error, "cannot create " + lock + ": " + errno_text(errno) +
                                        "; check that " + dir + " is writable");
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return make_error(ec::locked,
                        lock + " exists: another git process seems to be running in " +
                          checkout + "; if none is, remove the file (rm " + lock + ")");
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

bool index_lock::still_ours() const noexcept {
  return held_ && is_our_lock(lock_, dev_, ino_, token_);
}

caf::error index_lock::commit(const std::string& new_index) {
  if (!still_ours()) {
    ::unlink(new_index.c_str());
    held_ = false;
    return make_error(ec::locked, lock_ + " was removed by another process while sf-actors held "
                                          "it; the index was left as it was");
  }
  // The new index takes its place while our lock still stands; only then is the lock freed.
  if (::rename(new_index.c_str(), index_.c_str()) != 0) {
    int err = errno;
    ::unlink(new_index.c_str());
    return make_error(ec::io_error, "cannot rename " + new_index + " to " + index_ + ": " +
                                      errno_text(err));
  }
  release();
  return {};
}

void index_lock::release() noexcept {
  if (still_ours())
    ::unlink(lock_.c_str());
  held_ = false;
}

bool index_lock::remove_stale(const std::string& gitdir, dev_t dev, ino_t ino,
                              const std::string& token) {
  std::string dir = gitdir;
  if (!dir.empty() && dir.back() != '/')
    dir += '/';
  auto lock = dir + "index.lock";
  return is_our_lock(lock, dev, ino, token) && ::unlink(lock.c_str()) == 0;
}

} // namespace sf::io
