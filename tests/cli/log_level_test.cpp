// `-q` and `-v` set the level of the coordinator's log, `.sf/parallel/coordinator.log`.
#include "support/project.hpp"

#include <catch2/catch.hpp>

using namespace sf::test;

namespace {

// Runs a one-unit plan to the end in the foreground with `args`; returns the log.
std::string coordinator_log_of(const std::string& args) {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n");
  auto r = p.cli(args);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return read_file(p.path(".sf/parallel/coordinator.log"));
}

} // namespace

TEST_CASE("option -q leaves the info lines out of the coordinator log, the default has them",
          "[cli][log-level]") {
  auto normal = coordinator_log_of("start --yes");
  CHECK(normal.find("[info] coordinator: pid") != std::string::npos);
  CHECK(normal.find("[debug]") == std::string::npos);
  auto quiet = coordinator_log_of("-q start --yes");
  CHECK(quiet.find("[info]") == std::string::npos);
  auto after_verb = coordinator_log_of("start --yes -qq");
  CHECK(after_verb.find("[info]") == std::string::npos);
  CHECK(after_verb.find("[warning]") == std::string::npos);
}
