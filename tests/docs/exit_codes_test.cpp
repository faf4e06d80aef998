// The README's exit-code table, checked code by code: every code it lists is produced by a real
// command in the situation the table names, and the table lists every code these tests know.
#include "io/files/coordinator_lock.hpp"
#include "support/eventually.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <regex>
#include <set>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

const std::string enabled = "  enabled: true\n  max_workers: 2\n";

// The codes of the README's "Exit codes" table.
std::set<int> readme_codes() {
  auto readme = read_file(SF_SOURCE_DIR "/README.md");
  auto at = readme.find("\n## Exit codes\n");
  REQUIRE(at != std::string::npos);
  auto end = readme.find("\n## ", at + 1);
  std::set<int> codes;
  static const std::regex row{R"(\n\| ([0-9]+) \|)"};
  auto section = readme.substr(at, end - at);
  for (std::sregex_iterator it(section.begin(), section.end(), row), none; it != none; ++it)
    codes.insert(std::stoi((*it)[1]));
  return codes;
}

// Exit code of a spawned CLI once it ends.
int exit_of(sf::io::child_process& child) {
  auto status = wait_exit(child, 60s);
  REQUIRE(status);
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

} // namespace

TEST_CASE("exit codes: the README's table lists exactly the codes checked here", "[exitcodes]") {
  CHECK(readme_codes() == std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130});
}

TEST_CASE("exit codes 0 to 4: success, bad input, usage, not enabled, nothing eligible",
          "[exitcodes]") {
  test_project p({ms("M001", {}, {unit("U01", "true")})}, enabled);
  CHECK(p.cli("status").exit_code == 0);
  CHECK(p.cli("merge M999").exit_code == 1); // Not in the plan.
  CHECK(p.cli("strat").exit_code == 2);
  CHECK(p.cli("start").exit_code == 2); // No terminal to ask on, and no --yes.

  test_project off({ms("M001", {}, {unit("U01", "true")})}, "  enabled: false\n");
  CHECK(off.cli("start --yes").exit_code == 3);

  auto done = ms("M001", {}, {unit("U01", "true")});
  done.status = "complete";
  test_project finished({done}, enabled);
  CHECK(finished.cli("start --yes").exit_code == 4);
}

TEST_CASE("exit code 5: a merge stopped on a conflict, and a dry run that predicts one",
          "[exitcodes]") {
  test_project p({ms("M001", {}, {unit("U01", "echo one > same.txt")}),
                  ms("M002", {}, {unit("U01", "echo two > same.txt")})},
                 enabled + "  auto_merge: manual\n");
  auto run = p.spawn_cli({"start", "--yes"});
  REQUIRE(exit_of(run) == 0);
  CHECK(p.cli("merge --dry-run").exit_code == 5);
  CHECK(p.cli("merge").exit_code == 5);
}

TEST_CASE("exit code 6: the budget ceiling was reached", "[exitcodes]") {
  test_project p({ms("M001", {}, {unit("U01", "echo SF_COST 2.00"), unit("U02", "true")})},
                 enabled + "  budget_ceiling: 1.0\n");
  auto run = p.spawn_cli({"start", "--yes"});
  CHECK(exit_of(run) == 6);
  CHECK(p.cli("start --yes").exit_code == 6); // The period has spent it already.
}

TEST_CASE("exit code 7: another coordinator already runs", "[exitcodes]") {
  test_project p({ms("M001", {}, {unit("U01", hold("end"))})}, enabled);
  REQUIRE(p.cli("start --yes --detach").exit_code == 0);
  CHECK(p.cli("start --yes").exit_code == 7);
  CHECK(p.cli("stop").exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "run finished").empty(); }, 30s));
  CHECK(eventually([&] { return !sf::io::coordinator_lock::is_held(p.root()); }, 10s));
}

TEST_CASE("exit code 8: merged, but the push failed", "[exitcodes]") {
  test_project p({ms("M001", {}, {unit("U01", "echo one > one.txt")})},
                 enabled + "  auto_merge: manual\n  push_remote: ../gone.git\n");
  auto run = p.spawn_cli({"start", "--yes"});
  REQUIRE(exit_of(run) == 0);
  auto m = p.cli("merge M001");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 8);
}

TEST_CASE("exit code 9: the merge gate failed on a merge", "[exitcodes]") {
  test_project p({ms("M001", {}, {unit("U01", "echo one > one.txt")})},
                 enabled + "  auto_merge: manual\n  merge_gate: test ! -e one.txt\n");
  auto run = p.spawn_cli({"start", "--yes"});
  REQUIRE(exit_of(run) == 0);
  auto m = p.cli("merge M001");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 9);
  CHECK(p.git("ls-tree --name-only main one.txt").empty());
}

TEST_CASE("exit code 130: Ctrl-C ends a foreground start after its workers stopped",
          "[exitcodes]") {
  test_project p({ms("M001", {}, {unit("U01", hold("never"))})}, enabled);
  auto run = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] { return state_of(p.root(), "M001") == "running"; }, 30s));
  REQUIRE_FALSE(run.signal(SIGINT));
  CHECK(exit_of(run) == 130);
}
