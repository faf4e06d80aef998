// The hook runner on a real actor system with real hook processes: hooks run one at a time in
// the order of their events, a full queue drops (and logs) what comes past it, and the runner
// ends once its coordinator is gone and nothing waits.
#include "actors/hook_runner.hpp"
#include "actors/runtime.hpp"
#include "support/text_files.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

using namespace std::chrono_literals;
using sf::test::count_of;
using sf::test::temp_dir;
using sf::test::text_of;
using sf::test::write_file;

namespace {

sf::run_event progress(int64_t done) {
  sf::run_event ev;
  ev.kind = done == 0 ? sf::core::event_kind::state_changed : sf::core::event_kind::progress;
  ev.milestone = "M001";
  ev.completed_units = done;
  ev.total_units = 9;
  return ev;
}

} // namespace

TEST_CASE("hooks run in order, a full queue drops what comes past it, and the runner ends "
          "after its coordinator",
          "[hooks]") {
  temp_dir dir;
  write_file(dir / ".sf/parallel/.keep", "");
  auto log_path = dir / "coordinator.log";
  auto log = std::make_shared<spdlog::logger>(
    "hooks-test", std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_path));
  log->flush_on(spdlog::level::info);
  sf::runtime rt;
  auto& sys = rt.system();
  // Stands in for the coordinator: the runner watches it.
  // (One argument: CAF 0.17 dereferences an empty argument tuple when spawning a function
  // without any, which UBSan reports as a null reference.)
  auto coordinator = sys.spawn([](caf::event_based_actor*, int) -> caf::behavior {
    return {[](int) {}};
  }, 0);
  sf::hook_runner_config cfg;
  cfg.root = dir.path();
  // Each hook waits for the gate, then appends its stdin: the first holds the others back.
  cfg.hooks[sf::hook_event::unit_done] = {
    "while [ ! -e gate ]; do sleep 0.02; done; cat >> seen.jsonl", 20};
  cfg.base_env = {"PATH=/usr/bin:/bin"};
  cfg.queue_cap = 2;
  cfg.log = log;
  cfg.coordinator = caf::actor_cast<caf::actor>(coordinator);
  auto runner = sys.spawn<caf::detached>(sf::hook_runner, cfg);
  caf::scoped_actor me{sys};
  me->monitor(runner);
  for (int64_t done = 0; done <= 5; ++done)
    caf::anon_send(runner, sf::atom::event_v, progress(done));
  // Unit 1 runs (held), 2 and 3 wait, 4 and 5 find the queue full.
  bool dropped = sf::test::eventually(
    [&] { return count_of(text_of(log_path), "hook unit_done for M001 dropped") == 2; }, 10s);
  INFO(text_of(log_path));
  REQUIRE(dropped);
  write_file(dir / "gate", "");
  REQUIRE(sf::test::eventually(
    [&] { return count_of(text_of(dir / "seen.jsonl"), "\n") == 3; }, 10s));
  caf::anon_send_exit(coordinator, caf::exit_reason::kill);
  bool ended = false;
  me->receive([&](caf::down_msg&) { ended = true; }, caf::after(10s) >> [] {});
  CHECK(ended);
  std::istringstream lines(text_of(dir / "seen.jsonl"));
  int64_t expected = 1;
  for (std::string line; std::getline(lines, line); ++expected)
    CHECK(nlohmann::json::parse(line)["completedUnits"] == expected);
  CHECK(expected == 4);
  auto text = text_of(log_path);
  INFO(text);
  CHECK(count_of(text, "hook_runner: 2 hooks wait already; hook unit_done for M001 dropped") == 2);
  CHECK(count_of(text, "hook_runner: hook unit_done for M001 (while") == 3);
}
