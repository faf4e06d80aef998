// A worker's log holds its cap at every moment, whatever the worker writes and whether or not
// it ever heartbeats: its output goes through sf-log-relay. The real CLI, a real flood.
#include "io/proc_scan.hpp"
#include "io/worker_launch.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

std::size_t size_of(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

bool ends_with(const std::string& path, const std::string& tail) {
  if (!std::filesystem::exists(path))
    return false;
  auto text = read_file(path);
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

} // namespace

TEST_CASE("a worker that floods its output and never heartbeats keeps its log within the cap",
          "[workerlog]") {
  // 20 MB in one go, then silence: no status file is ever written, so nothing but the relay
  // can hold the cap.
  test_project p({ms("M001", {}, {{"U1", "true", {}, -1}})},
                 "  enabled: true\n  stale_timeout: 120\n  stop_grace: 2\n"
                 "  worker_command: \"head -c 20000000 /dev/zero | tr '\\\\0' x; echo; "
                 "echo THE-END; exec sleep 600\"\n");
  auto log = p.path(".sf/parallel/M001.log");
  auto coordinator = p.spawn_cli({"start", "--yes"});
  std::size_t worst = 0;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!ends_with(log, "THE-END\n")) {
    worst = std::max(worst, size_of(log) + size_of(log + ".1"));
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(2ms);
  }
  worst = std::max(worst, size_of(log) + size_of(log + ".1"));
  CHECK(worst <= sf::io::worker_log_cap);
  CHECK(size_of(log + ".1") > 0);
  auto stop = p.cli("stop");
  INFO(stop.out << stop.err);
  CHECK(wait_exit(coordinator, 30s));
  for (const auto& proc : sf::io::find_project_processes(p.root()))
    ::kill(static_cast<pid_t>(proc.pid), SIGKILL);
}
