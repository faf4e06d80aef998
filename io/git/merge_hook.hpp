#pragma once
/// git's `pre-merge-commit` hook for the merges sf-actors makes in memory (io/git/merge.hpp,
/// io/git/merge_compose.hpp). git runs it in the checkout where the merge result is staged;
/// ours is in no checkout, so the hook runs in the project's root checkout (the working tree
/// top git would use) with GIT_INDEX_FILE naming a temporary index that holds the merged tree:
/// a hook that reads the index (`git diff --cached`, `git ls-files`, `git show :path`) sees the
/// merge. The files in that checkout are not the merge's, so what a hook stages is not taken
/// into the merge: a hook that changes the index blocks it instead (make the change on the
/// branch). GIT_REFLOG_ACTION is `merge <branch>`, as under `git merge`.

#include "io/git/git_hooks.hpp"

#include <caf/expected.hpp>

#include <git2.h>

#include <string>
#include <vector>

namespace sf::io {

/// What `pre-merge-commit` made of one merge.
struct merge_hook_verdict {
  bool ok = true;                 ///< The merge may be committed.
  std::string text;               ///< Why not (the hook's words), for the report.
  std::string note;               ///< git's hint about a hook skipped as not executable.
  std::vector<std::string> watch; ///< The hooks folder: a changed hook is tried again.
};

/// Runs `pre-merge-commit` of `repo` (top folder `root`) on the merge of `branch` into `main`
/// whose tree is `tree`. Errors: a broken repository, the temporary index cannot be written,
/// or `ec::unavailable` when the settings' stop descriptor ended the hook.
caf::expected<merge_hook_verdict> run_pre_merge_commit(git_repository* repo,
                                                       const std::string& root,
                                                       const git_oid& tree,
                                                       const std::string& branch,
                                                       const std::string& main,
                                                       const git_hook_settings& settings);

} // namespace sf::io
