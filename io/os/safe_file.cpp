#include "io/os/safe_file.hpp"

#include "io/os/write_all.hpp"

#include "config/escape.hpp"
#include "io/os/inode_release.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

namespace sf::io {

namespace {

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty())
    return name;
  if (dir.back() == '/')
    return dir + name;
  return dir + "/" + name;
}

caf::error sys_error(const char* what, const std::string& path, int err) {
  // ENOSPC and EDQUOT deserve a hint of their own: the fix is to free space, not to retry.
  std::string fix = "check that the path exists and is writable";
  if (err == ENOSPC || err == EDQUOT)
    fix = "free disk space or quota, then retry";
  return make_error(ec::io_error, std::string(what) + " failed for " + path + ": " +
                                      errno_text(err) + "; " + fix);
}

/// The folder of `path`, opened (its own path may pass through links, e.g. /tmp on some
/// systems; only the last name is checked by the callers), and the last name.
struct parent_folder {
  unique_fd fd;
  std::string dir;       ///< The folder, "." for a bare name.
  std::string shown_dir; ///< The folder as the caller wrote it: empty for a bare name.
  std::string name;
};

caf::expected<parent_folder> open_parent(const std::string& path) {
  auto slash = path.rfind('/');
  parent_folder p;
  p.dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (p.dir.empty())
    p.dir = "/";
  p.shown_dir = slash == std::string::npos ? std::string{} : p.dir;
  p.name = slash == std::string::npos ? path : path.substr(slash + 1);
  p.fd = unique_fd{::open(p.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!p.fd) {
    int err = errno;
    if (err == ENOENT)
      return make_error(ec::not_found, path + " does not exist (no folder " + p.dir + ")");
    return sys_error("opening folder", p.dir, err);
  }
  return p;
}

caf::error link_error(const std::string& path) {
  return make_error(ec::unsafe_path, path + " is a symbolic link or not a directory;"
                                            " remove it and let sf-actors recreate it");
}

} // namespace

caf::error close_checked(unique_fd& owned) {
  if (!owned)
    return {};
  int fd = owned.release();
  // Linux releases the descriptor even when close fails, so it must not be retried.
  if (::close(fd) != 0)
    return make_error(ec::io_error, "close of descriptor " + std::to_string(fd) +
                                        " failed: " + errno_text(errno) +
                                        "; the data may not be on disk, check the filesystem");
  return {};
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  const char* text = strerror_r(err, buf, sizeof(buf));
  return text ? std::string(text) : "errno " + std::to_string(err);
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes) {
    // getrandom cannot really fail for small requests; a seeded engine keeps names unique anyway.
    std::random_device rd;
    for (std::size_t i = got; i < bytes; ++i)
      raw[i] = static_cast<char>(rd());
  }
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

bool valid_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

caf::expected<unique_fd> open_dir_nofollow(const std::string& path) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (fd)
    return fd;
  int err = errno;
  // O_NOFOLLOW reports a link as ELOOP, O_DIRECTORY reports a link or file as ENOTDIR.
  if (err == ELOOP || err == ENOTDIR)
    return link_error(path);
  if (err == ENOENT)
    return make_error(ec::not_found, path + " does not exist; create it or fix the path");
  return sys_error("opening folder", path, err);
}

