#pragma once
/// Three-way merge of git trees that skips every subtree only one side touched.

#include <caf/expected.hpp>

#include <git2.h>

#include <string>
#include <vector>

namespace sf::io {

/// How conflicts are settled while merging trees.
struct tree_merge_rules {
  /// Settle every conflict under the top-level `.sf/` folder in favour of theirs (the milestone
  /// branch), with a JSON union for `.sf/metrics.json`; off means `.sf/` merges like code.
  bool resolve_state = true;
};

/// What a tree merge produced.
struct tree_merge_result {
  git_oid tree;                           ///< Merged tree, written to the object database.
  std::vector<std::string> conflicts;     ///< Sorted paths left in conflict (tree is then partial).
  std::vector<std::string> changed_paths; ///< Sorted file paths whose entry differs from ours.
};

/// True when `path` lies in the top-level `.sf` folder (or is that entry itself).
bool is_state_path(const std::string& path);

/// Merges `metrics.json` texts: ours plus every milestone entry theirs added or changed since
/// `base` (any text may be empty); fails when ours or theirs is not a JSON object.
caf::expected<std::string> merge_metrics_json(const std::string& base, const std::string& ours,
                                              const std::string& theirs);

/// Merges `theirs` into `ours` against `base`; any tree may be null (an empty tree). Writes the
/// blobs and trees it creates; never touches refs, the index or a working folder.
caf::expected<tree_merge_result> tree_merge(git_repository* repo, const git_tree* base,
                                            const git_tree* ours, const git_tree* theirs,
                                            const tree_merge_rules& rules = {});

} // namespace sf::io
