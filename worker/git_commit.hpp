#pragma once
/// Commits everything in a worktree on its current branch with libgit2.

#include "io/git/git_hooks.hpp"

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
/// hex id, or HEAD's when nothing changed (no empty commit). As `git commit` does, the
/// repository's `pre-commit` hook runs once the changes are staged (what it stages is
/// committed too) and `commit-msg` on the message in `COMMIT_EDITMSG` (its edit is the
/// message); a failing hook fails the commit with its output (`ec::unavailable` when
/// `hooks.stop_fd` stopped it). `hooks.enabled` false runs none.
caf::expected<std::string> commit_all(const std::string& worktree, const std::string& message,
                                      const io::git_hook_settings& hooks = {});

/// The same on a repository the caller keeps open across commits (`worktree`, its top folder,
/// names it in errors and is where hooks run).
caf::expected<std::string> commit_all(git_repository* repo, const std::string& worktree,
                                      const std::string& message,
                                      const io::git_hook_settings& hooks = {});

/// The repository's common git folder for a checkout or a linked worktree (without libgit2).
caf::expected<std::string> common_git_dir(const std::string& worktree);

/// Adds `pattern` as a line of `info/exclude` in the repository's common git folder unless a
/// line already equals it, so runtime files stay out of commits on every branch.
caf::error ensure_excluded(const std::string& worktree, const std::string& pattern);

} // namespace sf::worker
