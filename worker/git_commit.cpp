#include "worker/git_commit.hpp"

#include "io/git/git.hpp"
#include "io/git/git_hooks.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <optional>
#include <sstream>

namespace sf::worker {

namespace {

/// The repository's identity, or the fallback when its config does not name one.
caf::expected<io::signature_ptr> make_signature(git_repository* repo) {
  git_signature* raw = nullptr;
  if (git_signature_default(&raw, repo) == 0)
    return io::signature_ptr{raw};
  if (git_signature_now(&raw, fallback_author_name, fallback_author_email) != 0)
    return io::git_fail("creating the fallback commit signature", git_repository_workdir(repo));
  return io::signature_ptr{raw};
}

/// What HEAD names: the loose ref file of its branch (when symbolic) and the commit it points
/// at (none before the first commit). One read of HEAD serves both.
struct head_info {
  std::optional<std::string> branch_file;
  std::optional<git_oid> tip;
};

caf::expected<head_info> read_head(git_repository* repo, const std::string& worktree) {
  head_info out;
  git_reference* raw = nullptr;
  int rc = git_reference_lookup(&raw, repo, "HEAD");
  if (rc == GIT_ENOTFOUND)
    return out;
  if (rc != 0)
    return io::git_fail("resolving HEAD", worktree);
  io::reference_ptr head{raw};
  const char* target = git_reference_symbolic_target(head.get());
  if (target != nullptr)
    out.branch_file = std::string{git_repository_commondir(repo)} + target;
  git_oid id;
  rc = git_reference_name_to_id(&id, repo, target != nullptr ? target : "HEAD");
  if (rc == 0)
    out.tip = id;
  else if (rc != GIT_ENOTFOUND)
    return io::git_fail("resolving HEAD", worktree);
  return out;
}

} // namespace

caf::expected<std::string> commit_all(const std::string& worktree, const std::string& message,
                                      const io::git_hook_settings& hooks) {
  auto repo = io::open_repo(worktree);
  if (!repo)
    return repo.error();
  return commit_all(repo->get(), worktree, message, hooks);
}

/// libgit2's failure as an error; a lock another process holds is `ec::locked`, so the caller
/// can tell "wait and try again" from a real failure whatever happens to the lock meanwhile.
caf::error fail(int rc, const char* what, const std::string& worktree) {
  auto err = io::git_fail(what, worktree);
  if (rc == GIT_ELOCKED)
    return make_error(ec::locked, describe(err));
  return err;
}

namespace {

// A hook's refusal as the commit's error; a stopped hook is `ec::unavailable` (the caller is
// stopping), anything else names the hook, its output and the way on.
caf::error refused(const io::git_hook_result& h, const char* name, const std::string& worktree) {
  if (h.stopped)
    return make_error(ec::unavailable, std::string{"the "} + name + " hook was stopped: the "
                                         "commit was not made");
  return make_error(ec::process_error,
                    h.failure(name) + "; the commit was not made and the changes stay in " +
                      worktree + ": fix what it reports, then start the milestone again "
                      "(`git_hooks: false` in .sf/PREFERENCES.md turns git hooks off)");
}

// git's pre-commit, run where git runs it: after staging, before the tree is written.
caf::error run_pre_commit(git_repository* r, git_index* index, const std::string& worktree,
                          const io::git_hook_settings& hooks) {
  io::git_hook_call call;
  call.name = "pre-commit";
  call.top = worktree;
  if (const char* path = git_index_path(index))
    call.env.push_back(std::string{"GIT_INDEX_FILE="} + path);
  auto h = io::run_git_hook(r, call, hooks);
  if (!h)
    return h.error();
  if (!h->ok)
    return refused(*h, "pre-commit", worktree);
  // It may have staged files of its own (a formatter's `git add`): those are committed too.
  if (h->ran && git_index_read(index, 1) != 0)
    return io::git_fail("reading the index after the pre-commit hook", worktree);
  return {};
}

// git's commit-msg: the message in COMMIT_EDITMSG of the worktree's git dir, which the hook
// may rewrite; the message to commit, cleaned of surplus whitespace as git does when changed.
caf::expected<std::string> run_commit_msg(git_repository* r, const std::string& worktree,
                                          const std::string& message,
                                          const io::git_hook_settings& hooks) {
  if (!hooks.enabled)
    return message;
  auto exists = io::git_hook_exists(r, "commit-msg", worktree);
  if (!exists)
    return exists.error();
  if (!*exists)
    return message;
  std::string gitdir = git_repository_path(r);
  const char* name = "COMMIT_EDITMSG";
  if (auto err = io::write_file_replace(gitdir, name, message, 0644))
    return err;
  io::git_hook_call call;
  call.name = "commit-msg";
  call.top = worktree;
  call.args = {gitdir + name};
  auto h = io::run_git_hook(r, call, hooks);
  if (!h)
    return h.error();
  if (!h->ok)
    return refused(*h, "commit-msg", worktree);
  if (!h->ran)
    return message;
  auto edited = io::read_file_capped(gitdir + name, 1 << 20);
  if (!edited)
    return edited.error();
  if (*edited == message)
    return message;
  git_buf buf = GIT_BUF_INIT;
  if (git_message_prettify(&buf, edited->c_str(), 0, '#') != 0)
    return io::git_fail("cleaning the message the commit-msg hook wrote", gitdir + name);
  std::string out{buf.ptr, buf.size};
  git_buf_dispose(&buf);
  if (out.empty())
    return make_error(ec::process_error, "the commit-msg hook (" + h->path + ") left an empty "
                                           "message in " + gitdir + name + ", so the commit "
                                           "was not made (git aborts such a commit too); fix "
                                           "the hook, then start the milestone again");
  return out;
}

} // namespace

caf::expected<std::string> commit_all(git_repository* r, const std::string& worktree,
                                      const std::string& message,
                                      const io::git_hook_settings& hooks) {
  git_index* raw_index = nullptr;
  if (git_repository_index(&raw_index, r) != 0)
    return io::git_fail("opening the index", worktree);
  io::index_ptr index{raw_index};
  auto head = read_head(r, worktree);
  if (!head)
    return head.error();
  // The index and the branch's ref are replaced by renames: their old blocks are freed later.
  io::held_inodes replaced;
  if (const char* path = git_index_path(index.get()))
    replaced.add(path);
  if (head->branch_file)
    replaced.add(*head->branch_file);
  // Another process (a user's git) may have touched the index since libgit2 cached it.
  if (git_index_read(index.get(), 1) != 0)
    return io::git_fail("reading the index", worktree);
  // add_all picks up new and modified files (ignored ones stay out); update_all also drops
  // entries whose files were deleted.
  if (git_index_add_all(index.get(), nullptr, GIT_INDEX_ADD_DEFAULT, nullptr, nullptr) != 0)
    return io::git_fail("staging the worktree's files", worktree);
  if (git_index_update_all(index.get(), nullptr, nullptr, nullptr) != 0)
    return io::git_fail("staging deleted files", worktree);
  if (int rc = git_index_write(index.get()); rc != 0)
    return fail(rc, "writing the index", worktree);
  if (auto err = run_pre_commit(r, index.get(), worktree, hooks))
    return err;
  git_oid tree_id;
  if (git_index_write_tree(&tree_id, index.get()) != 0)
    return io::git_fail("writing the tree", worktree);
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, r, &tree_id) != 0)
    return io::git_fail("looking up the new tree", worktree);
  io::tree_ptr tree{raw_tree};

  io::commit_ptr parent;
  if (head->tip) {
    git_commit* raw_parent = nullptr;
    if (git_commit_lookup(&raw_parent, r, &*head->tip) != 0)
      return io::git_fail("looking up the HEAD commit", worktree);
    parent.reset(raw_parent);
  }
  char hex[GIT_OID_HEXSZ + 1];
  // Nothing changed since HEAD: no empty commit, HEAD already holds it all.
  if (parent && git_oid_equal(git_commit_tree_id(parent.get()), &tree_id)) {
    git_oid_tostr(hex, sizeof(hex), &*head->tip);
    return std::string(hex);
  }
  // As git: commit-msg runs only once there is something to commit.
  auto final_message = run_commit_msg(r, worktree, message, hooks);
  if (!final_message)
    return final_message.error();
  auto sig = make_signature(r);
  if (!sig)
    return sig.error();
  const git_commit* parents[1] = {parent.get()};
  git_oid commit_id;
  if (int rc = git_commit_create(&commit_id, r, "HEAD", sig->get(), sig->get(), nullptr,
                                 final_message->c_str(), tree.get(), parent ? 1 : 0, parents);
      rc != 0)
    return fail(rc, "committing", worktree);
  git_oid_tostr(hex, sizeof(hex), &commit_id);
  return std::string(hex);
}

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

