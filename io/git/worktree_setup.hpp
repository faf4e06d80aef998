#pragma once
/// `parallel.worktree_setup`: a command run once in a milestone's new worktree (copy `.env`,
/// install dependencies) before its first worker starts. Its output goes to the milestone's
/// log; that it succeeded is recorded in the worktree's own git folder, never in the tree.

#include <caf/error.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace sf::io {

/// What to run in each new worktree; an empty command runs nothing.
struct worktree_setup {
  std::string command;                    ///< Run with `/bin/sh -c` in the worktree.
  std::chrono::milliseconds timeout{600000}; ///< Then SIGTERM to its process group.
  std::chrono::milliseconds grace{2000};  ///< Then SIGKILL.
  std::vector<std::string> base_env;      ///< Allowlisted "K=V" entries from our environment.
};

/// File in the worktree's git folder (`.git/worktrees/<MID>/`) that says the setup ran there;
/// empty when `worktree` is no linked worktree (its `.git` is not a `gitdir:` file).
std::string setup_marker_path(const std::string& worktree);

/// Runs `setup` in `worktree` of milestone `mid` unless it already succeeded there (or there
/// is no command), appending its output to `.sf/parallel/<mid>.log`; blocks until it ends.
/// A command that fails or times out gives one line naming it, its exit and the log. A set
/// `cancel` (may be null) stops it, as a stop of the milestone must not wait for an install.
caf::error run_worktree_setup(const worktree_setup& setup, const std::string& root,
                              const std::string& mid, const std::string& worktree,
                              const std::atomic<bool>* cancel = nullptr);

} // namespace sf::io
