#include "io/git/merge.hpp"

#include "config/escape.hpp"
#include "config/plan.hpp"
#include "core/milestone_id.hpp"
#include "io/files/status_file.hpp"
#include "io/git/checkout_update.hpp"
#include "io/git/git.hpp"
#include "io/git/git_checkouts.hpp"
#include "io/git/index_lock.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge_hook.hpp"
#include "io/git/merge_parts.hpp"
#include "io/git/merge_turn.hpp"
#include "io/git/tree_merge.hpp"
#include "io/os/fault_point.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <variant>

namespace sf::io {

std::string conflict_preview(const std::vector<std::string>& files) {
  std::string s;
  for (size_t i = 0; i < files.size() && i < 5; ++i)
    s += (i == 0 ? "" : ", ") + files[i];
  if (files.size() > 5)
    s += ", ... (" + std::to_string(files.size()) + " in all)";
  return s;
}

namespace {

// A few rounds are plenty: each round only loses to a commit that landed in a window of
// milliseconds; a main that keeps moving that fast needs a human anyway.
constexpr int max_attempts = 5;

// How long a lock of git's is waited out before it counts as an obstacle: a background
// `git status` holds the index lock for milliseconds, a `git commit` on main its ref lock.
constexpr auto lock_patience = std::chrono::milliseconds(2000);

merge_result outcome(core::merge_kind k, std::string text, std::vector<std::string> files = {},
                     std::string commit = {}) {
  merge_result r;
  r.kind = k;
  r.text = std::move(text);
  r.files = std::move(files);
  r.commit = std::move(commit);
  return r;
}

std::string list_preview(const std::vector<std::string>& files) {
  return conflict_preview(files);
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string{"."} : path.substr(0, slash);
}

std::string without_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s;
}

// Between moving main and bringing its checkout along, a crash would leave the checkout on the
// old tree while HEAD names the merge: every merged file would look like an uncommitted revert,
// and our index.lock would keep every git command out. The journal names both trees and our
// lock, so the next merge (or start, or doctor --fix) finishes the checkout first. It lives in
// the checkout's own git dir: it describes that checkout, and nothing there can be committed by
// `git add -A`.
std::string journal_path(const git_checkout& c) {
  return c.gitdir + "sf-merge-checkout.json";
}

// A merge that found no checkout of main leaves a note in the common dir: a `git switch main`
// running at that moment may have read the old main, and the next look finishes it.
std::string last_merge_path(git_repository* repo) {
  return std::string{git_repository_commondir(repo)} + "sf-merge-last.json";
}

nlohmann::json move_json(const git_oid& commit, const checkout_move& mv) {
  return {{"commit", oid_hex(commit)}, {"from", oid_hex(mv.from)}, {"to", oid_hex(mv.to)},
          {"paths", mv.paths}};
}

caf::error write_journal(const git_checkout& c, const git_oid& commit, const checkout_move& mv,
                         const index_lock& lock) {
  auto j = move_json(commit, mv);
  j["lockDevice"] = static_cast<uint64_t>(lock.device());
  j["lockInode"] = static_cast<uint64_t>(lock.inode());
  j["lockToken"] = lock.token();
  return write_file_atomic(without_slash(c.gitdir), "sf-merge-checkout.json", j.dump(), 0600);
}

/// A recorded move: the merge commit it belongs to and the move itself.
struct recorded_move {
  git_oid commit{};
  checkout_move mv;
  nlohmann::json j;
};

/// A field of a journal or note, or `fallback` when it is missing or of another type (a damaged
/// file must not throw out of every later merge).
template <class T>
T field(const nlohmann::json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end())
    return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else {
    return it->is_number_integer() ? it->template get<T>() : fallback;
  }
}

std::optional<recorded_move> read_move(const std::string& path) {
  auto text = read_file_capped(path, 64u << 20);
  if (!text)
    return std::nullopt;
  recorded_move r;
  r.j = nlohmann::json::parse(*text, nullptr, false);
  if (!r.j.is_object() ||
      git_oid_fromstr(&r.commit, field(r.j, "commit", std::string{}).c_str()) != 0 ||
      git_oid_fromstr(&r.mv.from, field(r.j, "from", std::string{}).c_str()) != 0 ||
      git_oid_fromstr(&r.mv.to, field(r.j, "to", std::string{}).c_str()) != 0)
    return std::nullopt;
  if (r.j.contains("paths") && r.j["paths"].is_array())
    for (const auto& p : r.j["paths"])
      if (p.is_string())
        r.mv.paths.push_back(p.get<std::string>());
  return r;
}