std::string resolved(const std::string& base, const std::string& path) {
  return !path.empty() && path[0] == '/' ? path : base + "/" + path;
}

} // namespace

caf::expected<std::string> common_git_dir(const std::string& worktree) {
  // Read by hand, like git does: opening the repository with libgit2 would start libgit2,
  // which the worker does on another thread while its first unit runs.
  auto dot_git = worktree + "/.git";
  struct stat st;
  if (::stat(dot_git.c_str(), &st) != 0)
    return make_error(ec::invalid_input, worktree + " is not a git checkout (" + dot_git + ": " +
                                           io::errno_text(errno) + "); start the worker in its "
                                           "worktree");
  if (S_ISDIR(st.st_mode))
    return dot_git;
  auto link = io::read_file_capped(dot_git, 4096);
  if (!link)
    return link.error();
  auto text = trimmed(*link);
  const std::string prefix = "gitdir: ";
  if (text.compare(0, prefix.size(), prefix) != 0)
    return make_error(ec::invalid_input, dot_git + " does not start with \"gitdir: \"; repair "
                                           "the worktree with `git worktree repair`");
  auto gitdir = resolved(worktree, text.substr(prefix.size()));
  auto common = io::read_file_capped(gitdir + "/commondir", 4096);
  if (!common) {
    if (code_of(common.error()) == ec::not_found)
      return gitdir;
    return common.error();
  }
  return resolved(gitdir, trimmed(*common));
}

caf::error ensure_excluded(const std::string& worktree, const std::string& pattern) {
  auto common = common_git_dir(worktree);
  if (!common)
    return common.error();
  std::string info = *common + "/info";
  if (::mkdir(info.c_str(), 0755) != 0 && errno != EEXIST)
    return make_error(ec::io_error, "cannot create " + info + ": " + io::errno_text(errno) +
                                        "; check the repository's permissions");
  std::string text;
  auto current = io::read_file_capped(info + "/exclude", 1 << 20);
  if (current) {
    text = std::move(*current);
  } else if (code_of(current.error()) != ec::not_found) {
    return current.error();
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line == pattern)
      return {};
  if (!text.empty() && text.back() != '\n')
    text += '\n';
  text += pattern + "\n";
  return io::write_file_atomic(info, "exclude", text, 0644);
}

} // namespace sf::worker
