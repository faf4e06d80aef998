// Agent fields (tokens, the agent unit's progress) through every file that carries them: the
// status file a worker writes, run.json, the event log and the ledger, each read back and
// checked against its schema; files of the original protocol and older ledgers still read.
#include "docs/json_schema.hpp"
#include "io/files/event_log.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/ledger_period.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/run_file.hpp"
#include "io/files/status_file.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace sf;
using namespace sf::io;
using sf::test::check_valid;
using sf::test::temp_dir;

namespace {

// A worker running attempt 2 of 3 of an agent unit that has gone quiet.
worker_status agent_status() {
  worker_status s;
  s.milestone_id = "M001";
  s.pid = 4242;
  s.completed_units = 1;
  s.cost = 0.25;
  s.last_heartbeat = 1700000001000;
  s.started_at = 1700000000000;
  s.worktree_path = "/repo/.sf/worktrees/M001";
  s.protocol = 1;
  s.tokens = token_counts{1200, 300, 5000};
  agent_progress a;
  a.profile = "default";
  a.adapter = "claude";
  a.activity = "Bash: make test";
  a.attempt = 2;
  a.max_attempts = 3;
  a.session_id = "sess-1";
  a.price_missing = true;
  a.needs_attention = "no output for 300 s";
  s.agent = a;
  return s;
}

// The decode error after `edit` changed the agent status's JSON (empty when it decoded).
template <class F> std::string error_after(F edit) {
  auto j = nlohmann::json::parse(encode_status(agent_status()));
  edit(j);
  auto st = decode_status(j.dump(), "M001");
  return st ? std::string{} : describe(st.error());
}

} // namespace

TEST_CASE("status: tokens and agent round trip and match the schema", "[io][status][agent]") {
  auto text = encode_status(agent_status());
  auto j = nlohmann::json::parse(text);
  check_valid("status", j);
  CHECK(j["tokens"] == nlohmann::json({{"input", 1200}, {"output", 300}, {"cached", 5000}}));
  CHECK(j["agent"]["maxAttempts"] == 3);
  CHECK(j["agent"]["needsAttention"] == "no output for 300 s");
  auto st = decode_status(text, "M001");
  REQUIRE(st);
  REQUIRE(st->tokens);
  CHECK(*st->tokens == token_counts{1200, 300, 5000});
  REQUIRE(st->agent);
  CHECK(st->agent->profile == "default");
  CHECK(st->agent->adapter == "claude");
  CHECK(st->agent->activity == "Bash: make test");
  CHECK(st->agent->attempt == 2);
  CHECK(st->agent->max_attempts == 3);
  CHECK(st->agent->session_id == "sess-1");
  CHECK(st->agent->price_missing);
  CHECK(st->agent->needs_attention == std::optional<std::string>("no output for 300 s"));
  CHECK(encode_status(*st) == text);

  // Nothing needs a person: null in the file, unset when read.
  auto calm = agent_status();
  calm.agent->needs_attention.reset();
  auto calm_json = nlohmann::json::parse(encode_status(calm));
  CHECK(calm_json["agent"]["needsAttention"].is_null());
  check_valid("status", calm_json);
  auto back = decode_status(calm_json.dump(), "M001");
  REQUIRE(back);
  CHECK_FALSE(back->agent->needs_attention);
}

TEST_CASE("status: files of the original protocol carry no tokens and no agent",
          "[io][status][agent]") {
  auto plain = agent_status();
  plain.tokens.reset();
  plain.agent.reset();
  auto j = nlohmann::json::parse(encode_status(plain));
  CHECK_FALSE(j.contains("tokens"));
  CHECK_FALSE(j.contains("agent"));
  auto st = decode_status(j.dump(), "M001");
  REQUIRE(st);
  CHECK_FALSE(st->tokens);
  CHECK_FALSE(st->agent);
  // Null is absent; a count left out is 0.
  j["tokens"] = {{"output", 7}};
  j["agent"] = nullptr;
  st = decode_status(j.dump(), "M001");
  REQUIRE(st);
  CHECK(*st->tokens == token_counts{0, 7, 0});
  CHECK_FALSE(st->agent);
}