/// Everything one merge attempt needs that does not change between attempts.
struct context {
  const merge_request& req;
  git_repository* repo;
  std::string main;     // short name
  std::string main_ref; // refs/heads/<main>
  std::string branch;   // milestone/<mid>
  git_oid tip;
  std::string ref_path;  // main's loose ref file
  std::string lock_path; // git's lock beside it
  bool gated = false;    // move main to a tested commit (merge_request::gated_commit)
  git_oid gated_commit{};
  git_oid gated_base{};
};

/// The checkout that has main checked out (git allows one at most), if any.
std::optional<git_checkout> holder_of(const std::string& main_ref,
                                      const std::vector<git_checkout>& all) {
  for (const auto& c : all)
    if (c.head == main_ref)
      return c;
  return std::nullopt;
}

/// An operation in progress on main in any checkout, as an obstacle.
std::optional<merge_result> operation_obstacle(const context& cx,
                                               const std::vector<git_checkout>& all) {
  for (const auto& c : all) {
    std::optional<merge_result> r;
    if (c.missing && c.head == cx.main_ref) {
      r = outcome(core::merge_kind::blocked,
                  cx.main + " is checked out in the worktree recorded at " +
                    without_slash(c.workdir) + ", which is not there (moved or deleted); run "
                    "`git worktree repair <its new folder>`, or `git worktree prune` if it is "
                    "gone; " + cx.main + " does not move until then");
    } else if (auto op = c.missing ? std::nullopt : operation_on(c, cx.main_ref)) {
      r = outcome(core::merge_kind::blocked,
                  describe_operation(*op, c) + "; " + cx.main + " does not move under it");
    } else if (c.head == "(unreadable)") {
      r = outcome(core::merge_kind::blocked,
                  "HEAD of the checkout at " + without_slash(c.workdir) + " cannot be read (" +
                    c.gitdir + "HEAD), so it may have " + cx.main + " checked out; check it "
                    "with `git status` there");
    }
    if (r) {
      r->watch = {without_slash(c.gitdir)};
      return r;
    }
  }
  return std::nullopt;
}

merge_result lock_obstacle(const caf::error& err, std::vector<std::string> watch) {
  auto r = outcome(core::merge_kind::locked, describe(err));
  r.watch = std::move(watch);
  return r;
}

merge_result dirty_obstacle(const context& cx, const git_checkout& c,
                            std::vector<std::string> dirty, const std::string& refusal,
                            bool dry_run) {
  std::string where = "the checkout at " + without_slash(c.workdir);
  std::string text =
    refusal.empty()
      ? where + " has uncommitted changes of yours in " + list_preview(dirty) +
          " (or untracked files where the merge writes) that merging " + cx.branch +
          " would have to touch; commit, stash, move or undo them"
      : "git refuses to bring " + where + " along to the merge of " + cx.branch + ": " +
          refusal;
  text += dry_run ? " before the merge" : "; " + cx.main + " was not moved";
  auto r = outcome(core::merge_kind::dirty_checkout, std::move(text), dirty);
  r.watch.push_back(without_slash(c.gitdir));
  std::set<std::string> dirs;
  for (const auto& f : dirty)
    dirs.insert(without_slash(c.workdir + parent_dir(f)));
  r.watch.insert(r.watch.end(), dirs.begin(), dirs.end());
  return r;
}

/// Notes about files a finished update left as the user had them.
std::string kept_note(const git_checkout& c, const std::vector<std::string>& kept) {
  if (kept.empty())
    return {};
  return "kept your own version of " + list_preview(kept) + " in " +
         without_slash(c.workdir) + " (changed while the checkout was being brought along): " +
         "`git diff` there shows it against the merged main";
}

