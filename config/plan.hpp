#pragma once
/// The user's milestone plan: `.sf/milestones/<MID>/MILESTONE.md`, parsed into plain structs.

#include "config/agent_profile.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sf {

/// Lifecycle of a milestone as written in its front matter.
enum class milestone_status { pending, active, complete, parked };

/// Name of a status as written in MILESTONE.md.
const char* to_string(milestone_status s);

/// Parses a status name; empty when unknown.
std::optional<milestone_status> parse_milestone_status(std::string_view text);

/// One unit of work: a shell command (`run:`) or a coding agent (`agent:`), never both.
struct unit {
  std::string id;                  ///< Unique within its milestone.
  std::string title;               ///< Human name.
  std::string run;                 ///< Shell command, run with /bin/sh -c in the worktree.
  std::string agent;               ///< Agent profile name (`default`: the default profile).
  std::string prompt;              ///< `prompt:` of an agent unit, added to the built prompt.
  std::string verify;              ///< `verify:` of an agent unit; empty = the milestone's.
  agent_limits limits;             ///< `timeout:`, `idle_timeout:`, `max_attempts:` (agent).
  std::vector<std::string> files;  ///< Files it is likely to touch (overlap warnings).
  std::optional<double> cost;      ///< Fixed cost in USD, when the plan declares one.

  /// True for an `agent:` unit.
  bool is_agent() const { return !agent.empty(); }
};

/// A group of units; `per-slice` merging merges after each one.
struct slice {
  std::string id;          ///< Unique within its milestone.
  std::string title;       ///< Human name.
  std::vector<unit> units; ///< In execution order.
};

/// One milestone of the plan.
struct milestone {
  std::string id;                      ///< Validated id (see `core::valid_milestone_id`).
  std::string title;                   ///< Human name.
  milestone_status status = milestone_status::pending; ///< From the front matter.
  std::vector<std::string> depends_on; ///< Ids that must be complete first.
  std::vector<slice> slices;           ///< The work.
  std::string verify;                  ///< `verify:` for its agent units that have none.
  std::string body;                    ///< Markdown after the front matter.
  std::string path;                    ///< Path of its MILESTONE.md.
  bool prose_unit = false;             ///< Its one unit was made from its prose (see
                                       ///< config/prose_milestone.hpp), not written.

  /// Sorted, de-duplicated union of every unit's `files`.
  std::vector<std::string> files() const;

  /// Number of units across all slices.
  std::size_t unit_count() const;

  /// The verify command of agent unit `u`: its own, else the milestone's; empty = none.
  const std::string& verify_of(const unit& u) const;
};

/// Every milestone of a project, sorted by id.
struct plan {
  std::vector<milestone> milestones; ///< Sorted by id.

  /// The milestone with this id, or nullptr.
  const milestone* find(std::string_view id) const;
};

/// Input limits that keep a hostile file from exhausting memory.
struct input_limits {
  std::size_t max_file_bytes = 1 << 20; ///< Files larger than this are refused unread.
  std::size_t max_depth = 32;           ///< Deepest YAML nesting accepted.
  std::size_t max_nodes = 100000;       ///< Most YAML nodes after alias expansion.
};

/// Parses one MILESTONE.md's text; `id` comes from its folder name, `path` is for messages.
caf::expected<milestone> parse_milestone(std::string_view text, const std::string& id,
                                         const std::string& path,
                                         const input_limits& limits = {});

/// Reads and parses one MILESTONE.md at `path` (e.g. inside a worktree); `id` must be valid.
caf::expected<milestone> load_milestone_file(const std::string& path, const std::string& id,
                                             const input_limits& limits = {});

/// Loads and validates every milestone under `<root>/.sf/milestones/`.
/// Rejects bad ids, unknown dependencies, cycles, duplicates, units without `run` or `agent`.
caf::expected<plan> load_plan(const std::string& root, const input_limits& limits = {});

/// Checks cross-milestone rules (unknown dependencies, cycles) of an already parsed plan.
caf::error validate_plan(const plan& p);

/// Sorts the milestones by id, then `validate_plan`: how every reader of a plan finishes.
caf::error sort_and_validate(plan& p);

} // namespace sf
