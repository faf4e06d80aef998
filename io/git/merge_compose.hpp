#pragma once
/// Composing the merges of several completed milestones (or slices) on main's current commit
/// as a chain of merge commits, without moving any ref: the merge gate tests the chain's last
/// commit, and only then does main move to it (merge_request::gated_commit).

#include "core/merge_kind.hpp"
#include "io/git/git_hooks.hpp"
#include "messages/types.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace sf::io {

/// What became of one item in the chain.
struct composed_step {
  std::size_t index = 0;          ///< Position in the items given.
  /// merged, already_merged, conflict, or blocked (the pre-merge-commit hook refused it).
  core::merge_kind kind = core::merge_kind::failed;
  std::string commit;             ///< The merge commit made for it (merged only).
  std::vector<std::string> files; ///< Conflicting files (conflict only).
  std::string text;               ///< One line for people.
  std::vector<std::string> watch; ///< Blocked: the hooks folder, whose change may end it.
};

/// A chain of merge commits on main.
struct composed_merge {
  std::string main;   ///< Name of the main branch.
  std::string base;   ///< Main's commit (hex) the chain starts from.
  std::string tip;    ///< The chain's last commit; `base` when nothing was merged.
  /// One step per item, in order, ending at the first conflict (which is included).
  std::vector<composed_step> steps;
  /// Steps that made a commit.
  std::size_t merged_count() const;
};

/// Merges `items` one after the other onto main's commit in `root`, each with the commit
/// message `merge_message` gives it; an item already in the chain is skipped, and the first
/// conflict ends the chain, as does the first merge the repository's pre-merge-commit hook
/// refuses (it runs on each merge here, before the gate tests it, and not again when main
/// moves to the tested commit). Writes objects only.
caf::expected<composed_merge> compose_merges(const std::string& root,
                                             const std::vector<merge_item>& items,
                                             const git_hook_settings& hooks = {});

} // namespace sf::io
