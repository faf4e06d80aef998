#pragma once
/// One git worktree per milestone at `<root>/.sf/worktrees/<MID>` on branch `milestone/<MID>`.

#include "io/os/unique_fd.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <git2.h>

#include <atomic>
#include <string>
#include <vector>

namespace sf::io {

/// Where a milestone's worktree is and what `ensure_worktree` had to do to get it there.
struct worktree_info {
  std::string path;              ///< Absolute path of the worktree folder.
  std::string branch;            ///< Short branch name, `milestone/<MID>`.
  std::string head;              ///< Hex id of the commit the branch points to.
  bool created_branch = false;   ///< The branch was made by this call at the main branch's tip.
  bool created_worktree = false; ///< The folder was (re)created by this call.
  bool refreshed_branch = false; ///< An idle branch behind main was moved up to main's tip.
};

/// Folder that holds every milestone worktree of the repository at `root`.
std::string worktrees_dir(const std::string& root);

/// Takes the project's worktree lock (`.sf/worktrees/.lock`) for as long as the result lives.
/// Whatever adds or removes entries under `.git/worktrees` holds it: libgit2 1.5's
/// worktree_add reports "reference is already checked out" when an entry it listed vanishes
/// before it reads it. Fails when `.sf/worktrees` does not exist.
caf::expected<unique_fd> lock_worktree_admin(const std::string& root);

/// Returns the worktree of milestone `mid` in the repository at `root`, creating the branch
/// and the worktree when missing and reusing them untouched when present.
/// A set `cancel` (when given) stops a checkout in progress; the half-made worktree is undone
/// like any failed creation, and the error is `ec::unavailable`.
caf::expected<worktree_info> ensure_worktree(const std::string& root, const std::string& mid,
                                             const std::atomic<bool>* cancel = nullptr);

/// Commits the integration branch is ahead of milestone `mid`'s branch when that branch holds no
/// commit of its own (made from an older commit, or left by a start that failed before its first
/// unit); 0 when it has work, is level with main, or does not exist.
caf::expected<std::size_t> idle_branch_lag(git_repository* repo, const std::string& mid);

/// Moves such an idle branch up to the integration branch's tip, with its worktree when that is
/// clean (`ensure_worktree` does the same before a start). Returns whether it moved; a worktree
/// holding uncommitted work keeps branch and files as they are.
caf::expected<bool> refresh_idle_branch(const std::string& root, const std::string& mid);

/// Deletes milestone `mid`'s worktree folder and admin entry after a merge, keeping its branch;
/// refuses when the worktree holds changes that are not committed.
caf::error remove_worktree(const std::string& root, const std::string& mid);

/// The same, through the repository at `root` that the caller has open.
caf::error remove_worktree(git_repository* repo, const std::string& root, const std::string& mid);

/// Changed or untracked files of a worktree that removing it would lose (the runtime
/// `.sf/auto.lock` excepted); empty when it is clean. `where` names it in errors.
caf::expected<std::vector<std::string>> uncommitted_changes(git_worktree* wt,
                                                            const std::string& where);

} // namespace sf::io
