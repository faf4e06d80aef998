// The doctor's git checks: worktree folders, worktree admin entries and git lock files.
#include "core/milestone_id.hpp"
#include "doctor/doctor_detail.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/git/git.hpp"
#include "io/git/git_checkouts.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge.hpp"
#include "io/git/merge_turn.hpp"
#include "io/git/milestone_branch.hpp"
#include "io/git/worktree.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace sf::io::detail {

namespace {

finding make(finding_kind kind, const doctor_context& ctx, const std::string& path,
             std::string description, std::string fix, const std::string& mid = {}) {
  finding f;
  f.kind = kind;
  f.path = relative_to(ctx.root, path);
  f.description = std::move(description);
  f.fix = std::move(fix);
  f.safe = true;
  f.mid = mid;
  return f;
}

void keep(finding& f, std::string why) {
  f.safe = false;
  f.keep_reason = std::move(why);
}

void failed(const doctor_context& ctx, const std::string& path, const caf::error& err,
            std::vector<finding>& out) {
  auto f = make(finding_kind::check_failed, ctx, path, describe(err),
                "fix what the message names, then run doctor again");
  keep(f, "the check could not run");
  out.push_back(std::move(f));
}

std::string wt_dir_of(const doctor_context& ctx) {
  return worktrees_dir(ctx.root);
}

std::string admin_dir(git_repository* repo, const std::string& mid) {
  return std::string{git_repository_commondir(repo)} + "worktrees/" + mid;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

/// What a worktree folder holds, as far as a failed creation goes.
struct folder_contents {
  bool only_ours = true; ///< Empty, or nothing but a regular `.git` file.
  std::string first;     ///< First other entry, for messages.
};

folder_contents inspect_folder(const std::string& path) {
  folder_contents c;
  std::error_code ec_;
  for (fs::directory_iterator it{path, ec_}, end; !ec_ && it != end; it.increment(ec_)) {
    std::error_code type_ec;
    if (it->path().filename() == ".git" && it->is_regular_file(type_ec) &&
        !it->is_symlink(type_ec))
      continue;
    c.only_ours = false;
    c.first = it->path().filename().string();
    return c;
  }
  if (ec_) {
    c.only_ours = false;
    c.first = "(unreadable: " + ec_.message() + ")";
  }
  return c;
}

/// True when `path` names a direct child of `dir` with a milestone id as its name.
bool direct_child(const std::string& path, const std::string& dir) {
  auto norm = fs::path(path).lexically_normal();
  if (norm.filename().empty())
    norm = norm.parent_path();
  return same_folder(norm.parent_path().string(), dir) && core::valid_milestone_id(norm.filename().string());
}


/// Commits on `milestone/<mid>` that the main branch does not have.
caf::expected<size_t> unmerged_commits(git_repository* repo, const std::string& mid) {
  auto main = resolve_main_branch(repo);
  if (!main)
    return main.error();
  git_oid main_oid;
  git_oid tip;
  std::string branch = "refs/heads/milestone/" + mid;
  if (git_reference_name_to_id(&main_oid, repo, ("refs/heads/" + *main).c_str()) != 0)
    return git_fail("reading the tip of", *main);
  int rc = git_reference_name_to_id(&tip, repo, branch.c_str());
  if (rc == GIT_ENOTFOUND)
    return size_t{0};
  if (rc != 0)
    return git_fail("reading the tip of", branch);
  size_t ahead = 0;
  size_t behind = 0;
  if (git_graph_ahead_behind(&ahead, &behind, repo, &tip, &main_oid) != 0)
    return git_fail("counting unmerged commits of", branch);
  return ahead;
}

/// Why a complete worktree is no longer needed; empty when it still is.
caf::expected<std::string> finished_reason(const doctor_context& ctx, const std::string& mid) {
  auto branch = read_milestone_branch(ctx.root, mid);
  if (!branch)
    return branch.error();
  const milestone* m = ctx.milestones ? ctx.milestones->find(mid) : nullptr;
  if (ctx.milestones != nullptr && m == nullptr)
    return mid + " is no longer in the plan";
  if (m != nullptr && m->status == milestone_status::complete)
    return mid + " is complete on the main branch";
  // A branch that merely starts at main's tip, or is merged after one slice, is not finished:
  // only a branch that says it is complete and is merged is.
  if (*branch && (*branch)->merged && (*branch)->complete)
    return "milestone/" + mid + " is complete and merged into the main branch";
  return std::string{};
}

/// Judges one complete, registered worktree: finished or not, and whether removal is safe.
void check_finished(const doctor_context& ctx, git_repository* repo, git_worktree* wt,
                    const std::string& mid, const std::string& path, std::vector<finding>& out) {
  if (ctx.live_worker(mid) != nullptr)
    return; // Never the worktree of a running worker.
  auto reason = finished_reason(ctx, mid);
  if (!reason)
    return failed(ctx, path, reason.error(), out);
  if (reason->empty())
    return;
  auto f = make(finding_kind::finished_worktree, ctx, path, "not needed any more: " + *reason,
                "remove the worktree and its admin entry (branch milestone/" + mid + " stays)",
                mid);
  auto ahead = unmerged_commits(repo, mid);
  if (!ahead)
    return failed(ctx, path, ahead.error(), out);
  auto changed = uncommitted_changes(wt, path);
  if (!changed)
    return failed(ctx, path, changed.error(), out);
  if (*ahead > 0) {
    keep(f, std::to_string(*ahead) + " unmerged commit(s) on milestone/" + mid);
    f.fix = "merge it (`sf-actors merge " + mid + "`) or delete the branch by hand; then run "
            "doctor --fix again";
  } else if (!changed->empty()) {
    keep(f, "uncommitted changes (" + std::to_string(changed->size()) +
              " file(s), first: " + changed->front() + ")");
    f.fix = "commit or discard the changes in " + f.path + ", then run doctor --fix again";
  }
  out.push_back(std::move(f));
}

void check_half(const doctor_context& ctx, const std::string& mid, const std::string& path,
                const std::string& why, std::vector<finding>& out) {
  auto f = make(finding_kind::half_worktree, ctx, path, why,
                "delete the folder (and its admin entry, if any)", mid);
  auto contents = inspect_folder(path);
  if (!contents.only_ours) {
    keep(f, "it holds files (first: " + contents.first + ") that may be someone's work");
    f.fix = "move what you need out of " + f.path + " and delete the folder by hand";
  } else if (ctx.coordinator_running) {
    keep(f, "a coordinator runs and may be creating this worktree right now");
  }
  out.push_back(std::move(f));
}

void check_folders(const doctor_context& ctx, git_repository* repo, std::vector<finding>& out) {
  auto dir = wt_dir_of(ctx);
  std::vector<std::string> names;
  std::error_code ec_;
  for (fs::directory_iterator it{dir, ec_}, end; !ec_ && it != end; it.increment(ec_))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    auto path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0)
      continue;
    if (name.rfind(".trash-", 0) == 0 && S_ISDIR(st.st_mode)) {
      // A rename sets ctime: a removal that moved it aside a minute ago has had time to finish.
      int64_t moved = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000;
      if (ctx.now - moved > temp_age_ms)
        out.push_back(make(finding_kind::trash_folder, ctx, path,
                           "an interrupted worktree removal left it behind",
                           "delete the folder"));
      continue;
    }
    if (!core::valid_milestone_id(name))
      continue;
    if (!S_ISDIR(st.st_mode)) {
      auto f = make(finding_kind::half_worktree, ctx, path, "is not a folder",
                    "move it away; sf-actors puts worktrees here", name);
      keep(f, "doctor does not delete what it did not make");
      out.push_back(std::move(f));
      continue;
    }
    git_worktree* raw = nullptr;
    if (git_worktree_lookup(&raw, repo, name.c_str()) != 0) {
      check_half(ctx, name, path, "is not a registered git worktree", out);
      continue;
    }
    worktree_ptr wt{raw};
    if (!exists(path + "/.git")) {
      check_half(ctx, name, path, "has no .git file", out);
      continue;
    }
    if (exists(admin_dir(repo, name) + "/sf-checkout-incomplete")) {
      check_half(ctx, name, path, "its checkout was interrupted", out);
      continue;
    }
    if (git_worktree_validate(wt.get()) != 0) {
      check_half(ctx, name, path, "is not a valid git worktree", out);
      continue;
    }
    check_finished(ctx, repo, wt.get(), name, path, out);
  }
}

