// `stop` works whatever `parallel.enabled` says: turning the switch off during a run must not
// leave workers that nothing can end. `-v` reaches the background coordinator of `--detach`.
#include "support/gates.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace sf::test;
using namespace std::chrono_literals;

namespace {

// However the test ends, the run is stopped (with the switch on again), so a failed check
// leaves no worker behind.
struct stop_at_end {
  const test_project& p;
  std::string prefs;
  ~stop_at_end() {
    if (p.cli("stop").exit_code != 0) {
      write_file(p.path(".sf/PREFERENCES.md"), prefs);
      (void) p.cli("stop");
    }
  }
};

} // namespace

TEST_CASE("stop ends a detached run after parallel.enabled was turned off", "[cli][stop]") {
  const std::string prefs_tail = "  stop_grace: 2\n  auto_merge: manual\n";
  test_project p({ms("M001", {}, {unit("U01", hold("never"))})},
                 "  enabled: true\n" + prefs_tail);
  auto started = p.cli("start --yes --detach -v");
  REQUIRE(started.exit_code == 0);
  stop_at_end cleanup{p, read_file(p.path(".sf/PREFERENCES.md"))};
  REQUIRE(wait_for(p.root(), [&] { return status_of(p.root(), "M001").has_value(); }, 30s));
  const auto worker = status_of(p.root(), "M001")->pid;
  REQUIRE(alive(worker));
  write_file(p.path(".sf/PREFERENCES.md"), "---\nparallel:\n  enabled: false\n" + prefs_tail +
                                             "---\n");
  // The switch still guards what starts or continues work.
  CHECK(p.cli("pause").exit_code == 3);
  auto stopped = p.cli("stop");
  INFO(stopped.out << stopped.err);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.out.find("M001: stopping") != std::string::npos);
  REQUIRE(wait_for(p.root(), [&] {
    return p.cli("status --json").out.find("\"running\": false") != std::string::npos;
  }, 30s));
  CHECK(state_of(p.root(), "M001") == "stopped");
  CHECK_FALSE(alive(worker));
  // `-v` was passed on to the background coordinator: its log has the debug lines.
  auto log = read_file(p.path(".sf/parallel/coordinator.log"));
  CHECK(log.find("control_server: request") != std::string::npos);
  CHECK(log.find("`stop`") != std::string::npos);
}

TEST_CASE("stop without a coordinator writes the stop signal although parallel is off",
          "[cli][stop]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: false\n");
  write_file(p.path(".sf/parallel/M001.status.json"), "{}");
  auto stopped = p.cli("stop M001");
  INFO(stopped.err);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.out.find("M001: stop signal written") != std::string::npos);
  CHECK(read_file(p.path(".sf/parallel/M001.signal.json")).find("stop") != std::string::npos);
  CHECK(p.cli("stop M009").exit_code == 1);
}
