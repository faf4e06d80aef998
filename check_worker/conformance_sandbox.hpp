#pragma once
/// A throwaway project for `sf-actors check-worker`: a real git repository with one milestone
/// whose units wait for gate files the checker creates, so the checker sets the pace.

#include <caf/expected.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace sf::worker {

/// A temp folder holding the project and the gates; removed with everything in it on
/// destruction. Move-only.
class conformance_sandbox {
public:
  /// Milestone the worker under test runs.
  static constexpr const char* milestone = "M001";

  /// Units in the milestone (`U01` ...), enough for every run of the checks.
  static constexpr std::size_t unit_count = 6;

  /// Creates the temp folder, the repository (initial commit on `main`), preferences with
  /// parallel enabled and `heartbeat` as `heartbeat_interval`, the plan, the runtime folder
  /// and the milestone's worktree, as a coordinator would before spawning a worker.
  static caf::expected<conformance_sandbox> create(std::chrono::milliseconds heartbeat,
                                                   std::chrono::milliseconds stop_grace);

  conformance_sandbox(conformance_sandbox&& other) noexcept;
  conformance_sandbox& operator=(conformance_sandbox&&) = delete;
  conformance_sandbox(const conformance_sandbox&) = delete;
  conformance_sandbox& operator=(const conformance_sandbox&) = delete;

  /// Removes the temp folder.
  ~conformance_sandbox();

  /// Absolute project root (`SF_PROJECT_ROOT`).
  const std::string& root() const { return root_; }

  /// Absolute worktree of the milestone (the worker's working folder).
  const std::string& worktree() const { return worktree_; }

  /// Lets unit `n` (1-based) finish: creates its gate file. Units past the end are ignored.
  void open_gate(std::size_t n) const;

  /// Opens every gate.
  void open_all_gates() const;

  /// Removes the status and signal files a previous run left, as the coordinator does
  /// before it spawns a worker.
  void clear_runtime_files() const;

private:
  explicit conformance_sandbox(std::string base);
  std::string base_;     // The temp folder; empty once moved from.
  std::string root_;     // <base>/project
  std::string gates_;    // <base>/gates
  std::string worktree_; // <root>/.sf/worktrees/M001
};

/// Name of unit `n` (1-based): `U01`, `U02`, ...
std::string unit_name(std::size_t n);

} // namespace sf::worker