/// Brings checkout `c` the rest of the way to `mv.to` (of merge `commit`); what the user
/// changed meanwhile stays. The journal names the lock it takes from the moment it holds it,
/// so a crash while finishing is finished by the next command too; done, the journal goes.
caf::expected<std::string> finish_checkout(const git_checkout& c, const git_oid& commit,
                                           const checkout_move& mv) {
  auto up = checkout_update::prepare_finish(
    c, mv, lock_patience,
    [&](const index_lock& lock) { return write_journal(c, commit, mv, lock); });
  if (!up)
    return std::move(up.error());
  auto kept = up->kept();
  if (auto err = up->apply())
    return err;
  unlink_deferred(journal_path(c));
  return kept_note(c, kept);
}

/// True when the index of `c` shows `mv.from` at every path of the move: the checkout read
/// main's old tree after main had moved (a switch to main during a merge). A user's own change
/// at a few of those paths is not that.
bool index_shows_from(const git_checkout& c, const checkout_move& mv) {
  git_index* raw = nullptr;
  if (git_index_open(&raw, (c.gitdir + "index").c_str()) != 0)
    return false;
  index_ptr index{raw};
  auto repo = open_repo(without_slash(c.workdir));
  if (!repo)
    return false;
  git_tree* from_raw = nullptr;
  if (git_tree_lookup(&from_raw, repo->get(), &mv.from) != 0)
    return false;
  tree_ptr from{from_raw};
  for (const auto& path : mv.paths) {
    git_tree_entry* e = nullptr;
    const git_index_entry* ie = git_index_get_bypath(index.get(), path.c_str(), 0);
    if (git_tree_entry_bypath(&e, from.get(), path.c_str()) != 0) {
      if (ie != nullptr)
        return false; // `from` has no such file, the index has: not the old tree.
      continue;
    }
    bool same = ie != nullptr && git_oid_equal(&ie->id, git_tree_entry_id(e)) != 0;
    git_tree_entry_free(e);
    if (!same)
      return false;
  }
  return !mv.paths.empty();
}

// The note of a merge without a checkout of main matters for the few milliseconds a `git
// switch` takes; later it could only be mistaken for what a user did on purpose.
constexpr int64_t last_merge_note_ms = 10000;

// Finishes checkout updates a crash (or a race with a `git switch`) cut short, while main
// still names their merge; what the user changed since stays theirs. Gives notes for the
// report, or an obstacle while a lock keeps it from running.
caf::expected<std::variant<std::string, merge_result>> finish_interrupted(git_repository* repo,
                                                                          const std::string& main_ref) {
  using out_type = std::variant<std::string, merge_result>;
  auto all = list_checkouts(repo);
  if (!all)
    return std::move(all.error());
  git_oid main_oid;
  bool have_main = git_reference_name_to_id(&main_oid, repo, main_ref.c_str()) == 0;
  std::string notes;
  auto finish = [&](const git_checkout& c, const git_oid& commit,
                    const checkout_move& mv) -> caf::error {
    auto note = finish_checkout(c, commit, mv);
    if (!note)
      return note.error();
    notes += (notes.empty() ? "" : "; ") + std::string{"finished bringing the checkout at "} +
             without_slash(c.workdir) + " to the merge an earlier run cut short" +
             (note->empty() ? "" : "; " + *note);
    return {};
  };
  // A lock is waited for by the queue like any obstacle; anything else (a filter failing, a
  // full disk) is one too, named with the journal, rather than an error failing every merge.
  auto obstacle = [&](const git_checkout& c, const caf::error& err) {
    if (code_of(err) == ec::locked)
      return out_type{lock_obstacle(err, {without_slash(c.gitdir)})};
    auto r = outcome(core::merge_kind::blocked,
                     "an earlier merge could not finish bringing the checkout at " +
                       without_slash(c.workdir) + " along (" + describe(err) + "); fix that, "
                       "and the next merge finishes it (" + journal_path(c) + ")");
    r.watch = {without_slash(c.gitdir), without_slash(c.workdir)};
    return out_type{std::move(r)};
  };
  for (const auto& c : *all) {
    if (c.missing)
      continue;
    auto path = journal_path(c);
    auto rec = read_move(path);
    if (!rec)
      continue;
    // Our own index.lock, left by the crash, goes in any case: it blocks every git command.
    index_lock::remove_stale(c.gitdir, static_cast<dev_t>(field(rec->j, "lockDevice", uint64_t{0})),
                             static_cast<ino_t>(field(rec->j, "lockInode", uint64_t{0})),
                             field(rec->j, "lockToken", std::string{}));
    // Copies of the index a crash left beside it.
    if (DIR* d = ::opendir(without_slash(c.gitdir).c_str())) {
      while (auto* ent = ::readdir(d))
        if (std::string{ent->d_name}.rfind("sf-index.", 0) == 0)
          ::unlinkat(::dirfd(d), ent->d_name, 0);
      ::closedir(d);
    }
    // Only while main still is that merge and this checkout still has it; otherwise the user
    // has moved on and the checkout is theirs.
    if (have_main && git_oid_equal(&main_oid, &rec->commit) != 0 && c.head == main_ref)
      if (auto err = finish(c, rec->commit, rec->mv))
        return obstacle(c, err);
    ::unlink(path.c_str());
  }
  auto note_path = last_merge_path(repo);
  if (auto last = read_move(note_path)) {
    bool fresh = now_ms() - field(last->j, "at", int64_t{0}) < last_merge_note_ms;
    bool acted = false;
    if (fresh && have_main && git_oid_equal(&main_oid, &last->commit) != 0)
      for (const auto& c : *all)
        if (!c.missing && c.head == main_ref && index_shows_from(c, last->mv)) {
          if (auto err = finish(c, last->commit, last->mv))
            return obstacle(c, err);
          acted = true;
        }
    if (acted || !fresh)
      ::unlink(note_path.c_str());
  }
  return out_type{notes};
}

