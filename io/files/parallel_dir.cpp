#include "io/files/parallel_dir.hpp"

#include "config/escape.hpp"
#include "config/plan.hpp"
#include "core/milestone_id.hpp"
#include "messages/error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace sf::io {

namespace {

constexpr std::string_view status_suffix = ".status.json";
constexpr std::string_view signal_suffix = ".signal.json";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

caf::expected<unique_fd> open_root(const std::string& root) {
  // The root is the user's choice and may be reached through links; only what we create
  // below it must not be a link.
  unique_fd fd{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd)
    return fd;
  int err = errno;
  if (err == ENOENT || err == ENOTDIR)
    return make_error(ec::not_found,
                      "project root " + root + " is not a folder; pass an existing project root");
  return make_error(ec::io_error, "opening project root " + root + " failed: " + errno_text(err));
}

caf::error make_dir_at(int dirfd, const char* name, mode_t mode, const std::string& label) {
  if (::mkdirat(dirfd, name, mode) == 0 || errno == EEXIST)
    return {};
  int err = errno;
  return make_error(ec::io_error, "creating folder " + label + " failed: " + errno_text(err) +
                                      "; check permissions and free space");
}

// Checks owner and mode of the open parallel folder; tightens the mode when `fix` is set.
caf::error check_parallel(int fd, const std::string& label, bool fix) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return make_error(ec::io_error, "fstat of " + label + " failed: " + errno_text(errno));
  if (st.st_uid != ::geteuid())
    return make_error(ec::unsafe_path, label + " is owned by uid " + std::to_string(st.st_uid) +
                                           ", not by us (uid " + std::to_string(::geteuid()) +
                                           "); remove it or run as its owner");
  if (fix && (st.st_mode & 07777) != 0700 && ::fchmod(fd, 0700) != 0)
    return make_error(ec::io_error, "setting mode 0700 on " + label + " failed: " +
                                        errno_text(errno) + "; fix its permissions by hand");
  return {};
}

caf::expected<parallel_dir> open_or_create(const std::string& root, bool create) {
  auto root_fd = open_root(root);
  if (!root_fd)
    return root_fd.error();
  const std::string sf_label = root + "/.sf";
  const std::string par_label = sf_label + "/parallel";
  if (create)
    if (auto err = make_dir_at(root_fd->get(), ".sf", 0755, sf_label))
      return err;
  auto sf_fd = open_dir_nofollow_at(root_fd->get(), ".sf", sf_label);
  if (!sf_fd)
    return sf_fd.error();
  if (create)
    if (auto err = make_dir_at(sf_fd->get(), "parallel", 0700, par_label))
      return err;
  auto par_fd = open_dir_nofollow_at(sf_fd->get(), "parallel", par_label);
  if (!par_fd)
    return par_fd.error();
  if (auto err = check_parallel(par_fd->get(), par_label, create))
    return err;
  return parallel_dir{std::move(*par_fd), par_label};
}

} // namespace

caf::expected<parallel_dir> ensure_parallel_dir(const std::string& root) {
  return open_or_create(root, true);
}

caf::expected<parallel_dir> open_parallel_dir(const std::string& root) {
  return open_or_create(root, false);
}

bool is_temp_name(std::string_view name) {
  return name.find(".tmp") != std::string_view::npos;
}

void remove_temp_files(const std::string& root, std::string_view prefix) {
  auto dir = open_parallel_dir(root);
  if (!dir)
    return;
  int fd = ::dup(dir->fd.get());
  if (fd < 0)
    return;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return;
  }
  std::vector<std::string> doomed;
  while (auto* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.substr(0, prefix.size()) == prefix && is_temp_name(name))
      doomed.emplace_back(name);
  }
  ::closedir(d);
  // unlinkat removes a planted symbolic link itself, never what it points at.
  for (const auto& name : doomed)
    ::unlinkat(dir->fd.get(), name.c_str(), 0);
}

std::optional<parallel_name> parse_parallel_name(std::string_view name) {
  if (is_temp_name(name))
    return std::nullopt;
  parallel_name out{};
  std::string_view mid;
  if (ends_with(name, status_suffix)) {
    mid = name.substr(0, name.size() - status_suffix.size());
    out.kind = parallel_file_kind::status;
  } else if (ends_with(name, signal_suffix)) {
    mid = name.substr(0, name.size() - signal_suffix.size());
    out.kind = parallel_file_kind::signal;
  } else {
    return std::nullopt;
  }
  if (!core::valid_milestone_id(mid))
    return std::nullopt;
  out.mid = std::string(mid);
  return out;
}

caf::error invalid_mid_error(std::string_view id) {
  return make_error(ec::invalid_input, "milestone " + core::not_a_milestone_id(escape_text(id)));
}

} // namespace sf::io
