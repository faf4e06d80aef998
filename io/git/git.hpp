#pragma once
/// The libgit2 boundary: one-time setup, owning handles, error translation.

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <git2.h>

#include <memory>
#include <string>

namespace sf::io {

/// Initializes libgit2 once per process and turns on fsync of refs and objects; thread-safe.
void git_init_once();

/// A deleter that hands a libgit2 object back to its matching `git_*_free`.
template <class T, void (*Free)(T*)>
struct git_deleter {
  /// Frees `p` when it is not null.
  void operator()(T* p) const noexcept {
    if (p != nullptr)
      Free(p);
  }
};

/// Owning handle of a repository.
using repo_ptr = std::unique_ptr<git_repository, git_deleter<git_repository, git_repository_free>>;
/// Owning handle of a reference.
using reference_ptr = std::unique_ptr<git_reference, git_deleter<git_reference, git_reference_free>>;
/// Owning handle of a commit.
using commit_ptr = std::unique_ptr<git_commit, git_deleter<git_commit, git_commit_free>>;
/// Owning handle of a tree.
using tree_ptr = std::unique_ptr<git_tree, git_deleter<git_tree, git_tree_free>>;
/// Owning handle of an index.
using index_ptr = std::unique_ptr<git_index, git_deleter<git_index, git_index_free>>;
/// Owning handle of any object.
using object_ptr = std::unique_ptr<git_object, git_deleter<git_object, git_object_free>>;
/// Owning handle of a blob.
using blob_ptr = std::unique_ptr<git_blob, git_deleter<git_blob, git_blob_free>>;
/// Owning handle of a worktree.
using worktree_ptr = std::unique_ptr<git_worktree, git_deleter<git_worktree, git_worktree_free>>;
/// Owning handle of a signature.
using signature_ptr =
  std::unique_ptr<git_signature, git_deleter<git_signature, git_signature_free>>;
/// Owning handle of an object database.
using odb_ptr = std::unique_ptr<git_odb, git_deleter<git_odb, git_odb_free>>;
/// Owning handle of a raw object read from an object database.
using odb_object_ptr =
  std::unique_ptr<git_odb_object, git_deleter<git_odb_object, git_odb_object_free>>;
/// Owning handle of a status list.
using status_list_ptr =
  std::unique_ptr<git_status_list, git_deleter<git_status_list, git_status_list_free>>;
/// Owning handle of a config snapshot.
using config_ptr = std::unique_ptr<git_config, git_deleter<git_config, git_config_free>>;

/// An `ec::git_error` saying `what` failed on `where`, with libgit2's last message for this thread;
/// call it right after the failing libgit2 call.
caf::error git_fail(const char* what, const std::string& where);

/// The repository's own config file (`.git/config`), for writing; `root` is for messages.
caf::expected<config_ptr> open_local_config(git_repository* repo, const std::string& root);

/// Opens the repository whose working folder or git dir is exactly `path` (no upward search).
caf::expected<repo_ptr> open_repo(const std::string& path);

} // namespace sf::io