/// Waits (with a growing backoff, at most `lock_patience`) while another process holds main's
/// ref lock; true when it is free. Done before the checkout is checked and locked, so that no
/// wait sits between the check of the user's files and their update.
bool wait_ref_lock(const context& cx) {
  auto deadline = std::chrono::steady_clock::now() + lock_patience;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    struct stat st;
    if (::lstat(cx.lock_path.c_str(), &st) != 0)
      return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

merge_result ref_lock_obstacle(const context& cx) {
  auto r = outcome(core::merge_kind::locked,
                   cx.lock_path + " exists: another git process seems to be updating " + cx.main +
                     "; if none is, remove the file (rm " + cx.lock_path + ")");
  r.watch = {parent_dir(cx.lock_path)};
  return r;
}

/// Sorted paths of the files whose entries differ between trees `a` and `b` (identical subtrees
/// are skipped by their ids).
caf::expected<std::vector<std::string>> changed_paths(git_repository* repo, const git_tree* a,
                                                      const git_tree* b) {
  git_diff* raw = nullptr;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  opts.flags |= GIT_DIFF_INCLUDE_TYPECHANGE;
  if (git_diff_tree_to_tree(&raw, repo, const_cast<git_tree*>(a), const_cast<git_tree*>(b),
                            &opts) != 0)
    return git_fail("comparing trees", git_repository_path(repo));
  std::unique_ptr<git_diff, decltype(&git_diff_free)> diff{raw, git_diff_free};
  std::set<std::string> paths;
  for (std::size_t i = 0, n = git_diff_num_deltas(diff.get()); i < n; ++i) {
    const auto* d = git_diff_get_delta(diff.get(), i);
    paths.insert(d->old_file.path);
    paths.insert(d->new_file.path);
  }
  return std::vector<std::string>(paths.begin(), paths.end());
}

/// Where main goes in one round: the commit, its tree and the paths it changes.
struct planned_move {
  git_oid commit;
  git_oid tree;
  std::vector<std::string> changed;
  std::string notes; // for the report (a git hook skipped)
};
using plan_or_result = std::variant<planned_move, merge_result>;

/// The merge of the milestone's tip into main's commit `ours`, as a new commit object, or the
/// conflict that prevents it (or, on a dry run, only the tree).
caf::expected<plan_or_result> merged_plan(const context& cx, const git_oid& main_oid,
                                          const git_commit* ours, const git_tree* ours_tree) {
  git_repository* repo = cx.repo;
  auto theirs = lookup_commit(repo, cx.tip, cx.branch);
  if (!theirs)
    return std::move(theirs.error());
  auto theirs_tree = tree_of(theirs->get());
  if (!theirs_tree)
    return std::move(theirs_tree.error());
  auto base = merge_base_tree(repo, main_oid, cx.tip);
  if (!base)
    return std::move(base.error());
  auto tm = tree_merge(repo, base->get(), ours_tree, theirs_tree->get());
  if (!tm)
    return std::move(tm.error());
  if (!tm->conflicts.empty()) {
    // Build the text before the list is moved into the result.
    std::string text = cx.branch + " conflicts with " + cx.main + " in " +
                       std::to_string(tm->conflicts.size()) + " file(s): " +
                       list_preview(tm->conflicts) + "; resolve them on " + cx.branch +
                       ", commit, and merge " + cx.req.mid + " again";
    return plan_or_result{
      outcome(core::merge_kind::conflict, std::move(text), std::move(tm->conflicts))};
  }
  planned_move next{{}, tm->tree, std::move(tm->changed_paths), {}};
  if (cx.req.dry_run)
    return plan_or_result{std::move(next)};
  // As `git merge`: the hook sees the merge before its commit exists, and may refuse it.
  auto hooks = cx.req.hooks;
  hooks.stop_fd = cx.req.stop_fd;
  hooks.on_note = nullptr; // the hint goes into the report instead
  auto verdict = run_pre_merge_commit(repo, cx.req.root, tm->tree, cx.branch, cx.main, hooks);
  if (!verdict)
    return std::move(verdict.error());
  if (!verdict->ok) {
    auto r = outcome(core::merge_kind::blocked, std::move(verdict->text));
    r.watch = std::move(verdict->watch);
    return plan_or_result{std::move(r)};
  }
  next.notes = std::move(verdict->note);
  // The commit is only an object until main names it; made first, so that nothing but the
  // journal and the compare-and-swap happen while the user's checkout is locked.
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo, &tm->tree) != 0)
    return git_fail("reading the merged tree", oid_hex(tm->tree));
  tree_ptr merged_tree{raw_tree};
  auto sig = merge_signature(repo);
  if (!sig)
    return std::move(sig.error());
  const git_commit* parents[] = {ours, theirs->get()};
  std::string message = cx.req.message.empty() ? "Merge " + cx.branch : cx.req.message;
  if (git_commit_create(&next.commit, repo, nullptr, sig->get(), sig->get(), nullptr,
                        message.c_str(), merged_tree.get(), 2, parents) != 0)
    return git_fail("creating the merge commit", cx.branch + " into " + cx.main);
  return plan_or_result{std::move(next)};
}

