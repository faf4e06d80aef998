#include "core/sf_paths.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace core = sf::core;

TEST_CASE("the .sf paths are the protocol's names", "[core]") {
  const std::string r = "/p";
  CHECK(core::parallel_dir(r) == "/p/.sf/parallel");
  CHECK(core::parallel_file(r, "run.json") == "/p/.sf/parallel/run.json");
  CHECK(core::status_file(r, "M001") == "/p/.sf/parallel/M001.status.json");
  CHECK(core::signal_file(r, "M001") == "/p/.sf/parallel/M001.signal.json");
  CHECK(core::worker_log(r, "M001") == "/p/.sf/parallel/M001.log");
  CHECK(core::control_dir(r) == "/p/.sf/parallel/control");
  CHECK(core::worktrees_dir(r) == "/p/.sf/worktrees");
  CHECK(core::worktree_dir(r, "M001") == "/p/.sf/worktrees/M001");
  CHECK(core::milestones_dir(r) == "/p/.sf/milestones");
  CHECK(core::milestone_file(r, "M001") == "/p/.sf/milestones/M001/MILESTONE.md");
  CHECK(core::preferences_file(r) == "/p/.sf/PREFERENCES.md");
  CHECK(core::metrics_file(r) == "/p/.sf/metrics.json");
  CHECK(core::auto_lock_file(r) == "/p/.sf/auto.lock");
  CHECK(core::tree_path::milestone_file("M001") == ".sf/milestones/M001/MILESTONE.md");
  // Every absolute path is the root, a slash and the tree path git uses for the same file.
  CHECK(core::metrics_file(r) == r + "/" + std::string(core::tree_path::metrics));
  CHECK(core::parallel_file(r, "x") == r + "/" + std::string(core::tree_path::parallel) + "x");
  CHECK(core::worktree_dir(r, "M1") == r + "/" + std::string(core::tree_path::worktrees) + "M1");
}
