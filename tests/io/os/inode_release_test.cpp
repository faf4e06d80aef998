// Deferred freeing of replaced and removed files: nothing is lost, nothing stays open.
#include "io/io_test_util.hpp"
#include "io/os/inode_release.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace fs = std::filesystem;
using sf::test::temp_dir;

namespace {

/// Descriptors of this process that still point at something under `dir` (deleted or not).
std::size_t open_under(const std::string& dir) {
  const auto prefix = fs::weakly_canonical(dir).string();
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind(prefix, 0) == 0)
      ++n;
  }
  return n;
}

} // namespace

TEST_CASE("a held inode outlives its unlink until the closer releases it",
          "[io][inode_release]") {
  temp_dir dir;
  sf::test::write_file(dir / "old.json", "old content");
  auto held = sf::io::hold_inode(dir / "old.json");
  REQUIRE(held);
  REQUIRE(::unlink((dir / "old.json").c_str()) == 0);
  CHECK(open_under(dir.path()) == 1); // Unlinked, still open: its blocks are not freed yet.
  sf::io::release_later(std::move(held));
  CHECK_FALSE(held);
  sf::io::wait_released();
  CHECK(open_under(dir.path()) == 0);
  // Nothing to hold: an empty holder, and releasing it is a no-op.
  auto none = sf::io::hold_inode(dir / "missing");
  CHECK_FALSE(none);
  sf::io::release_later(std::move(none));
}

TEST_CASE("unlink_deferred removes at once and reports errors like unlink",
          "[io][inode_release]") {
  temp_dir dir;
  sf::test::write_file(dir / "gone", "x");
  CHECK(sf::io::unlink_deferred(dir / "gone") == 0);
  CHECK_FALSE(fs::exists(dir / "gone"));
  errno = 0;
  CHECK(sf::io::unlink_deferred(dir / "gone") == -1);
  CHECK(errno == ENOENT);
  sf::io::wait_released();
  CHECK(open_under(dir.path()) == 0);
}

TEST_CASE("held_inodes covers a tree up to its limit and lets it be removed",
          "[io][inode_release]") {
  temp_dir dir;
  for (int i = 0; i < 5; ++i)
    sf::test::write_file(dir / ("tree/a/f" + std::to_string(i)), "data");
  sf::test::write_file(dir / "tree/top", "data");
  fs::create_symlink("/etc/hostname", dir / "tree/link"); // Held itself, never followed.
  {
    sf::io::held_inodes all;
    all.add_tree(dir / "tree");
    // 5 files, folder a, top, link and the tree folder itself.
    CHECK(open_under(dir / "tree") == 9);
    fs::remove_all(dir / "tree");
    CHECK_FALSE(fs::exists(dir / "tree"));
  }
  sf::io::wait_released();
  CHECK(open_under(dir.path()) == 0);
  // The limit bounds the descriptors a huge tree could take.
  for (int i = 0; i < 20; ++i)
    sf::test::write_file(dir / ("big/f" + std::to_string(i)), "data");
  {
    sf::io::held_inodes some;
    some.add_tree(dir / "big", 4);
    CHECK(open_under(dir / "big") == 4);
  }
  sf::io::wait_released();
  CHECK(open_under(dir.path()) == 0);
  CHECK(sf::test::list_dir(dir / "big").size() == 20); // Holding removes nothing.
}
