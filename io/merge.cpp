#include "io/merge.hpp"
#include "io/fault_point.hpp"

#include "config/plan.hpp"
#include "io/git.hpp"
#include "io/inode_release.hpp"
#include "io/safe_file.hpp"
#include "io/tree_merge.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_set>

namespace sf::io {

namespace {

using remote_ptr = std::unique_ptr<git_remote, git_deleter<git_remote, git_remote_free>>;

// libgit2 matches a path list linearly against every file it visits; past this many paths a
// full status filtered through a hash set, and a checkout bounded by baseline and target alone
// (which then touch exactly the same files), are far cheaper.
constexpr size_t max_pathspec = 256;

// A few rounds are plenty: each round only loses to a commit that landed in a window of
// milliseconds; a main that keeps moving that fast needs a human anyway.
constexpr int max_attempts = 5;

std::string hex(const git_oid& id) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &id);
  return buf;
}

/// Borrowed C strings of `v` for libgit2's string arrays; valid while `v` lives.
struct strarray {
  explicit strarray(const std::vector<std::string>& v) {
    ptrs.reserve(v.size());
    for (const auto& s : v)
      ptrs.push_back(const_cast<char*>(s.c_str()));
    arr.strings = ptrs.data();
    arr.count = ptrs.size();
  }
  std::vector<char*> ptrs;
  git_strarray arr{};
};

caf::expected<commit_ptr> lookup_commit(git_repository* repo, const git_oid& id,
                                        const std::string& what) {
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, &id) != 0)
    return git_fail("reading a commit", hex(id) + " (" + what + ")");
  return commit_ptr{raw};
}

caf::expected<tree_ptr> tree_of(const git_commit* commit) {
  git_tree* raw = nullptr;
  if (git_commit_tree(&raw, commit) != 0)
    return git_fail("reading the tree of commit", hex(*git_commit_id(commit)));
  return tree_ptr{raw};
}

/// True when the repository's own HEAD names `ref` and it has a working folder.
bool head_names(git_repository* repo, const std::string& ref) {
  if (git_repository_is_bare(repo) == 1)
    return false;
  git_reference* raw = nullptr;
  if (git_reference_lookup(&raw, repo, "HEAD") != 0)
    return false;
  reference_ptr head{raw};
  return git_reference_type(head.get()) == GIT_REFERENCE_SYMBOLIC &&
         ref == git_reference_symbolic_target(head.get());
}

