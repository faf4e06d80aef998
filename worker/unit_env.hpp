#pragma once
/// The variables the reference worker adds to every unit's environment (docs/protocol.md,
/// "Environment of a unit").

#include <cstddef>
#include <string>
#include <vector>

namespace sf::worker {

/// Largest prompt also passed as `SF_PROMPT`: Linux refuses to start a program with a single
/// variable over 128 KiB, and an agent's own prompt argument needs room too. Longer prompts are
/// in `SF_PROMPT_FILE` only.
inline constexpr std::size_t max_prompt_env_bytes = 64 * 1024;

/// What one unit is told about itself.
struct unit_vars {
  std::string unit_id;        ///< `SF_UNIT_ID`.
  std::string slice_id;       ///< `SF_SLICE_ID`.
  std::string milestone_file; ///< `SF_MILESTONE_FILE`: absolute MILESTONE.md in the worktree.
  std::string prompt_file;    ///< `SF_PROMPT_FILE`: absolute, under `.sf/parallel/`; empty
                              ///< when it could not be written, and then left out.
  std::string prompt;         ///< `SF_PROMPT`, left out above `max_prompt_env_bytes`.
};

/// `env` (`KEY=value` entries) with the unit's variables set: an entry of the same name that
/// `env` already has (a worker started from inside a unit) is replaced, not shadowed.
std::vector<std::string> with_unit_vars(std::vector<std::string> env, const unit_vars& v);

} // namespace sf::worker