caf::expected<unique_fd> open_dir_nofollow_at(int dirfd, const std::string& name,
                                              const std::string& label) {
  unique_fd fd{::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (fd)
    return fd;
  int err = errno;
  if (err == ELOOP || err == ENOTDIR)
    return link_error(label);
  if (err == ENOENT)
    return make_error(ec::not_found, label + " does not exist; create it or fix the path");
  return sys_error("opening folder", label, err);
}

namespace {

// A rename over an existing file makes ext4 (auto_da_alloc) allocate and start writing the new
// file's blocks, and frees the old file's blocks; on a root mounted with `discard` each update
// then costs a write and a discard (1.1-1.4 ms, measured). Swapping the two names and unlinking
// the old file, whose blocks were never allocated, costs no device I/O (0.03 ms). Readers still
// see the old or the new content under `name`. False when the swap did not happen (no regular
// file to replace, or a filesystem without RENAME_EXCHANGE): the caller renames instead.
bool replace_by_exchange(int dirfd, const std::string& tmp, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
    return false;
  if (::renameat2(dirfd, tmp.c_str(), dirfd, name.c_str(), RENAME_EXCHANGE) != 0)
    return false;
  // `tmp` now names the old content; a crash before this unlink leaves it for
  // remove_temp_files and doctor, like any interrupted write.
  unlink_deferred(dirfd, tmp.c_str());
  return true;
}

// Both kinds of write: temp file, rename over the name; `durable` adds the two fsyncs.
caf::error write_replacing(int dirfd, const std::string& dir_label, const std::string& name,
                           std::string_view data, mode_t mode, bool durable) {
  const auto final_path = join(dir_label, name);
  if (!valid_file_name(name))
    return make_error(ec::invalid_input, "cannot write '" + name + "' in " + dir_label +
                                             ": not a plain file name; use a name without '/'");
  // O_EXCL with a random suffix: never reuse or follow a file someone planted.
  std::string tmp;
  unique_fd fd;
  for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
    tmp = name + ".tmp." + random_hex();
    fd = unique_fd{
        ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)};
    if (!fd && errno != EEXIST)
      return sys_error("creating temp file", join(dir_label, tmp), errno);
  }
  if (!fd)
    return make_error(ec::io_error, "could not pick a free temp name next to " + final_path +
                                        "; remove stale *.tmp.* files there");
  const auto tmp_path = join(dir_label, tmp);
  auto fail = [&](const char* what, int err) {
    fd = unique_fd{};
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return sys_error(what, tmp_path, err);
  };
  // The umask may have narrowed the mode given to openat; callers ask for an exact one.
  if (::fchmod(fd.get(), mode) != 0)
    return fail("fchmod", errno);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  // After a failed fsync the page cache state is unknown: report it, never retry.
  if (durable && ::fsync(fd.get()) != 0)
    return fail("fsync", errno);
  if (auto err = close_checked(fd)) {
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return make_error(ec::io_error, "closing " + tmp_path + " failed: " + describe(err));
  }
  if (!durable && replace_by_exchange(dirfd, tmp, name))
    return {};
  // The replaced file's blocks are freed by the closer, not inside our rename.
  auto replaced = hold_inode(dirfd, name.c_str());
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    int err = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return sys_error(("renaming temp file over " + final_path).c_str(), tmp_path, err);
  }
  // The rename is only durable once the folder entry is on disk.
  if (durable && ::fsync(dirfd) != 0)
    return sys_error("fsync of folder", dir_label, errno);
  release_later(std::move(replaced));
  return {};
}

} // namespace

caf::error write_file_atomic(int dirfd, const std::string& dir_label, const std::string& name,
                             std::string_view data, mode_t mode) {
  return write_replacing(dirfd, dir_label, name, data, mode, true);
}

caf::error write_file_replace(int dirfd, const std::string& dir_label, const std::string& name,
                              std::string_view data, mode_t mode) {
  return write_replacing(dirfd, dir_label, name, data, mode, false);
}

caf::error write_file_atomic(const std::string& dir_path, const std::string& name,
                             std::string_view data, mode_t mode) {
  auto dir = open_dir_nofollow(dir_path);
  if (!dir)
    return dir.error();
  return write_file_atomic(dir->get(), dir_path, name, data, mode);
}

caf::error write_file_replace(const std::string& dir_path, const std::string& name,
                              std::string_view data, mode_t mode) {
  auto dir = open_dir_nofollow(dir_path);
  if (!dir)
    return dir.error();
  return write_file_replace(dir->get(), dir_path, name, data, mode);
}

namespace {

// Only characters a shell leaves alone go unquoted, so the suggested command can be pasted.
std::string shell_word(const std::string& path) {
  bool plain = !path.empty() && path.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789_./-+:@%,") == std::string::npos;
  return plain ? path : sh_quote(path);
}

} // namespace

std::string file_type_text(mode_t mode) {
  if (S_ISLNK(mode))
    return "a symbolic link";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISDIR(mode))
    return "a folder";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  if (S_ISREG(mode))
    return "a regular file";
  return "not a file";
}

caf::error not_regular_error(const std::string& path, mode_t mode) {
  // Removing a link, FIFO or socket removes only the name; a folder may hold someone's files.
  std::string rm = S_ISDIR(mode) ? "rm -r " : "rm ";
  std::string what = file_type_text(mode);
  std::string reason = S_ISLNK(mode) ? " (sf-actors never follows links in its runtime files)"
                                     : std::string{};
  return make_error(ec::unsafe_path, path + " is " + what + ", not a regular file" + reason +
                                         "; remove it (`" + rm + shell_word(path) +
                                         "`) and run the command again");
}

