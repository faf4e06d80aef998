#include "core/milestone_id.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/io_test_util.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using namespace sf;
using namespace sf::io;
using sf::test::temp_dir;

TEST_CASE("ensure_parallel_dir creates .sf and .sf/parallel with safe modes",
          "[io][parallel_dir]") {
  temp_dir root;
  auto old_mask = ::umask(022);
  auto dir = ensure_parallel_dir(root.path());
  ::umask(old_mask);
  REQUIRE(dir);
  CHECK(dir->fd.get() >= 0);
  CHECK(dir->path == root / ".sf/parallel");
  CHECK(sf::test::mode_of(root / ".sf") == 0755);
  CHECK(sf::test::mode_of(root / ".sf/parallel") == 0700);
  // Idempotent.
  CHECK(ensure_parallel_dir(root.path()));
  CHECK(sf::test::mode_of(root / ".sf/parallel") == 0700);
}

TEST_CASE("ensure_parallel_dir tightens a looser mode", "[io][parallel_dir]") {
  temp_dir root;
  std::filesystem::create_directories(root / ".sf/parallel");
  REQUIRE(::chmod((root / ".sf/parallel").c_str(), 0755) == 0);
  REQUIRE(ensure_parallel_dir(root.path()));
  CHECK(sf::test::mode_of(root / ".sf/parallel") == 0700);
}

TEST_CASE("ensure_parallel_dir refuses symbolic links", "[io][parallel_dir][symlink]") {
  temp_dir root;
  std::filesystem::create_directories(root / "decoy");
  SECTION(".sf/parallel is a link") {
    std::filesystem::create_directories(root / ".sf");
    REQUIRE(::symlink((root / "decoy").c_str(), (root / ".sf/parallel").c_str()) == 0);
  }
  SECTION(".sf is a link") {
    REQUIRE(::symlink((root / "decoy").c_str(), (root / ".sf").c_str()) == 0);
  }
  auto dir = ensure_parallel_dir(root.path());
  REQUIRE_FALSE(dir);
  CHECK(code_of(dir.error()) == ec::unsafe_path);
  CHECK(describe(dir.error()).find(root / ".sf") != std::string::npos);
  CHECK(code_of(open_parallel_dir(root.path()).error()) == ec::unsafe_path);
  // Nothing was created through the link.
  CHECK(sf::test::list_dir(root / "decoy").empty());
}

TEST_CASE("ensure_parallel_dir refuses a folder owned by another user", "[io][parallel_dir]") {
  if (::geteuid() != 0)
    return; // Only root can hand a folder to another user.
  temp_dir root;
  std::filesystem::create_directories(root / ".sf/parallel");
  REQUIRE(::chown((root / ".sf/parallel").c_str(), 65534, 65534) == 0);
  REQUIRE(::chmod((root / ".sf/parallel").c_str(), 0777) == 0);
  auto dir = ensure_parallel_dir(root.path());
  REQUIRE_FALSE(dir);
  CHECK(code_of(dir.error()) == ec::unsafe_path);
  CHECK(describe(dir.error()).find("owned by uid 65534") != std::string::npos);
  // Refused before touching it.
  CHECK(sf::test::mode_of(root / ".sf/parallel") == 0777);
}

TEST_CASE("open_parallel_dir does not create anything", "[io][parallel_dir]") {
  temp_dir root;
  auto dir = open_parallel_dir(root.path());
  REQUIRE_FALSE(dir);
  CHECK(code_of(dir.error()) == ec::not_found);
  CHECK(sf::test::list_dir(root.path()).empty());
}

TEST_CASE("temp names and protocol file names", "[io][parallel_dir]") {
  CHECK(is_temp_name("M001.status.json.tmp.ab12"));
  CHECK(is_temp_name("M001.signal.json.tmp.claim.ff"));
  CHECK(is_temp_name("x.tmp"));
  CHECK_FALSE(is_temp_name("M001.status.json"));

  auto st = parse_parallel_name("M001.status.json");
  REQUIRE(st);
  CHECK(st->mid == "M001");
  CHECK(st->kind == parallel_file_kind::status);
  auto sig = parse_parallel_name("feature_x-2.signal.json");
  REQUIRE(sig);
  CHECK(sig->mid == "feature_x-2");
  CHECK(sig->kind == parallel_file_kind::signal);

  CHECK_FALSE(parse_parallel_name("M001.status.json.tmp.12ab"));
  CHECK_FALSE(parse_parallel_name("M001.tmp.status.json"));
  CHECK_FALSE(parse_parallel_name(".status.json"));
  CHECK_FALSE(parse_parallel_name("1abc.status.json"));
  CHECK_FALSE(parse_parallel_name("M 1.status.json"));
  CHECK_FALSE(parse_parallel_name("M001.other.json"));
  CHECK_FALSE(parse_parallel_name("M001.status.json.bak"));
  CHECK_FALSE(parse_parallel_name(std::string(65, 'M') + ".status.json"));
  CHECK(parse_parallel_name(std::string(64, 'M') + ".status.json"));
}

TEST_CASE("valid_mid follows the id pattern", "[io][parallel_dir]") {
  CHECK(core::valid_milestone_id("M001"));
  CHECK(core::valid_milestone_id("a"));
  CHECK(core::valid_milestone_id("A-b_9"));
  CHECK_FALSE(core::valid_milestone_id(""));
  CHECK_FALSE(core::valid_milestone_id("_M"));
  CHECK_FALSE(core::valid_milestone_id("9M"));
  CHECK_FALSE(core::valid_milestone_id("M/1"));
  CHECK_FALSE(core::valid_milestone_id("M.1"));
  CHECK_FALSE(core::valid_milestone_id(".."));
  CHECK_FALSE(core::valid_milestone_id(std::string("M\0", 2)));
}
