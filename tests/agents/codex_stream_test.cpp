// The Codex `exec --json` parser on the documented lines (../shared/AGENTS.md section 2).
#include "agents/agent_samples.hpp"
#include "agents/stream_test_util.hpp"

#include <catch2/catch.hpp>

#include <string>

using sf::agent_adapter;
using sf::test::codex_sample;
using sf::test::parsed_stream;

TEST_CASE("codex: the documented stream gives thread, result and tokens, no USD",
          "[agents][codex]") {
  parsed_stream p(agent_adapter::codex);
  const auto& r = p.read(codex_sample);
  CHECK(r.session_id == "019a4c2e-7d10-7b31-9f0e-3c6a2b8d5e41");
  CHECK(r.model.empty());
  CHECK(r.finished);
  CHECK_FALSE(r.is_error);
  CHECK(r.outcome == "turn.completed");
  CHECK(r.result == "Initialised the counter in src/parse.cc; re-run ctest to confirm.");
  // input_tokens includes the cached part.
  CHECK(r.usage.input == 48213 - 40960);
  CHECK(r.usage.cached == 40960);
  CHECK(r.usage.output == 1377);
  CHECK_FALSE(r.usage.usd);
  CHECK(r.events == 8);
  CHECK(r.permission_denials.empty());
  CHECK(r.activity ==
        "finished: Initialised the counter in src/parse.cc; re-run ctest to confirm.");
  CHECK(p.said("[session] 019a4c2e-7d10-7b31-9f0e-3c6a2b8d5e41"));
  CHECK(p.said("[thinking] **Locating the failing test**"));
  CHECK(p.said("[bash] ctest --output-on-failure"));
  CHECK(p.said("[bash failed] exit 8"));
  CHECK(p.said("[edit] update src/parse.cc"));
  CHECK(p.said("[assistant] Initialised the counter in src/parse.cc; re-run ctest to confirm."));
  CHECK(p.said("[done] 7253 input, 40960 cached, 1377 output tokens (thread total)"));
  // The command is shown once although it has a start and an end event.
  CHECK(std::count(p.transcript.begin(), p.transcript.end(), "[bash] ctest --output-on-failure") ==
        1);
}

TEST_CASE("codex: activity follows the items while the turn runs", "[agents][codex]") {
  parsed_stream p(agent_adapter::codex);
  auto first_lines = [](int n) {
    std::size_t at = 0;
    for (int i = 0; i < n; ++i)
      at = codex_sample.find('\n', at) + 1;
    return codex_sample.substr(0, at);
  };
  p.read(first_lines(4), false);
  CHECK(p.stream->report().activity == "bash: ctest --output-on-failure");
  CHECK_FALSE(p.stream->report().finished);
  p.read(codex_sample.substr(first_lines(5).size(), first_lines(6).size() - first_lines(5).size()),
         false);
  CHECK(p.stream->report().activity == "update src/parse.cc");
}

TEST_CASE("codex: the stream split at every byte, with CRLF and junk, reads the same",
          "[agents][codex]") {
  auto crlf = sf::test::with_crlf("junk line\n\n" + codex_sample);
  sf::test::check_every_split(agent_adapter::codex, crlf);
  auto r = sf::test::read_whole(agent_adapter::codex, crlf);
  CHECK(r.last_plain_line == "junk line");
  r.last_plain_line.clear();
  sf::test::check_same(r, sf::test::read_whole(agent_adapter::codex, codex_sample));
}

TEST_CASE("codex: a failed turn gives the error; a non-fatal error does not end it",
          "[agents][codex]") {
  parsed_stream p(agent_adapter::codex);
  p.read(R"({"type":"thread.started","thread_id":"t1"})"
         "\n"
         R"({"type":"item.completed","item":{"id":"item_0","type":"error","message":"model slow"}})"
         "\n"
         R"({"type":"error","message":"stream disconnected; retrying 1/5"})"
         "\n",
         false);
  const auto& r = p.stream->report();
  CHECK_FALSE(r.finished);
  CHECK_FALSE(r.is_error);
  CHECK(r.error == "stream disconnected; retrying 1/5");
  CHECK(p.said("[warning] model slow"));
  p.read(
      R"({"type":"turn.failed","error":{"message":"{\"error\":{\"message\":\"Quota exceeded\"}}"}})");
  CHECK(r.finished);
  CHECK(r.is_error);
  CHECK(r.outcome == "turn.failed");
  CHECK(r.error == R"({"error":{"message":"Quota exceeded"}})");
  CHECK(r.activity.rfind("failed: ", 0) == 0);
}

TEST_CASE("codex: a declined command is a permission denial; other items show too",
          "[agents][codex]") {
  parsed_stream p(agent_adapter::codex);
  const auto& r = p.read(
      R"({"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc 'rm -rf build'","exit_code":null,"status":"declined"}})"
      "\n"
      R"({"type":"item.started","item":{"id":"item_1","type":"mcp_tool_call","server":"docs","tool":"search","status":"in_progress"}})"
      "\n"
      R"({"type":"item.completed","item":{"id":"item_2","type":"web_search","query":"catch2 approx"}})"
      "\n"
      R"({"type":"item.updated","item":{"id":"item_3","type":"todo_list","items":[{"text":"a","completed":true},{"text":"b","completed":false}]}})"
      "\n");
  CHECK(r.permission_denials == std::vector<std::string>{"rm -rf build"});
  CHECK(p.said("[bash] rm -rf build"));
  CHECK(p.said("[denied] rm -rf build"));
  CHECK(p.said("[tool] docs/search"));
  CHECK(p.said("[search] catch2 approx"));
  CHECK(p.said("[todo] 1 of 2 done"));
  CHECK(r.activity == "search catch2 approx");
}

TEST_CASE("codex: a resumed thread's own spend is its snapshot minus the previous one",
          "[agents][codex]") {
  auto turn = [](int in, int cached, int out) {
    return R"({"type":"thread.started","thread_id":"t"})"
           "\n"
           R"({"type":"turn.completed","usage":{"input_tokens":)" +
           std::to_string(in) + R"(,"cached_input_tokens":)" + std::to_string(cached) +
           R"(,"output_tokens":)" + std::to_string(out) + "}}\n";
  };
  auto first = sf::test::read_whole(agent_adapter::codex, turn(1000, 600, 50)).usage;
  auto second = sf::test::read_whole(agent_adapter::codex, turn(2500, 1600, 90)).usage;
  auto own = sf::agents::usage_since(second, first);
  CHECK(own.input == (2500 - 1600) - (1000 - 600));
  CHECK(own.cached == 1000);
  CHECK(own.output == 40);
  CHECK_FALSE(own.usd);
}
