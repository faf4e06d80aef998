#pragma once
/// `.sf/parallel/events.jsonl`: an append-only log of run events, one JSON object per line.

#include "messages/types.hpp"

#include <caf/error.hpp>

#include <cstdint>
#include <string>

namespace sf::io {

/// Path of the event log of `root`.
std::string event_log_path(const std::string& root);

/// One event as its log line (with the trailing newline), stamped `at_ms` (ms since the epoch).
std::string format_event_line(const run_event& ev, int64_t at_ms);

/// Appends complete lines in one write; nothing happens for an empty string.
caf::error append_event_lines(const std::string& root, const std::string& lines);

/// Appends one event with a timestamp; one write per line so lines never interleave.
caf::error append_event(const std::string& root, const run_event& ev);

} // namespace sf::io
