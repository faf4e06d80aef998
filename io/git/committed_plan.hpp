#pragma once
/// The plan as committed on the integration branch: what the worktrees get, and therefore what a
/// run executes. `start` and `eligibility` read it here, and name every plan file whose working
/// copy differs from it, so nobody starts a milestone that exists only on their disk.

#include "config/plan.hpp"

#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace sf::io {

/// One plan or preferences file whose working copy is not what the integration branch holds.
struct plan_difference {
  std::string path; ///< Relative to the project root, e.g. `.sf/milestones/M001/MILESTONE.md`.
  std::string what; ///< E.g. `not committed`, `changed, not committed`, `committed on X, not on main`.
};

/// The committed plan and how the working tree differs from it.
struct committed_plan {
  std::string branch;                       ///< The integration branch it was read from.
  std::string commit;                       ///< Hex id of that branch's tip.
  plan milestones;                          ///< Parsed and validated as `load_plan` does.
  std::vector<plan_difference> differences; ///< Plan and preferences files, sorted by path.
};

/// Reads `.sf/milestones/` from the tip of the integration branch of the repository at `root`
/// (`preferred` as in `record_integration_branch`, but nothing is recorded) and lists what of
/// `.sf/milestones/` and `.sf/PREFERENCES.md` the root checkout has not committed, or holds on
/// another branch differently from the integration branch. Fails when
/// `root` is no repository, has no commit, or the committed plan is invalid (naming the branch).
caf::expected<committed_plan> read_committed_plan(const std::string& root,
                                                  const std::string& preferred);

/// One line per difference, each with its path and kind, ready for stderr.
std::vector<std::string> describe_differences(const committed_plan& cp);

} // namespace sf::io
