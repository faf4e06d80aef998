#pragma once
/// Bringing a checkout that has the integration branch checked out from the branch's old tree to
/// its new one, the way `receive.denyCurrentBranch=updateInstead` would: under the checkout's
/// index lock, touching only the paths the move changes, and only when the user changed none of
/// them (index entry and file both still those of the old tree). Everything else the user has
/// staged or edited stays exactly as it was.

#include "io/git.hpp"
#include "io/git_checkouts.hpp"
#include "io/index_lock.hpp"

#include <caf/expected.hpp>

#include <git2.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sf::io {

/// A move of a checkout between two trees of its branch.
struct checkout_move {
  git_oid from{};                 ///< Tree the checkout's index and files show now.
  git_oid to{};                   ///< Tree they must show afterwards.
  std::vector<std::string> paths; ///< File paths whose entries differ (either tree may lack one).
};

/// A checkout checked, under its held index lock, against a move; ready to apply it once the
/// branch has moved.
class checkout_update {
public:
  /// Takes `c`'s index lock (waiting up to `patience`; `ec::locked` after), reads the index
  /// afresh under it, and checks every path of `m`: the index entry and the file must be those of
  /// `m.from`, or with `accept_to` also those of `m.to` (finishing an update a crash cut short).
  /// Paths that fail are listed by `dirty()`; then nothing may be applied.
  static caf::expected<checkout_update> prepare(const git_checkout& c, const checkout_move& m,
                                                bool accept_to,
                                                std::chrono::milliseconds patience);

  /// The same check without taking the lock and without preparing anything: for dry runs.
  static caf::expected<std::vector<std::string>> inspect(const git_checkout& c,
                                                         const checkout_move& m);

  checkout_update(checkout_update&&) noexcept = default;
  checkout_update& operator=(checkout_update&&) noexcept = default;
  ~checkout_update();

  /// Sorted paths at which the user changed the index or the file.
  const std::vector<std::string>& dirty() const noexcept { return dirty_; }

  /// The held index lock (its identity goes into the crash journal).
  const index_lock& lock() const noexcept { return *lock_; }

  /// Writes the files of `to` at every path and installs the updated index, releasing the lock.
  /// The branch must already name a commit of `to`. On failure the lock is released and the
  /// index is left as it was (files may be half written: `prepare` with `accept_to` finishes).
  caf::error apply();

  /// Releases the lock and changes nothing.
  void abandon() noexcept;

  /// One path of the move, with its entry on both sides.
  struct step {
    std::string path;                ///< Relative, '/'-separated.
    std::optional<git_oid> from_id;  ///< Blob (or commit, for a submodule) in `from`.
    git_filemode_t from_mode{};      ///< Its mode.
    std::optional<git_oid> to_id;    ///< Blob in `to`; empty when the move removes the path.
    git_filemode_t to_mode{};        ///< Its mode.
    bool skip_worktree = false;      ///< The index marks it skip-worktree (sparse checkout).
  };

private:
  checkout_update() = default;

  git_checkout checkout_;
  repo_ptr repo_;
  index_ptr index_;
  std::string index_copy_; ///< The index being edited: a copy beside the real one.
  std::optional<index_lock> lock_;
  std::vector<step> steps_;
  std::vector<std::string> dirty_;
};

} // namespace sf::io