/// Files among `paths` that differ in the index or working folder from HEAD, or that exist
/// there untracked or ignored (a checkout would overwrite them).
caf::expected<std::vector<std::string>> dirty_paths(git_repository* repo,
                                                    const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  if (paths.empty())
    return out;
  bool narrow = paths.size() <= max_pathspec;
  static const std::vector<std::string> no_paths;
  strarray spec{narrow ? paths : no_paths};
  std::unordered_set<std::string> wanted;
  if (!narrow)
    wanted.insert(paths.begin(), paths.end());
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
               GIT_STATUS_OPT_INCLUDE_IGNORED | GIT_STATUS_OPT_RECURSE_IGNORED_DIRS |
               GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  opts.pathspec = spec.arr;
  git_status_list* raw = nullptr;
  if (git_status_list_new(&raw, repo, &opts) != 0)
    return git_fail("reading the status of the root checkout", git_repository_workdir(repo));
  status_list_ptr list{raw};
  size_t n = git_status_list_entrycount(list.get());
  for (size_t i = 0; i < n; ++i) {
    const git_status_entry* e = git_status_byindex(list.get(), i);
    if (e->status == GIT_STATUS_CURRENT)
      continue;
    const git_diff_delta* d = e->index_to_workdir != nullptr ? e->index_to_workdir
                                                             : e->head_to_index;
    if (d == nullptr)
      continue;
    std::string path = d->new_file.path != nullptr ? d->new_file.path : d->old_file.path;
    if (narrow || wanted.count(path) != 0)
      out.push_back(std::move(path));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// Brings the root's index and files at `paths` from `from` to `to`, refusing to overwrite
/// anything a user changed meanwhile.
caf::error update_checkout(git_repository* repo, git_tree* from, git_tree* to,
                           const std::vector<std::string>& paths) {
  if (paths.empty())
    return caf::none;
  bool narrow = paths.size() <= max_pathspec;
  static const std::vector<std::string> no_paths;
  strarray spec{narrow ? paths : no_paths};
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH |
                           GIT_CHECKOUT_DONT_OVERWRITE_IGNORED;
  opts.paths = spec.arr;
  // HEAD already names the merge commit; what the files reflect is still the old main tree.
  opts.baseline = from;
  if (git_checkout_tree(repo, reinterpret_cast<git_object*>(to), &opts) != 0)
    return git_fail("updating the root checkout", git_repository_workdir(repo));
  return caf::none;
}

// Between moving main and updating the root checkout a crash would leave the checkout on the
// old tree while HEAD names the merge: every merged file would look like an uncommitted revert.
// The journal names both trees, so the next merge finishes the checkout first.
// The journal lives in the git folder: it describes this checkout, and nothing there can be
// committed by a user's `git add -A`.
std::string checkout_journal_path(git_repository* repo) {
  return std::string{git_repository_path(repo)} + "sf-merge-checkout.json";
}

caf::error write_checkout_journal(git_repository* repo, const git_oid& commit, const git_oid& from,
                                  const git_oid& to, const std::vector<std::string>& paths) {
  nlohmann::json j = {{"commit", hex(commit)}, {"from", hex(from)}, {"to", hex(to)},
                      {"paths", paths}};
  std::string dir = git_repository_path(repo);
  if (!dir.empty() && dir.back() == '/')
    dir.pop_back();
  return write_file_atomic(dir, "sf-merge-checkout.json", j.dump(), 0600);
}

// The blob id of `path` in `tree`, or nothing when the tree has no such file.
std::optional<git_oid> blob_in(git_tree* tree, const std::string& path) {
  git_tree_entry* e = nullptr;
  if (git_tree_entry_bypath(&e, tree, path.c_str()) != 0)
    return std::nullopt;
  git_oid id = *git_tree_entry_id(e);
  git_tree_entry_free(e);
  return id;
}

// An interrupted update may have written some files and not the index, so the old tree is no
// longer a true baseline. A path whose file holds the old or the new content (or is absent) was
// not touched by the user and is forced to the new content; any other path stops the recovery.
caf::error finish_checkout(git_repository* repo, git_tree* from, git_tree* to,
                           const std::vector<std::string>& paths) {
  std::string workdir = git_repository_workdir(repo);
  for (const auto& path : paths) {
    struct stat st;
    auto full = workdir + path;
    if (::lstat(full.c_str(), &st) != 0)
      continue;
    git_oid on_disk;
    if (!S_ISREG(st.st_mode) || git_odb_hashfile(&on_disk, full.c_str(), GIT_OBJECT_BLOB) != 0)
      return make_error(ec::git_error, full + " is not a plain file the merge wrote");
    auto before = blob_in(from, path);
    auto after = blob_in(to, path);
    if (!(before && git_oid_equal(&*before, &on_disk) != 0) &&
        !(after && git_oid_equal(&*after, &on_disk) != 0))
      return make_error(ec::git_error, full + " was changed after the interrupted merge");
  }
  if (paths.empty())
    return caf::none;
  // Always exactly these paths: a forced checkout must never reach the user's other files.
  strarray spec{paths};
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
  opts.paths = spec.arr;
  // HEAD already is the merge: compare against the old tree, or there is nothing to do.
  opts.baseline = from;
  if (git_checkout_tree(repo, reinterpret_cast<git_object*>(to), &opts) != 0)
    return git_fail("finishing the root checkout", git_repository_workdir(repo));
  return caf::none;
}

// Finishes a checkout update that a crash or a lock interrupted, if main still names that
// merge; an error while it cannot be finished (the next merge must not pile on top of it).
caf::error finish_interrupted_checkout(git_repository* repo, const std::string& main_ref) {
  auto path = checkout_journal_path(repo);
  auto text = read_file_capped(path, 64u << 20);
  if (!text)
    return caf::none;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  git_oid commit, from, to, main_oid;
  bool ok = j.is_object() && git_oid_fromstr(&commit, j.value("commit", "").c_str()) == 0 &&
            git_oid_fromstr(&from, j.value("from", "").c_str()) == 0 &&
            git_oid_fromstr(&to, j.value("to", "").c_str()) == 0 &&
            git_reference_name_to_id(&main_oid, repo, main_ref.c_str()) == 0;
  // Only while main still is that merge and the root has it checked out; otherwise the user has
  // moved on and their checkout is theirs.
  if (ok && git_oid_equal(&main_oid, &commit) != 0 && head_names(repo, main_ref)) {
    git_tree* f = nullptr;
    git_tree* t = nullptr;
    if (git_tree_lookup(&f, repo, &from) == 0 && git_tree_lookup(&t, repo, &to) == 0) {
      tree_ptr from_tree{f};
      tree_ptr to_tree{t};
      std::vector<std::string> paths;
      if (j.contains("paths") && j["paths"].is_array())
        for (const auto& p : j["paths"])
          if (p.is_string())
            paths.push_back(p.get<std::string>());
      // Still blocked (a lock, or files the user changed): kept for next time.
      if (auto err = finish_checkout(repo, from_tree.get(), to_tree.get(), paths))
        return err;
    } else {
      git_tree_free(f);
      git_tree_free(t);
    }
  }
  ::unlink(path.c_str());
  return caf::none;
}

caf::expected<signature_ptr> merge_signature(git_repository* repo) {
  git_signature* raw = nullptr;
  if (git_signature_default(&raw, repo) == 0)
    return signature_ptr{raw};
  // No user.name/user.email configured: the tool still has to be able to record the merge.
  if (git_signature_now(&raw, "sf-actors", "sf-actors@localhost") != 0)
    return git_fail("making the merge signature", git_repository_path(repo));
  return signature_ptr{raw};
}

merge_result outcome(merge_result::kind_type k, std::string text, std::vector<std::string> files = {},
                     std::string commit = {}) {
  merge_result r;
  r.kind = k;
  r.text = std::move(text);
  r.files = std::move(files);
  r.commit = std::move(commit);
  return r;
}

std::string list_preview(const std::vector<std::string>& files) {
  std::string s;
  for (size_t i = 0; i < files.size() && i < 5; ++i)
    s += (i == 0 ? "" : ", ") + files[i];
  if (files.size() > 5)
    s += ", ... (" + std::to_string(files.size()) + " in all)";
  return s;
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
};

caf::expected<tree_ptr> base_tree(git_repository* repo, const git_oid& a, const git_oid& b) {
  git_oid base;
  int rc = git_merge_base(&base, repo, &a, &b);
  if (rc == GIT_ENOTFOUND)
    return tree_ptr{}; // Unrelated histories merge against an empty tree.
  if (rc != 0)
    return git_fail("finding the merge base", hex(a) + " and " + hex(b));
  auto commit = lookup_commit(repo, base, "merge base");
  if (!commit)
    return std::move(commit.error());
  return tree_of(commit->get());
}

/// One round: a result, or nothing when main moved before the compare-and-swap.
caf::expected<std::optional<merge_result>> attempt(const context& cx) {
  git_repository* repo = cx.repo;
  git_oid main_oid;
  if (git_reference_name_to_id(&main_oid, repo, cx.main_ref.c_str()) != 0)
    return git_fail("reading", cx.main_ref);
  if (git_oid_equal(&main_oid, &cx.tip) != 0 ||
      git_graph_descendant_of(repo, &main_oid, &cx.tip) == 1)
    return outcome(merge_result::already_merged,
                   cx.branch + " at " + hex(cx.tip).substr(0, 12) + " is already in " + cx.main +
                     "; nothing to do",
                   {}, hex(main_oid));
  auto ours = lookup_commit(repo, main_oid, cx.main);
  if (!ours)
    return std::move(ours.error());
  auto theirs = lookup_commit(repo, cx.tip, cx.branch);
  if (!theirs)
    return std::move(theirs.error());
  auto ours_tree = tree_of(ours->get());
  if (!ours_tree)
    return std::move(ours_tree.error());
  auto theirs_tree = tree_of(theirs->get());
  if (!theirs_tree)
    return std::move(theirs_tree.error());
  auto base = base_tree(repo, main_oid, cx.tip);
  if (!base)
    return std::move(base.error());
  auto tm = tree_merge(repo, base->get(), ours_tree->get(), theirs_tree->get());
  if (!tm)
    return std::move(tm.error());
  if (!tm->conflicts.empty()) {
    // Build the text before the list is moved into the result.
    std::string text = cx.branch + " conflicts with " + cx.main + " in " +
                       std::to_string(tm->conflicts.size()) + " file(s): " +
                       list_preview(tm->conflicts) + "; resolve them on " + cx.branch +
                       ", commit, and merge " + cx.req.mid + " again";
    return outcome(merge_result::conflict, std::move(text), std::move(tm->conflicts));
  }
  bool on_main = head_names(repo, cx.main_ref);
  if (on_main) {
    auto dirty = dirty_paths(repo, tm->changed_paths);
    if (!dirty)
      return std::move(dirty.error());
    if (!dirty->empty()) {
      std::string text = "the checkout at " + cx.req.root + " has uncommitted changes in " +
                         list_preview(*dirty) + " that merging " + cx.branch +
                         " would overwrite; commit or stash them and merge " + cx.req.mid +
                         " again";
      return outcome(merge_result::dirty_checkout, std::move(text), std::move(*dirty));
    }
  }
  struct stat st;
  bool lock_exists = ::lstat(cx.lock_path.c_str(), &st) == 0;
  if (cx.req.dry_run) {
    if (lock_exists)
      return outcome(merge_result::locked, cx.lock_path + " exists, so " + cx.main +
                                             " cannot be updated; remove it if no git process "
                                             "is running");
    std::string text = cx.branch + " would merge cleanly into " + cx.main + ", changing " +
                       std::to_string(tm->changed_paths.size()) + " file(s) (dry run)";
    return outcome(merge_result::merged, std::move(text), std::move(tm->changed_paths));
  }
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo, &tm->tree) != 0)
    return git_fail("reading the merged tree", hex(tm->tree));
  tree_ptr merged_tree{raw_tree};
  auto sig = merge_signature(repo);
  if (!sig)
    return std::move(sig.error());
  const git_commit* parents[] = {ours->get(), theirs->get()};
  std::string message = cx.req.message.empty() ? "Merge " + cx.branch : cx.req.message;
  git_oid commit_oid;
  if (git_commit_create(&commit_oid, repo, nullptr, sig->get(), sig->get(), nullptr,
                        message.c_str(), merged_tree.get(), 2, parents) != 0)
    return git_fail("creating the merge commit", cx.branch + " into " + cx.main);
  if (on_main)
    if (auto err = write_checkout_journal(repo, commit_oid, *git_tree_id(ours_tree->get()),
                                          tm->tree, tm->changed_paths))
      return err;
  fault_point("merge.before_update_ref");
  if (cx.req.before_cas)
    cx.req.before_cas();
  // Main's ref, the root's index and the files the checkout replaces: freed later, not inside
  // the merge (see inode_release.hpp).
  held_inodes replaced;
  replaced.add(cx.ref_path);
  if (on_main) {
    replaced.add(std::string{git_repository_path(repo)} + "index");
    std::string workdir = git_repository_workdir(repo);
    for (std::size_t i = 0; i < tm->changed_paths.size() && i < max_pathspec; ++i)
      replaced.add(workdir + tm->changed_paths[i]);
  }
  git_reference* raw_ref = nullptr;
  std::string log = "sf-actors: merge " + cx.branch;
  int rc = git_reference_create_matching(&raw_ref, repo, cx.main_ref.c_str(), &commit_oid, 1,
                                         &main_oid, log.c_str());
  reference_ptr ref{raw_ref};
  if (rc != 0 && on_main)
    ::unlink(checkout_journal_path(repo).c_str()); // main did not move: nothing to finish
  if (rc == GIT_EMODIFIED)
    return std::optional<merge_result>{};
  if (rc == GIT_ELOCKED)
    return outcome(merge_result::locked,
                   cx.lock_path + " exists, so " + cx.main + " was not updated; if no git "
                                                              "process is running, remove it "
                                                              "and merge " +
                     cx.req.mid + " again");
  if (rc != 0)
    return git_fail("moving the main branch to the merge commit", cx.main_ref + " in " + cx.req.root);
  fault_point("merge.after_update_ref");
  std::string text = "merged " + cx.branch + " into " + cx.main + " as " +
                     hex(commit_oid).substr(0, 12);
  if (on_main) {
    // The merge is committed and main has moved; a checkout refusal only leaves files behind.
    // On failure (e.g. a stale index.lock) the journal stays: the next merge finishes it.
    if (auto err = update_checkout(repo, ours_tree->get(), merged_tree.get(), tm->changed_paths))
      text += "; the root checkout was not updated yet (" + describe(err) +
              "): the next merge retries it, or restore the listed files from HEAD";
    else
      unlink_deferred(checkout_journal_path(repo));
  }
  return outcome(merge_result::merged, std::move(text), std::move(tm->changed_paths),
                 hex(commit_oid));
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

int on_push_update(const char* refname, const char* status, void* data) {
  if (status != nullptr)
    *static_cast<std::string*>(data) += std::string{refname} + ": " + status;
  return 0;
}

} // namespace

