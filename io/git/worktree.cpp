#include "io/git/worktree.hpp"

#include "config/escape.hpp"
#include "config/plan.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/milestone_branch.hpp"
#include "io/git/tree_checkout.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace sf::io {

namespace {

caf::error bad_id(const std::string& mid) {
  return make_error(ec::invalid_input, "worktree of milestone " +
                                         core::not_a_milestone_id(escape_text(mid)));
}

caf::error sys_fail(const std::string& what, const std::string& path, const std::string& reason) {
  return make_error(ec::io_error, what + " " + path + " failed: " + reason +
                                    "; check permissions and free space there");
}

/// Paths and names shared by both entry points.
struct layout {
  std::string root;    // Canonical repository folder.
  std::string wt_dir;  // <root>/.sf/worktrees
  std::string wt_path; // <wt_dir>/<mid>
  std::string branch;  // milestone/<mid>
};

caf::expected<layout> make_layout(const std::string& root, const std::string& mid) {
  std::error_code ec_;
  auto canon = fs::canonical(root, ec_);
  if (ec_)
    return make_error(ec::not_found, "repository folder " + root + " cannot be resolved: " +
                                       ec_.message() + "; pass the repository's top folder");
  layout l;
  l.root = canon.string();
  l.wt_dir = core::worktrees_dir(l.root);
  l.wt_path = l.wt_dir + "/" + mid;
  l.branch = "milestone/" + mid;
  return l;
}

/// A milestone's layout and the repository it belongs to, open.
struct opened_layout {
  layout where;
  repo_ptr repo;
};

/// Checks the id, resolves the layout and opens the repository: where both entry points begin.
caf::expected<opened_layout> open_layout(const std::string& root, const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return bad_id(mid);
  auto l = make_layout(root, mid);
  if (!l)
    return l.error();
  auto repo = open_repo(l->root);
  if (!repo)
    return repo.error();
  return opened_layout{std::move(*l), std::move(*repo)};
}

/// Creates `path` as a real folder when missing; refuses a symbolic link or a file there.
caf::error ensure_real_dir(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return sys_fail("inspecting", path, std::strerror(errno));
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return sys_fail("creating folder", path, std::strerror(errno));
    if (::lstat(path.c_str(), &st) != 0)
      return sys_fail("inspecting", path, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode))
    return make_error(ec::unsafe_path, path + " is not a plain folder (a link or a file); "
                                              "remove it so sf-actors can create the folder");
  return {};
}

/// True when `p`, once normalized, is a direct child of `dir` (no climbing out, no nesting).
bool direct_child_of(const std::string& p, const std::string& dir) {
  fs::path norm = fs::path(p).lexically_normal();
  if (norm.filename().empty())
    norm = norm.parent_path();
  return norm.parent_path() == fs::path(dir).lexically_normal() &&
         core::valid_milestone_id(norm.filename().string());
}

bool same_path(const std::string& a, const std::string& b) {
  auto na = fs::path(a).lexically_normal().string();
  auto nb = fs::path(b).lexically_normal().string();
  while (na.size() > 1 && na.back() == '/')
    na.pop_back();
  while (nb.size() > 1 && nb.back() == '/')
    nb.pop_back();
  return na == nb;
}

std::string admin_dir(git_repository* repo, const std::string& mid) {
  return std::string{git_repository_commondir(repo)} + "worktrees/" + mid;
}

/// Present while our checkout into a freshly added worktree is unfinished.
std::string marker_path(git_repository* repo, const std::string& mid) {
  return admin_dir(repo, mid) + "/sf-checkout-incomplete";
}

std::string hex_of(const git_oid& id) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &id);
  return buf;
}

/// Removes a worktree's admin entry, but only after checking where it says the worktree lives:
/// libgit2 trusts that file, and a worker can write it.
caf::error prune_checked(git_worktree* wt, const layout& l, uint32_t flags) {
  const char* reg = git_worktree_path(wt);
  if (reg == nullptr || !direct_child_of(reg, l.wt_dir))
    return make_error(ec::unsafe_path, std::string{"worktree entry '"} + git_worktree_name(wt) +
                                         "' points at " + (reg ? reg : "(nothing)") +
                                         ", outside " + l.wt_dir +
                                         "; inspect it and run `git worktree prune` yourself");
  git_worktree_prune_options opts = GIT_WORKTREE_PRUNE_OPTIONS_INIT;
  // Never WORKING_TREE: we delete folders ourselves, after our own checks.
  opts.flags = flags & ~static_cast<uint32_t>(GIT_WORKTREE_PRUNE_WORKING_TREE);
  if (git_worktree_prune(wt, &opts) != 0)
    return git_fail("pruning the worktree entry", l.wt_path);
  return {};
}

