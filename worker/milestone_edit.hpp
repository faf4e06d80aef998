#pragma once
/// Marks a milestone complete by editing the `status:` line of its MILESTONE.md front matter.

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <string>
#include <string_view>

namespace sf::worker {

/// Returns `text` with the top-level `status:` line of its front matter replaced by
/// `status: <status>` (or such a line added just before the closing `---` when there is none).
/// Every other byte is kept. `path` is for messages; error when there is no front matter.
caf::expected<std::string> set_front_matter_status(std::string_view text, std::string_view status,
                                                   const std::string& path);

/// Rewrites the MILESTONE.md at `path` (atomically) with `status: complete`.
caf::error mark_milestone_complete(const std::string& path);

} // namespace sf::worker
