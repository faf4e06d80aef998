#pragma once
/// Bringing a checkout that has the integration branch checked out from the branch's old tree to
/// its new one, the way `receive.denyCurrentBranch=updateInstead` would, without ever leaving
/// the user's index unguarded: the checkout's `index.lock` is held from the check to the end,
/// while git itself (`git read-tree -m -u` on a copy of the index, named by GIT_INDEX_FILE)
/// checks again and writes the files with the checkout's own filters, sparse rules and safety
/// checks; the copy then replaces the index through the held lock. Only paths the move changes
/// are touched, and only where the user changed none of them; everything else the user staged
/// or edited stays exactly as it was.

#include "io/git/git.hpp"
#include "io/git/git_checkouts.hpp"
#include "io/git/index_lock.hpp"

#include <caf/expected.hpp>

#include <git2.h>

#include <chrono>
#include <functional>
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
  /// Takes `c`'s index lock (waiting up to `patience`; `ec::locked` after), copies the index
  /// under it, and checks every path of `m`: the index entry and the file must be those of
  /// `m.from`, and git must agree (`read-tree -m -u -n`). Paths that fail are listed by
  /// `dirty()` (git's own reason, when only git refuses, by `refusal()`); then nothing may be
  /// applied.
  /// `on_locked` runs right after the lock is taken (the caller writes its crash journal
  /// there, so no crash can leave our lock unaccounted for); an error from it abandons. A
  /// readable `stop_fd` (>= 0) ends git's check early with `ec::unavailable`.
  static caf::expected<checkout_update>
  prepare(const git_checkout& c, const checkout_move& m, std::chrono::milliseconds patience,
          const std::function<caf::error(const index_lock&)>& on_locked = {}, int stop_fd = -1);

  /// For a move a crash cut short after the branch had moved: takes the lock the same way
  /// (`on_locked` as for `prepare`) and plans to finish it. Nothing is refused: what the user
  /// changed since is left to them.
  static caf::expected<checkout_update>
  prepare_finish(const git_checkout& c, const checkout_move& m, std::chrono::milliseconds patience,
                 const std::function<caf::error(const index_lock&)>& on_locked = {});

  /// The check of `prepare` without taking the lock or asking git: for dry runs.
  static caf::expected<std::vector<std::string>> inspect(const git_checkout& c,
                                                         const checkout_move& m);

  checkout_update(checkout_update&&) noexcept = default;
  checkout_update& operator=(checkout_update&&) noexcept = default;
  ~checkout_update();

  /// Sorted paths at which the user changed the index or the file.
  const std::vector<std::string>& dirty() const noexcept { return dirty_; }

  /// git's own words when git refuses a move our check found clean (or could not make, with an
  /// index libgit2 cannot read); empty otherwise. Then nothing may be applied either.
  const std::string& refusal() const noexcept { return refusal_; }

  /// The held index lock (its identity goes into the crash journal).
  const index_lock& lock() const noexcept { return *lock_; }

  /// Brings the files and the index to `to` and releases the lock; the branch must already
  /// name a commit of `to`. If git refuses now (the user changed a file since the check), the
  /// index still moves to `to` and the files stay as they are (shown as unstaged changes), and
  /// the error says so: the caller keeps its journal, and `prepare_finish` completes the rest.
  caf::error apply();

  /// Paths `apply` left as the user had them (finishing only): files changed since.
  const std::vector<std::string>& kept() const noexcept { return kept_; }

  /// Releases the lock and changes nothing.
  void abandon() noexcept;

  /// One path of the move, with its entry on both sides.
  struct step {
    std::string path;                ///< Relative, '/'-separated.
    std::optional<git_oid> from_id;  ///< Blob (or commit, for a submodule) in `from`.
    git_filemode_t from_mode{};      ///< Its mode.
    std::optional<git_oid> to_id;    ///< Blob in `to`; empty when the move removes the path.
    git_filemode_t to_mode{};        ///< Its mode.
    bool file_is_from = false;       ///< (finishing) the file still shows `from`.
  };

private:
  checkout_update() = default;
  static caf::expected<checkout_update>
  lock_and_copy(const git_checkout& c, std::chrono::milliseconds patience,
                const std::function<caf::error(const index_lock&)>& on_locked);
  caf::error apply_finish();

  git_checkout checkout_;
  checkout_move move_;
  bool finishing_ = false;
  repo_ptr repo_;
  std::string index_copy_; ///< The index being edited: a copy beside the real one.
  std::optional<index_lock> lock_;
  std::vector<step> steps_;
  std::vector<std::string> dirty_;
  std::string refusal_;
  std::vector<std::string> kept_;
};

} // namespace sf::io
