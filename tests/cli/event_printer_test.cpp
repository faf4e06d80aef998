// The foreground run's event lines: a state is said once, and the exit code follows the run.
#include "cli/event_printer.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using sf::run_event;
using sf::core::milestone_state;

namespace {

run_event state_event(const std::string& mid, milestone_state s, const std::string& text) {
  run_event ev;
  ev.kind = sf::core::event_kind::state_changed;
  ev.milestone = mid;
  ev.state = s;
  ev.text = text;
  return ev;
}

run_event finished(const std::string& text) {
  run_event ev;
  ev.kind = sf::core::event_kind::finished;
  ev.text = text;
  return ev;
}

} // namespace

TEST_CASE("an event line names its state once", "[cli]") {
  CHECK(sf::cli::state_line("complete", "complete, queued for merge") ==
        "complete, queued for merge");
  CHECK(sf::cli::state_line("stopped", "stopped") == "stopped");
  CHECK(sf::cli::state_line("merged", "merged into main") == "merged into main");
  CHECK(sf::cli::state_line("running", "") == "running");
  CHECK(sf::cli::state_line("failed", "gave up after 3 restart(s)") ==
        "failed: gave up after 3 restart(s)");
  CHECK(sf::cli::state_line("complete", "completely new") == "complete: completely new");
  std::ostringstream out;
  sf::cli::event_printer p{out};
  p.print(state_event("M001", milestone_state::complete, "complete, awaiting merge"));
  p.print(state_event("M002", milestone_state::stopped, "stopped"));
  CHECK(out.str() == "[M001] complete, awaiting merge\n[M002] stopped\n");
}

TEST_CASE("a run with a failed milestone ends with exit 1", "[cli]") {
  std::ostringstream out;
  sf::cli::event_printer p{out};
  p.print(state_event("M001", milestone_state::failed, "gave up after 0 restart(s)"));
  p.print(finished("run finished: 0 complete, 1 failed, 0 not finished"));
  CHECK(p.finished());
  CHECK(p.exit_code() == 1);
  std::ostringstream ok_out;
  sf::cli::event_printer ok{ok_out};
  ok.print(state_event("M001", milestone_state::merged, "merged into main"));
  ok.print(finished("run finished: 1 complete, 0 failed, 0 not finished"));
  CHECK(ok.exit_code() == 0);
}