caf::error check_regular_or_absent_at(int dirfd, const std::string& dir_label,
                                      const std::string& name) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return {};
    return sys_error("checking", join(dir_label, name), errno);
  }
  if (!S_ISREG(st.st_mode))
    return not_regular_error(join(dir_label, name), st.st_mode);
  return {};
}

caf::expected<unique_fd> open_regular_at(int dirfd, const std::string& dir_label,
                                         const std::string& name, int flags, mode_t mode) {
  const auto path = join(dir_label, name);
  if (!valid_file_name(name))
    return make_error(ec::invalid_input, "cannot open '" + name + "' in " + dir_label +
                                             ": not a plain file name");
  // A look first, so a FIFO or device is refused without even being opened (opening a FIFO
  // would release a writer blocked on it). The fstat below closes the race with a swap.
  if (auto err = check_regular_or_absent_at(dirfd, dir_label, name))
    return err;
  const bool truncate = (flags & O_TRUNC) != 0;
  int open_flags = (flags & ~O_TRUNC) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  unique_fd fd{::openat(dirfd, name.c_str(), open_flags, mode)};
  if (!fd) {
    int err = errno;
    if (err == ENOENT)
      return make_error(ec::not_found, path + " does not exist");
    // ELOOP (a link), EISDIR (a folder opened for writing), ENXIO (a FIFO without reader or a
    // socket): name what is there instead of the bare errno.
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
      return not_regular_error(path, st.st_mode);
    return sys_error("opening", path, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return sys_error("fstat", path, errno);
  if (!S_ISREG(st.st_mode))
    return not_regular_error(path, st.st_mode);
  // A hard link is the same file under another name, possibly outside the project: one we
  // would write to must have no other name.
  if ((flags & (O_WRONLY | O_RDWR)) != 0 && st.st_nlink > 1)
    return make_error(ec::unsafe_path,
                      path + " has " + std::to_string(st.st_nlink) + " names (hard links), so "
                      "writing it would write a file elsewhere too; remove it (`rm " + path +
                      "`) and run the command again");
  // Regular files ignore O_NONBLOCK today; clearing it keeps the descriptor ordinary for
  // whoever inherits it (a worker's stdout).
  int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0)
    return sys_error("fcntl", path, errno);
  if (truncate && ::ftruncate(fd.get(), 0) != 0)
    return sys_error("truncating", path, errno);
  return fd;
}

caf::expected<unique_fd> open_regular(const std::string& path, int flags, mode_t mode) {
  auto parent = open_parent(path);
  if (!parent)
    return std::move(parent.error());
  // Messages name the path as the caller gave it.
  return open_regular_at(parent->fd.get(), parent->shown_dir, parent->name, flags, mode);
}

caf::expected<std::string> read_file_capped(int dirfd, const std::string& dir_label,
                                            const std::string& name, std::size_t cap) {
  const auto path = join(dir_label, name);
  if (!valid_file_name(name))
    return make_error(ec::invalid_input,
                      "cannot read '" + name + "' in " + dir_label + ": not a plain file name");
  auto opened = open_regular_at(dirfd, dir_label, name, O_RDONLY);
  if (!opened)
    return opened.error();
  unique_fd fd = std::move(*opened);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return sys_error("fstat", path, errno);
  if (static_cast<unsigned long long>(st.st_size) > cap)
    return make_error(ec::invalid_input, path + " is " + std::to_string(st.st_size) +
                                             " bytes, more than the limit of " +
                                             std::to_string(cap) + "; remove or shrink it");
  // Read up to cap + 1 so a file that grew after fstat is still caught. The buffer starts at
  // the size fstat saw: zero-filling the whole cap (16 MB for metrics.json) cost 14 ms.
  std::string out;
  out.resize(std::min(cap, static_cast<std::size_t>(st.st_size)) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      if (got > cap)
        break;
      out.resize(std::min(cap + 1, out.size() * 2));
    }
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return sys_error("read", path, errno);
    }
    if (n == 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  if (got > cap)
    return make_error(ec::invalid_input, path + " grew beyond the limit of " + std::to_string(cap) +
                                             " bytes while being read");
  out.resize(got);
  return out;
}

caf::expected<std::string> read_file_capped(const std::string& path, std::size_t cap) {
  auto parent = open_parent(path);
  if (!parent)
    return std::move(parent.error());
  return read_file_capped(parent->fd.get(), parent->dir, parent->name, cap);
}

void note_in_log(const std::string& path, const std::string& line) {
  auto fd = open_regular(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (!fd)
    return;
  auto text = "[sf-actors] " + line + "\n";
  (void) write_all(fd->get(), text.data(), text.size());
}

} // namespace sf::io
