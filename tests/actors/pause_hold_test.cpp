// `pause` of every worker also holds the milestones that have not started, until `resume`;
// pausing what is paused already says so. Real repositories, the CLI and the reference worker.
#include "io/files/coordinator_lock.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using namespace sf::test;
using sf::core::milestone_state;

namespace {

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

bool reaches(const test_project& p, const std::string& mid, milestone_state state) {
  return wait_for(p.root(), [&] { return row_of(p.root(), mid).state == state; }, 60s);
}

} // namespace

TEST_CASE("pause: pausing all holds queued milestones until resume, and says what is paused "
          "already",
          "[pause]") {
  // One slot: M002 queues behind M001, whose two units each wait for a gate.
  test_project p({ms("M001", {}, {unit("U01", hold("a")), unit("U02", hold("b"))}),
                  ms("M002", {}, {unit("U01", "echo two > two.txt")})},
                 "  enabled: true\n  max_workers: 1\n  auto_merge: auto\n");
  auto started = p.cli("start --yes --detach");
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  REQUIRE(reaches(p, "M001", milestone_state::running));
  REQUIRE(row_of(p.root(), "M002").state == milestone_state::queued);

  auto paused = p.cli("pause");
  INFO(paused.out << paused.err);
  CHECK(paused.exit_code == 0);
  CHECK(contains(paused.out, "M001: pause requested"));
  CHECK(contains(paused.out, "M002: held before its start"));
  auto again = p.cli("pause");
  INFO(again.out);
  CHECK(contains(again.out, "M001: pause already requested"));
  CHECK(contains(again.out, "M002: already held"));

  // M001 ends its unit and holds; a pause of it now says it is paused.
  release(p, "a");
  REQUIRE(reaches(p, "M001", milestone_state::paused));
  auto once_more = p.cli("pause M001");
  INFO(once_more.out);
  CHECK(contains(once_more.out, "M001: already paused"));

  // Resuming M001 alone lets it finish; M002 stays held though the slot is free.
  auto one = p.cli("resume M001");
  INFO(one.out);
  CHECK(contains(one.out, "M001: resume requested"));
  release(p, "b");
  REQUIRE(reaches(p, "M001", milestone_state::merged));
  auto held = row_of(p.root(), "M002");
  CHECK(held.state == milestone_state::queued);
  CHECK(contains(held.note, "sf-actors resume"));
  // Nothing of M002 ever went further than the queue.
  for (const auto& line : event_lines(p.root(), "\"M002\"")) {
    INFO(line);
    CHECK_FALSE(contains(line, "\"starting\""));
    CHECK_FALSE(contains(line, "\"running\""));
  }
  CHECK_FALSE(status_of(p.root(), "M002"));
  CHECK(sf::io::coordinator_lock::is_held(p.root()));

  auto resumed = p.cli("resume");
  INFO(resumed.out);
  CHECK(contains(resumed.out, "M002: released"));
  REQUIRE(reaches(p, "M002", milestone_state::merged));
  CHECK(p.git("show main:two.txt") == "two\n");
}