void check_admin_entries(const doctor_context& ctx, git_repository* repo,
                         std::vector<finding>& out) {
  git_strarray names{};
  if (git_worktree_list(&names, repo) != 0)
    return failed(ctx, ".git/worktrees", git_fail("listing worktrees of", ctx.root), out);
  auto dir = wt_dir_of(ctx);
  for (size_t i = 0; i < names.count; ++i) {
    std::string name = names.strings[i];
    git_worktree* raw = nullptr;
    if (git_worktree_lookup(&raw, repo, name.c_str()) != 0)
      continue;
    worktree_ptr wt{raw};
    const char* reg = git_worktree_path(wt.get());
    std::string where = reg ? reg : "";
    // Only entries pointing into .sf/worktrees are ours; a folder that exists is judged above.
    if (where.empty() || !path_within(where, dir) || exists(where))
      continue;
    auto f = make(finding_kind::prunable_worktree, ctx, admin_dir(repo, name),
                  "registered worktree " + relative_to(ctx.root, where) + " no longer exists",
                  "prune the admin entry", name);
    if (!direct_child(where, dir))
      keep(f, "it points at " + where + ", not a milestone folder; run `git worktree prune` "
              "yourself after checking it");
    else if (git_worktree_is_locked(nullptr, wt.get()) > 0)
      keep(f, "it is locked; unlock it with `git worktree unlock " + name + "` first");
    out.push_back(std::move(f));
  }
  git_strarray_dispose(&names);
}

