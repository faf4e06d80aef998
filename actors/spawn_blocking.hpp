#pragma once
/// spawn_blocking: spawns a part that blocks (disk, git, /proc) on a thread of its own, or as a
/// scheduled actor when the run is driven by CAF's deterministic test scheduler, whose single
/// thread must be the only one that sends.

#include <caf/spawn_options.hpp>

#include <utility>

namespace sf {

/// `self->spawn<Os + detached>(fn, xs...)`, or `self->spawn<Os>(fn, xs...)` when
/// `on_scheduler` (see coordinator_config::parts_on_scheduler).
template <caf::spawn_options Os = caf::no_spawn_options, class Self, class Fn, class... Ts>
auto spawn_blocking(Self* self, bool on_scheduler, Fn fn, Ts&&... xs) {
  if (on_scheduler)
    return self->template spawn<Os>(fn, std::forward<Ts>(xs)...);
  return self->template spawn<Os + caf::detached>(fn, std::forward<Ts>(xs)...);
}

} // namespace sf
