#include "core/worker_state.hpp"

#include "core/name_table.hpp"

namespace sf::core {

namespace {

// The one name table of the enum (core/name_table.hpp).
constexpr name_table<worker_state, all_worker_states.size()> names = {
    {"running", "paused", "stopped", "error"}};

} // namespace

std::string_view to_string(worker_state s) {
  return names.name(s);
}

std::optional<worker_state> parse_worker_state(std::string_view name) {
  return names.parse(name);
}

} // namespace sf::core