/// Result of looking at a worktree folder that git does not consider valid.
enum class leftover { absent, removable, foreign };

/// Classifies the folder: only nothing, or the `.git` link a failed creation writes, is ours.
caf::expected<leftover> classify_folder(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return leftover::absent;
    return sys_fail("inspecting", path, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode))
    return leftover::foreign;
  std::error_code ec_;
  for (fs::directory_iterator it{path, ec_}, end; !ec_ && it != end; it.increment(ec_)) {
    std::error_code type_ec;
    if (it->path().filename() != ".git" || !it->is_regular_file(type_ec))
      return leftover::foreign;
  }
  if (ec_)
    return sys_fail("listing", path, ec_.message());
  return leftover::removable;
}

caf::error remove_leftover(const std::string& path) {
  std::string link = path + "/.git";
  if (::unlink(link.c_str()) != 0 && errno != ENOENT)
    return sys_fail("removing", link, std::strerror(errno));
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT)
    return sys_fail("removing folder", path, std::strerror(errno));
  return {};
}

caf::error refuse_foreign(const std::string& path) {
  return make_error(ec::unsafe_path, path + " exists but is not a worktree sf-actors can reuse, "
                                            "and it holds files; move them elsewhere or delete the "
                                            "folder, then retry (nothing was deleted)");
}

/// Brings the branch into existence (at the main branch's tip) or reads it as it is.
caf::expected<reference_ptr> ensure_branch(git_repository* repo, const layout& l,
                                           bool& created) {
  git_reference* raw = nullptr;
  int rc = git_branch_lookup(&raw, repo, l.branch.c_str(), GIT_BRANCH_LOCAL);
  if (rc == 0) {
    reference_ptr found{raw};
    if (auto err = check_branch_history(repo, l.branch.substr(std::string{"milestone/"}.size())))
      return err;
    return found;
  }
  if (rc != GIT_ENOTFOUND)
    return git_fail("looking up branch", l.branch);
  auto main = resolve_main_branch(repo);
  if (!main)
    return main.error();
  git_object* obj = nullptr;
  if (git_revparse_single(&obj, repo, ("refs/heads/" + *main + "^{commit}").c_str()) != 0)
    return git_fail("reading the tip of", *main);
  object_ptr tip{obj};
  if (git_branch_create(&raw, repo, l.branch.c_str(),
                        reinterpret_cast<git_commit*>(tip.get()), 0) != 0)
    return git_fail("creating branch", l.branch);
  created = true;
  return reference_ptr{raw};
}

/// What an existing registration means for this call.
enum class existing { none, reuse, recreate };