/// The commit the merge gate tested, while main is still the commit it was composed on.
caf::expected<plan_or_result> gated_plan(const context& cx, const git_oid& main_oid,
                                         const git_tree* ours_tree) {
  if (git_oid_equal(&main_oid, &cx.gated_base) == 0) {
    auto r = outcome(core::merge_kind::failed,
                     cx.main + " moved to " + oid_hex(main_oid).substr(0, 12) +
                       " while the gate tested the merge of " + cx.branch + " on " +
                       oid_hex(cx.gated_base).substr(0, 12) + "; it is tested again on the new " +
                       cx.main);
    r.main_moved = true;
    return plan_or_result{std::move(r)};
  }
  auto gated = lookup_commit(cx.repo, cx.gated_commit, "the gated merge");
  if (!gated)
    return std::move(gated.error());
  auto gated_tree = tree_of(gated->get());
  if (!gated_tree)
    return std::move(gated_tree.error());
  auto changed = changed_paths(cx.repo, ours_tree, gated_tree->get());
  if (!changed)
    return std::move(changed.error());
  return plan_or_result{
    planned_move{cx.gated_commit, *git_tree_id(gated_tree->get()), std::move(*changed), {}}};
}

/// One round: a result, or nothing when main moved (or its checkout changed) meanwhile.
caf::expected<std::optional<merge_result>> attempt(const context& cx) {
  git_repository* repo = cx.repo;
  git_oid main_oid;
  if (git_reference_name_to_id(&main_oid, repo, cx.main_ref.c_str()) != 0)
    return git_fail("reading", cx.main_ref);
  if (git_oid_equal(&main_oid, &cx.tip) != 0 ||
      git_graph_descendant_of(repo, &main_oid, &cx.tip) == 1)
    return outcome(core::merge_kind::already_merged,
                   cx.branch + " at " + oid_hex(cx.tip).substr(0, 12) + " is already in " + cx.main +
                     "; nothing to do",
                   {}, oid_hex(main_oid));
  auto ours = lookup_commit(repo, main_oid, cx.main);
  if (!ours)
    return std::move(ours.error());
  auto ours_tree = tree_of(ours->get());
  if (!ours_tree)
    return std::move(ours_tree.error());
  auto plan = cx.gated ? gated_plan(cx, main_oid, ours_tree->get())
                       : merged_plan(cx, main_oid, ours->get(), ours_tree->get());
  if (!plan)
    return std::move(plan.error());
  if (auto* done = std::get_if<merge_result>(&*plan))
    return std::move(*done);
  auto& next = std::get<planned_move>(*plan);
  auto checkouts = list_checkouts(repo);
  if (!checkouts)
    return std::move(checkouts.error());
  if (auto op = operation_obstacle(cx, *checkouts))
    return std::move(*op);
  auto holder = holder_of(cx.main_ref, *checkouts);
  checkout_move mv{*git_tree_id(ours_tree->get()), next.tree, next.changed};
  if (cx.req.dry_run) {
    if (holder) {
      auto dirty = checkout_update::inspect(*holder, mv);
      if (!dirty)
        return std::move(dirty.error());
      if (!dirty->empty())
        return dirty_obstacle(cx, *holder, std::move(*dirty), {}, true);
    }
    struct stat st;
    if (::lstat(cx.lock_path.c_str(), &st) == 0)
      return outcome(core::merge_kind::locked, cx.lock_path + " exists, so " + cx.main +
                                             " cannot be updated; remove it if no git process "
                                             "is running");
    std::string text = cx.branch + " would merge cleanly into " + cx.main + ", changing " +
                       std::to_string(next.changed.size()) + " file(s) (dry run)";
    return outcome(core::merge_kind::merged, std::move(text), std::move(next.changed));
  }
  git_oid commit_oid = next.commit;
  if (!wait_ref_lock(cx))
    return ref_lock_obstacle(cx);
  std::optional<checkout_update> update;
  if (holder) {
    const auto& c = *holder;
    // The journal names our lock from the moment we hold it: a crash anywhere after leaves
    // nothing unaccounted for (main has not moved yet, so recovery only frees the lock).
    bool journaled = false;
    auto up = checkout_update::prepare(
      c, mv, lock_patience,
      [&](const index_lock& lock) {
        journaled = true;
        return write_journal(c, commit_oid, mv, lock);
      },
      cx.req.stop_fd);
    auto drop_journal = [&] {
      if (journaled)
        ::unlink(journal_path(c).c_str());
    };
    if (!up) {
      drop_journal();
      if (code_of(up.error()) == ec::locked)
        return lock_obstacle(up.error(), {without_slash(c.gitdir)});
      return std::move(up.error());
    }
    if (!up->dirty().empty() || !up->refusal().empty()) {
      up->abandon();
      drop_journal();
      if (!up->dirty().empty())
        return dirty_obstacle(cx, c, up->dirty(), {}, false);
      auto r = outcome(core::merge_kind::blocked,
                       "git refuses to bring the checkout at " + without_slash(c.workdir) +
                         " along to the merge of " + cx.branch + ": " + up->refusal() + "; " +
                         cx.main + " was not moved");
      r.watch = {without_slash(c.gitdir), without_slash(c.workdir)};
      return r;
    }
    // Under the lock nothing of git's can start in this checkout; a switch or a rebase that
    // began before we took it shows now.
    if (current_head(c) != cx.main_ref || operation_on(c, cx.main_ref)) {
      up->abandon();
      drop_journal();
      return std::optional<merge_result>{};
    }
    update.emplace(std::move(*up));
  }
  fault_point("merge.before_update_ref");
  if (cx.req.before_cas)
    cx.req.before_cas();
  // Main's ref is freed later, not inside the merge (see inode_release.hpp).
  held_inodes replaced;
  replaced.add(cx.ref_path);
  std::string log = "sf-actors: merge " + cx.branch;
  git_reference* raw_ref = nullptr;
  int rc = git_reference_create_matching(&raw_ref, repo, cx.main_ref.c_str(), &commit_oid, 1,
                                         &main_oid, log.c_str());
  reference_ptr ref{raw_ref};
  if (rc != 0 && rc != GIT_EMODIFIED && rc != GIT_ELOCKED) {
    // A failure after the ref was written (its fsync) still moved main: go on as moved.
    git_oid now;
    if (git_reference_name_to_id(&now, repo, cx.main_ref.c_str()) == 0 &&
        git_oid_equal(&now, &commit_oid) != 0)
      rc = 0;
  }
  if (rc != 0 && update) {
    update->abandon(); // main did not move: the checkout stays as it is
    ::unlink(journal_path(*holder).c_str());
  }
  if (rc == GIT_EMODIFIED)
    return std::optional<merge_result>{};
  if (rc == GIT_ELOCKED)
    return ref_lock_obstacle(cx);
  if (rc != 0)
    return git_fail("moving the main branch to the merge commit", cx.main_ref + " in " + cx.req.root);
  fault_point("merge.after_update_ref");
  std::string text = "merged " + cx.branch + " into " + cx.main + " as " +
                     oid_hex(commit_oid).substr(0, 12);
  std::string notes;
  if (update) {
    // Main has moved. If git refused the files now (the user changed one since the check),
    // the index follows main anyway and the rest is finished at once: the user's file stays
    // theirs, everything else is brought along.
    if (auto err = update->apply()) {
      auto note = finish_checkout(*holder, commit_oid, mv);
      if (note) {
        notes = *note;
      } else {
        notes = "the checkout at " + without_slash(holder->workdir) +
                " is not brought along yet (" + describe(note.error()) +
                "): the next merge, start or `sf-actors doctor --fix` finishes it";
      }
    } else {
      unlink_deferred(journal_path(*holder));
    }
  } else {
    // Nobody had main checked out; one that switches to it right now may read the old tree.
    auto note = move_json(commit_oid, mv);
    note["at"] = now_ms();
    (void) write_file_replace(std::string{git_repository_commondir(repo)}, "sf-merge-last.json",
                              note.dump(), 0600);
    if (auto again = list_checkouts(repo))
      if (auto late = holder_of(cx.main_ref, *again); late && !late->missing &&
                                                      index_shows_from(*late, mv))
        if (auto done = finish_checkout(*late, commit_oid, mv))
          notes = "brought along the checkout at " + without_slash(late->workdir) +
                  ", which switched to " + cx.main + " during the merge" +
                  (done->empty() ? "" : "; " + *done);
  }
  auto r = outcome(core::merge_kind::merged, std::move(text), std::move(next.changed),
                   oid_hex(commit_oid));
  if (!next.notes.empty())
    notes = next.notes + (notes.empty() ? "" : "; " + notes);
  r.notes = std::move(notes);
  return r;
}

