#pragma once
/// worker_state: the state a worker writes in its status file (the protocol's four), with its
/// one name table.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sf::core {

/// What a worker says of itself in `<MID>.status.json`.
enum class worker_state : uint8_t {
  running, ///< Runs units (or is about to).
  paused,  ///< Holds between units until resumed.
  stopped, ///< Finished or stopped; about to exit.
  error,   ///< Cannot go on; `error` says why.
};

/// Every state, in declaration order.
inline constexpr std::array<worker_state, 4> all_worker_states = {
    worker_state::running, worker_state::paused, worker_state::stopped, worker_state::error};

/// The state's name in the status file.
std::string_view to_string(worker_state s);

/// The state named `name`, if any (the status file's reader refuses any other).
std::optional<worker_state> parse_worker_state(std::string_view name);

} // namespace sf::core
