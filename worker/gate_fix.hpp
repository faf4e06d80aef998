#pragma once
/// A gate fix: under `on_gate_failure: agent` the coordinator starts a complete milestone's
/// worker again with the merge gate's failure report, and the worker resumes the agent that did
/// the milestone's last agent unit, tells it what failed, and commits what it changes.

#include "config/plan.hpp"

#include <caf/expected.hpp>
#include <git2.h>

#include <optional>
#include <string>

namespace sf::worker {

/// What the coordinator asked for (`SF_GATE_FAILURE_FILE`, `SF_GATE_FIX_ROUND`).
struct gate_fix_order {
  std::string report_file; ///< Absolute path of `.sf/parallel/<MID>.gate-failure.md`.
  int round = 1;           ///< Which fix of this milestone it is (1-based).
};

/// The order in the worker's environment, nothing when there is none; a malformed one is an
/// error naming the variable.
caf::expected<std::optional<gate_fix_order>> gate_fix_from_env();

/// The id the fix is recorded under in `.sf/metrics.json`: `gate-fix-<round>`.
std::string gate_fix_unit_id(int round);

/// True for an id `gate_fix_unit_id` gives.
bool is_gate_fix_id(const std::string& id);

/// The milestone's last agent unit (whose agent is resumed), with its slice; null when the
/// milestone has none.
const unit* fixing_unit(const milestone& m, const slice** in_slice);

/// What the agent is told: the failure report and what to do; `task` (the unit's own prompt)
/// is repeated when a fresh agent starts instead of the resumed session, else empty.
std::string gate_fix_prompt(const std::string& report, const std::string& task);

/// True when commit `after` (hex) differs from `before` outside `.sf/` (the metrics file
/// changes with every unit, so it does not count as a fix).
caf::expected<bool> changed_outside_state(git_repository* repo, const git_oid& before,
                                          const std::string& after);

} // namespace sf::worker
