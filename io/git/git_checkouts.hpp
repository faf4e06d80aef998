#pragma once
/// The checkouts of a repository (its main working folder and every linked worktree), what
/// each has checked out, and which git operation (rebase, merge, cherry-pick, ...) is in
/// progress in it: read from git's own files, the way git itself decides whether a branch may
/// be moved.

#include <caf/expected.hpp>

#include <git2.h>

#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// One checkout of a repository.
struct git_checkout {
  std::string workdir; ///< Its working folder, ending in '/'.
  std::string gitdir;  ///< Its own git dir (`.git/` or `.git/worktrees/<name>/`), ending in '/'.
  std::string head;    ///< What HEAD names: `refs/heads/<b>`, or a commit id when detached.
  bool linked = false; ///< A linked worktree (`git worktree add`), not the main folder.
  bool missing = false; ///< A linked worktree whose folder is not where git recorded it
                        ///< (moved or deleted): `workdir` is that recorded place.
};

/// Every checkout of the repository: the main one (unless the repository is bare), then the
/// linked worktrees in name order, including those whose folder is missing (`missing`).
caf::expected<std::vector<git_checkout>> list_checkouts(git_repository* repo);

/// What HEAD of `c` names right now (read again from its git dir).
std::string current_head(const git_checkout& c);

/// A git operation in progress that keeps a branch from being moved.
struct git_operation {
  std::string name;   ///< "rebase", "am", "merge", "cherry-pick", "revert", "bisect".
  std::string marker; ///< The file or folder of git's that shows it (absolute path).
  std::string fix;    ///< How the user ends it, e.g. "git rebase --continue or git rebase --abort".
};

/// The operation in progress in `c` that involves branch `ref` (`refs/heads/<b>`): a rebase or
/// bisect that started from it, or a merge, cherry-pick, revert, am or bisect while HEAD names
/// it. Nothing when the branch may move as far as `c` is concerned.
std::optional<git_operation> operation_on(const git_checkout& c, const std::string& ref);

/// One line for people: the operation, where, and how to end it.
std::string describe_operation(const git_operation& op, const git_checkout& c);

} // namespace sf::io
