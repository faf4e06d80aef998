#pragma once
/// Through a running coordinator a merge's push runs after the merge is answered; `sf-actors
/// merge` waits for its outcome in the event log so that its exit code is the same as without
/// a coordinator (8 for a failed push).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace sf::cli {

/// Bytes in `<root>/.sf/parallel/events.jsonl` now (0 when there is none): where to look from.
std::size_t event_log_size(const std::string& root);

/// Waits (woken by inotify, at most `timeout`) for the first push outcome the event log records
/// after byte `from`: an empty string when main was pushed, git's reason when the push failed,
/// nothing when no outcome came in time or the coordinator ended first.
std::optional<std::string> wait_push_outcome(const std::string& root, std::size_t from,
                                             std::chrono::milliseconds timeout);

} // namespace sf::cli
