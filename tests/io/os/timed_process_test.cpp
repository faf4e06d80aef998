// timed_process: a command past its deadline loses its whole process group (SIGTERM, then
// SIGKILL after the grace); one in time reports its exit. Real processes, short deadlines.
#include "io/os/timed_process.hpp"
#include "support/eventually.hpp"
#include "support/project.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using namespace std::chrono_literals;
using sf::io::spawn_request;
using sf::io::timed_process;
using sf::test::read_file;
using sf::test::temp_dir;

namespace {

spawn_request shell(const std::string& cmd, const std::string& log) {
  spawn_request req;
  req.cwd = std::filesystem::path(log).parent_path().string();
  req.argv = {"/bin/sh", "-c", cmd};
  req.env = {"PATH=/usr/bin:/bin"};
  req.log_path = log;
  return req;
}

std::string text_or_empty(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_CASE("a timed command that ends in time reports its exit code", "[timed_process]") {
  temp_dir dir;
  auto cmd = timed_process::start(shell("echo hi; exit 3", dir / "log"), 10s, 1s);
  REQUIRE(cmd);
  auto out = cmd->wait();
  CHECK_FALSE(out.timed_out);
  CHECK_FALSE(out.ok());
  CHECK(WEXITSTATUS(out.status) == 3);
  CHECK(out.describe() == "exited with code 3");
  CHECK(read_file(dir / "log") == "hi\n");
  auto fine = timed_process::start(shell("true", dir / "log"), 10s, 1s);
  REQUIRE(fine);
  CHECK(fine->wait().ok());
}

TEST_CASE("a timed command past its deadline is ended with its children", "[timed_process]") {
  temp_dir dir;
  // The background child writes its pid, then both wait far longer than the deadline.
  auto cmd = timed_process::start(shell("sleep 30 & echo $! > child; wait", dir / "log"),
                                  300ms, 1s);
  REQUIRE(cmd);
  auto started = std::chrono::steady_clock::now();
  REQUIRE(sf::test::eventually([&] { return text_or_empty(dir / "child").find('\n') != std::string::npos; }, 5s));
  auto child = static_cast<pid_t>(std::stol(read_file(dir / "child")));
  auto out = cmd->wait();
  CHECK(out.timed_out);
  CHECK_FALSE(out.ok());
  CHECK(out.describe().rfind("timed out after 0.", 0) == 0);
  CHECK(out.describe().find("killed by SIGTERM") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(sf::test::eventually([&] { return !sf::test::alive(child); }, 5s));
}

TEST_CASE("a command that ignores SIGTERM is killed after the grace", "[timed_process]") {
  temp_dir dir;
  auto cmd = timed_process::start(shell("trap '' TERM; echo ready; while :; do sleep 0.05; done",
                                        dir / "log"),
                                  200ms, 300ms);
  REQUIRE(cmd);
  auto out = cmd->wait();
  CHECK(out.timed_out);
  CHECK(out.describe().find("killed by SIGKILL") != std::string::npos);
  CHECK(out.took >= 450ms);
  CHECK(out.took < 5s);
}

TEST_CASE("a cut deadline ends a command early, and a later one is ignored", "[timed_process]") {
  temp_dir dir;
  auto cmd = timed_process::start(shell("exec sleep 30", dir / "log"), 30s, 1s);
  REQUIRE(cmd);
  CHECK_FALSE(cmd->wait_for(50ms));
  cmd->cut_deadline(timed_process::clock::now() + 100ms);
  cmd->cut_deadline(timed_process::clock::now() + 60s);
  auto out = cmd->wait();
  CHECK(out.timed_out);
  CHECK(out.took < 5s);
}
