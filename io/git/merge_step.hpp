#pragma once
/// One step of the merge queue, shared by the merge_queue actor and `sf-actors merge` without a
/// coordinator: merge one milestone's recorded tip, then push and clean up.

#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "io/git/git_hooks.hpp"
#include "messages/types.hpp"

#include <caf/expected.hpp>

#include <chrono>

#include <string>
#include <vector>

namespace sf::io {

/// What to do around the merge itself.
struct merge_options {
  std::string push_remote;           ///< Push main there after a merge; empty = no push.
  std::chrono::milliseconds push_timeout{60000}; ///< A push running longer is ended.
  bool push_inline = true;           ///< Push within `merge_one`; false: the caller pushes.
  std::chrono::milliseconds turn_patience{60000}; ///< Wait for another merge of the project.
  int stop_fd = -1;                  ///< Readable when the caller must stop (ends a push).
  bool delete_merged_branch = false; ///< Delete `milestone/<MID>` once it is merged.
  bool dry_run = false;              ///< Predict only; change nothing.
  bool cleanup = true;               ///< Clean up at once; false leaves it to `cleanup_merged`.
  /// Move main to this commit the merge gate tested (merge_request::gated_commit), composed on
  /// `gated_base`; the item is the last one it merges. Empty: merge as usual.
  std::string gated_commit;
  std::string gated_base;
  /// The repository's pre-merge-commit hook (merge_request::hooks); its stop is `stop_fd`.
  git_hook_settings git_hooks;
};

/// The git hook settings of merges under preferences `p` (`git_hooks`, `stop_grace`).
git_hook_settings merge_git_hooks(const preferences& p);

/// The outcome's kind from a merge result's kind (dry runs say `would_merge`).
core::merge_kind outcome_kind(core::merge_kind merge_result_kind, bool dry_run);

/// The merge commit message: the milestone, its units, and trailers naming the tip.
std::string merge_message(const merge_item& item);

/// Merges `item` into main; for a whole milestone also removes its worktree and status file
/// (never one with uncommitted work) and, if asked, its branch. Merges of one project never run
/// at the same time (a lock in `.sf/parallel` serialises every sf-actors process).
merge_outcome merge_one(const std::string& root, const merge_item& item, const merge_options& o);

/// The clean-up `merge_one` skips when `o.cleanup` is false, for an item whose outcome was
/// `merged` or `already_merged`; returns notes on what was kept (empty when all went).
std::string cleanup_merged(const std::string& root, const merge_item& item,
                           const merge_options& o);

/// Milestones whose branch says complete but whose tip is not on main yet, with their units.
caf::expected<std::vector<merge_item>> find_mergeable(const std::string& root, const plan& p);

} // namespace sf::io