TEST_CASE("status: bad tokens or agent fields are one line naming the field",
          "[io][status][agent]") {
  CHECK(error_after([](auto& j) { j["tokens"] = "many"; }) ==
        "status field 'tokens' must be an object of integers >= 0 'input', "
        "'output', 'cached' when present; fix the worker that wrote it");
  CHECK(error_after([](auto& j) { j["tokens"]["input"] = -1; }) ==
        "status field 'tokens' must be an object of integers >= 0 'input', "
        "'output', 'cached' when present (member 'input' must be an integer >= 0); fix the "
        "worker that wrote it");
  CHECK(error_after([](auto& j) { j["tokens"]["cached"] = 1.5; }).find("member 'cached'") !=
        std::string::npos);
  CHECK(error_after([](auto& j) {
          j["tokens"]["output"] = 18446744073709551615ull;
        }).find("member 'output'") != std::string::npos);
  auto agent_error = [](const char* member, nlohmann::json value) {
    return error_after([&](auto& j) { j["agent"][member] = value; });
  };
  for (auto [member, value, why] :
       {std::tuple{"attempt", nlohmann::json(0), "member 'attempt' must be an integer >= 1"},
        std::tuple{"maxAttempts", nlohmann::json("3"),
                   "member 'maxAttempts' must be an integer >= 1"},
        std::tuple{"activity", nlohmann::json(5), "member 'activity' must be a string"},
        std::tuple{"priceMissing", nlohmann::json("yes"),
                   "member 'priceMissing' must be true or false"},
        std::tuple{"needsAttention", nlohmann::json(true),
                   "member 'needsAttention' must be a string or null"}}) {
    auto text = agent_error(member, value);
    INFO(text);
    CHECK(text.rfind("status field 'agent' must be an object with", 0) == 0);
    CHECK(text.find(std::string("(") + why + "); fix the worker that wrote it") !=
          std::string::npos);
  }
  CHECK(error_after([](auto& j) {
          j["agent"] = {1, 2};
        }).find("(must be an object)") != std::string::npos);
}

TEST_CASE("run.json keeps each worker's tokens and agent and the total", "[io][run][agent]") {
  temp_dir dir;
  run_status rs;
  worker_snapshot agent_row;
  agent_row.milestone = "M001";
  agent_row.state = core::milestone_state::running;
  agent_row.tokens = token_counts{10, 20, 30};
  agent_row.agent =
      agent_activity{"default", "codex", "exec: ls", 1, 2, "thread-9", false, "silent for 60 s"};
  worker_snapshot shell_row;
  shell_row.milestone = "M002";
  rs.workers = {agent_row, shell_row};
  rs.total_tokens = {10, 20, 30};
  REQUIRE_FALSE(write_run_file(dir.path(), rs, 77));
  auto j = nlohmann::json::parse(sf::test::read_file(run_file_path(dir.path())));
  check_valid("run", j);
  CHECK_FALSE(j["workers"][1].contains("tokens"));
  CHECK_FALSE(j["workers"][1].contains("agent"));
  auto back = read_run_file(dir.path());
  REQUIRE(back);
  CHECK(back->status.total_tokens == token_counts{10, 20, 30});
  REQUIRE(back->status.workers.size() == 2);
  const auto& w = back->status.workers[0];
  REQUIRE(w.tokens);
  CHECK(*w.tokens == token_counts{10, 20, 30});
  REQUIRE(w.agent);
  CHECK(*w.agent == *agent_row.agent);
  CHECK_FALSE(back->status.workers[1].tokens);
  CHECK_FALSE(back->status.workers[1].agent);

  // A run file of an older version has none of them.
  j.erase("totalTokens");
  j["workers"][0].erase("tokens");
  j["workers"][0].erase("agent");
  sf::test::write_file(run_file_path(dir.path()), j.dump());
  back = read_run_file(dir.path());
  REQUIRE(back);
  CHECK(back->status.total_tokens == token_counts{});
  CHECK_FALSE(back->status.workers[0].agent);
  // A wrong shape names the field.
  j["workers"][0]["agent"] = "busy";
  sf::test::write_file(run_file_path(dir.path()), j.dump());
  back = read_run_file(dir.path());
  REQUIRE_FALSE(back);
  CHECK(describe(back.error()).find("field `workers[].agent`") != std::string::npos);
}

