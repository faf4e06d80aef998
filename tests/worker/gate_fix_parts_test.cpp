// The pieces of a gate fix in the worker: the order in its environment, the prompt, which unit's
// agent is resumed, and the session a completed unit leaves for it.
#include "config/plan.hpp"
#include "worker/gate_fix.hpp"
#include "worker/metrics.hpp"
#include "messages/error.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using namespace sf::worker;

namespace {

// Sets (or with nullptr unsets) a variable for one test and puts the old value back.
struct env_var {
  env_var(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name))
      old_ = old;
    if (value != nullptr)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~env_var() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  const char* name_;
  std::optional<std::string> old_;
};

bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("a gate fix is ordered only through both variables, and checked", "[worker][gatefix]") {
  {
    env_var f("SF_GATE_FAILURE_FILE", nullptr);
    auto none = gate_fix_from_env();
    REQUIRE(none);
    CHECK_FALSE(*none);
  }
  {
    env_var f("SF_GATE_FAILURE_FILE", "/p/.sf/parallel/M003.gate-failure.md");
    env_var r("SF_GATE_FIX_ROUND", "2");
    auto order = gate_fix_from_env();
    REQUIRE(order);
    REQUIRE(*order);
    CHECK((*order)->report_file == "/p/.sf/parallel/M003.gate-failure.md");
    CHECK((*order)->round == 2);
    CHECK(gate_fix_unit_id((*order)->round) == "gate-fix-2");
    CHECK(is_gate_fix_id("gate-fix-2"));
    CHECK_FALSE(is_gate_fix_id("U01"));
  }
  {
    env_var f("SF_GATE_FAILURE_FILE", "relative/report.md");
    auto bad = gate_fix_from_env();
    REQUIRE_FALSE(bad);
    CHECK(has(sf::describe(bad.error()), "SF_GATE_FAILURE_FILE"));
  }
  for (const char* round : {"0", "x", "2x", "-1"}) {
    env_var f("SF_GATE_FAILURE_FILE", "/p/r.md");
    env_var r("SF_GATE_FIX_ROUND", round);
    auto bad = gate_fix_from_env();
    INFO(round);
    REQUIRE_FALSE(bad);
    CHECK(has(sf::describe(bad.error()), "SF_GATE_FIX_ROUND"));
  }
}

TEST_CASE("a gate fix prompt tells the report, and the task only to a fresh agent",
          "[worker][gatefix]") {
  auto resumed = gate_fix_prompt("# M003 failed the merge gate\n\ntotal 12", "");
  CHECK(has(resumed, "merge gate failed"));
  CHECK(has(resumed, "total 12\n"));
  CHECK(has(resumed, "Do not commit"));
  CHECK_FALSE(has(resumed, "The task, as given before"));
  auto fresh = gate_fix_prompt("report", "# M003: Part b\n");
  CHECK(has(fresh, "The task, as given before:\n\n# M003: Part b\n"));
}

TEST_CASE("the agent resumed for a gate fix is the milestone's last agent unit's",
          "[worker][gatefix]") {
  sf::milestone m;
  m.slices.resize(2);
  m.slices[0].id = "S01";
  m.slices[0].units.resize(2);
  m.slices[0].units[0].id = "U01";
  m.slices[0].units[0].agent = "claude";
  m.slices[0].units[1].id = "U02";
  m.slices[0].units[1].run = "make";
  m.slices[1].id = "S02";
  m.slices[1].units.resize(1);
  m.slices[1].units[0].id = "U03";
  m.slices[1].units[0].agent = "codex";
  const sf::slice* s = nullptr;
  const auto* u = fixing_unit(m, &s);
  REQUIRE(u != nullptr);
  CHECK(u->id == "U03");
  CHECK(s->id == "S02");
  m.slices[1].units[0].agent.clear();
  u = fixing_unit(m, &s);
  REQUIRE(u != nullptr);
  CHECK(u->id == "U01");
  m.slices[0].units[0].agent.clear();
  CHECK(fixing_unit(m, &s) == nullptr);
}

TEST_CASE("a completed agent unit's session is kept for a gate fix", "[worker][gatefix]") {
  metrics_file m;
  agent_session_record running{"sess-1", 2, {}};
  running.snapshot.input = 100;
  m.set_agent_session("M003", "U01", running);
  CHECK_FALSE(m.last_agent_session("M003"));
  agent_session_record at_end = running;
  at_end.snapshot.input = 150;
  m.finish_agent_session("M003", "U01", "claude", at_end);
  CHECK_FALSE(m.agent_session("M003", "U01")); // no longer a session to resume as a crash
  auto last = m.last_agent_session("M003");
  REQUIRE(last);
  CHECK(last->unit == "U01");
  CHECK(last->profile == "claude");
  CHECK(last->session.session_id == "sess-1");
  CHECK(last->session.snapshot.input == 150);
  // It travels with the file.
  auto again = metrics_file::parse(m.dump(), "metrics.json");
  REQUIRE(again);
  REQUIRE(again->last_agent_session("M003"));
  CHECK(again->last_agent_session("M003")->session.session_id == "sess-1");
  CHECK_FALSE(again->last_agent_session("M004"));
}
