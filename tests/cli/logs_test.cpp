// `sf-actors logs <MID> [-f]`: a worker's log, followed across appends and a rotation until
// SIGINT; unknown milestones, missing logs and planted links or FIFOs are one-line errors.
#include "support/eventually.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>

using namespace sf::test;
using namespace std::chrono_literals;

namespace {

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
  REQUIRE(out.good());
}

bool output_has(const test_project& p, int n, const std::string& needle) {
  return eventually([&] { return read_file(p.cli_log(n)).find(needle) != std::string::npos; },
                    20s);
}

} // namespace

TEST_CASE("logs prints what the worker of a real run wrote", "[cli][logs]") {
  test_project p({ms("M001", {}, {{"U01", "echo hello-from-U01", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n");
  auto missing = p.cli("logs M001");
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("no log for M001 yet") != std::string::npos);
  REQUIRE(p.cli("start --yes").exit_code == 0);
  auto shown = p.cli("logs M001");
  CHECK(shown.exit_code == 0);
  CHECK(shown.out.find("hello-from-U01") != std::string::npos);
  CHECK(shown.out == read_file(p.path(".sf/parallel/M001.log")));
  auto unknown = p.cli("logs M009");
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("unknown milestone `M009`") != std::string::npos);
  CHECK(unknown.err.find("sf-actors graph") != std::string::npos);
  CHECK(p.cli("logs").exit_code == 2);
}

TEST_CASE("logs refuses a log planted as a FIFO or a link, without blocking", "[cli][logs]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  std::filesystem::create_directories(p.path(".sf/parallel"));
  const auto log = p.path(".sf/parallel/M001.log");
  REQUIRE(::mkfifo(log.c_str(), 0600) == 0);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"logs", "M001"},
                                              {"logs", "-f", "M001"}}) {
    auto child = p.spawn_cli(args);
    auto status = wait_exit(child, 20s);
    REQUIRE(status); // Ended on its own: a FIFO is never opened for a blocking read.
    CHECK(WEXITSTATUS(*status) == 1);
  }
  CHECK(read_file(p.cli_log(1)).find("M001.log is a FIFO") != std::string::npos);
  std::filesystem::remove(log);
  write_file(p.path("outside.txt"), "not a log\n");
  std::filesystem::create_symlink(p.path("outside.txt"), log);
  auto linked = p.cli("logs M001");
  CHECK(linked.exit_code == 1);
  CHECK(linked.out.empty());
  CHECK(linked.err.find("symbolic link") != std::string::npos);
}

TEST_CASE("logs -f follows appends and a rotation, and ends with 0 on SIGINT or SIGTERM",
          "[cli][logs]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  const auto log = p.path(".sf/parallel/M001.log");
  // Started before the log exists: it waits for it.
  auto follower = p.spawn_cli({"logs", "-f", "M001"});
  std::filesystem::create_directories(p.path(".sf/parallel"));
  append(log, "first line\n");
  CHECK(output_has(p, 1, "first line\n"));
  append(log, "second line\n");
  // A rotation right after a write: the rest of the old file comes first, then the new one.
  std::filesystem::rename(log, log + ".1");
  append(log, "third line\n");
  CHECK(output_has(p, 1, "first line\nsecond line\nthird line\n"));
  append(log, "fourth line\n");
  CHECK(output_has(p, 1, "third line\nfourth line\n"));
  REQUIRE_FALSE(follower.signal(SIGINT));
  auto status = wait_exit(follower, 10s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  auto second = p.spawn_cli({"logs", "--follow", "M001"});
  CHECK(output_has(p, 2, "fourth line\n"));
  REQUIRE_FALSE(second.signal(SIGTERM));
  auto ended = wait_exit(second, 10s);
  REQUIRE(ended);
  CHECK(WEXITSTATUS(*ended) == 0);
}
