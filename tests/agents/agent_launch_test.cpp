// Launch lines per adapter (agents/agent_launch.hpp), exactly as ../shared/AGENTS.md gives them.
#include "agents/agent_launch.hpp"
#include "messages/error.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <set>

using sf::agent_adapter;
using sf::agent_profile;
using sf::agents::build_launch;
using sf::agents::launch_request;
using strings = std::vector<std::string>;

namespace {

agent_profile profile(agent_adapter a, std::string model = "", std::string mode = "",
                      strings args = {}) {
  agent_profile p;
  p.name = "main";
  p.adapter = a;
  p.model = std::move(model);
  p.permission_mode = std::move(mode);
  p.extra_args = std::move(args);
  return p;
}

launch_request request(std::string session = "", bool resume = false) {
  launch_request r;
  r.prompt_file = "/run/prompt.md";
  r.prompt_text = "Fix the parser.";
  r.worktree = "/wt/M001";
  r.session_id = std::move(session);
  r.resume = resume;
  return r;
}

} // namespace

TEST_CASE("claude: print mode, stream-json, pinned or resumed session, prompt on stdin",
          "[agents][launch]") {
  auto fresh =
      build_launch(profile(agent_adapter::claude, "sonnet", "acceptEdits", {"--max-turns", "40"}),
                   request("5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13"));
  REQUIRE(fresh);
  CHECK(fresh->argv == strings{"claude", "-p", "--output-format", "stream-json", "--verbose",
                               "--permission-mode", "acceptEdits", "--model", "sonnet",
                               "--max-turns", "40", "--session-id",
                               "5b0c2e1a-93d4-4f7e-8a61-2c9f0d7e4b13"});
  CHECK(fresh->stdin_is_prompt);
  CHECK(fresh->cwd == "/wt/M001");
  CHECK(fresh->unset_env == strings{"CLAUDECODE"});
  CHECK(fresh->set_env.empty());

  auto resumed = build_launch(profile(agent_adapter::claude), request("abc", true));
  REQUIRE(resumed);
  CHECK(resumed->argv ==
        strings{"claude", "-p", "--output-format", "stream-json", "--verbose", "--resume", "abc"});
  CHECK(resumed->stdin_is_prompt);

  auto unpinned = build_launch(profile(agent_adapter::claude), request());
  REQUIRE(unpinned);
  CHECK(unpinned->argv == strings{"claude", "-p", "--output-format", "stream-json", "--verbose"});
}

TEST_CASE("codex: exec --json with -C and stdin; resume with the prompt as an argument",
          "[agents][launch]") {
  auto p = profile(agent_adapter::codex, "gpt-5-codex", "workspace-write", {"--color", "never"});
  auto fresh = build_launch(p, request());
  REQUIRE(fresh);
  CHECK(fresh->argv == strings{"codex", "exec", "--json", "--sandbox", "workspace-write",
                               "--skip-git-repo-check", "-m", "gpt-5-codex", "--color", "never",
                               "-C", "/wt/M001", "-"});
  CHECK(fresh->stdin_is_prompt);
  CHECK(fresh->unset_env.empty());

  auto resumed = build_launch(p, request("019a4c2e", true));
  REQUIRE(resumed);
  CHECK(resumed->argv == strings{"codex", "exec", "--json", "-m", "gpt-5-codex", "-c",
                                 "sandbox_mode=workspace-write", "--color", "never", "resume",
                                 "019a4c2e", "Fix the parser."});
  CHECK_FALSE(resumed->stdin_is_prompt);
  CHECK(resumed->cwd == "/wt/M001");

  auto plain = build_launch(profile(agent_adapter::codex), request());
  REQUIRE(plain);
  CHECK(plain->argv ==
        strings{"codex", "exec", "--json", "--skip-git-repo-check", "-C", "/wt/M001", "-"});
}

