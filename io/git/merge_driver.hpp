#pragma once
/// The git merge driver for the files under `.sf/`: registered in the repository's own config
/// and `info/attributes` (nothing committed), so that a `git merge` a person runs (say
/// `git merge main` in a milestone's worktree to resolve a conflict) merges `.sf/metrics.json`,
/// the MILESTONE.md files and the other state files exactly as the merge queue does
/// (io/git/state_merge.hpp), with the branch winning what the queue lets it win.

#include <caf/error.hpp>

#include <string>

namespace sf::io {

/// The driver's name in `merge.<name>.driver` and in `merge=<name>` attributes.
inline constexpr const char* merge_driver_name = "sf-actors-state";

/// Sets `merge.sf-actors-state.{name,driver}` in the local config of the repository at `root`
/// (the driver runs `<exe> merge-driver %O %A %B %P`) and adds `/.sf/** merge=sf-actors-state`
/// to its `info/attributes` when missing. Changes nothing that is already so.
caf::error register_merge_driver(const std::string& root, const std::string& exe);

/// What git asks of the driver: merge `theirs_file` into `ours_file` (which gets the result)
/// against `base_file`, for the tracked `path`, in the checkout at `top`. 0 when clean; 1 with
/// git's conflict markers in `ours_file` when not.
int run_merge_driver(const std::string& top, const std::string& base_file,
                     const std::string& ours_file, const std::string& theirs_file,
                     const std::string& path);

} // namespace sf::io