/// Every lock file doctor knows git leaves: in the git dir, under refs/heads, in worktree dirs.
std::vector<std::string> lock_files(const std::string& gitdir) {
  std::vector<std::string> out;
  for (const char* n : {"index.lock", "HEAD.lock", "packed-refs.lock", "config.lock"})
    if (exists(gitdir + n))
      out.push_back(gitdir + n);
  std::error_code ec_;
  auto heads = gitdir + "refs/heads";
  for (fs::recursive_directory_iterator it{heads, ec_}, end; !ec_ && it != end;
       it.increment(ec_)) {
    std::error_code type_ec;
    if (it->path().extension() == ".lock" && !it->is_directory(type_ec))
      out.push_back(it->path().string());
  }
  for (fs::directory_iterator it{gitdir + "worktrees", ec_}, end; !ec_ && it != end;
       it.increment(ec_))
    for (const char* n : {"/index.lock", "/HEAD.lock"})
      if (exists(it->path().string() + n))
        out.push_back(it->path().string() + n);
  std::sort(out.begin(), out.end());
  return out;
}

caf::expected<repo_ptr> open_project_repo(const doctor_context& ctx) {
  return open_repo(ctx.root);
}

/// Why a git lock must stay for now; empty when it is safe to remove.
std::string lock_in_use(const doctor_context& ctx, const std::string& gitdir,
                        const std::string& path, int64_t now) {
  int64_t age = now - mtime_ms(path);
  auto writers = find_git_writers(ctx.root);
  auto more = find_git_writers(gitdir);
  writers.insert(writers.end(), more.begin(), more.end());
  if (!writers.empty())
    return "a git or sf-actors process (pid " + std::to_string(writers.front()) +
           ") is running in the repository and may own it";
  if (ctx.coordinator_running)
    return "a coordinator (pid " + std::to_string(ctx.coordinator_pid) + ") runs and may be "
           "writing it";
  if (age < git_lock_age_ms)
    return "it is only " + std::to_string(age / 1000) + " s old; a git command may still be "
           "running, so run doctor again in a few seconds";
  return {};
}

/// Branches of milestones still to do that hold no work of their own and lag behind main: a
/// start would have used them as they are, without what main gained since (the plan, say).
void check_idle_branches(const doctor_context& ctx, git_repository* repo,
                         std::vector<finding>& out) {
  if (ctx.milestones == nullptr)
    return; // Whether a milestone is still to do is the plan's to say.
  for (const auto& m : ctx.milestones->milestones) {
    if (m.status == milestone_status::complete || ctx.live_worker(m.id) != nullptr)
      continue;
    auto lag = idle_branch_lag(repo, m.id);
    if (!lag) {
      failed(ctx, "refs/heads/milestone/" + m.id, lag.error(), out);
      continue;
    }
    if (*lag == 0)
      continue;
    auto f = make(finding_kind::idle_branch, ctx, "refs/heads/milestone/" + m.id,
                  "branch milestone/" + m.id + " holds no commit of its own and is " +
                    std::to_string(*lag) + " commit(s) behind the integration branch (made "
                    "from an older commit, or left by a start that failed)",
                  "move it up to the integration branch with its worktree when that is clean "
                  "(`sf-actors doctor --fix`; the next `sf-actors start` does it too)",
                  m.id);
    if (ctx.coordinator_running)
      keep(f, "a coordinator (pid " + std::to_string(ctx.coordinator_pid) + ") runs and "
              "decides about its branches");
    out.push_back(std::move(f));
  }
}

} // namespace

