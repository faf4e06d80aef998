// `parallel.worktree_setup` runs for real: once per worktree (also when the worktree is made
// ahead, and not again after a worker restart or a second start), with its output in the
// milestone's log, and a failing one fails the milestone before any worker starts there.
#include "io/git/worktree_setup.hpp"
#include "support/text_files.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/stop_at_end.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// The setup counts its runs per milestone in the project, prints a line, and makes `.env`
// (ignored by the project's .gitignore, as the README asks).
const std::string setup =
  "  worktree_setup: 'echo \"$SF_MILESTONE\" >> \"$SF_PROJECT_ROOT/.sf/parallel/setups.txt\"; "
  "echo SETUP-OUTPUT in \"$(pwd)\"; echo SECRET=1 > .env'\n";

// A unit that kills its worker on its first run and fails on its second: a restart, then a
// failed milestone for the next start to run again. Its runs are counted in `runs`.
std::string crash_then_fail(const std::string& runs) {
  return "f=\"$SF_PROJECT_ROOT/.sf/parallel/" + runs +
         "\"; n=$(cat \"$f\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$f\"; "
         "if [ $n = 1 ]; then kill -9 $PPID; exit 0; fi; if [ $n = 2 ]; then exit 3; fi; "
         "test -f .env && echo done > u1.txt";
}

} // namespace

TEST_CASE("worktree_setup runs once per worktree, its output in the milestone's log",
          "[worktree_setup][runtime]") {
  // One slot: M002's worktree is made ahead while M001 holds on its first unit.
  test_project p({ms("M001", {}, {unit("U01", hold("m1")), unit("U02", crash_then_fail("m1-runs"))}),
                  ms("M002", {}, {unit("U01", "echo two > two.txt")})},
                 "  enabled: true\n  max_workers: 1\n  auto_merge: manual\n"
                 "  restart_backoff: 0.1\n  stop_grace: 2\n" + setup);
  write_file(p.path(".gitignore"), ".env\ncli-*.log\ngo-*\n");
  p.git("add .gitignore");
  p.git("commit -q -m ignore");
  auto first = p.spawn_cli({"start", "--yes"});
  stop_at_end cleanup{p};
  auto setups = [&] { return text_of(p.path(".sf/parallel/setups.txt")); };
  REQUIRE(wait_for(p.root(), [&] { return count_of(setups(), "M002") == 1; }, 60s));
  CHECK(event_lines(p.root(), "\"M002\",\"state\":\"starting\"").empty()); // Made ahead.
  release(p, "m1");
  REQUIRE(wait_exit(first, 60s));
  CHECK(state_of(p.root(), "M001") == "failed"); // Crashed, restarted, then failed.
  CHECK(state_of(p.root(), "M002") == "complete");
  CHECK(text_of(p.path(".sf/parallel/m1-runs")) == "2\n");
  // The second start runs M001 again in the same worktree, without its setup.
  auto second = p.cli("start M001 --yes");
  INFO(second.out << second.err);
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK(setups() == "M001\nM002\n");
  auto log = text_of(p.path(".sf/parallel/M001.log"));
  INFO(log);
  CHECK(count_of(log, "SETUP-OUTPUT in " + p.path(".sf/worktrees/M001")) == 1);
  CHECK(count_of(log, "[sf-actors] worktree_setup: exited with code 0") == 1);
  CHECK(log.find("[sf-actors] worktree_setup: running") < log.find("SETUP-OUTPUT"));
  CHECK(count_of(text_of(p.path(".sf/parallel/M002.log")),
                 "SETUP-OUTPUT in " + p.path(".sf/worktrees/M002")) == 1);
  // Recorded in the worktree's git folder; `.env` is the user's, ignored, never committed.
  auto marker = sf::io::setup_marker_path(p.path(".sf/worktrees/M001"));
  CHECK(marker.find("/.git/worktrees/") != std::string::npos);
  CHECK(std::filesystem::exists(marker));
  CHECK(std::filesystem::exists(p.path(".sf/worktrees/M001/.env")));
  auto committed = p.git("log --format= --name-only milestone/M001");
  CHECK(committed.find(".env") == std::string::npos);
  CHECK(committed.find("u1.txt") != std::string::npos);
}

TEST_CASE("a failing worktree_setup fails the milestone and starts nothing in its worktree",
          "[worktree_setup][runtime]") {
  test_project p({ms("M001", {}, {unit("U01", "touch \"$SF_PROJECT_ROOT/unit-ran\"")})},
                 "  enabled: true\n  worktree_setup: 'echo SETUP-BROKE; exit 5'\n");
  auto r = p.cli("start --yes");
  INFO(r.out << r.err);
  CHECK(state_of(p.root(), "M001") == "failed");
  auto row = row_of(p.root(), "M001");
  CHECK(row.note.find("worktree_setup `echo SETUP-BROKE; exit 5` exited with code 5 (output "
                      "in .sf/parallel/M001.log); the worktree .sf/worktrees/M001 is kept") !=
        std::string::npos);
  CHECK(std::count(row.note.begin(), row.note.end(), '\n') == 0);
  CHECK(text_of(p.path(".sf/parallel/M001.log")).find("SETUP-BROKE\n") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(p.path("unit-ran")));
  CHECK(event_lines(p.root(), "\"running\"").empty());
  CHECK(std::filesystem::exists(p.path(".sf/worktrees/M001")));
  CHECK_FALSE(std::filesystem::exists(sf::io::setup_marker_path(p.path(".sf/worktrees/M001"))));
}