TEST_CASE("event lines carry tokens when the worker reports them", "[io][events][agent]") {
  run_event ev;
  ev.kind = event_kind::progress;
  ev.milestone = "M001";
  ev.cost = 0.5;
  ev.tokens = token_counts{1, 2, 3};
  auto with = nlohmann::json::parse(format_event_line(ev, 1000));
  check_valid("event", with);
  CHECK(with["tokens"] == nlohmann::json({{"input", 1}, {"output", 2}, {"cached", 3}}));
  ev.kind = event_kind::needs_attention;
  ev.text = "no output for 300 s";
  check_valid("event", nlohmann::json::parse(format_event_line(ev, 1000)));
  ev.tokens = caf::none;
  auto without = nlohmann::json::parse(format_event_line(ev, 1000));
  CHECK_FALSE(without.contains("tokens"));
  check_valid("event", without);
}

TEST_CASE("the ledger keeps tokens per key; older ledgers read as holding none",
          "[io][ledger][agent]") {
  temp_dir dir;
  ledger_record rec;
  rec.costs = {{"M001", 1.0}, {"M002/tok", 0.5}, {"M002/tok2", 0.25}};
  rec.tokens = {{"M001", {100, 10, 1}}, {"M002/tok", {5, 5, 5}}, {"M002/tok2", {1, 1, 1}}};
  rec.period_start = 1000;
  REQUIRE_FALSE(write_ledger_record(dir.path(), rec));
  auto j = nlohmann::json::parse(sf::test::read_file(ledger_path(dir.path())));
  check_valid("ledger", j);
  CHECK(j["tokensTotal"] == nlohmann::json({{"input", 106}, {"output", 16}, {"cached", 7}}));
  auto back = read_ledger_record(dir.path());
  REQUIRE(back);
  CHECK(back->tokens.size() == 3);
  CHECK(back->milestone_tokens("M002") == token_counts{6, 6, 6});
  CHECK(back->total_tokens() == token_counts{106, 16, 7});
  CHECK(back->milestone_token_counts().at("M001") == token_counts{100, 10, 1});

  // Without tokens (a ledger of shell workers, or of an older version): the old shape.
  REQUIRE_FALSE(write_ledger(dir.path(), {{"M001", 1.0}}));
  j = nlohmann::json::parse(sf::test::read_file(ledger_path(dir.path())));
  CHECK_FALSE(j.contains("tokens"));
  CHECK_FALSE(j.contains("carriedTokens"));
  back = read_ledger_record(dir.path());
  REQUIRE(back);
  CHECK(back->total_tokens() == token_counts{});

  // One bad entry is left out and told; the others stay.
  std::vector<std::string> problems;
  auto parsed = parse_ledger_record(
      R"({"costs": {}, "tokens": {"M001": {"input": 3}, "M002": {"input": "x"}}})", "L", &problems);
  REQUIRE(parsed);
  CHECK(parsed->tokens.size() == 1);
  CHECK(parsed->tokens.at("M001") == token_counts{3, 0, 0});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "L: the tokens of `M002` member 'input' must be an integer >= 0 and are "
                       "left out");
}

TEST_CASE("budget reset carries the period's tokens like its costs", "[io][ledger][agent]") {
  temp_dir dir;
  ledger_record rec;
  rec.costs = {{"M001", 1.0}};
  rec.tokens = {{"M001", {100, 10, 1}}};
  rec.carried_tokens = {{"M001", {1, 1, 1}}};
  rec.period_start = 1000;
  REQUIRE_FALSE(write_ledger_record(dir.path(), rec));
  REQUIRE(start_budget_period(dir.path(), 2000));
  auto next = read_ledger_record(dir.path());
  REQUIRE(next);
  CHECK(next->tokens.empty());
  CHECK(next->carried_tokens.at("M001") == token_counts{101, 11, 2});
  check_valid("ledger", nlohmann::json::parse(sf::test::read_file(ledger_path(dir.path()))));
}
