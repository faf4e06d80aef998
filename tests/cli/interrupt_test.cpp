// Ctrl-C (or SIGTERM) to a foreground `start` stops every worker and ends with the conventional
// 128 + signal: 130 for SIGINT, 143 for SIGTERM. Real CLI, real worker, real signals.
#include "support/gates.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>

using namespace std::chrono_literals;
using namespace sf::test;

TEST_CASE("an interrupted foreground start stops its workers and exits 128 + signal",
          "[cli][interrupt]") {
  auto sig = GENERATE(SIGINT, SIGTERM);
  INFO("signal " << sig);
  test_project p({ms("M001", {}, {unit("U01", hold("never"))})},
                 "  enabled: true\n  stop_grace: 5\n");
  auto child = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto st = status_of(p.root(), "M001");
    return st && st->pid > 0;
  }, 30s));
  auto worker = status_of(p.root(), "M001")->pid;
  REQUIRE(alive(worker));
  REQUIRE_FALSE(child.signal(sig));
  auto status = wait_exit(child, 30s);
  REQUIRE(status);
  auto output = read_file(p.cli_log(1));
  INFO(output);
  REQUIRE(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 128 + sig);
  CHECK(output.find("stopping every worker") != std::string::npos);
  // Stopped before the command ended, not left behind.
  CHECK_FALSE(alive(worker));
  CHECK(state_of(p.root(), "M001") == "stopped");
}