TEST_CASE("aider: message file, unattended flags, restored history on resume", "[agents][launch]") {
  auto p = profile(agent_adapter::aider, "sonnet", "", {"src/parse.cc"});
  const strings fixed{"aider",
                      "--message-file",
                      "/run/prompt.md",
                      "--yes-always",
                      "--no-auto-commits",
                      "--no-pretty",
                      "--no-stream",
                      "--analytics-disable",
                      "--no-check-update",
                      "--no-show-release-notes"};
  auto fresh = build_launch(p, request());
  REQUIRE(fresh);
  auto expected = fixed;
  expected.insert(expected.end(), {"--model", "sonnet", "src/parse.cc"});
  CHECK(fresh->argv == expected);
  CHECK_FALSE(fresh->stdin_is_prompt);

  // aider has no session id: resuming reloads the chat history of the worktree.
  auto resumed = build_launch(p, request("", true));
  REQUIRE(resumed);
  expected = fixed;
  expected.insert(expected.end(), {"--restore-chat-history", "--model", "sonnet", "src/parse.cc"});
  CHECK(resumed->argv == expected);
}

TEST_CASE("generic: the profile's command, prompt on stdin and in SF_PROMPT_FILE",
          "[agents][launch]") {
  auto p = profile(agent_adapter::generic, "ignored");
  p.command = {"my-agent", "--fast"};
  auto line = build_launch(p, request());
  REQUIRE(line);
  CHECK(line->argv == strings{"my-agent", "--fast"});
  CHECK(line->stdin_is_prompt);
  CHECK(line->set_env ==
        std::vector<std::pair<std::string, std::string>>{{"SF_PROMPT_FILE", "/run/prompt.md"}});
}

TEST_CASE("a profile's command replaces the program and keeps its own arguments",
          "[agents][launch]") {
  auto p = profile(agent_adapter::claude);
  p.command = {"npx", "claude"};
  auto line = build_launch(p, request());
  REQUIRE(line);
  CHECK(line->argv ==
        strings{"npx", "claude", "-p", "--output-format", "stream-json", "--verbose"});
}

TEST_CASE("launch errors name the profile and the fix", "[agents][launch]") {
  auto no_command = build_launch(profile(agent_adapter::generic), request());
  REQUIRE_FALSE(no_command);
  CHECK(sf::code_of(no_command.error()) == sf::ec::invalid_input);
  CHECK(sf::describe(no_command.error()) ==
        "agent profile 'main' uses the generic adapter but has no command: add `command:` (the "
        "program to run) to that profile in .sf/PREFERENCES.md");

  auto generic = profile(agent_adapter::generic);
  generic.command = {"x"};
  auto no_resume = build_launch(generic, request("s", true));
  REQUIRE_FALSE(no_resume);
  CHECK(sf::describe(no_resume.error()).find("cannot resume") != std::string::npos);

  for (auto a : {agent_adapter::claude, agent_adapter::codex}) {
    auto no_id = build_launch(profile(a), request("", true));
    REQUIRE_FALSE(no_id);
    CHECK(sf::describe(no_id.error()) ==
          "agent profile 'main': no session id recorded to resume; start the agent afresh");
  }
  CHECK(sf::agents::supports_resume(agent_adapter::claude));
  CHECK(sf::agents::supports_resume(agent_adapter::codex));
  CHECK(sf::agents::supports_resume(agent_adapter::aider));
  CHECK_FALSE(sf::agents::supports_resume(agent_adapter::generic));
}

TEST_CASE("the launch environment drops and sets the line's variables", "[agents][launch]") {
  sf::agents::launch_line line;
  line.unset_env = {"CLAUDECODE"};
  line.set_env = {{"SF_PROMPT_FILE", "/p"}};
  auto env = sf::agents::launch_environment(
      line, {"PATH=/bin", "CLAUDECODE=1", "CLAUDECODE_X=keep", "SF_PROMPT_FILE=/old"});
  CHECK(env == strings{"PATH=/bin", "CLAUDECODE_X=keep", "SF_PROMPT_FILE=/p"});
}

TEST_CASE("session uuids are random version 4 uuids", "[agents][launch]") {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto id = sf::agents::make_session_uuid();
    REQUIRE(std::regex_match(id, v4));
    seen.insert(id);
  }
  CHECK(seen.size() == 200);
}
