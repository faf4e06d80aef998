#pragma once
/// fs_watcher: inotify on `.sf/parallel/` and its `control/` folder; routes each change as a
/// typed message to the supervisor of that milestone, or to the control server.

#include "io/os/dir_watcher.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace spdlog {
class logger;
}

namespace sf::io {
class fd_reactor;
}

namespace sf {

/// Milestone -> supervisor, shared with the reactor thread, which routes status-file changes
/// straight to the supervisor (one hop fewer than through this actor).
struct watch_routes {
  std::mutex mtx;                                        ///< Guards `to`.
  std::map<std::string, worker_supervisor_actor> to;     ///< Milestone -> its supervisor.
};

/// State of the watcher; owns the inotify fds and their reactor registrations.
struct fs_watcher_state {
  static inline const char* name = "fs_watcher";        ///< Actor name for logs.
  std::string root;                                     ///< Project root.
  std::shared_ptr<io::fd_reactor> reactor;              ///< Delivers inotify readiness.
  std::shared_ptr<spdlog::logger> log;                  ///< The run's logger.
  std::shared_ptr<io::dir_watcher> parallel_dir;        ///< Watches `.sf/parallel/`.
  std::shared_ptr<io::dir_watcher> control_dir;         ///< Watches `.sf/parallel/control/`.
  uint64_t parallel_id = 0;                             ///< Reactor registration.
  uint64_t control_id = 0;                              ///< Reactor registration.
  std::shared_ptr<watch_routes> routes = std::make_shared<watch_routes>(); ///< Routing.
  control_server_actor control;                         ///< Receives control requests.

  ~fs_watcher_state();
};

/// Behavior; fails (quits with an error) when the folders cannot be watched.
fs_watcher_actor::behavior_type fs_watcher(fs_watcher_actor::stateful_pointer<fs_watcher_state> self,
                                           std::string root,
                                           std::shared_ptr<io::fd_reactor> reactor,
                                           std::shared_ptr<spdlog::logger> log,
                                           control_server_actor control,
                                           std::shared_ptr<watch_routes> routes = nullptr);

} // namespace sf