/// Checks a registered worktree: reusable as is, or to be pruned and made again, or an error.
caf::expected<existing> inspect_registered(git_repository* repo, const layout& l,
                                           const std::string& mid) {
  git_worktree* raw = nullptr;
  int rc = git_worktree_lookup(&raw, repo, mid.c_str());
  if (rc != 0) {
    // A failed creation can leave an admin folder libgit2 does not recognize as a worktree.
    // Drop it only when the worktree folder holds nothing of the user's either.
    auto kind = classify_folder(l.wt_path);
    if (!kind)
      return kind.error();
    if (*kind == leftover::foreign)
      return refuse_foreign(l.wt_path);
    std::string admin = admin_dir(repo, mid);
    struct stat st;
    if (::lstat(admin.c_str(), &st) == 0) {
      std::error_code ec_;
      fs::remove_all(admin, ec_);
      if (ec_)
        return sys_fail("removing the broken worktree entry", admin, ec_.message());
    }
    return existing::none;
  }
  worktree_ptr wt{raw};
  const char* reg = git_worktree_path(wt.get());
  if (reg == nullptr || !same_path(reg, l.wt_path))
    return make_error(ec::unsafe_path, "the worktree entry '" + mid + "' is registered for " +
                                         (reg ? reg : "(nothing)") + ", not " + l.wt_path +
                                         "; move it back (git worktree move) or remove it");
  if (git_worktree_validate(wt.get()) == 0) {
    git_repository* wt_raw = nullptr;
    if (git_repository_open_from_worktree(&wt_raw, wt.get()) != 0)
      return git_fail("opening the worktree", l.wt_path);
    repo_ptr wt_repo{wt_raw};
    git_reference* head_raw = nullptr;
    if (git_reference_lookup(&head_raw, wt_repo.get(), "HEAD") != 0)
      return git_fail("reading HEAD of the worktree", l.wt_path);
    reference_ptr head{head_raw};
    const char* target = git_reference_symbolic_target(head.get());
    if (target == nullptr || std::string{target} != "refs/heads/" + l.branch)
      return make_error(ec::invalid_input,
                        "worktree " + l.wt_path + " is not on branch " + l.branch +
                          "; switch it back (git -C " + l.wt_path + " switch " + l.branch + ")");
    // The marker lives from git_worktree_add until our index is written: if it is still there,
    // a creation was interrupted and no worker ever got this folder. A folder with nothing but
    // its .git link (a crash before the marker) holds nothing git could not restore either.
    struct stat st;
    bool interrupted = ::lstat(marker_path(repo, mid).c_str(), &st) == 0;
    if (!interrupted) {
      auto kind = classify_folder(l.wt_path);
      if (!kind)
        return kind.error();
      if (*kind != leftover::removable)
        return existing::reuse;
    }
    std::error_code ec_;
    fs::remove_all(l.wt_path, ec_);
    if (ec_)
      return sys_fail("removing the unfinished worktree", l.wt_path, ec_.message());
    if (auto err = prune_checked(wt.get(), l, GIT_WORKTREE_PRUNE_VALID))
      return err;
    return existing::recreate;
  }
  // Registered but broken: only prune once we know the folder holds nothing of the user's.
  auto kind = classify_folder(l.wt_path);
  if (!kind)
    return kind.error();
  if (*kind == leftover::foreign)
    return refuse_foreign(l.wt_path);
  if (*kind == leftover::removable)
    if (auto err = remove_leftover(l.wt_path))
      return err;
  if (auto err = prune_checked(wt.get(), l, 0))
    return err;
  return existing::recreate;
}

/// Deletes the branch this call created if nobody moved it since; a note when that failed.
std::string drop_new_branch(git_repository* repo, const layout& l, bool created_branch,
                            const git_oid& start) {
  if (!created_branch)
    return {};
  git_reference* ref = nullptr;
  if (git_branch_lookup(&ref, repo, l.branch.c_str(), GIT_BRANCH_LOCAL) != 0)
    return {};
  reference_ptr br{ref};
  const git_oid* now = git_reference_target(br.get());
  // Someone may have committed meanwhile; their commits outrank our tidiness.
  if (now != nullptr && git_oid_equal(now, &start) && git_branch_delete(br.get()) != 0)
    return " could not delete branch " + l.branch + ";";
  return {};
}

/// Undoes what a failed creation made; returns a note when the undo itself failed.
std::string undo_creation(git_repository* repo, const layout& l, const std::string& mid,
                          bool created_branch, const git_oid& start) {
  std::string note;
  std::error_code ec_;
  fs::remove_all(l.wt_path, ec_);
  if (ec_)
    note += " could not remove " + l.wt_path + " (" + ec_.message() + ");";
  git_worktree* raw = nullptr;
  if (git_worktree_lookup(&raw, repo, mid.c_str()) == 0) {
    worktree_ptr wt{raw};
    if (auto err = prune_checked(wt.get(), l, GIT_WORKTREE_PRUNE_VALID | GIT_WORKTREE_PRUNE_LOCKED))
      note += " " + describe(err) + ";";
  } else {
    fs::remove_all(admin_dir(repo, mid), ec_);
    if (ec_)
      note += " could not remove " + admin_dir(repo, mid) + " (" + ec_.message() + ");";
  }
  return note + drop_new_branch(repo, l, created_branch, start);
}

