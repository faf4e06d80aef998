#pragma once
/// The prompt file of a running unit, `.sf/parallel/<MID>.prompt.md`: in the runtime folder,
/// never in the worktree, so no commit ever carries it.

#include <caf/expected.hpp>

#include <string>
#include <string_view>

namespace sf::io {

/// Writes `text` as the prompt file of `mid` (0600, atomically: a reader sees the old or the
/// new text) and returns its absolute path. Creates `.sf/parallel` when missing; a link, FIFO
/// or folder at the file's name is refused (`ec::unsafe_path`), never followed.
caf::expected<std::string> write_prompt_file(const std::string& root, const std::string& mid,
                                             std::string_view text);

/// Removes the prompt file of `mid`, if any (a planted non-file is left for `doctor`).
void remove_prompt_file(const std::string& root, const std::string& mid);

} // namespace sf::io
