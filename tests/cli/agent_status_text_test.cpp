// What `status` and `status --json` say of agents: per milestone its activity, tokens and
// cost, "attempt n of m", "needs attention: <why>" and a missing price; the run's tokens; and
// the line a foreground run prints for a needs-attention event.
#include "cli/event_printer.hpp"
#include "cli/status_view.hpp"
#include "docs/json_schema.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace sf;

namespace {

cli::status_view agent_view() {
  cli::status_view v;
  worker_snapshot a;
  a.milestone = "M001";
  a.title = "Agent work";
  a.state = core::milestone_state::running;
  a.total_units = 2;
  a.current_unit = "U01";
  a.cost = 0.42;
  a.pid = 99;
  a.tokens = core::token_counts{1200, 300, 5000};
  a.agent = agent_activity{"default", "claude", "Bash: make test",    2, 3,
                           "sess-1",  true,     "no output for 300 s"};
  worker_snapshot shell;
  shell.milestone = "M002";
  shell.title = "Shell work";
  shell.state = core::milestone_state::running;
  v.run.workers = {a, shell};
  v.run.total_tokens = {1200, 300, 5000};
  return v;
}

} // namespace

TEST_CASE("status text shows what each agent does, its tokens and what needs a person",
          "[cli][status][agent]") {
  auto text = cli::render_status(agent_view(), 0);
  INFO(text);
  CHECK(text.find("- **M001** — Agent work: running\n  [----------] 0/2 units, running U01, "
                  "$0.42, pid 99\n  tokens: 1200 in, 300 out, 5000 cached\n  agent claude "
                  "(profile default), attempt 2 of 3: Bash: make test\n  needs attention: no "
                  "output for 300 s\n  price missing: its model has no entry in "
                  "`agents.prices`, so its tokens add nothing to the cost\n") != std::string::npos);
  // A shell worker's row has none of these lines.
  auto from = text.find("**M002**");
  auto shell = text.substr(from, text.find("\nTotal cost") - from);
  CHECK(shell.find("tokens:") == std::string::npos);
  CHECK(shell.find("agent ") == std::string::npos);
  CHECK(text.find("\nTotal tokens: 1200 in, 300 out, 5000 cached\n") != std::string::npos);

  // Without tokens anywhere, no total line either.
  auto plain = agent_view();
  plain.run.workers.pop_back();
  plain.run.workers[0].tokens = caf::none;
  plain.run.workers[0].agent->needs_attention.clear();
  plain.run.workers[0].agent->price_missing = false;
  plain.run.total_tokens = {};
  auto calm = cli::render_status(plain, 0);
  INFO(calm);
  CHECK(calm.find("tokens") == std::string::npos);
  CHECK(calm.find("needs attention") == std::string::npos);
  CHECK(calm.find("price missing") == std::string::npos);
  CHECK(calm.find("attempt 2 of 3: Bash: make test") != std::string::npos);
}

TEST_CASE("status --json gives tokens and agent per worker and the total", "[cli][status][agent]") {
  auto j = cli::status_to_json(agent_view());
  sf::test::check_valid("status-output", j);
  const auto& a = j["workers"][0];
  CHECK(a["tokens"] == nlohmann::json({{"input", 1200}, {"output", 300}, {"cached", 5000}}));
  CHECK(a["agent"]["activity"] == "Bash: make test");
  CHECK(a["agent"]["attempt"] == 2);
  CHECK(a["agent"]["maxAttempts"] == 3);
  CHECK(a["agent"]["needsAttention"] == "no output for 300 s");
  CHECK(a["agent"]["priceMissing"] == true);
  CHECK(a["agent"]["sessionId"] == "sess-1");
  CHECK(j["workers"][1]["tokens"].is_null());
  CHECK(j["workers"][1]["agent"].is_null());
  CHECK(j["totalTokens"]["cached"] == 5000);
}

TEST_CASE("a foreground run prints a needs-attention event as a warning naming the milestone",
          "[cli][agent]") {
  std::ostringstream out;
  cli::event_printer p{out};
  run_event ev;
  ev.kind = core::event_kind::needs_attention;
  ev.milestone = "M001";
  ev.text = "no output for 300 s";
  p.print(ev);
  CHECK(out.str() == "warning: [M001] needs attention: no output for 300 s\n");
  CHECK_FALSE(p.finished());
}