caf::error with_undo_note(caf::error err, const std::string& note) {
  if (note.empty())
    return err;
  return make_error(code_of(err) == ec::none ? ec::git_error : code_of(err),
                    describe(err) + " (cleanup was incomplete:" + note + " remove those by hand)");
}

caf::error create_worktree(git_repository* repo, const layout& l, const std::string& mid,
                           git_reference* branch, const git_oid& tip,
                           const std::atomic<bool>* cancel) {
  git_worktree_add_options opts = GIT_WORKTREE_ADD_OPTIONS_INIT;
  opts.ref = branch;
  // libgit2's checkout costs ~19 readlinks per file; we write the files ourselves below.
  opts.checkout_options.checkout_strategy = GIT_CHECKOUT_NONE;
  // libgit2 creates <commondir>/worktrees with a check-then-mkdir that fails with "directory
  // exists" when two supervisors add their first worktrees at the same moment: make it first.
  std::string admin_parent = std::string{git_repository_commondir(repo)} + "worktrees";
  if (::mkdir(admin_parent.c_str(), 0755) != 0 && errno != EEXIST)
    return sys_fail("creating", admin_parent, std::strerror(errno));
  git_worktree* raw = nullptr;
  if (git_worktree_add(&raw, repo, mid.c_str(), l.wt_path.c_str(), &opts) != 0)
    return git_fail("adding the worktree", l.wt_path);
  worktree_ptr wt{raw};
  std::string marker = marker_path(repo, mid);
  {
    auto fd = open_regular(marker, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!fd)
      return fd.error();
    if (auto err = close_checked(*fd))
      return err;
  }
  git_repository* wt_raw = nullptr;
  if (git_repository_open_from_worktree(&wt_raw, wt.get()) != 0)
    return git_fail("opening the new worktree", l.wt_path);
  repo_ptr wt_repo{wt_raw};
  git_commit* commit_raw = nullptr;
  if (git_commit_lookup(&commit_raw, repo, &tip) != 0)
    return git_fail("reading the tip commit of", l.branch);
  commit_ptr commit{commit_raw};
  git_tree* tree_raw = nullptr;
  if (git_commit_tree(&tree_raw, commit.get()) != 0)
    return git_fail("reading the tree of", l.branch);
  tree_ptr tree{tree_raw};
  if (auto err = checkout_tree_fast(wt_repo.get(), tree.get(), l.wt_path, 0, cancel))
    return err;
  if (::unlink(marker.c_str()) != 0)
    return sys_fail("removing the marker", marker, std::strerror(errno));
  return {};
}

} // namespace

namespace {

/// The integration branch's tip when milestone branch `tip` is strictly behind it: every commit
/// of the branch is on main, so it holds no work of a worker (made from an older commit, or left
/// by a start that failed before the first unit), and moving it forward loses nothing.
caf::expected<std::optional<git_oid>> idle_behind(git_repository* repo, const git_oid& tip) {
  auto main = resolve_main_branch(repo);
  if (!main)
    return main.error();
  git_oid main_tip;
  if (git_reference_name_to_id(&main_tip, repo, ("refs/heads/" + *main).c_str()) != 0)
    return git_fail("reading", "refs/heads/" + *main);
  if (git_oid_equal(&main_tip, &tip))
    return std::optional<git_oid>{};
  int rc = git_graph_descendant_of(repo, &main_tip, &tip);
  if (rc < 0)
    return git_fail("comparing with the integration branch", hex_of(tip));
  return rc == 1 ? std::optional<git_oid>{main_tip} : std::optional<git_oid>{};
}

/// Moves an idle branch (see `idle_behind`) to `to`, and its worktree along when one is
/// registered and clean; a worktree holding anything uncommitted keeps branch and files as they
/// are. The caller holds the worktree lock. Returns whether the branch moved.
caf::expected<bool> refresh_idle(git_repository* repo, const layout& l, const std::string& mid,
                                 const git_oid& from, const git_oid& to, bool registered) {
  if (registered) {
    git_worktree* wt_raw = nullptr;
    if (git_worktree_lookup(&wt_raw, repo, mid.c_str()) != 0)
      return git_fail("looking up the worktree", l.wt_path);
    worktree_ptr wt{wt_raw};
    auto changed = uncommitted_changes(wt.get(), l.wt_path);
    if (!changed)
      return changed.error();
    if (!changed->empty())
      return false;
    git_repository* raw = nullptr;
    if (git_repository_open_from_worktree(&raw, wt.get()) != 0)
      return git_fail("opening the worktree", l.wt_path);
    repo_ptr wt_repo{raw};
    git_object* target = nullptr;
    if (git_object_lookup(&target, wt_repo.get(), &to, GIT_OBJECT_COMMIT) != 0)
      return git_fail("reading the integration branch's tip in", l.wt_path);
    object_ptr target_ptr{target};
    // SAFE: a file that differs from the branch's commit after all is a conflict, not lost.
    git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
    opts.checkout_strategy = GIT_CHECKOUT_SAFE;
    if (git_checkout_tree(wt_repo.get(), target_ptr.get(), &opts) != 0)
      return git_fail("bringing the idle worktree up to the integration branch", l.wt_path);
  }
  git_reference* moved = nullptr;
  int rc = git_reference_create_matching(&moved, repo, ("refs/heads/" + l.branch).c_str(), &to,
                                         1, &from,
                                         "sf-actors: recreated from the integration branch "
                                         "(held no work of its own)");
  if (rc != 0)
    return git_fail("moving the idle branch", l.branch);
  git_reference_free(moved);
  return true;
}

} // namespace

