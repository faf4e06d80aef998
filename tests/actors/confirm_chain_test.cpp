// auto_merge: confirm never stalls a chain: a coordinator nobody can prompt (detached, or
// without a terminal) waits for the answer `sf-actors merge` gives, then runs what depended on
// the merged milestone. Real repositories, the real CLI and the reference worker.
#include "io/files/coordinator_lock.hpp"
#include "support/eventually.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

// Waits until the coordinator's row of `mid` says it waits for the user's yes.
bool awaits_answer(const test_project& p, const std::string& mid) {
  return wait_for(p.root(), [&] {
    auto row = row_of(p.root(), mid);
    return row.state == sf::core::milestone_state::complete &&
           contains(row.note, "awaiting your confirmation");
  }, 60s);
}

// A chain M001 <- M002 under the default auto_merge (confirm).
test_project chain() {
  return test_project({ms("M001", {}, {unit("U01", "echo one > one.txt")}),
                       ms("M002", {"M001"}, {unit("U01", "echo two > two.txt")})},
                      "  enabled: true\n  max_workers: 2\n");
}

} // namespace

TEST_CASE("confirm: a detached coordinator waits for `sf-actors merge` and runs the whole chain",
          "[confirm]") {
  auto p = chain();
  auto started = p.cli("start --yes --detach");
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);

  REQUIRE(awaits_answer(p, "M001"));
  // The first layer is done, yet the coordinator stays for the answer, and says who waits.
  CHECK(sf::io::coordinator_lock::is_held(p.root()));
  CHECK(state_of(p.root(), "M002") == "waiting");
  auto status = p.cli("status");
  INFO(status.out);
  CHECK(contains(status.out, "awaiting your confirmation"));
  CHECK(contains(status.out, "sf-actors merge M001"));

  auto first = p.cli("merge M001");
  INFO(first.out << first.err);
  CHECK(first.exit_code == 0);
  REQUIRE(awaits_answer(p, "M002"));
  CHECK(p.git("show main:one.txt") == "one\n");
  // Nothing depends on M002: the run need not wait for its answer, and ends by itself.
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "run finished").empty(); },
                   30s));
  CHECK(eventually([&] { return !sf::io::coordinator_lock::is_held(p.root()); }, 10s));
  auto second = p.cli("merge M002");
  INFO(second.out << second.err);
  CHECK(second.exit_code == 0);
  CHECK(p.git("show main:two.txt") == "two\n");
  CHECK(state_of(p.root(), "M002") == "merged");
}

TEST_CASE("confirm: a foreground start without a terminal waits for the answer too",
          "[confirm]") {
  auto p = chain();
  auto child = p.spawn_cli({"start", "--yes"});
  REQUIRE(awaits_answer(p, "M001"));
  auto first = p.cli("merge M001");
  INFO(first.out << first.err);
  CHECK(first.exit_code == 0);
  REQUIRE(awaits_answer(p, "M002"));
  auto second = p.cli("merge M002");
  CHECK(second.exit_code == 0);
  auto status = wait_exit(child, 30s);
  REQUIRE(status);
  INFO(read_file(p.cli_log(1)));
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(contains(read_file(p.cli_log(1)), "run finished: 2 complete, 0 failed"));
  CHECK(p.git("show main:two.txt") == "two\n");
}

TEST_CASE("confirm: a completion nothing depends on does not hold the run", "[confirm]") {
  test_project p({ms("M001", {}, {unit("U01", "echo one > one.txt")}),
                  ms("M002", {}, {unit("U01", "echo two > two.txt")})},
                 "  enabled: true\n  max_workers: 2\n");
  auto child = p.spawn_cli({"start", "--yes"});
  auto status = wait_exit(child, 60s);
  REQUIRE(status);
  INFO(read_file(p.cli_log(1)));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(contains(row_of(p.root(), "M001").note, "sf-actors merge M001"));
  CHECK(contains(row_of(p.root(), "M002").note, "sf-actors merge M002"));
}

TEST_CASE("confirm: a conflict answered through `sf-actors merge` makes the foreground start exit 5",
          "[confirm]") {
  // M001 and M002 change the same line; M003 needs both, so the run waits for the answers.
  auto edit = [](const std::string& who) { return "echo " + who + " > shared.txt"; };
  test_project p({ms("M001", {}, {unit("U01", edit("M001"))}),
                  ms("M002", {}, {unit("U01", edit("M002"))}),
                  ms("M003", {"M001", "M002"}, {unit("U01", "echo three > three.txt")})},
                 "  enabled: true\n  max_workers: 2\n");
  auto child = p.spawn_cli({"start", "--yes"});
  REQUIRE(awaits_answer(p, "M001"));
  REQUIRE(awaits_answer(p, "M002"));
  auto first = p.cli("merge M001");
  INFO(first.out << first.err);
  CHECK(first.exit_code == 0);
  auto second = p.cli("merge M002");
  INFO(second.out << second.err);
  CHECK(second.exit_code == 5);
  // M003 can no longer start: the run ends, and says a merge conflicted.
  auto status = wait_exit(child, 30s);
  REQUIRE(status);
  INFO(read_file(p.cli_log(1)));
  REQUIRE(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 5);
  CHECK(state_of(p.root(), "M002") == "conflict");
  CHECK(state_of(p.root(), "M003") == "waiting");
}
