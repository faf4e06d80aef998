#pragma once
/// Three-way merge of git trees that skips every subtree only one side touched.

#include <caf/expected.hpp>

#include <git2.h>

#include <string>
#include <vector>

namespace sf::io {

/// How conflicts are settled while merging trees.
struct tree_merge_rules {
  /// Merge files under the top-level `.sf/` folder by the rules of io/git/state_merge.hpp (nothing
  /// either side added is lost); off means `.sf/` merges like code.
  bool resolve_state = true;
  /// Follow files either side renamed (io/git/rename_align.hpp), as git's merge does by default.
  bool detect_renames = true;
};

/// What a tree merge produced.
struct tree_merge_result {
  git_oid tree;                           ///< Merged tree, written to the object database.
  std::vector<std::string> conflicts;     ///< Sorted paths left in conflict (tree is then partial).
  std::vector<std::string> changed_paths; ///< Sorted file paths whose entry differs from ours.
};

/// True when `path` lies in the top-level `.sf` folder (or is that entry itself).
bool is_state_path(const std::string& path);

/// Merges `theirs` into `ours` against `base`; any tree may be null (an empty tree). Writes the
/// blobs and trees it creates; never touches refs, the index or a working folder.
caf::expected<tree_merge_result> tree_merge(git_repository* repo, const git_tree* base,
                                            const git_tree* ours, const git_tree* theirs,
                                            const tree_merge_rules& rules = {});

} // namespace sf::io
