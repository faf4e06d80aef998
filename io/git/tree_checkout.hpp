#pragma once
/// A parallel checkout of one tree into an empty working folder, with a matching index.

#include <caf/error.hpp>

#include <git2.h>

#include <atomic>
#include <string>

namespace sf::io {

/// Writes every file of `tree` into `workdir` (which holds only the `.git` link) with a pool of
/// `threads` writers (0: one per core, at least 2), then writes `wt_repo`'s index from `tree` with
/// each entry's stat data taken from the written file. Falls back to libgit2's own checkout when
/// attributes or line-ending settings could rewrite file contents.
/// A set `cancel` (when given) stops the writers between files with `ec::unavailable`.
caf::error checkout_tree_fast(git_repository* wt_repo, git_tree* tree, const std::string& workdir,
                              unsigned threads = 0, const std::atomic<bool>* cancel = nullptr);

} // namespace sf::io
