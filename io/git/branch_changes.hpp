#pragma once
/// Which files a milestone's branch has changed so far: what its commits did since it left the
/// integration branch, so overlapping work is seen while it runs rather than at the merge.

#include <caf/expected.hpp>

#include <git2.h>

#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// The files of one branch's own work.
struct branch_change_set {
  std::string tip;                ///< Hex oid of `milestone/<MID>` when read.
  std::vector<std::string> files; ///< Sorted paths, outside `.sf/` (the plan and metrics
                                  ///< change on every branch and merge structurally).
};

/// The paths `milestone/<mid>` changed between its merge base with the integration branch and
/// its tip (both sides of a rename: each may meet another branch's edit); empty when there is
/// no such branch.
caf::expected<std::optional<branch_change_set>> read_branch_changes(git_repository* repo,
                                                                    const std::string& mid);

/// The same, opening the repository at `root`.
caf::expected<std::optional<branch_change_set>> read_branch_changes(const std::string& root,
                                                                    const std::string& mid);

} // namespace sf::io