void check_worktrees(const doctor_context& ctx, std::vector<finding>& out) {
  if (!exists(ctx.root + "/.git"))
    return; // Not a git repository: there are no worktrees to look at.
  git_init_once();
  auto repo = open_project_repo(ctx);
  if (!repo)
    return failed(ctx, ctx.root + "/.git", repo.error(), out);
  check_folders(ctx, repo->get(), out);
  check_admin_entries(ctx, repo->get(), out);
  check_idle_branches(ctx, repo->get(), out);
}

void check_git_locks(const doctor_context& ctx, std::vector<finding>& out) {
  if (!exists(ctx.root + "/.git"))
    return;
  git_init_once();
  auto repo = open_project_repo(ctx);
  if (!repo)
    return; // Already reported by the worktree check.
  std::string gitdir = git_repository_commondir(repo->get());
  // A checkout a merge of ours was cut short in: its journal names the lock we left, and the
  // fix finishes the checkout (removing that lock only then: alone, it would expose a
  // checkout that looks like the merge reverted).
  std::set<std::string> ours;
  // While a merge of sf-actors runs, its journal and lock are its own, not a crash's.
  bool merging = merge_turn_busy(ctx.root);
  if (auto checkouts = list_checkouts(repo->get())) {
    for (const auto& c : *checkouts) {
      auto journal = c.gitdir + "sf-merge-checkout.json";
      if (!exists(journal))
        continue;
      ours.insert(c.gitdir + "index.lock");
      if (merging)
        continue;
      out.push_back(make(finding_kind::interrupted_merge, ctx, journal,
                         "a merge of sf-actors was cut short while it brought the checkout at " +
                           c.workdir + " along to main",
                         "`sf-actors doctor --fix` (or the next merge) finishes it; files you "
                         "changed since stay as you left them"));
    }
  }
  for (const auto& path : lock_files(gitdir)) {
    if (ours.count(path) != 0)
      continue;
    int64_t age = ctx.now - mtime_ms(path);
    auto f = make(finding_kind::stale_git_lock, ctx, path,
                  "git lock file, last changed " + std::to_string(age / 1000) + " s ago",
                  "remove the file (no git command is using it)");
    auto busy = lock_in_use(ctx, gitdir, path, ctx.now);
    if (!busy.empty()) {
      keep(f, busy);
      f.fix = "wait for the git command to finish; remove the file only if none runs";
    }
    out.push_back(std::move(f));
  }
}

