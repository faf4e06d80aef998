// From a linked worktree (a milestone's under .sf/worktrees, or any `git worktree add`) the
// commands act on the project of the main worktree, found through the common git dir.
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/stop_at_end.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

using namespace sf::test;
using namespace std::chrono_literals;

namespace {

command_result cli_in(const test_project& p, const std::string& cwd, const std::string& args) {
  return run("HOME=" + sh_quote(p.root()) + " " + sh_quote(SF_CLI_PATH) + " " + args, cwd);
}

} // namespace

TEST_CASE("in a folder of `git worktree add`, commands read the main worktree's plan",
          "[cli][worktree]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  temp_dir outside;
  const auto wt = outside / "side";
  p.git("worktree add -q -b side " + sh_quote(wt));
  // A milestone only the linked worktree holds: it is not the project's.
  write_file(wt + "/.sf/milestones/M009/MILESTONE.md",
             milestone_text(ms("M009", {}, {{"U01", "true", {}, -1}})));
  for (const auto& [cwd, args] :
       {std::pair<std::string, std::string>{wt + "/.sf", "graph"},
        {"/", "-C " + sh_quote(wt) + " graph"},
        {"/", "graph -C " + sh_quote(wt + "/.sf/milestones")}}) {
    INFO(cwd << ": " << args);
    auto r = cli_in(p, cwd, args);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("M001") != std::string::npos);
    CHECK(r.out.find("M009") == std::string::npos);
  }
  // The main worktree itself is unchanged in meaning.
  CHECK(cli_in(p, p.root(), "graph").out == cli_in(p, wt, "graph").out);
}

TEST_CASE("no coordinator starts inside a milestone's worktree while the project runs",
          "[cli][worktree]") {
  test_project p({ms("M001", {}, {unit("U01", hold("never"))})},
                 "  enabled: true\n  stop_grace: 2\n  auto_merge: manual\n");
  REQUIRE(p.cli("start --yes --detach").exit_code == 0);
  stop_at_end cleanup{p};
  REQUIRE(wait_for(p.root(), [&] { return status_of(p.root(), "M001").has_value(); }, 30s));
  const auto wt = p.path(".sf/worktrees/M001");
  REQUIRE(std::filesystem::is_directory(wt));
  auto nested = cli_in(p, wt, "start --yes");
  CHECK(nested.exit_code == 7);
  const auto root = std::filesystem::weakly_canonical(p.root()).string();
  CHECK(nested.err.find("already runs for " + root + ";") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(wt + "/.sf/parallel"));
  // The worker of that worktree goes on, and what the commands there see is the project's run.
  auto seen = cli_in(p, wt + "/.sf", "status --json");
  CHECK(seen.out.find("\"running\": true") != std::string::npos);
  CHECK(cli_in(p, wt, "stop").exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] {
    return p.cli("status --json").out.find("\"running\": false") != std::string::npos;
  }, 30s));
  CHECK(state_of(p.root(), "M001") == "stopped");
}
