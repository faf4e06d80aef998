// The Claude Code stream-json parser on the documented lines (../shared/AGENTS.md section 1).
#include "agents/agent_samples.hpp"
#include "agents/stream_test_util.hpp"

#include <catch2/catch.hpp>

#include <string>

using sf::agent_adapter;
using sf::test::claude_sample;
using sf::test::parsed_stream;

namespace {

const std::string sid = "5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13";

// The sample up to (not including) its result line.
std::string before_result() {
  return claude_sample.substr(0, claude_sample.find("{\"type\":\"result\""));
}

std::string assistant(const std::string& id, const std::string& block, int in, int write, int read,
                      int out) {
  return R"({"type":"assistant","message":{"model":"claude-sonnet-4-5-20250929","id":")" + id +
         R"(","type":"message","role":"assistant","content":[)" + block +
         R"(],"usage":{"input_tokens":)" + std::to_string(in) +
         R"(,"cache_creation_input_tokens":)" + std::to_string(write) +
         R"(,"cache_read_input_tokens":)" + std::to_string(read) + R"(,"output_tokens":)" +
         std::to_string(out) + R"(}},"session_id":")" + sid + "\"}\n";
}

} // namespace

TEST_CASE("claude: the documented stream gives session, model, result, tokens and USD",
          "[agents][claude]") {
  parsed_stream p(agent_adapter::claude);
  const auto& r = p.read(claude_sample);
  CHECK(r.session_id == sid);
  CHECK(r.model == "claude-sonnet-4-5-20250929");
  CHECK(r.finished);
  CHECK_FALSE(r.is_error);
  CHECK(r.outcome == "success");
  CHECK(r.result == "Fixed the uninitialised counter; tests pass.");
  CHECK(r.error.empty());
  // The result's figures replace the running sum: input = 31 uncached + 9874 cache writes.
  CHECK(r.usage.input == 9905);
  CHECK(r.usage.cached == 112503);
  CHECK(r.usage.output == 1822);
  REQUIRE(r.usage.usd);
  CHECK(*r.usage.usd == Approx(0.18342));
  CHECK(r.permission_denials.empty());
  CHECK(r.events == 5);
  CHECK(r.skipped_lines == 0);
  CHECK_FALSE(r.retrying);
  CHECK(r.activity == "finished: Fixed the uninitialised counter; tests pass.");
  CHECK(p.said("[session] " + sid + " claude-sonnet-4-5-20250929"));
  CHECK(p.said("[tool] Edit src/parse.cc"));
  CHECK(p.said("[retry] retrying the API (attempt 1 of 10, status 529, overloaded)"));
  CHECK(p.said("[result] Fixed the uninitialised counter; tests pass."));
  CHECK(p.said("[cost] USD 0.18342, 9905 input, 112503 cached, 1822 output tokens"));
  for (const auto& line : p.transcript) {
    CHECK(line.find('{') == std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
  }
}

TEST_CASE("claude: before the result, tokens are summed per message id and USD is unknown",
          "[agents][claude]") {
  parsed_stream p(agent_adapter::claude);
  const auto& r = p.read(before_result(), false);
  CHECK_FALSE(r.finished);
  CHECK(r.usage.input == 4 + 1210);
  CHECK(r.usage.cached == 18034);
  CHECK(r.usage.output == 96);
  CHECK_FALSE(r.usage.usd);
  // The last event is an API retry: waiting on the API, not hung.
  CHECK(r.retrying);
  CHECK(r.activity == "retrying the API (attempt 1 of 10, status 529, overloaded)");

  // The same message again (its next content block) with grown output counts once, as its
  // latest figures; another message adds.
  p.read(assistant("msg_01Xq", R"({"type":"text","text":"Now the tests.\nSecond line."})", 4, 1210,
                   18034, 150),
         false);
  CHECK(r.usage.output == 150);
  CHECK(r.usage.input == 1214);
  CHECK_FALSE(r.retrying);
  CHECK(r.activity == "Now the tests.");
  CHECK(p.said("[assistant] Now the tests."));
  CHECK(p.said("  Second line."));
  p.read(assistant("msg_02",
                   R"({"type":"tool_use","id":"t2","name":"Bash","input":{"command":"ctest -j2"}})",
                   1, 10, 100, 7),
         false);
  CHECK(r.usage.input == 1214 + 11);
  CHECK(r.usage.cached == 18034 + 100);
  CHECK(r.usage.output == 157);
  CHECK(r.activity == "bash: ctest -j2");
  CHECK(p.said("[bash] ctest -j2"));
}

TEST_CASE("claude: the stream split at every byte reads the same", "[agents][claude]") {
  sf::test::check_every_split(agent_adapter::claude, claude_sample);
}

TEST_CASE("claude: CRLF, blank, junk and unknown lines change nothing", "[agents][claude]") {
  auto whole = sf::test::read_whole(agent_adapter::claude, claude_sample);
  std::string noisy =
      "\n   \nWarning: something on stderr\n[1,2,3]\n{\"type\":\"future_kind\",\"x\":{}}\n" +
      std::string(R"({"type":"system","subtype":"hook_started","session_id":")") + sid + "\"}\n" +
      R"({"type":"stream_event","event":{"type":"content_block_delta"}})" + "\n" +
      R"({"type":"assistant","message":)" + "\n" + claude_sample + "\nlast words\n";
  auto r = sf::test::read_whole(agent_adapter::claude, sf::test::with_crlf(noisy));
  CHECK(r.session_id == whole.session_id);
  CHECK(r.usage == whole.usage);
  CHECK(r.result == whole.result);
  CHECK(r.finished);
  CHECK(r.activity == whole.activity);
  // Understood: the sample's five plus the three well-formed unknown events.
  CHECK(r.events == 8);
  CHECK(r.last_plain_line == "last words");
}

TEST_CASE("claude: an overlong line is skipped whole and counted", "[agents][claude]") {
  std::string huge =
      R"({"type":"assistant","message":{"id":"big","content":[{"type":"text","text":")" +
      std::string(sf::agents::max_stream_line_bytes + 10, 'x') + "\"}]}}\n";
  parsed_stream p(agent_adapter::claude);
  auto s = p.stream.get();
  s->feed(before_result());
  // Fed in pieces, as a pipe delivers it.
  for (std::size_t at = 0; at < huge.size(); at += 65536)
    s->feed(huge.substr(at, 65536));
  s->feed(claude_sample.substr(before_result().size()));
  s->finish();
  const auto& r = s->report();
  CHECK(r.skipped_lines == 1);
  CHECK(r.finished);
  CHECK(r.events == 5);
  CHECK_FALSE(p.said_start("[assistant] xxx"));
}