caf::expected<commit_ptr> resolve_commit(git_repository* repo, const std::string& rev,
                                         const std::string& root) {
  git_object* raw = nullptr;
  if (git_revparse_single(&raw, repo, rev.c_str()) != 0)
    return make_error(ec::not_found, "revision '" + rev + "' does not exist in " + root +
                                       "; name a branch, tag or commit id");
  object_ptr obj{raw};
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT) != 0)
    return make_error(ec::invalid_input, "revision '" + rev + "' in " + root +
                                           " is not a commit; name a branch or commit");
  return commit_ptr{reinterpret_cast<git_commit*>(peeled)};
}

caf::error check_merge_id(const std::string& mid) {
  if (core::valid_milestone_id(mid))
    return {};
  return make_error(ec::invalid_input,
                    "merge of milestone " + core::not_a_milestone_id(escape_text(mid)));
}

} // namespace

caf::expected<merge_result> merge_milestone(const merge_request& req) {
  // The id first: a bad one is the caller's input, whatever state the repository is in.
  if (auto err = check_merge_id(req.mid))
    return err;
  auto repo = open_repo(req.root);
  if (!repo)
    return std::move(repo.error());
  return merge_milestone(repo->get(), req);
}

caf::expected<merge_result> merge_milestone(git_repository* repo, const merge_request& req) {
  if (auto err = check_merge_id(req.mid))
    return err;
  auto main = resolve_main_branch(repo);
  if (!main)
    return std::move(main.error());
  context cx{req, repo, *main, "refs/heads/" + *main, "milestone/" + req.mid, {}, {}, {}};
  if (req.tip.size() != GIT_OID_HEXSZ || git_oid_fromstr(&cx.tip, req.tip.c_str()) != 0)
    return make_error(ec::invalid_input, "recorded tip '" + req.tip.substr(0, 80) + "' of " +
                                           req.mid + " is not a 40-digit commit id; record the "
                                                     "full id of the milestone's last commit");
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, cx.repo, &cx.tip) != 0)
    return make_error(ec::not_found, "recorded tip " + req.tip + " of " + req.mid +
                                       " is not a commit in " + req.root +
                                       "; check the id with `git cat-file -t " + req.tip + "`");
  git_commit_free(raw);
  if (!req.gated_commit.empty()) {
    cx.gated = true;
    if (git_oid_fromstr(&cx.gated_commit, req.gated_commit.c_str()) != 0 ||
        git_oid_fromstr(&cx.gated_base, req.gated_base.c_str()) != 0 ||
        req.gated_commit.size() != GIT_OID_HEXSZ || req.gated_base.size() != GIT_OID_HEXSZ)
      return make_error(ec::invalid_input, "gated merge of " + req.mid +
                                             ": the commit and its base must be 40-digit ids");
  }
  cx.ref_path = std::string{git_repository_commondir(cx.repo)} + cx.main_ref;
  cx.lock_path = cx.ref_path + ".lock";
  std::string recovered;
  if (!req.dry_run) {
    auto pending = finish_interrupted(cx.repo, cx.main_ref);
    if (!pending)
      return std::move(pending.error());
    if (auto* obstacle = std::get_if<merge_result>(&*pending))
      return std::move(*obstacle);
    recovered = std::get<std::string>(*pending);
  }
  for (int i = 0; i < max_attempts; ++i) {
    auto r = attempt(cx);
    if (!r)
      return std::move(r.error());
    if (*r) {
      if (!recovered.empty())
        (*r)->notes = recovered + ((*r)->notes.empty() ? "" : "; " + (*r)->notes);
      return std::move(**r);
    }
  }
  return outcome(core::merge_kind::failed,
                 cx.main + " in " + req.root + " moved during each of " +
                   std::to_string(max_attempts) + " merge attempts of " + cx.branch +
                   "; nothing was changed, merge " + req.mid + " again when commits settle");
}