const char* to_string(merge_result::kind_type k) {
  switch (k) {
    case merge_result::merged:
      return "merged";
    case merge_result::already_merged:
      return "already_merged";
    case merge_result::conflict:
      return "conflict";
    case merge_result::dirty_checkout:
      return "dirty_checkout";
    case merge_result::locked:
      return "locked";
    case merge_result::failed:
      return "failed";
  }
  return "unknown";
}

caf::expected<merge_result> merge_milestone(const merge_request& req) {
  if (!valid_milestone_id(req.mid))
    return make_error(ec::invalid_input, "milestone id '" + req.mid.substr(0, 80) +
                                           "' is not valid; use a letter followed by up to 63 "
                                           "letters, digits, '_' or '-' (e.g. M001)");
  auto repo = open_repo(req.root);
  if (!repo)
    return std::move(repo.error());
  auto main = resolve_main_branch(repo->get());
  if (!main)
    return std::move(main.error());
  context cx{req, repo->get(), *main, "refs/heads/" + *main, "milestone/" + req.mid, {}, {}, {}};
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
  cx.ref_path = std::string{git_repository_commondir(cx.repo)} + cx.main_ref;
  cx.lock_path = cx.ref_path + ".lock";
  if (!req.dry_run)
    if (auto err = finish_interrupted_checkout(cx.repo, cx.main_ref))
      return outcome(merge_result::locked,
                     "the checkout at " + req.root + " has not caught up with the previous merge (" +
                       describe(err) + "); remove a stale .git/index.lock if no git process " +
                       "runs, or restore your changes, then merge " + req.mid + " again");
  for (int i = 0; i < max_attempts; ++i) {
    auto r = attempt(cx);
    if (!r)
      return std::move(r.error());
    if (*r)
      return std::move(**r);
  }
  return outcome(merge_result::failed,
                 cx.main + " in " + req.root + " moved during each of " +
                   std::to_string(max_attempts) + " merge attempts of " + cx.branch +
                   "; nothing was changed, merge " + req.mid + " again when commits settle");
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
  auto base = base_tree(repo->get(), *git_commit_id(ours->get()), *git_commit_id(theirs->get()));
  if (!base)
    return std::move(base.error());
  auto tm = tree_merge(repo->get(), base->get(), ours_tree->get(), theirs_tree->get());
  if (!tm)
    return std::move(tm.error());
  return std::move(tm->conflicts);
}

