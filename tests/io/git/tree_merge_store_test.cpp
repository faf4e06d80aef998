// The tree store must give a folder it holds in memory the very id libgit2 (and git) give the
// same tree once written: the merge compares held and database folders by id alone.
#include "io/git/git.hpp"
#include "io/git/tree_merge_store.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

std::string hex(const git_oid& id) {
  char buf[GIT_OID_HEXSZ + 1];
  return git_oid_tostr(buf, sizeof buf, &id);
}

git_oid blob(git_repository* repo, const std::string& text) {
  git_oid id;
  REQUIRE(git_blob_create_from_buffer(&id, repo, text.data(), text.size()) == 0);
  return id;
}

sf::io::folder_item item(const std::string& name, const git_oid& id, git_filemode_t mode) {
  return sf::io::folder_item{name, id, static_cast<std::uint32_t>(mode), mode};
}

/// The tree of `items` as libgit2's tree builder writes it.
git_oid built(git_repository* repo, const std::vector<sf::io::folder_item>& items) {
  git_treebuilder* bld = nullptr;
  REQUIRE(git_treebuilder_new(&bld, repo, nullptr) == 0);
  for (const auto& it : items)
    REQUIRE(git_treebuilder_insert(nullptr, bld, it.name.c_str(), &it.id, it.mode) == 0);
  git_oid id;
  REQUIRE(git_treebuilder_write(&id, bld) == 0);
  git_treebuilder_free(bld);
  return id;
}

struct repo_fixture {
  sf::test::temp_dir d;
  sf::io::repo_ptr repo;
  repo_fixture() {
    sf::test::init_git_repo(d.path());
    auto r = sf::io::open_repo(d.path());
    REQUIRE(r);
    repo = std::move(*r);
  }
};

} // namespace

TEST_CASE("a held folder has the id libgit2's tree builder gives the same entries", "[merge]") {
  repo_fixture f;
  git_repository* repo = f.repo.get();
  auto x = blob(repo, "x\n");
  auto sub = built(repo, {item("f.txt", x, GIT_FILEMODE_BLOB)});
  // A folder `a` sorts as "a/": after "a-b" and "a.txt", before "a0" ('-' < '.' < '/' < '0').
  std::vector<sf::io::folder_item> items{
      item("a", sub, GIT_FILEMODE_TREE),   item("a-b", x, GIT_FILEMODE_BLOB),
      item("a.txt", x, GIT_FILEMODE_BLOB), item("a0", x, GIT_FILEMODE_BLOB_EXECUTABLE),
      item("link", x, GIT_FILEMODE_LINK),  item("z", sub, GIT_FILEMODE_TREE),
  };
  auto expected = built(repo, items);
  sf::io::tree_store store{repo};
  auto held = store.hold(items); // Sorted by name, as the store wants them.
  CHECK(hex(held) == hex(expected));
  // Written in any order, the same tree.
  std::vector<sf::io::folder_item> shuffled{items.rbegin(), items.rend()};
  auto written = store.write(shuffled);
  REQUIRE(written);
  CHECK(hex(*written) == hex(expected));
}

TEST_CASE("a held folder reaches the object database only when written, its held folders first",
          "[merge]") {
  repo_fixture f;
  git_repository* repo = f.repo.get();
  auto x = blob(repo, "x\n");
  sf::io::tree_store store{repo};
  auto inner = store.hold({item("f.txt", x, GIT_FILEMODE_BLOB)});
  auto outer = store.hold({item("d", inner, GIT_FILEMODE_TREE)});
  git_odb* raw = nullptr;
  REQUIRE(git_repository_odb(&raw, repo) == 0);
  sf::io::odb_ptr odb{raw};
  CHECK(git_odb_exists(raw, &inner) == 0);
  CHECK(git_odb_exists(raw, &outer) == 0);
  auto d = store.open(outer);
  REQUIRE(d);
  CHECK(d->find("d").tree());
  REQUIRE(!store.write_held(outer));
  CHECK(git_odb_exists(raw, &inner) == 1);
  CHECK(git_odb_exists(raw, &outer) == 1);
}

TEST_CASE("a held copy of a tree keeps the modes the tree records", "[merge]") {
  // Old git wrote blobs as 100664: libgit2 reports them as 100644 but keeps the recorded mode
  // when it rewrites the tree, and so must a held copy, or its id would differ.
  repo_fixture f;
  git_repository* repo = f.repo.get();
  auto x = blob(repo, "x\n");
  std::string data = "100664 old.txt";
  data.push_back('\0');
  data.append(reinterpret_cast<const char*>(x.id), GIT_OID_RAWSZ);
  git_odb* raw = nullptr;
  REQUIRE(git_repository_odb(&raw, repo) == 0);
  sf::io::odb_ptr odb{raw};
  git_oid original;
  REQUIRE(git_odb_write(&original, raw, data.data(), data.size(), GIT_OBJECT_TREE) == 0);
  sf::io::tree_store store{repo};
  auto t = store.open(original);
  REQUIRE(t);
  REQUIRE(t->size() == 1);
  auto e = t->item(0);
  CHECK(e.mode == GIT_FILEMODE_BLOB);
  CHECK(e.attr == 0100664);
  CHECK(hex(store.hold({e})) == hex(original));
}

TEST_CASE("join_names lists each name of three folders once, in name order", "[merge]") {
  repo_fixture f;
  git_repository* repo = f.repo.get();
  auto x = blob(repo, "x\n");
  auto y = blob(repo, "y\n");
  auto sub = built(repo, {item("f.txt", x, GIT_FILEMODE_BLOB)});
  sf::io::tree_store store{repo};
  // `a` is a folder in the first tree (git lists it after "a.txt") and a file in the second.
  auto first = store.open(
      built(repo, {item("a", sub, GIT_FILEMODE_TREE), item("a.txt", x, GIT_FILEMODE_BLOB)}));
  auto second =
      store.open(built(repo, {item("a", y, GIT_FILEMODE_BLOB), item("b", x, GIT_FILEMODE_BLOB)}));
  REQUIRE(first);
  REQUIRE(second);
  auto held = store.open(store.hold({item("a.txt", y, GIT_FILEMODE_BLOB)}));
  REQUIRE(held);
  auto joined = sf::io::join_names(*first, *second, *held);
  REQUIRE(joined.size() == 3);
  CHECK(joined[0].name == "a");
  CHECK(joined[0].at[0].tree());
  CHECK(joined[0].at[1].regular());
  CHECK(!joined[0].at[2].present);
  CHECK(joined[1].name == "a.txt");
  CHECK(hex(joined[1].at[0].id) == hex(x));
  CHECK(!joined[1].at[1].present);
  CHECK(hex(joined[1].at[2].id) == hex(y));
  CHECK(joined[2].name == "b");
  CHECK(joined[2].at[1].present);
  // None counts as empty.
  CHECK(sf::io::join_names(sf::io::folder{}, sf::io::folder{}, sf::io::folder{}).empty());
}
