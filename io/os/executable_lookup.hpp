#pragma once
/// Finding the program a shell command line would run, the way `sh` looks it up, so a command
/// that cannot start is reported before a run rather than as three failed restarts.

#include <optional>
#include <string>

namespace sf::io {

/// The program word of a simple shell command line (after leading `NAME=value` words), or
/// nothing when the line needs the shell to know (quotes, expansions, operators, a builtin).
std::optional<std::string> program_word(const std::string& command_line);

/// Whether `program` would run from folder `cwd`: a name with a `/` is taken relative to `cwd`,
/// any other is searched in `$PATH`. Returns a reason when it would not, empty when it would.
std::string why_not_executable(const std::string& program, const std::string& cwd);

} // namespace sf::io
