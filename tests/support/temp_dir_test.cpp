#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

TEST_CASE("temp_dir removes its folder and run captures output", "[support]") {
  std::string kept;
  {
    sf::test::temp_dir d;
    kept = d.path();
    sf::test::write_file(d / "a/b.txt", "hello");
    auto r = sf::test::run("cat a/b.txt; echo oops >&2; exit 3", d.path());
    CHECK(r.exit_code == 3);
    CHECK(r.out == "hello");
    CHECK(r.err == "oops\n");
  }
  CHECK_FALSE(std::filesystem::exists(kept));
}
