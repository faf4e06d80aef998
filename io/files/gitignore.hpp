#pragma once
/// Keeps the project's `.gitignore` ignoring the runtime-only files under `.sf/`.

#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace sf::io {

/// The ignore lines sf-actors needs: `.sf/parallel/`, `.sf/worktrees/` and every `auto.lock`.
const std::vector<std::string>& runtime_ignore_rules();

/// Appends the missing rules (under a one-time comment header) to `<root>/.gitignore`, creating
/// it if needed. Existing bytes are kept as they are; a newline is added after a last line that
/// lacks one before appending. Atomic write; a symbolic link `.gitignore` is `ec::unsafe_path`.
/// Returns true when the file changed, false when every rule was already there.
caf::expected<bool> ensure_runtime_ignored(const std::string& root);

} // namespace sf::io
