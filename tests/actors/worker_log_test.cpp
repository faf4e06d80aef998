// A worker's log holds its cap at every moment, whatever the worker writes and whether or not
// it ever heartbeats: its output goes through sf-log-relay. The real CLI, a real flood.
#include "io/os/proc_scan.hpp"
#include "io/os/worker_launch.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

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

namespace {

// Pids of live sf-log-relay processes writing `log` (found by their command line).
std::vector<int64_t> relays_of(const std::string& log) {
  std::vector<int64_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string cmd;
    try {
      cmd = read_file(e.path().string() + "/cmdline");
    } catch (const std::exception&) {
      continue;
    }
    if (cmd.find("sf-log-relay") != std::string::npos && cmd.find(log) != std::string::npos &&
        alive(std::stoll(name)))
      out.push_back(std::stoll(name));
  }
  return out;
}

} // namespace

TEST_CASE("a worker's output keeps flowing after its coordinator is killed, and its relay ends "
          "with the worker",
          "[workerlog]") {
  test_project p({ms("M001", {}, {{"U1", "true", {}, -1}})},
                 "  enabled: true\n  stale_timeout: 120\n"
                 "  worker_command: \"i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.02; "
                 "done\"\n");
  auto log = p.path(".sf/parallel/M001.log");
  auto coordinator = p.spawn_cli({"start", "--yes"});
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (size_of(log) == 0 || relays_of(log).empty()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(coordinator.signal(SIGKILL) == caf::error{});
  REQUIRE(wait_exit(coordinator, 10s));
  // Lines written after the coordinator died still reach the log.
  auto after = size_of(log);
  while (size_of(log) < after + 200) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
  auto relays = relays_of(log);
  REQUIRE(relays.size() == 1);
  for (const auto& proc : sf::io::find_project_processes(p.root()))
    ::kill(static_cast<pid_t>(proc.pid), SIGKILL);
  // The relay carries none of the project's variables (the kill above cannot hit it) and ends
  // by itself at end of file.
  while (alive(relays.front())) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
}
