#include "io/files/runtime_files.hpp"

#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/files/ledger_period.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace sf::io {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Names in the folder open on `fd` (the descriptor is duplicated, `fd` stays open).
std::vector<std::string> entries(int fd) {
  std::vector<std::string> out;
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0)
    return out;
  DIR* d = ::fdopendir(copy);
  if (d == nullptr) {
    ::close(copy);
    return out;
  }
  // fdopendir starts where the descriptor's offset is: rewind in case it was read before.
  ::rewinddir(d);
  while (auto* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..")
      out.emplace_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void check_at(int dirfd, const std::string& label, const std::string& name,
              std::vector<unsafe_file>& out) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISREG(st.st_mode))
    return;
  auto path = label + "/" + name;
  out.push_back({path, st.st_mode, not_regular_error(path, st.st_mode)});
}

// A runtime folder that could not be opened safely: reported with its own error.
void folder_problem(const std::string& path, const caf::error& err, std::vector<unsafe_file>& out) {
  if (code_of(err) == ec::not_found)
    return;
  struct stat st {};
  mode_t mode = ::lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
  out.push_back({path, mode, err});
}

void check_parallel(const std::string& root, std::vector<unsafe_file>& out) {
  auto dir = open_parallel_dir(root);
  if (!dir) {
    folder_problem(core::parallel_dir(root), dir.error(), out);
    return;
  }
  for (const auto& name : entries(dir->fd.get()))
    if (is_runtime_name(name))
      check_at(dir->fd.get(), dir->path, name, out);
  auto control = open_dir_nofollow_at(dir->fd.get(), "control", dir->path + "/control");
  if (!control) {
    folder_problem(dir->path + "/control", control.error(), out);
    return;
  }
  for (const auto& name : entries(control->get()))
    if (is_control_name(name))
      check_at(control->get(), dir->path + "/control", name, out);
}

void check_worktrees(const std::string& root, std::vector<unsafe_file>& out) {
  unique_fd root_fd{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!root_fd)
    return;
  auto sf_dir = open_dir_nofollow_at(root_fd.get(), ".sf", root + "/.sf");
  if (!sf_dir)
    return;
  const std::string label = core::worktrees_dir(root);
  auto wt_dir = open_dir_nofollow_at(sf_dir->get(), "worktrees", label);
  if (!wt_dir)
    return; // A link there is refused by the worktree code itself, with its own message.
  check_at(wt_dir->get(), label, ".lock", out);
  for (const auto& mid : entries(wt_dir->get())) {
    if (!core::valid_milestone_id(mid))
      continue;
    auto wt = open_dir_nofollow_at(wt_dir->get(), mid, label + "/" + mid);
    if (!wt)
      continue;
    auto wt_sf = open_dir_nofollow_at(wt->get(), ".sf", label + "/" + mid + "/.sf");
    if (wt_sf)
      check_at(wt_sf->get(), label + "/" + mid + "/.sf", "auto.lock", out);
  }
}

void check_git_dir(const std::string& root, std::vector<unsafe_file>& out) {
  // Only a plain `.git` folder: a linked checkout's journal lives in a git dir elsewhere.
  unique_fd root_fd{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!root_fd)
    return;
  unique_fd git{::openat(root_fd.get(), ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (git)
    check_at(git.get(), root + "/.git", "sf-merge-checkout.json", out);
}

} // namespace

bool is_runtime_name(std::string_view name) {
  if (is_temp_name(name))
    return false;
  for (std::string_view fixed : {"coordinator.lock", "coordinator.log", "coordinator.out",
                                 "events.jsonl", "run.json", "workers.json", "ledger.json",
                                 "merge-queue.json", "merge.lock", "push.log", "hooks.log",
                                 "hooks.log.1", "gate.log", "gate.log.1", "gate.json"})
    if (name == fixed)
      return true;
  if (is_ledger_archive_name(std::string(name)))
    return true;
  for (std::string_view suffix : {".log", ".log.1", ".status.json", ".signal.json", ".prompt.md",
                                  ".agent.jsonl", ".agent.jsonl.1", ".gate-failure.md"})
    if (ends_with(name, suffix) && core::valid_milestone_id(name.substr(0, name.size() - suffix.size())))
      return true;
  return false;
}

bool is_control_name(std::string_view name) {
  return !is_temp_name(name) && (ends_with(name, ".request.json") || ends_with(name, ".response.json"));
}

std::vector<unsafe_file> unsafe_runtime_files(const std::string& root) {
  std::vector<unsafe_file> out;
  check_parallel(root, out);
  check_worktrees(root, out);
  check_git_dir(root, out);
  return out;
}

caf::error first_unsafe_runtime_file(const std::string& root) {
  auto all = unsafe_runtime_files(root);
  if (all.empty())
    return {};
  return std::move(all.front().error);
}

} // namespace sf::io