std::string worktrees_dir(const std::string& root) {
  return core::worktrees_dir(root);
}

namespace {

caf::expected<unique_fd> lock_worktrees(const std::string& wt_dir) {
  auto path = wt_dir + "/.lock";
  auto opened = open_regular(path, O_RDWR | O_CREAT, 0600);
  if (!opened) {
    if (code_of(opened.error()) == ec::unsafe_path)
      return opened.error();
    return make_error(ec::io_error, describe(opened.error()) +
                                      "; check that .sf/worktrees is writable");
  }
  unique_fd fd = std::move(*opened);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR)
      return make_error(ec::io_error, "cannot lock " + path + ": " + errno_text(errno));
  return fd;
}

} // namespace

caf::expected<unique_fd> lock_worktree_admin(const std::string& root) {
  return lock_worktrees(worktrees_dir(root));
}

namespace {

/// An opened layout whose worktree lock is held for as long as it lives.
struct locked_layout {
  opened_layout at;
  unique_fd guard;
};

/// `open_layout`, with `.sf/worktrees` made and its lock taken. libgit2's worktree creation is
/// not safe against a concurrent one in the same repository ("already checked out", half-made
/// admin folders): one change at a time per project, across threads and processes alike (each
/// call opens its own file description).
caf::expected<locked_layout> open_locked(const std::string& root, const std::string& mid) {
  auto opened = open_layout(root, mid);
  if (!opened)
    return opened.error();
  if (auto err = ensure_real_dir(opened->where.root + "/.sf"))
    return err;
  if (auto err = ensure_real_dir(opened->where.wt_dir))
    return err;
  auto guard = lock_worktrees(opened->where.wt_dir);
  if (!guard)
    return guard.error();
  return locked_layout{std::move(*opened), std::move(*guard)};
}

} // namespace