caf::expected<std::string> recover_checkouts(const std::string& root) {
  // In the merge turn: a journal of a merge that runs right now is not a crash's.
  auto turn = take_merge_turn(root, lock_patience);
  if (!turn)
    return std::move(turn.error());
  auto repo = open_repo(root);
  if (!repo)
    return std::move(repo.error());
  auto main = resolve_main_branch(repo->get());
  if (!main)
    return std::move(main.error());
  auto done = finish_interrupted(repo->get(), "refs/heads/" + *main);
  if (!done)
    return std::move(done.error());
  if (auto* obstacle = std::get_if<merge_result>(&*done))
    return make_error(ec::locked, obstacle->text);
  return std::get<std::string>(*done);
}

caf::expected<std::vector<std::string>> predict_conflicts(const std::string& root,
                                                          const std::string& ours_rev,
                                                          const std::string& theirs_rev) {
  auto repo = open_repo(root);
  if (!repo)
    return std::move(repo.error());
  auto ours = resolve_commit(repo->get(), ours_rev, root);
  if (!ours)
    return std::move(ours.error());
  auto theirs = resolve_commit(repo->get(), theirs_rev, root);
  if (!theirs)
    return std::move(theirs.error());
  auto ours_tree = tree_of(ours->get());
  if (!ours_tree)
    return std::move(ours_tree.error());
  auto theirs_tree = tree_of(theirs->get());
  if (!theirs_tree)
    return std::move(theirs_tree.error());
  auto base = merge_base_tree(repo->get(), *git_commit_id(ours->get()), *git_commit_id(theirs->get()));
  if (!base)
    return std::move(base.error());
  auto tm = tree_merge(repo->get(), base->get(), ours_tree->get(), theirs_tree->get());
  if (!tm)
    return std::move(tm.error());
  return std::move(tm->conflicts);
}

} // namespace sf::io