caf::error push_branch(const std::string& root, const std::string& remote,
                       const std::string& branch) {
  int valid = 0;
  if (git_branch_name_is_valid(&valid, branch.c_str()) != 0 || valid == 0)
    return make_error(ec::invalid_input, "branch name '" + branch.substr(0, 80) +
                                           "' is not valid for a push; name a local branch");
  auto repo = open_repo(root);
  if (!repo)
    return std::move(repo.error());
  git_remote* raw = nullptr;
  int rc = git_remote_lookup(&raw, repo->get(), remote.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) {
    // Not a configured name: a URL, or a folder (relative ones are taken from the root).
    std::string url = remote;
    bool looks_like_url = remote.find("://") != std::string::npos ||
                          (remote.find(':') != std::string::npos && remote.front() != '/');
    if (!looks_like_url) {
      if (remote.empty() || remote.front() != '/')
        url = root + "/" + remote;
      struct stat st;
      if (::stat(url.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return make_error(ec::not_found, "remote '" + remote + "' is neither a remote configured "
                                                               "in " +
                                           root + " nor an existing folder; add it with "
                                                  "`git remote add` or give the repository's path");
    }
    rc = git_remote_create_anonymous(&raw, repo->get(), url.c_str());
  }
  if (rc != 0)
    return git_fail("opening the remote", "'" + remote + "' from " + root);
  remote_ptr rem{raw};
  std::string refspec = "refs/heads/" + branch + ":refs/heads/" + branch;
  std::vector<std::string> specs{refspec};
  strarray arr{specs};
  std::string rejected;
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  opts.callbacks.push_update_reference = on_push_update;
  opts.callbacks.payload = &rejected;
  if (git_remote_push(rem.get(), &arr.arr, &opts) != 0)
    return git_fail("pushing", branch + " to '" + remote + "' from " + root);
  if (!rejected.empty())
    return make_error(ec::git_error, "the remote '" + remote + "' refused " + branch + " (" +
                                       rejected + "); fetch and merge its changes, then push "
                                                  "again");
  return caf::none;
}

} // namespace sf::io
