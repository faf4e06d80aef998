#pragma once
/// An owning actor system for programs without one of their own (the CLI uses it).

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <cstddef>
#include <memory>

namespace sf {

/// Options of the owned actor system.
struct runtime_options {
  std::size_t threads = 2; ///< Scheduler threads; few, since actors mostly wait on I/O.
};

/// Owns a CAF actor system configured for sf-actors; not copyable or movable.
class runtime {
public:
  /// Creates the actor system with our message types registered.
  explicit runtime(runtime_options opts = {});

  /// Waits for every actor to finish (call `shutdown` first to end them).
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// The owned actor system.
  caf::actor_system& system() { return *system_; }

private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> system_;
};

} // namespace sf
