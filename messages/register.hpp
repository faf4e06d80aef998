#pragma once
/// Registration of sf-actors' message types and error category in a host's CAF config.

#include <caf/actor_system_config.hpp>

namespace sf {

/// Adds every sf message type and the `sf` error renderer to `cfg` (call before the system).
void add_message_types(caf::actor_system_config& cfg);

} // namespace sf
