#pragma once
/// Rename detection for the tree merge, chosen as git's merge-ort chooses, and the alignment of
/// three trees so that a plain three-way merge of them gives merge-ort's result.

#include "io/git/git.hpp"
#include "io/git/tree_merge_store.hpp"

#include <caf/expected.hpp>

#include <git2.h>

#include <string>
#include <vector>

namespace sf::io {

/// One file that a side moved: its path in the base and its path on that side.
struct file_rename {
  std::string from; ///< Path in the base.
  std::string to;   ///< Path on the side that renamed it.
  int score = 0;    ///< Similarity in git's units (60000 is identical).
};

/// Renames `side` made since `base`, as merge-ort finds them: exact ones (same blob) first, then
/// files of the same name elsewhere at 75 %, then the best pairs at git's default 50 %, for at
/// most 7000 × 7000 candidates. `other` (the other side of the merge) decides which deleted files
/// matter, as in merge-ort; nothing is looked for when none does. The top-level `.sf/` folder is
/// left out: state files merge by their own rules. Sorted by `from`. Trees are read through
/// `store`.
caf::expected<std::vector<file_rename>> find_renames(tree_store& store, const git_tree* base,
                                                     const git_tree* side,
                                                     const git_tree* other);

/// Three trees rewritten so that renames are followed, and the conflicts renames cause.
struct aligned_trees {
  bool renamed = false;                ///< False: no rename matters; the trees are unchanged.
  folder base, ours, theirs;           ///< The rewritten trees (set only when `renamed`).
  std::vector<std::string> conflicts;  ///< Paths git leaves in conflict because of renames.
  std::vector<std::string> ours_moved; ///< Paths of ours that the rewrite moved (old and new).
};

/// Expresses each side's renames in the other side's and the base's paths (their entries move to
/// the new path) and reports rename/delete, rename/rename and rename/add conflicts with the paths
/// git lists for them. Trees may be null (empty). The rewritten trees are held in `store`'s memory
/// (nothing is written) and live as long as it.
caf::expected<aligned_trees> align_renames(tree_store& store, const git_tree* base,
                                           const git_tree* ours, const git_tree* theirs);

} // namespace sf::io
