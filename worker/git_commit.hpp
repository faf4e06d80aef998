#pragma once
/// Commits everything in a worktree on its current branch with libgit2.

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <git2.h>

#include <string>

namespace sf::worker {

/// Author and committer used when the repository config has no `user.name`/`user.email`.
constexpr const char* fallback_author_name = "sf-actors worker";
/// Email of the fallback author.
constexpr const char* fallback_author_email = "worker@sf-actors.invalid";

/// Stages every change in `worktree` (new, modified and deleted files, honouring ignore
/// rules), writes the tree and commits it on HEAD with `message`. Returns the new commit's
/// hex id, or HEAD's when nothing changed (no empty commit).
caf::expected<std::string> commit_all(const std::string& worktree, const std::string& message);

/// The same on a repository the caller keeps open across commits (`worktree` names it in
/// errors).
caf::expected<std::string> commit_all(git_repository* repo, const std::string& worktree,
                                      const std::string& message);

/// The repository's common git folder for a checkout or a linked worktree (without libgit2).
caf::expected<std::string> common_git_dir(const std::string& worktree);

/// Adds `pattern` as a line of `info/exclude` in the repository's common git folder unless a
/// line already equals it, so runtime files stay out of commits on every branch.
caf::error ensure_excluded(const std::string& worktree, const std::string& pattern);

} // namespace sf::worker
