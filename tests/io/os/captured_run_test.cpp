// run_captured: a command's output kept in memory up to a cap (its end, not its start), its
// deadline and a stop descriptor honoured, a daemon it leaves behind never holding us. Real
// processes.
#include "io/os/captured_run.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;

namespace {

sf::io::spawn_request shell(const std::string& cmd) {
  sf::io::spawn_request req;
  req.argv = {"/bin/sh", "-c", cmd};
  req.env = {"PATH=/usr/bin:/bin"};
  return req;
}

} // namespace

TEST_CASE("run_captured keeps the last bytes of a long output and the exit", "[captured_run]") {
  // About 400 KiB of numbered lines: more than a pipe holds, read while it runs.
  auto r = sf::io::run_captured(shell("seq 1 60000; echo last line >&2; exit 4"), 10s, 1s,
                                4096);
  REQUIRE(r);
  CHECK(WIFEXITED(r->outcome.status));
  CHECK(WEXITSTATUS(r->outcome.status) == 4);
  CHECK(r->truncated);
  CHECK(r->output.size() == 4096);
  CHECK(r->output.find("60000\nlast line\n") != std::string::npos);
  CHECK(r->output.find("\n1\n") == std::string::npos);
}

TEST_CASE("run_captured ends a command at its deadline or at a stop", "[captured_run]") {
  SECTION("deadline") {
    auto started = std::chrono::steady_clock::now();
    auto r = sf::io::run_captured(shell("echo begun; sleep 30"), 200ms, 1s, 4096);
    REQUIRE(r);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(r->outcome.timed_out);
    CHECK_FALSE(r->stopped);
    CHECK(r->output == "begun\n");
  }
  SECTION("stop descriptor") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    auto r = sf::io::run_captured(shell("sleep 30"), 30s, 1s, 4096, fds[0]);
    ::close(fds[0]);
    ::close(fds[1]);
    REQUIRE(r);
    CHECK(r->stopped);
    CHECK_FALSE(r->outcome.ok());
  }
  SECTION("a daemon left behind does not hold the output open") {
    auto started = std::chrono::steady_clock::now();
    auto r = sf::io::run_captured(shell("sleep 30 & echo done"), 30s, 1s, 4096);
    REQUIRE(r);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(r->outcome.ok());
    CHECK(r->output == "done\n");
  }
}
