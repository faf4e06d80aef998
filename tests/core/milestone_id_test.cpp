#include "core/milestone_id.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/signal_file.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("milestone ids follow one rule", "[core]") {
  CHECK(sf::core::valid_milestone_id("M001"));
  CHECK(sf::core::valid_milestone_id("a"));
  CHECK(sf::core::valid_milestone_id("auth_v2-final"));
  CHECK(sf::core::valid_milestone_id("A" + std::string(63, 'x')));
  CHECK_FALSE(sf::core::valid_milestone_id("A" + std::string(64, 'x')));
  CHECK_FALSE(sf::core::valid_milestone_id(""));
  CHECK_FALSE(sf::core::valid_milestone_id("../x"));
  CHECK_FALSE(sf::core::valid_milestone_id(".."));
  CHECK_FALSE(sf::core::valid_milestone_id("-rf"));
  CHECK_FALSE(sf::core::valid_milestone_id("1abc"));
  CHECK_FALSE(sf::core::valid_milestone_id("M 1"));
  CHECK_FALSE(sf::core::valid_milestone_id("M/1"));
  CHECK_FALSE(sf::core::valid_milestone_id("M\n1"));
  CHECK_FALSE(sf::core::valid_milestone_id("M\xC3\xA9"));
  CHECK_FALSE(sf::core::valid_milestone_id(std::string(300, 'M')));
  CHECK(sf::core::not_a_milestone_id("9x") ==
        "\"9x\" is not a valid milestone id; " + std::string(sf::core::milestone_id_rule()));
}

TEST_CASE("every refusal of a milestone id explains the same rule", "[core]") {
  sf::test::temp_dir d;
  auto rule = std::string(sf::core::milestone_id_rule());
  auto text = sf::describe(sf::io::invalid_mid_error("../x"));
  CHECK(text.find("\"../x\" is not a valid milestone id; " + rule) != std::string::npos);
  auto sig = sf::io::send_signal(d.path(), "../x", sf::io::signal_kind::stop);
  REQUIRE(sig);
  CHECK(sf::describe(sig).find(rule) != std::string::npos);
}