caf::expected<worktree_info> ensure_worktree(const std::string& root, const std::string& mid,
                                             const std::atomic<bool>* cancel) {
  auto opened = open_locked(root, mid);
  if (!opened)
    return opened.error();
  auto* l = &opened->at.where;
  auto* repo = &opened->at.repo;
  worktree_info info;
  info.path = l->wt_path;
  info.branch = l->branch;
  auto branch = ensure_branch(repo->get(), *l, info.created_branch);
  if (!branch)
    return branch.error();
  const git_oid* tip_ptr = git_reference_target(branch->get());
  if (tip_ptr == nullptr)
    return make_error(ec::git_error, "branch " + l->branch + " is a symbolic reference; delete "
                                     "it (git branch -D " + l->branch + ") and retry");
  git_oid tip = *tip_ptr;
  info.head = hex_of(tip);
  auto state = inspect_registered(repo->get(), *l, mid);
  if (!state) // Nothing was made for the worktree yet; only a branch we just made is undone.
    return with_undo_note(state.error(), drop_new_branch(repo->get(), *l, info.created_branch, tip));
  if (!info.created_branch) {
    auto ahead = idle_behind(repo->get(), tip);
    if (!ahead)
      return ahead.error();
    if (*ahead) {
      auto moved = refresh_idle(repo->get(), *l, mid, tip, **ahead, *state == existing::reuse);
      if (!moved)
        return moved.error();
      if (*moved) {
        tip = **ahead;
        info.head = hex_of(tip);
        info.refreshed_branch = true;
      }
    }
  }
  if (*state == existing::reuse)
    return info;
  if (*state == existing::none) {
    auto kind = classify_folder(l->wt_path);
    caf::error err;
    if (!kind)
      err = kind.error();
    else if (*kind == leftover::foreign)
      err = refuse_foreign(l->wt_path);
    else if (*kind == leftover::removable)
      err = remove_leftover(l->wt_path);
    if (err)
      return with_undo_note(std::move(err),
                            drop_new_branch(repo->get(), *l, info.created_branch, tip));
  }
  if (auto err = create_worktree(repo->get(), *l, mid, branch->get(), tip, cancel)) {
    auto note = undo_creation(repo->get(), *l, mid, info.created_branch, tip);
    return with_undo_note(std::move(err), note);
  }
  info.created_worktree = true;
  return info;
}

caf::expected<std::size_t> idle_branch_lag(git_repository* repo, const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return bad_id(mid);
  git_oid tip;
  int rc = git_reference_name_to_id(&tip, repo, ("refs/heads/milestone/" + mid).c_str());
  if (rc == GIT_ENOTFOUND)
    return std::size_t{0};
  if (rc != 0)
    return git_fail("reading", "milestone/" + mid);
  auto ahead = idle_behind(repo, tip);
  if (!ahead)
    return ahead.error();
  if (!*ahead)
    return std::size_t{0};
  size_t behind = 0, own = 0;
  if (git_graph_ahead_behind(&behind, &own, repo, &**ahead, &tip) != 0)
    return git_fail("counting the commits of", "milestone/" + mid);
  return static_cast<std::size_t>(behind);
}

caf::expected<bool> refresh_idle_branch(const std::string& root, const std::string& mid) {
  auto opened = open_locked(root, mid);
  if (!opened)
    return opened.error();
  auto* l = &opened->at.where;
  auto* repo = &opened->at.repo;
  git_oid tip;
  int rc = git_reference_name_to_id(&tip, repo->get(), ("refs/heads/" + l->branch).c_str());
  if (rc == GIT_ENOTFOUND)
    return false;
  if (rc != 0)
    return git_fail("reading", l->branch);
  auto ahead = idle_behind(repo->get(), tip);
  if (!ahead)
    return ahead.error();
  if (!*ahead)
    return false;
  git_worktree* raw = nullptr;
  bool registered = git_worktree_lookup(&raw, repo->get(), mid.c_str()) == 0;
  worktree_ptr wt{raw};
  if (registered && git_worktree_validate(wt.get()) != 0)
    return make_error(ec::invalid_input, "the worktree " + l->wt_path + " of " + l->branch +
                                           " is broken; run `sf-actors doctor --fix` for it "
                                           "first, then again");
  return refresh_idle(repo->get(), *l, mid, tip, **ahead, registered);
}

caf::expected<std::vector<std::string>> uncommitted_changes(git_worktree* wt,
                                                            const std::string& where) {
  git_repository* raw = nullptr;
  if (git_repository_open_from_worktree(&raw, wt) != 0)
    return git_fail("opening the worktree", where);
  repo_ptr wt_repo{raw};
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  // Untracked files are work too; recursing lets us single out the runtime lock file.
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
               GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  git_status_list* list_raw = nullptr;
  if (git_status_list_new(&list_raw, wt_repo.get(), &opts) != 0)
    return git_fail("listing changes in the worktree", where);
  status_list_ptr list{list_raw};
  std::vector<std::string> changed;
  size_t n = git_status_list_entrycount(list.get());
  for (size_t i = 0; i < n; ++i) {
    const git_status_entry* e = git_status_byindex(list.get(), i);
    const git_diff_delta* d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
    std::string path = d && d->new_file.path ? d->new_file.path : "?";
    if (e->status == GIT_STATUS_WT_NEW && path == core::tree_path::auto_lock)
      continue;
    changed.push_back(std::move(path));
  }
  return changed;
}

