#pragma once
/// control_server: the coordinator's door for other terminals. It reads the request files the
/// CLI writes in `.sf/parallel/control/`, asks the coordinator through its typed interface,
/// and writes the typed answer (a merge report stays a report) as the response file, which
/// the CLI renders as text or JSON itself.

#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace sf {

/// State of the control server.
struct control_server_state {
  static inline const char* name = "control_server"; ///< Actor name for logs.
  std::string root;                                  ///< Project root.
  std::shared_ptr<spdlog::logger> log;               ///< The run's logger.
  coordinator_actor coordinator;                     ///< Whom the requests are for.
};

/// How long the server waits for the coordinator's answer to `stop`, `pause` and `resume`
/// (answered at once; the CLI waits 15 s) and to `merge` (a whole queue may merge and push
/// first).
inline constexpr std::chrono::seconds control_reply_timeout{10};
inline constexpr std::chrono::minutes merge_reply_timeout{10};

/// Behavior; answers every request file it can read, one response each.
control_server_actor::behavior_type
control_server(control_server_actor::stateful_pointer<control_server_state> self,
               std::string root, std::shared_ptr<spdlog::logger> log,
               coordinator_actor coordinator);

} // namespace sf
