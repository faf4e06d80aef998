#pragma once
/// The main worktree of the repository a linked worktree belongs to, found through the common
/// git dir: where commands run from a linked worktree act, as git's do on the shared repository.

#include <string>

namespace sf::io {

/// The main worktree's folder (absolute, no trailing slash) when `path` lies inside a linked
/// worktree (`git worktree add`, a milestone's `.sf/worktrees/<MID>`); empty when `path` is in
/// a main worktree, in no repository, or the repository is bare (it has no main worktree).
std::string main_worktree_of(const std::string& path);

} // namespace sf::io