namespace {

// remove_worktree's work, through the repository at `l.root`.
caf::error remove_worktree_in(git_repository* repo, const layout& l, const std::string& mid) {
  // Under the creation lock (see lock_worktree_admin). Without a worktrees folder nothing is
  // being created and there is nothing to lock.
  unique_fd guard;
  struct stat wt_dir_stat;
  if (::lstat(l.wt_dir.c_str(), &wt_dir_stat) == 0) {
    auto locked = lock_worktrees(l.wt_dir);
    if (!locked)
      return locked.error();
    guard = std::move(*locked);
  }
  git_worktree* raw = nullptr;
  if (git_worktree_lookup(&raw, repo, mid.c_str()) != 0) {
    auto kind = classify_folder(l.wt_path);
    if (!kind)
      return kind.error();
    if (*kind == leftover::foreign)
      return make_error(ec::not_found, l.wt_path + " is not a registered worktree; inspect it "
                                                    "and delete it by hand if it is not needed");
    return remove_leftover(l.wt_path); // Already gone, or only a failed creation's link.
  }
  worktree_ptr wt{raw};
  const char* reg = git_worktree_path(wt.get());
  if (reg == nullptr || !same_path(reg, l.wt_path))
    return make_error(ec::unsafe_path, "the worktree entry '" + mid + "' is registered for " +
                                         (reg ? reg : "(nothing)") + ", not " + l.wt_path +
                                         "; remove it with `git worktree remove` yourself");
  if (git_worktree_is_locked(nullptr, wt.get()) > 0)
    return make_error(ec::invalid_input, "worktree " + l.wt_path + " is locked; unlock it "
                                         "(git worktree unlock " + l.wt_path + ") to remove it");
  if (git_worktree_validate(wt.get()) == 0) {
    auto changed = uncommitted_changes(wt.get(), l.wt_path);
    if (!changed)
      return changed.error();
    if (!changed->empty())
      return make_error(ec::invalid_input,
                        "worktree " + l.wt_path + " has " + std::to_string(changed->size()) +
                          " uncommitted change(s), first: " + changed->front() +
                          "; commit or discard them, then remove it again");
  } else {
    auto kind = classify_folder(l.wt_path);
    if (!kind)
      return kind.error();
    if (*kind == leftover::foreign)
      return refuse_foreign(l.wt_path);
  }
  // A rename is instant even for a huge tree, so the worktree disappears atomically; the slow
  // delete happens after git no longer knows the folder.
  std::string trash = l.wt_dir + "/.trash-" + mid + "-" + random_hex();
  bool moved = false;
  if (::rename(l.wt_path.c_str(), trash.c_str()) == 0)
    moved = true;
  else if (errno != ENOENT)
    return sys_fail("moving aside", l.wt_path, std::strerror(errno));
  {
    // Unlinks wait for the device here (see inode_release.hpp), and this runs under the lock
    // that worktree creation takes.
    held_inodes admin;
    admin.add_tree(admin_dir(repo, mid));
    if (auto err = prune_checked(wt.get(), l, GIT_WORKTREE_PRUNE_VALID))
      return err;
  }
  guard.reset(); // The slow delete of the moved-aside tree needs no lock.
  if (moved) {
    held_inodes files;
    files.add_tree(trash);
    std::error_code ec_;
    fs::remove_all(trash, ec_);
    if (ec_)
      return sys_fail("deleting the moved-aside worktree", trash, ec_.message());
  }
  return {};
}

} // namespace

caf::error remove_worktree(const std::string& root, const std::string& mid) {
  auto opened = open_layout(root, mid);
  if (!opened)
    return opened.error();
  auto* l = &opened->where;
  auto* repo = &opened->repo;
  return remove_worktree_in(repo->get(), *l, mid);
}

caf::error remove_worktree(git_repository* repo, const std::string& root, const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return bad_id(mid);
  auto l = make_layout(root, mid);
  if (!l)
    return l.error();
  return remove_worktree_in(repo, *l, mid);
}

} // namespace sf::io
