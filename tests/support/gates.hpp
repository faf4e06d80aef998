#pragma once
/// Gates for test units: a unit command that holds until the test opens its gate, so a test
/// decides when a worker's unit ends instead of guessing how long it takes.

#include "support/project.hpp"
#include "support/temp_dir.hpp"

#include <string>

namespace sf::test {

/// A unit command that holds until the test creates `<root>/go-<name>`, or stops it. A shell
/// cannot wait on a file event, so it looks every 50 ms; after two minutes (a test that forgot
/// its gate) the unit fails, saying so in the worker's log, instead of holding until the suite's
/// timeout.
inline std::string hold(const std::string& name) {
  return "n=0; while [ ! -e \"$SF_PROJECT_ROOT/go-" + name +
         "\" ]; do n=$((n+1)); if [ $n -gt 2400 ]; then echo \"gate " + name +
         " was never opened\" >&2; exit 124; fi; sleep 0.05; done";
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
