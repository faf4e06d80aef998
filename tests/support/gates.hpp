#pragma once
/// Gates for test units: a unit command that holds until the test opens its gate, so a test
/// decides when a worker's unit ends instead of guessing how long it takes.

#include "support/project.hpp"
#include "support/temp_dir.hpp"

#include <string>

namespace sf::test {

/// A unit command that holds until the test creates `<root>/go-<name>`.
inline std::string hold(const std::string& name) {
  return "while [ ! -e \"$SF_PROJECT_ROOT/go-" + name + "\" ]; do sleep 0.05; done";
}

/// Opens the gate `name`: the unit holding on it ends.
inline void release(const test_project& p, const std::string& name) {
  write_file(p.path("go-" + name), "go\n");
}

/// A unit without files or cost.
inline unit_spec unit(const std::string& id, const std::string& cmd) {
  return {id, cmd, {}, -1};
}

} // namespace sf::test
