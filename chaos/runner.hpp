#pragma once
/// Runs one chaos scenario for real: a fresh git repository, a real coordinator (`sf-actors
/// start`) and fault workers, the scenario's faults at their moments, then the invariants.

#include "chaos/invariants.hpp"
#include "chaos/scenario.hpp"

#include <string>
#include <vector>

namespace sf::chaos {

/// Where the harness finds its programs and puts its work.
struct run_options {
  std::string sf_binary;       ///< The `sf-actors` executable (coordinator and fault worker).
  std::string original_worker; ///< examples/workers/original-protocol-worker.sh.
  std::string agent_fixtures;  ///< Folder of the fake agent CLIs (tests/fixtures/agents).
  std::string work_base = "/tmp"; ///< Each scenario gets a fresh folder below it.
  bool keep = false;           ///< Keep the folder even when every check passed.
};

/// What one scenario produced.
struct scenario_result {
  std::string name;                 ///< Scenario name.
  std::string fault;                ///< Its one-line fault.
  bool skipped = false;             ///< Could not run here (e.g. no mount namespace).
  std::string skip_reason;          ///< Why.
  std::vector<check_result> checks; ///< Invariants, then the expected outcome.
  double seconds = 0;               ///< Wall time.
  std::string workdir;              ///< Kept when a check failed (or `keep`).

  /// True when nothing failed.
  bool passed() const;
};

/// Runs `s` to its end (or its timeout) and checks everything.
scenario_result run_scenario(const scenario& s, const run_options& o);

} // namespace sf::chaos
