#pragma once
/// Turns agent text (messages, commands, tool output) into short lines a person reads.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sf::agents {

/// Longest activity line (`stream_report::activity`), in bytes.
constexpr std::size_t max_activity_bytes = 200;

/// Longest transcript line, in bytes; longer lines end in "...".
constexpr std::size_t max_transcript_line_bytes = 1000;

/// Most transcript lines one event contributes; the rest is summarised in one line.
constexpr std::size_t max_transcript_lines_per_event = 40;

/// `text` cut to at most `max_bytes` bytes, ending in "..." when cut, never inside a UTF-8
/// character.
std::string cap_bytes(std::string_view text, std::size_t max_bytes);

/// The first non-blank line of `text`, trimmed and capped at `max_bytes` (see `cap_bytes`);
/// tabs become spaces, so the result never holds a control character.
std::string one_line(std::string_view text, std::size_t max_bytes = max_activity_bytes);

/// Transcript lines for one event: `prefix` and a space before the first line of `text`, two
/// spaces before the following ones; blank lines dropped; each line capped; at most
/// `max_transcript_lines_per_event` lines, then one "  ... (N more lines)".
std::vector<std::string> transcript_lines(std::string_view prefix, std::string_view text);

/// The command a shell wrapper runs: `bash -lc 'ctest -j2'` and `/bin/sh -c "make"` give
/// `ctest -j2` and `make`; anything else is returned as it is.
std::string unwrap_shell(std::string_view command);

} // namespace sf::agents