TEST_CASE("claude: error results carry their errors, subtype and spend", "[agents][claude]") {
  SECTION("max turns") {
    parsed_stream p(agent_adapter::claude);
    const auto& r = p.read(
        R"({"type":"result","subtype":"error_max_turns","is_error":true,"duration_ms":90412,)"
        R"("duration_api_ms":80110,"num_turns":41,"stop_reason":"tool_use","session_id":"s1",)"
        R"("total_cost_usd":0.9113,"usage":{"input_tokens":10,"cache_creation_input_tokens":5,)"
        R"("cache_read_input_tokens":7,"output_tokens":3},"permission_denials":[],)"
        R"J("errors":["Reached maximum number of turns (40)"],"terminal_reason":"max_turns"})J");
    CHECK(r.finished);
    CHECK(r.is_error);
    CHECK(r.outcome == "error_max_turns");
    CHECK(r.error == "Reached maximum number of turns (40)");
    CHECK(r.result.empty());
    CHECK(r.session_id == "s1");
    CHECK(*r.usage.usd == Approx(0.9113));
    CHECK(r.usage.input == 15);
    CHECK(r.activity == "failed: Reached maximum number of turns (40)");
    CHECK(p.said("[error] error_max_turns: Reached maximum number of turns (40)"));
  }
  SECTION("an API error as a success subtype with is_error") {
    auto r = sf::test::read_whole(
        agent_adapter::claude,
        R"({"type":"result","subtype":"success","is_error":true,"api_error_status":429,)"
        R"("result":"API Error: 429 rate limited","session_id":"s2","total_cost_usd":0})");
    CHECK(r.is_error);
    CHECK(r.outcome == "success");
    CHECK(r.error == "API Error: 429 rate limited");
    CHECK(r.usage.usd == 0.0);
  }
  SECTION("several errors, or none") {
    auto r = sf::test::read_whole(
        agent_adapter::claude,
        R"({"type":"result","subtype":"error_during_execution","is_error":true,"errors":["a","b"]})");
    CHECK(r.error == "a; b");
    r = sf::test::read_whole(agent_adapter::claude,
                             R"({"type":"result","subtype":"error_max_budget_usd","errors":[]})");
    CHECK(r.is_error);
    CHECK(r.error == "error_max_budget_usd");
  }
  SECTION("a lying cost is held or dropped") {
    auto r = sf::test::read_whole(
        agent_adapter::claude, R"({"type":"result","subtype":"success","total_cost_usd":1e300})");
    CHECK(r.usage.usd == 1e6);
    r = sf::test::read_whole(agent_adapter::claude,
                             R"({"type":"result","subtype":"success","total_cost_usd":-2})");
    CHECK_FALSE(r.usage.usd);
  }
}

TEST_CASE("claude: permission denials are reported by tool name", "[agents][claude]") {
  parsed_stream p(agent_adapter::claude);
  p.read(
      R"({"type":"system","subtype":"permission_denied","tool_name":"Write","session_id":"s"})"
      "\n"
      R"({"type":"user","message":{"role":"user","content":[{"tool_use_id":"t","type":"tool_result",)"
      R"("content":"Claude requested permissions to write to /w/a.md, but you haven't granted it yet.",)"
      R"("is_error":true}]},"session_id":"s"})"
      "\n",
      false);
  const auto& r = p.stream->report();
  CHECK(r.permission_denials == std::vector<std::string>{"Write"});
  CHECK(p.said("[denied] Write"));
  CHECK(p.said("[tool error] Claude requested permissions to write to /w/a.md, but you haven't "
               "granted it yet."));
  p.read(R"({"type":"result","subtype":"success","is_error":false,"result":"Could not write.",)"
         R"("permission_denials":[{"tool_name":"Write","tool_use_id":"t","tool_input":{}},)"
         R"({"tool_name":"Bash","tool_use_id":"u","tool_input":{}}],"session_id":"s"})");
  CHECK(r.permission_denials == std::vector<std::string>{"Write", "Bash"});
  CHECK_FALSE(r.is_error);
}
