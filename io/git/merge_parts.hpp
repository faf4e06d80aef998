#pragma once
/// Small libgit2 steps every merge shares: reading commits and trees, the merge base's tree and
/// the signature of merge commits.

#include "io/git/git.hpp"

#include <caf/expected.hpp>

#include <git2.h>

#include <string>

namespace sf::io {

/// The 40-digit hex spelling of `id`.
std::string oid_hex(const git_oid& id);

/// The commit `id`; `what` names it in the error.
caf::expected<commit_ptr> lookup_commit(git_repository* repo, const git_oid& id,
                                        const std::string& what);

/// The tree of `commit`.
caf::expected<tree_ptr> tree_of(const git_commit* commit);

/// The tree of the merge base of `a` and `b`; a null tree for unrelated histories.
caf::expected<tree_ptr> merge_base_tree(git_repository* repo, const git_oid& a, const git_oid& b);

/// The author and committer of merge commits: the repository's user, else `sf-actors`.
caf::expected<signature_ptr> merge_signature(git_repository* repo);

} // namespace sf::io
