// A worker that runs an agent, as the coordinator sees it: a real process writing status
// files with tokens and agent progress. Its tokens reach the events, run.json, the ledger,
// `status`, `status --json` and `budget --json`; a needs-attention reason is one event when it
// appears or changes, never one per heartbeat.
#include "docs/json_schema.hpp"
#include "io/files/ledger_file.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/stop_at_end.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

// A worker of our protocol (milestone-wide totals) whose agent reads, goes quiet, uses more
// tokens while still quiet, then runs a test on its second attempt and holds (still quiet,
// for a new reason) until the gate `done` opens. Heartbeats every 0.1 s throughout.
const char* agent_worker = R"(set -u
mid=$SF_MILESTONE_LOCK
status="$SF_PROJECT_ROOT/.sf/parallel/$mid.status.json"
started=$(($(date +%s%N) / 1000000))
state=running
unit="{\"type\":\"unit\",\"id\":\"U01\",\"startedAt\":$started}"
done_units=0
cost=0.05
tokens='{"input":100,"output":20,"cached":5}'
agent() {
  printf '{"profile":"default","adapter":"claude","activity":"%s","attempt":%d,"maxAttempts":3,"sessionId":"sess-1","priceMissing":true,"needsAttention":%s}' "$1" "$2" "$3"
}
ag=$(agent "Read src/a.c" 1 null)
write() {
  now=$(($(date +%s%N) / 1000000))
  printf '{"milestoneId":"%s","pid":%d,"state":"%s","currentUnit":%s,"completedUnits":%d,"cost":%s,"lastHeartbeat":%d,"startedAt":%d,"worktreePath":"%s","totalUnits":1,"protocol":1,"tokens":%s,"agent":%s}\n' \
    "$mid" $$ "$state" "$unit" "$done_units" "$cost" "$now" "$started" "$PWD" "$tokens" "$ag" >"$status.tmp.$$" &&
    mv -f "$status.tmp.$$" "$status"
}
beat() {
  n=$1
  while [ "$n" -gt 0 ]; do write; sleep 0.1; n=$((n - 1)); done
}
trap 'state=stopped; unit=null; ag=null; write; exit 0' TERM INT
beat 3
ag=$(agent "Read src/a.c" 1 '"no output for 2 s"')
tokens='{"input":200,"output":40,"cached":5}'
beat 5
tokens='{"input":300,"output":60,"cached":10}'
cost=0.15
beat 5
ag=$(agent "Bash: make test" 2 '"no output for 4 s"')
n=0
while [ ! -e "$SF_PROJECT_ROOT/go-done" ] && [ $n -lt 1200 ]; do write; sleep 0.1; n=$((n + 1)); done
state=stopped
unit=null
ag=null
done_units=1
cost=0.25
write
exit 0
)";

nlohmann::json parse_file(const std::string& path) {
  return nlohmann::json::parse(read_file(path));
}

std::vector<nlohmann::json> events_of_kind(const std::string& root, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (const auto& line : event_lines(root, "\"kind\":\"" + kind + "\""))
    out.push_back(nlohmann::json::parse(line));
  return out;
}

} // namespace

TEST_CASE("an agent worker's tokens and attention reach events, run.json, ledger and status",
          "[runtime][agent]") {
  temp_dir scripts;
  write_file(scripts / "agent-worker.sh", agent_worker);
  test_project p({ms("M001", {}, {unit("U01", "true")})},
                 "  enabled: true\n  heartbeat_interval: 0.2\n  stale_timeout: 5\n"
                 "  stop_grace: 1\n  max_restarts: 0\n  worker_command: \"exec sh " +
                     (scripts / "agent-worker.sh") + "\"\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  stop_at_end stop{p};
  auto root = p.root();
  INFO(read_file(p.cli_log(1)));

  // The second reason is told; the coordinator's view follows.
  REQUIRE(wait_for(
      root, [&] { return !event_lines(root, "no output for 4 s").empty(); }, 30s));
  REQUIRE(wait_for(
      root,
      [&] {
        auto row = row_of(root, "M001");
        return row.agent && row.agent->needs_attention == "no output for 4 s";
      },
      10s));
  auto run = parse_file(p.path(".sf/parallel/run.json"));
  check_valid("run", run);
  const auto& row = run["workers"][0];
  CHECK(row["tokens"] == nlohmann::json({{"input", 300}, {"output", 60}, {"cached", 10}}));
  CHECK(row["agent"]["activity"] == "Bash: make test");
  CHECK(row["agent"]["attempt"] == 2);
  CHECK(run["totalTokens"] == row["tokens"]);

  // The ledger counted the tokens under the milestone's key.
  REQUIRE(wait_for(
      root,
      [&] {
        auto rec = sf::io::read_ledger_record(root);
        return rec && rec->tokens.count("M001") != 0 &&
               rec->tokens.at("M001") == sf::core::token_counts{300, 60, 10};
      },
      10s));
  check_valid("ledger", parse_file(sf::io::ledger_path(root)));

  // `status` while the agent runs: what it does, its attempt, tokens, attention, price.
  auto text = p.cli("status");
  INFO(text.out);
  CHECK(text.out.find("\n  tokens: 300 in, 60 out, 10 cached\n  agent claude (profile "
                      "default), attempt 2 of 3: Bash: make test\n  needs attention: no output "
                      "for 4 s\n  price missing: ") != std::string::npos);
  CHECK(text.out.find("\nTotal tokens: 300 in, 60 out, 10 cached\n") != std::string::npos);
  auto shown = nlohmann::json::parse(p.cli("status --json").out);
  check_valid("status-output", shown);
  CHECK(shown["workers"][0]["agent"]["needsAttention"] == "no output for 4 s");
  CHECK(shown["workers"][0]["agent"]["priceMissing"] == true);
  CHECK(shown["totalTokens"]["input"] == 300);
  auto budget = nlohmann::json::parse(p.cli("budget --json").out);
  check_valid("budget-output", budget);
  CHECK(budget["tokens"] == nlohmann::json({{"input", 300}, {"output", 60}, {"cached", 10}}));
  CHECK(budget["milestones"][0]["tokens"]["output"] == 60);

  release(p, "done");
  REQUIRE(wait_exit(cli, 60s));

  // One event per reason: the repeats, and the report that only added tokens, told nothing.
  auto attention = events_of_kind(root, "needs_attention");
  REQUIRE(attention.size() == 2);
  CHECK(attention[0]["milestone"] == "M001");
  CHECK(attention[0]["text"] == "no output for 2 s");
  CHECK(attention[1]["text"] == "no output for 4 s");
  // Progress events carry the tokens as they grew.
  bool saw_final = false;
  for (const auto& ev : events_of_kind(root, "progress")) {
    REQUIRE(ev.contains("tokens"));
    saw_final = saw_final || ev["tokens"]["input"] == 300;
  }
  CHECK(saw_final);
  for (const auto& line : event_lines(root, "\"kind\""))
    check_valid("event", nlohmann::json::parse(line));

  // After the worker: no agent runs, the tokens stay.
  auto after = p.cli("status");
  INFO(after.out);
  CHECK(after.out.find("tokens: 300 in, 60 out, 10 cached") != std::string::npos);
  CHECK(after.out.find("needs attention") == std::string::npos);
  auto after_json = nlohmann::json::parse(p.cli("status --json").out);
  check_valid("status-output", after_json);
  CHECK(after_json["workers"][0]["agent"].is_null());
}
