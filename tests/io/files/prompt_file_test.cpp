// The prompt file of a running unit: written safely under .sf/parallel, removed after.
#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/prompt_file.hpp"
#include "io/files/runtime_files.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using sf::test::read_file;
using sf::test::temp_dir;

TEST_CASE("the prompt file is written private, replaced whole and removed", "[io][prompt]") {
  temp_dir root;
  auto path = sf::io::write_prompt_file(root.path(), "M001", "first\n");
  REQUIRE(path);
  CHECK(*path == root.path() + "/.sf/parallel/M001.prompt.md");
  CHECK(*path == sf::core::prompt_file(root.path(), "M001"));
  CHECK(read_file(*path) == "first\n");
  struct stat st {};
  REQUIRE(::stat(path->c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(sf::io::write_prompt_file(root.path(), "M001", "second\n"));
  CHECK(read_file(*path) == "second\n");
  CHECK(sf::io::is_runtime_name("M001.prompt.md"));
  sf::io::remove_prompt_file(root.path(), "M001");
  CHECK_FALSE(std::filesystem::exists(*path));
  sf::io::remove_prompt_file(root.path(), "M001"); // Nothing there: nothing happens.
  auto bad = sf::io::write_prompt_file(root.path(), "../x", "t");
  REQUIRE_FALSE(bad);
  CHECK(sf::code_of(bad.error()) == sf::ec::invalid_input);
}

TEST_CASE("a link or FIFO planted as the prompt file is refused, never followed",
          "[io][prompt][symlink]") {
  temp_dir root;
  REQUIRE(sf::io::ensure_parallel_dir(root.path()));
  auto target = root / "precious.txt";
  sf::test::write_file(target, "keep");
  auto at = sf::core::prompt_file(root.path(), "M001");
  REQUIRE(::symlink(target.c_str(), at.c_str()) == 0);
  auto linked = sf::io::write_prompt_file(root.path(), "M001", "prompt");
  REQUIRE_FALSE(linked);
  CHECK(sf::code_of(linked.error()) == sf::ec::unsafe_path);
  CHECK(sf::describe(linked.error()).find("M001.prompt.md") != std::string::npos);
  // Removing leaves what is not a plain file to `doctor`.
  sf::io::remove_prompt_file(root.path(), "M001");
  CHECK(std::filesystem::is_symlink(at));
  CHECK(read_file(target) == "keep");
  REQUIRE(::unlink(at.c_str()) == 0);
  REQUIRE(::mkfifo(at.c_str(), 0600) == 0);
  auto fifo = sf::io::write_prompt_file(root.path(), "M001", "prompt");
  REQUIRE_FALSE(fifo);
  CHECK(sf::code_of(fifo.error()) == sf::ec::unsafe_path);
}
