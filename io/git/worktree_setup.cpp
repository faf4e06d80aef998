#include "io/git/worktree_setup.hpp"

#include "core/sf_paths.hpp"
#include "io/os/process.hpp"
#include "io/os/safe_file.hpp"
#include "io/os/timed_process.hpp"
#include "io/os/worker_launch.hpp"
#include "io/os/write_all.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>

namespace sf::io {

namespace {

constexpr const char* marker_name = "sf-worktree-setup-done";

} // namespace

std::string setup_marker_path(const std::string& worktree) {
  std::ifstream in(worktree + "/.git");
  std::string line;
  if (!std::getline(in, line) || line.rfind("gitdir: ", 0) != 0)
    return {};
  auto gitdir = line.substr(8);
  if (!gitdir.empty() && gitdir.front() != '/')
    gitdir = worktree + "/" + gitdir;
  while (!gitdir.empty() && gitdir.back() == '/')
    gitdir.pop_back();
  return gitdir + "/" + marker_name;
}

caf::error run_worktree_setup(const worktree_setup& setup, const std::string& root,
                              const std::string& mid, const std::string& worktree,
                              const std::atomic<bool>* cancel) {
  if (setup.command.empty())
    return {};
  auto marker = setup_marker_path(worktree);
  struct stat st;
  if (!marker.empty() && ::stat(marker.c_str(), &st) == 0)
    return {}; // Ran here before: a restart or a later run reuses what it made.
  auto log = worker_log_path(root, mid);
  auto log_name = ".sf/parallel/" + mid + ".log";
  spawn_request req;
  req.argv = {"/bin/sh", "-c", setup.command};
  req.cwd = worktree;
  req.env = setup.base_env;
  req.env.push_back("SF_PROJECT_ROOT=" + root);
  req.env.push_back("SF_MILESTONE=" + mid);
  req.env.push_back("SF_WORKTREE=" + worktree);
  req.log_path = log;
  note_in_log(log, "worktree_setup: running `" + setup.command + "` in " + worktree);
  auto cmd = timed_process::start(req, setup.timeout, setup.grace);
  if (!cmd) {
    note_in_log(log, "worktree_setup: cannot start: " + describe(cmd.error()));
    return make_error(ec::process_error, "worktree_setup `" + setup.command +
                                           "` cannot start: " + describe(cmd.error()) +
                                           "; check parallel.worktree_setup");
  }
  std::optional<timed_outcome> out;
  bool cancelled = false;
  while (!(out = cmd->wait_for(std::chrono::milliseconds(100))))
    if (!cancelled && cancel != nullptr && cancel->load()) {
      cancelled = true;
      cmd->cut_deadline(timed_process::clock::now());
    }
  note_in_log(log, "worktree_setup: " + out->describe());
  if (cancelled)
    return make_error(ec::unavailable, "worktree_setup `" + setup.command +
                                         "` was stopped with its milestone; it runs again at "
                                         "the next start");
  (void) cap_log(log, worker_log_cap);
  if (!out->ok())
    return make_error(ec::process_error,
                      "worktree_setup `" + setup.command + "` " + out->describe() +
                        " (output in " + log_name + "); the worktree .sf/worktrees/" + mid +
                        " is kept: fix parallel.worktree_setup or the worktree, then start "
                        "again");
  if (!marker.empty()) {
    std::ofstream mark(marker, std::ios::trunc);
    mark << setup.command << "\n";
    if (!mark)
      return make_error(ec::io_error, "cannot record the finished worktree_setup in " +
                                        marker + "; check that folder is writable");
  }
  return {};
}

} // namespace sf::io