fix_result fix_git_finding(const doctor_context& ctx, const finding& f) {
  git_init_once();
  auto repo = open_project_repo(ctx);
  if (!repo)
    return {false, "kept: " + describe(repo.error())};
  std::string abs = f.path.empty() || f.path[0] == '/' ? f.path : ctx.root + "/" + f.path;
  auto dir = wt_dir_of(ctx);
  switch (f.kind) {
    case finding_kind::finished_worktree: {
      if (const auto* live = ctx.live_worker(f.mid))
        return {false, "kept: worker pid " + std::to_string(live->pid) + " runs in it"};
      auto ahead = unmerged_commits(repo->get(), f.mid);
      if (!ahead)
        return {false, "kept: " + describe(ahead.error())};
      if (*ahead > 0)
        return {false, "kept: " + std::to_string(*ahead) + " unmerged commit(s) on milestone/" +
                         f.mid};
      // remove_worktree refuses a worktree with uncommitted changes itself.
      if (auto err = remove_worktree(ctx.root, f.mid))
        return {false, "kept: " + describe(err)};
      return {true, "removed the worktree"};
    }
    case finding_kind::half_worktree: {
      if (ctx.coordinator_running)
        return {false, "kept: a coordinator runs and may be creating it"};
      auto contents = inspect_folder(abs);
      if (!contents.only_ours)
        return {false, "kept: it holds files (first: " + contents.first + ")"};
      std::string link = abs + "/.git";
      if (::unlink(link.c_str()) != 0 && errno != ENOENT)
        return {false, "kept: cannot remove " + link + ": " + errno_text(errno)};
      if (::rmdir(abs.c_str()) != 0 && errno != ENOENT)
        return {false, "kept: cannot remove the folder: " + errno_text(errno)};
      auto guard = lock_worktree_admin(ctx.root); // See lock_worktree_admin.
      if (!guard)
        return {false, "kept: " + describe(guard.error())};
      git_worktree* raw = nullptr;
      if (git_worktree_lookup(&raw, repo->get(), f.mid.c_str()) == 0) {
        worktree_ptr wt{raw};
        const char* reg = git_worktree_path(wt.get());
        if (reg == nullptr || !direct_child(reg, dir))
          return {false, "kept: removed the folder, but its admin entry points outside " + dir};
        git_worktree_prune_options opts = GIT_WORKTREE_PRUNE_OPTIONS_INIT;
        opts.flags = GIT_WORKTREE_PRUNE_VALID; // Never WORKING_TREE: the folder is gone already.
        if (git_worktree_prune(wt.get(), &opts) != 0)
          return {false, "kept: " + describe(git_fail("pruning the admin entry of", f.mid))};
      } else if (exists(admin_dir(repo->get(), f.mid))) {
        // An admin folder libgit2 cannot read: what a creation that failed early leaves.
        std::error_code ec_;
        fs::remove_all(admin_dir(repo->get(), f.mid), ec_);
        if (ec_)
          return {false, "kept: cannot remove the broken admin entry: " + ec_.message()};
      }
      return {true, "removed the folder"};
    }
    case finding_kind::prunable_worktree: {
      auto guard = lock_worktree_admin(ctx.root); // See lock_worktree_admin.
      if (!guard)
        return {false, "kept: " + describe(guard.error())};
      git_worktree* raw = nullptr;
      if (git_worktree_lookup(&raw, repo->get(), f.mid.c_str()) != 0)
        return {true, "already gone"};
      worktree_ptr wt{raw};
      const char* reg = git_worktree_path(wt.get());
      // libgit2 deletes what the entry names: check it is one of our folders, and gone.
      if (reg == nullptr || !direct_child(reg, dir))
        return {false, "kept: the entry points outside " + dir};
      if (exists(reg))
        return {false, "kept: its folder exists again"};
      git_worktree_prune_options opts = GIT_WORKTREE_PRUNE_OPTIONS_INIT;
      if (git_worktree_prune(wt.get(), &opts) != 0)
        return {false, "kept: " + describe(git_fail("pruning the admin entry of", f.mid))};
      return {true, "pruned the entry"};
    }
    case finding_kind::idle_branch: {
      if (ctx.live_worker(f.mid) != nullptr)
        return {false, "kept: a worker for " + f.mid + " runs now"};
      auto moved = refresh_idle_branch(ctx.root, f.mid);
      if (!moved)
        return {false, "kept: " + describe(moved.error())};
      if (!*moved)
        return {false, "kept: its worktree holds uncommitted work, or it has work now"};
      return {true, "moved milestone/" + f.mid + " up to the integration branch"};
    }
    case finding_kind::trash_folder: {
      if (!path_within(abs, dir) || fs::path(abs).filename().string().rfind(".trash-", 0) != 0)
        return {false, "kept: not a trash folder under " + dir};
      std::error_code ec_;
      fs::remove_all(abs, ec_); // Does not follow links inside.
      if (ec_)
        return {false, "kept: " + ec_.message()};
      return {true, "deleted the folder"};
    }
    case finding_kind::interrupted_merge: {
      if (ctx.coordinator_running)
        return {false, "kept: a coordinator (pid " + std::to_string(ctx.coordinator_pid) +
                         ") runs and finishes it with its next merge"};
      auto done = recover_checkouts(ctx.root);
      if (!done)
        return {false, "kept: " + describe(done.error())};
      return {true, done->empty() ? "nothing was left to finish" : *done};
    }
    case finding_kind::stale_git_lock: {
      std::string gitdir = git_repository_commondir(repo->get());
      if (!path_within(abs, gitdir) || fs::path(abs).extension() != ".lock")
        return {false, "kept: not a lock file of this repository"};
      auto busy = lock_in_use(ctx, gitdir, abs, ctx.now);
      if (!busy.empty())
        return {false, "kept: " + busy};
      if (::unlink(abs.c_str()) != 0 && errno != ENOENT)
        return {false, "kept: cannot remove it: " + errno_text(errno)};
      return {true, "removed the file"};
    }
    default:
      return {false, "kept: no automatic fix for this kind"};
  }
}

} // namespace sf::io::detail
