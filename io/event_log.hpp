#pragma once
/// `.sf/parallel/events.jsonl`: an append-only log of run events, one JSON object per line.

#include "messages/types.hpp"

#include <caf/error.hpp>

#include <string>

namespace sf::io {

/// Path of the event log of `root`.
std::string event_log_path(const std::string& root);

/// Appends one event with a timestamp; one write per line so lines never interleave.
caf::error append_event(const std::string& root, const run_event& ev);

} // namespace sf::io
