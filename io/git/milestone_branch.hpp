#pragma once
/// What a milestone's branch `milestone/<MID>` says: its tip, and whether it is complete.

#include "config/plan.hpp"

#include <caf/expected.hpp>

#include <git2.h>

#include <cstdint>
#include <optional>
#include <string>

namespace sf::io {

/// A milestone branch as seen from the repository.
struct branch_state {
  std::string tip;          ///< Hex oid of `milestone/<MID>`.
  int64_t tip_time = 0;     ///< Commit time of the tip (seconds since the epoch).
  bool complete = false;    ///< Its MILESTONE.md says `status: complete`.
  bool merged = false;      ///< The tip is reachable from the main branch.
};

/// The branch of `mid` in the repository at `root`; empty when there is no such branch.
caf::expected<std::optional<branch_state>> read_milestone_branch(const std::string& root,
                                                                 const std::string& mid);

/// The same, through a repository the caller has open.
caf::expected<std::optional<branch_state>> read_milestone_branch(git_repository* repo,
                                                                 const std::string& mid);

/// Whether the tip of `milestone/<mid>` is on the integration branch, without reading its plan;
/// empty when there is no such branch.
caf::expected<std::optional<bool>> milestone_merged(git_repository* repo, const std::string& mid);

/// The merge base of `tip` (of `milestone/<mid>`) and the integration branch's tip; empty when
/// they share no history.
caf::expected<std::optional<git_oid>> merge_base_with_main(git_repository* repo,
                                                           const git_oid& tip,
                                                           const std::string& mid);

/// Fails when `milestone/<mid>` exists but shares no history with the integration branch (a
/// branch of that name made elsewhere): a worker would start from a tree without the plan.
/// The error names the branch and the fix; nothing is changed.
caf::error check_branch_history(git_repository* repo, const std::string& mid);

} // namespace sf::io
