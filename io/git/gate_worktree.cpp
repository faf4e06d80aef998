#include "io/git/gate_worktree.hpp"

#include "core/sf_paths.hpp"
#include "io/files/status_file.hpp"
#include "io/git/git.hpp"
#include "io/git/git_cli.hpp"
#include "messages/error.hpp"

#include <git2.h>
#include <sys/stat.h>

#include <cstdio>

namespace sf::io {

namespace {

caf::error keep_commit(const std::string& root, const std::string& commit) {
  auto repo = open_repo(root);
  if (!repo)
    return std::move(repo.error());
  git_oid id;
  if (commit.size() != GIT_OID_HEXSZ || git_oid_fromstr(&id, commit.c_str()) != 0)
    return make_error(ec::invalid_input, "gate commit '" + commit.substr(0, 80) +
                                           "' is not a 40-digit commit id");
  git_reference* raw = nullptr;
  if (git_reference_create(&raw, repo->get(), gate_ref, &id, 1, "sf-actors: merge gate") != 0)
    return git_fail("keeping the commit under test in", gate_ref);
  git_reference_free(raw);
  return {};
}

caf::error git_step(const std::string& dir, const std::vector<std::string>& args,
                    const std::string& what, std::chrono::milliseconds timeout, int stop_fd) {
  auto r = run_git(dir, args, {}, timeout, stop_fd);
  if (!r)
    return std::move(r.error());
  if (r->exit_code == -2)
    return make_error(ec::unavailable, what + " was stopped");
  if (r->exit_code != 0)
    return make_error(ec::git_error, git_failure(*r, what));
  return {};
}

// True when `dir/.git` is the file git writes into a linked worktree.
bool looks_like_worktree(const std::string& dir) {
  struct stat st;
  auto dotgit = dir + "/.git";
  return ::lstat(dotgit.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace

caf::error prepare_gate_worktree(const std::string& root, const std::string& commit,
                                 std::chrono::milliseconds timeout, int stop_fd) {
  if (auto err = keep_commit(root, commit))
    return err;
  auto dir = core::gate_worktree_dir(root);
  struct stat st;
  bool exists = ::lstat(dir.c_str(), &st) == 0;
  if (exists && !S_ISDIR(st.st_mode))
    return make_error(ec::unsafe_path, dir + " is not a folder (a link or a file is there); "
                                             "move it away so the merge gate can make its "
                                             "worktree there");
  if (exists && looks_like_worktree(dir)) {
    // Reused: git brings tracked files to the commit; untracked ones go, ignored ones stay.
    auto err = git_step(dir, {"checkout", "--quiet", "--detach", "--force", commit},
                        "checking out the merge under test in " + dir, timeout, stop_fd);
    if (!err)
      err = git_step(dir, {"clean", "-fdq"}, "cleaning " + dir, timeout, stop_fd);
    if (!err || code_of(err) == ec::unavailable)
      return err;
    // Fall through: the worktree is broken (its git dir was pruned, say); make it again.
  }
  if (exists) {
    auto aside = dir + ".broken-" + std::to_string(now_ms());
    if (std::rename(dir.c_str(), aside.c_str()) != 0)
      return make_error(ec::io_error, dir + " is not a usable worktree and cannot be moved "
                                            "aside; remove it so the merge gate can make it "
                                            "again");
  }
  if (auto err = git_step(root, {"worktree", "prune"}, "pruning worktrees", timeout, stop_fd))
    return err;
  return git_step(root, {"worktree", "add", "--quiet", "--detach", "--force", dir, commit},
                  "making the merge gate's worktree " + dir, timeout, stop_fd);
}

} // namespace sf::io
