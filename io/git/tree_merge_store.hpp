#pragma once
/// The trees one tree merge works on: each tree of the object database read once, and folders
/// the merge builds in memory (the rename alignment's rewritten trees), which reach the object
/// database only when the merge's result holds them.

#include "io/git/git.hpp"

#include <caf/expected.hpp>

#include <git2.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sf::io {

/// Hashes an object id for unordered containers (ids are uniform: their first bytes suffice).
struct oid_hash {
  std::size_t operator()(const git_oid& id) const {
    std::size_t h;
    std::memcpy(&h, id.id, sizeof h);
    return h;
  }
};

/// Compares object ids for unordered containers.
struct oid_equal {
  bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_equal(&a, &b) != 0; }
};

/// One name in a folder: absent, or an object id with its mode.
struct folder_entry {
  bool present = false;
  git_oid id{};
  git_filemode_t mode = GIT_FILEMODE_UNREADABLE; ///< As git_tree_entry_filemode gives it.

  /// True for a folder.
  bool tree() const { return present && mode == GIT_FILEMODE_TREE; }
  /// True for a blob, link or submodule.
  bool file() const { return present && mode != GIT_FILEMODE_TREE; }
  /// True for a blob (plain or executable).
  bool regular() const {
    return present && (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE);
  }
};

/// True when both are absent, or both have the same id and mode.
bool same_entry(const folder_entry& a, const folder_entry& b);

/// A named entry as a folder lists it.
struct folder_item {
  std::string name;
  git_oid id{};
  std::uint32_t attr = 0;                        ///< The mode as the tree records it.
  git_filemode_t mode = GIT_FILEMODE_UNREADABLE; ///< The mode as git_tree_entry_filemode gives it.
};

/// A folder kept in memory: its entries sorted by name, and its bytes as a git tree object.
struct held_folder {
  std::vector<folder_item> items;
  std::string data;
  bool written = false; ///< Already in the object database.
};

/// A view of one folder: a tree of the object database, one held in memory, or none (empty).
class folder {
public:
  /// No folder: it lists nothing.
  folder() = default;
  /// A tree of the object database (may be null: none).
  explicit folder(const git_tree* tree);
  /// A folder held in memory under `id`.
  folder(const git_oid& id, const held_folder* held);

  /// False for none.
  bool exists() const { return tree_ != nullptr || held_ != nullptr; }
  /// Number of entries.
  std::size_t size() const;
  /// Name of entry `i`.
  const char* name(std::size_t i) const;
  /// Name of entry `i`, with its length.
  std::string_view name_view(std::size_t i) const;
  /// Entry `i`.
  folder_entry entry(std::size_t i) const;
  /// Entry `i` with its name and both forms of its mode.
  folder_item item(std::size_t i) const;
  /// The entry called `name`, absent when there is none.
  folder_entry find(const std::string& name) const;
  /// The folder's id as a git tree (only when it exists).
  const git_oid& id() const { return id_; }

private:
  const git_tree* tree_ = nullptr;
  const held_folder* held_ = nullptr;
  git_oid id_{};
};

/// One name of a union of folders, with the entry each folder has under it.
struct joined_name {
  std::string_view name; ///< Valid while the folders are.
  folder_entry at[3];
};

/// The names of up to three folders (none counts as empty), each once in name order, with each
/// folder's entry: one pass over the folders' own order instead of a lookup per name and folder.
std::vector<joined_name> join_names(const folder& a, const folder& b, const folder& c);

/// Reads and holds the folders of one merge; handed out views and pointers live as long as it.
class tree_store {
public:
  /// A store reading from and writing to `repo`.
  explicit tree_store(git_repository* repo) : repo_(repo) {}

  /// The repository the store works on.
  git_repository* repo() const { return repo_; }

  /// The database tree `id`, read once per store.
  caf::expected<const git_tree*> read(const git_oid& id);
  /// The folder `id`: one held in memory, else the database tree.
  caf::expected<folder> open(const git_oid& id);
  /// The folder `e` names; none unless `e` is a folder.
  caf::expected<folder> open(const folder_entry& e);
  /// The entry at the slash-separated `path` below `root`; absent when a part of it is missing.
  caf::expected<folder_entry> find_path(const folder& root, const std::string& path);

  /// Keeps a folder of `items` (sorted by name) in memory and gives its id as a git tree;
  /// nothing is written.
  git_oid hold(std::vector<folder_item> items);
  /// Writes the folder `id` to the object database if it is held and not yet written, with the
  /// held folders it holds first.
  caf::error write_held(const git_oid& id);
  /// Writes a tree of `items` (any order) to the object database, with the held folders it holds
  /// first, and gives its id.
  caf::expected<git_oid> write(std::vector<folder_item> items);

private:
  caf::expected<git_oid> write_object(const std::vector<folder_item>& items,
                                      const std::string& data);
  caf::expected<git_odb*> odb();

  git_repository* repo_;
  odb_ptr odb_;
  std::unordered_map<git_oid, tree_ptr, oid_hash, oid_equal> read_;
  std::unordered_map<git_oid, held_folder, oid_hash, oid_equal> held_;
  std::unordered_map<std::string, folder> dirs_; ///< By root id and path: the folder there.
};

} // namespace sf::io
