#include "core/event_kind.hpp"

#include "core/name_table.hpp"

namespace sf::core {

namespace {

// The one name table of the enum (core/name_table.hpp).
constexpr name_table<event_kind, all_event_kinds.size()> names = {
    {"progress", "state_changed", "completed", "budget", "message", "finished", "merge",
     "merge_ready", "overlap", "needs_attention"}};

} // namespace

std::string_view to_string(event_kind k) {
  return names.name(k);
}

std::optional<event_kind> parse_event_kind(std::string_view name) {
  return names.parse(name);
}

} // namespace sf::core
