#pragma once
/// The text an agent unit receives (and every unit finds in `SF_PROMPT_FILE`): what the
/// milestone, its slice and the unit say, and how to behave in the worktree.

#include "config/plan.hpp"

#include <string>

namespace sf {

/// The prompt of `u`, deterministic: `# <milestone id>: <title>`, the milestone's Markdown
/// body, `## Slice <id>: <title>`, `## Unit <id>: <title>`, the unit's own `prompt:`, then a
/// closing paragraph (work in the current directory, a git worktree; do not commit; the verify
/// command when there is one). Empty parts are left out; the text ends with one newline.
std::string build_prompt(const milestone& m, const slice& s, const unit& u);

} // namespace sf
