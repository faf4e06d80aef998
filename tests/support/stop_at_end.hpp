#pragma once
/// Stops a project's run however a test ends, so a failed check leaves no worker behind.

#include "support/project.hpp"

namespace sf::test {

/// Runs `sf-actors stop` in the project when it goes out of scope.
struct stop_at_end {
  const test_project& p; ///< The project whose run is stopped.
  ~stop_at_end() { (void) p.cli("stop"); }
};

} // namespace sf::test
