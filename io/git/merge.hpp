#pragma once
/// Merging a completed milestone's recorded tip into the main branch, and conflict prediction.

#include "core/merge_kind.hpp"
#include "io/git/git_hooks.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <git2.h>

#include <functional>
#include <string>
#include <vector>

namespace sf::io {

/// What to merge into the main branch of a repository.
struct merge_request {
  std::string root;    ///< Repository top folder (the root checkout).
  std::string mid;     ///< Milestone id; the branch is `milestone/<mid>`.
  std::string tip;     ///< Hex id of the milestone commit recorded at completion; merged as is.
  std::string message; ///< Merge commit message; empty gives `Merge milestone/<mid>`.
  bool dry_run = false; ///< Compute and report only; nothing is written to refs or files.
  /// Test hook run after the merge commit is made and before main is moved.
  std::function<void()> before_cas;
  int stop_fd = -1; ///< Readable when the caller must stop: git's checks before main moves end.
  /// A gated merge: main moves to this commit (hex), made by `compose_merges` and tested by the
  /// merge gate, instead of a new one, and only while main is still `gated_base`; otherwise
  /// nothing changes and the result says `main_moved`. `tip` is the last tip it merges.
  std::string gated_commit;
  std::string gated_base; ///< Main's commit (hex) the gated commit was composed on.
  /// The repository's pre-merge-commit hook runs before the merge commit is made (not on dry
  /// runs, nor for a gated commit, whose hook ran when it was composed); a failing one leaves
  /// main where it is (`blocked`). Its stop descriptor is `stop_fd`.
  git_hook_settings hooks;
};

/// Outcome of `merge_milestone`.
struct merge_result {
  /// What happened to the main branch.
  /// merged, already_merged, conflict, dirty_checkout, locked, blocked or failed.
  core::merge_kind kind = core::merge_kind::failed;
  std::string commit;             ///< Hex id of the merge commit (empty unless merged for real).
  std::vector<std::string> files; ///< Sorted conflicting or dirty files; changed files if merged.
  std::string text;               ///< One line for humans: what happened and what to do.
  /// For dirty_checkout, locked and blocked: folders whose change may end the obstacle (the
  /// checkout's git dir, the ref's folder, the folders of the files the user changed).
  std::vector<std::string> watch;
  /// What a merge did to a checkout besides the merge that a person must know (a file of
  /// theirs kept as it was, an earlier merge's checkout finished); empty when nothing.
  std::string notes;
  /// A gated merge found main moved away from `gated_base` (kind `failed`): the combination
  /// on main now was never tested, so it must be composed and gated again.
  bool main_moved = false;
};

/// The first five of `files`, comma-separated, with the count when there are more.
std::string conflict_preview(const std::vector<std::string>& files);

/// Merges `req.tip` into the integration branch with a two-parent commit and one
/// compare-and-swap on the ref. When a checkout (the project folder or a linked worktree) has
/// the branch checked out, main moves only while that checkout's index lock is held and its
/// index and files at every path the merge changes are still the old main's: it is then brought
/// to the new main in the same step, and everything else the user staged or edited stays. A git
/// operation in progress on main, a held lock or a change of the user in the way leaves main
/// where it is and is reported as an obstacle. Errors are for broken repositories and bad
/// input; expected outcomes are `merge_result` kinds.
caf::expected<merge_result> merge_milestone(const merge_request& req);

/// The same, through the repository at `req.root` that the caller has open.
caf::expected<merge_result> merge_milestone(git_repository* repo, const merge_request& req);

/// Finishes what a merge that was cut short (a crash after main moved, or a checkout that
/// switched to main during a merge) left in a checkout of main, and removes our own lock left
/// with it; what the user changed since stays theirs. Gives a line for people when something
/// was done, empty when nothing was left; `ec::locked` while another git process holds the
/// checkout's lock.
caf::expected<std::string> recover_checkouts(const std::string& root);

/// Files that would conflict when merging revision `theirs_rev` into `ours_rev` (any revision
/// syntax git understands), with the `.sf/` rules of `merge_milestone` applied.
caf::expected<std::vector<std::string>> predict_conflicts(const std::string& root,
                                                          const std::string& ours_rev,
                                                          const std::string& theirs_rev);

} // namespace sf::io
