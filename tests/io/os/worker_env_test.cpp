// What of the caller's environment a worker gets: the allowlist, and the variables coding
// agents read (their keys and endpoints), never CLAUDECODE or anything else.
#include "io/os/worker_launch.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

TEST_CASE("workers get the agents' keys and endpoints, not the rest of the environment",
          "[io][agents]") {
  ::setenv("ANTHROPIC_API_KEY", "sk-test", 1);
  ::setenv("OPENAI_BASE_URL", "http://localhost:1", 1);
  ::setenv("XDG_CONFIG_HOME", "/tmp/cfg", 1);
  ::setenv("CLAUDECODE", "1", 1);
  ::setenv("SF_TEST_PRIVATE_SETTING", "secret", 1);
  auto env = sf::io::allowlisted_environment();
  auto has = [&](const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
  };
  CHECK(has("ANTHROPIC_API_KEY=sk-test"));
  CHECK(has("OPENAI_BASE_URL=http://localhost:1"));
  CHECK(has("XDG_CONFIG_HOME=/tmp/cfg"));
  CHECK(has(std::string("PATH=") + std::getenv("PATH")));
  CHECK_FALSE(has("CLAUDECODE=1"));
  CHECK_FALSE(has("SF_TEST_PRIVATE_SETTING=secret"));
  for (const char* k : {"ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "XDG_CONFIG_HOME", "CLAUDECODE",
                        "SF_TEST_PRIVATE_SETTING"})
    ::unsetenv(k);
}
