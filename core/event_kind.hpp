#pragma once
/// event_kind: what a run event reports, with its one name table.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sf::core {

/// Kinds of events published to subscribers and written to events.jsonl.
enum class event_kind : uint8_t {
  progress,      ///< Units, cost or heartbeat changed.
  state_changed, ///< A milestone's state changed.
  completed,     ///< A milestone finished all units.
  budget,        ///< The total cost changed or reached the ceiling.
  message,       ///< A notice for humans.
  finished,      ///< The run has nothing left to do.
  merge,         ///< A merge attempt ended (text has the result).
  merge_ready,   ///< A milestone waits for a merge confirmation (auto_merge: confirm).
  overlap,       ///< Two unmerged branches changed the same files (their merges may conflict).
  needs_attention, ///< An agent went silent for its `idle_timeout`; it keeps running.
};

/// Every kind, in declaration order.
inline constexpr std::array<event_kind, 10> all_event_kinds = {
    event_kind::progress, event_kind::state_changed, event_kind::completed,
    event_kind::budget,   event_kind::message,       event_kind::finished,
    event_kind::merge,    event_kind::merge_ready,   event_kind::overlap,
    event_kind::needs_attention};

/// The kind's name in events.jsonl and logs.
std::string_view to_string(event_kind k);

/// The kind named `name`, if any.
std::optional<event_kind> parse_event_kind(std::string_view name);

} // namespace sf::core
