#include "io/files/parallel_dir.hpp"
#include "io/files/run_file.hpp"
#include "io/files/state_writer.hpp"
#include "io/files/worker_registry.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

using namespace sf;
using sf::test::read_file;
using sf::test::temp_dir;

namespace {

run_status one_worker(const std::string& mid, const std::string& state) {
  run_status rs;
  worker_snapshot w;
  w.milestone = mid;
  auto parsed = sf::core::parse_milestone_state(state);
  REQUIRE(parsed);
  w.state = *parsed;
  rs.workers.push_back(w);
  return rs;
}

run_event state_event(const std::string& mid, const std::string& state) {
  run_event ev;
  ev.kind = event_kind::state_changed;
  ev.milestone = mid;
  ev.state = core::parse_milestone_state(state).value(); // The tests name real states.
  return ev;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

TEST_CASE("the state writer writes what it was handed and the newest snapshot wins",
          "[io][state_writer]") {
  temp_dir dir;
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  std::vector<caf::error> errors;
  io::state_writer w{dir.path(), [&](const caf::error& e) { errors.push_back(e); }};
  worker_identity who;
  who.milestone = "M001";
  who.pid = 4242;
  who.start_time = 7;
  who.boot_id = "boot";
  who.token = "tok";
  w.registry({who});
  w.event(state_event("M001", "running"));
  w.run(one_worker("M001", "running"), 99);
  w.run(one_worker("M001", "failed"), 99);
  w.event(state_event("M001", "failed"));
  w.flush();
  CHECK(errors.empty());
  auto reg = io::read_worker_registry(dir.path());
  REQUIRE(reg);
  REQUIRE(reg->size() == 1);
  CHECK((*reg)[0].pid == 4242);
  auto rf = io::read_run_file(dir.path());
  REQUIRE(rf);
  CHECK(rf->coordinator_pid == 99);
  REQUIRE(rf->status.workers.size() == 1);
  CHECK(rf->status.workers[0].state == sf::core::milestone_state::failed);
  // Every event line is kept, in the order handed over.
  auto lines = lines_of(read_file(dir / ".sf/parallel/events.jsonl"));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("\"running\"") != std::string::npos);
  CHECK(lines[1].find("\"failed\"") != std::string::npos);
  CHECK(w.rounds() >= 1);
}

TEST_CASE("the state writer writes pending work before its destructor returns",
          "[io][state_writer]") {
  temp_dir dir;
  {
    io::state_writer w{dir.path(), [](const caf::error&) {}};
    w.run(one_worker("M002", "complete"), 1);
  }
  auto rf = io::read_run_file(dir.path());
  REQUIRE(rf);
  REQUIRE(rf->status.workers.size() == 1);
  CHECK(rf->status.workers[0].state == sf::core::milestone_state::complete);
}
