#include "io/git/checkout_update.hpp"

#include "io/git/git_cli.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <unordered_set>

namespace sf::io {

namespace {

// git's own steps on a checkout take milliseconds; a minute means something is wrong.
constexpr auto git_step_timeout = std::chrono::seconds(60);

std::string strip_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s;
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string{} : path.substr(0, slash);
}

caf::error sys_fail(const char* what, const std::string& path, int err) {
  return make_error(ec::io_error, std::string{what} + " " + path + " failed: " + errno_text(err) +
                                    "; check free space and permissions in that folder");
}

/// The entry of `path` in `tree`; nothing when the tree has no such file.
std::optional<std::pair<git_oid, git_filemode_t>> entry_at(const git_tree* tree,
                                                          const std::string& path) {
  git_tree_entry* raw = nullptr;
  if (git_tree_entry_bypath(&raw, tree, path.c_str()) != 0)
    return std::nullopt;
  std::pair<git_oid, git_filemode_t> out{*git_tree_entry_id(raw), git_tree_entry_filemode(raw)};
  git_tree_entry_free(raw);
  if (out.second == GIT_FILEMODE_TREE)
    return std::nullopt; // A folder is not a file entry; its files are paths of their own.
  return out;
}

bool same_entry(const git_index_entry* ie, const std::optional<git_oid>& id, git_filemode_t mode) {
  if (ie == nullptr || !id)
    return ie == nullptr && !id;
  return git_oid_equal(&ie->id, &*id) != 0 && ie->mode == static_cast<uint32_t>(mode);
}

/// Copies the file at `from` to a new file `to` (O_EXCL), so the copy can be edited while the
/// original stays what every reader sees.
caf::error copy_file(const std::string& from, const std::string& to) {
  unique_fd in{::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (!in) {
    if (errno == ENOENT)
      return {}; // No index yet: the copy stays absent and git starts an empty one.
    return sys_fail("opening", from, errno);
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return make_error(ec::io_error, from + " is not a regular file; git cannot use it either");
  unique_fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)};
  if (!out)
    return sys_fail("creating", to, errno);
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr,
                                  static_cast<size_t>(left), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::unlink(to.c_str());
      return sys_fail("copying the index to", to, err);
    }
    left -= n;
  }
  // git and libgit2 judge "racily clean" entries against the index file's mtime: the copy
  // must keep it, or an edit made in the same instant as the last `git add` would vanish.
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(out.get(), times) != 0) {
    int err = errno;
    ::unlink(to.c_str());
    return sys_fail("keeping the times of the index on", to, err);
  }
  if (auto err = close_checked(out)) {
    ::unlink(to.c_str());
    return err;
  }
  return {};
}

/// Everything a check needs: the checkout's repository (for filters and objects) and index.
struct check_context {
  const git_checkout& c;
  git_repository* repo;
  git_index* index; // May be null: an index libgit2 cannot read (split or sparse index).
  int64_t index_mtime_s = 0;
  int64_t index_mtime_ns = 0;
  bool filemode = true;
  std::unordered_set<std::string> removed; // Paths the move deletes (for folders in the way).
};

/// True when `path` has a `filter` attribute naming a driver: its clean/smudge commands are
/// run by git, not by libgit2, so only git can tell whether the file changed.
bool external_filter(git_repository* repo, const std::string& path) {
  const char* value = nullptr;
  if (git_attr_get(&value, repo, GIT_ATTR_CHECK_FILE_THEN_INDEX, path.c_str(), "filter") != 0)
    return false;
  return git_attr_value(value) == GIT_ATTR_VALUE_STRING;
}

/// True when the index entry's cached stat data proves the file unchanged since it was staged
/// (and the entry is not racily clean: written in the same instant as the index).
bool stat_matches(const check_context& cx, const git_index_entry* ie, const struct stat& st) {
  if (ie == nullptr)
    return false;
  bool racy = ie->mtime.seconds > cx.index_mtime_s ||
              (ie->mtime.seconds == cx.index_mtime_s &&
               static_cast<int64_t>(ie->mtime.nanoseconds) >= cx.index_mtime_ns);
  return !racy && ie->mtime.seconds == static_cast<int32_t>(st.st_mtim.tv_sec) &&
         ie->mtime.nanoseconds == static_cast<uint32_t>(st.st_mtim.tv_nsec) &&
         ie->file_size == static_cast<uint32_t>(st.st_size) &&
         ie->ino == static_cast<uint32_t>(st.st_ino);
}

/// True when a folder on the way to `path` is a symbolic link (or not a folder at all): git
/// never writes beyond a link, and neither do we.
bool beyond_a_link(const check_context& cx, const std::string& path) {
  for (auto dir = parent_of(path); !dir.empty(); dir = parent_of(dir)) {
    struct stat st;
    if (::lstat((cx.c.workdir + dir).c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return true;
  }
  return false;
}

/// True when the folder `dir` (relative) holds nothing but tracked files the move deletes.
bool only_removed_files(const check_context& cx, const std::string& dir) {
  auto full = cx.c.workdir + dir;
  std::unique_ptr<DIR, int (*)(DIR*)> d{::opendir(full.c_str()), ::closedir};
  if (!d)
    return false;
  while (auto* ent = ::readdir(d.get())) {
    std::string name = ent->d_name;
    if (name == "." || name == "..")
      continue;
    auto rel = dir + "/" + name;
    struct stat st;
    if (::lstat((cx.c.workdir + rel).c_str(), &st) != 0)
      return false;
    if (S_ISDIR(st.st_mode) ? !only_removed_files(cx, rel) : cx.removed.count(rel) == 0)
      return false;
  }
  return true;
}

/// What the working file at a path shows.
enum class shows { entry, absent, other };

/// Whether the regular file `full` (at `path`, whose filter only git can run) hashes to `id`
/// through that filter, as `git status` would hash it.
shows hashed_by_git(check_context& cx, const std::string& path, const std::string& full,
                    const git_oid& id) {
  auto h = run_git(cx.c.workdir, {"hash-object", "--path=" + path, "--", full}, {},
                   git_step_timeout);
  if (!h || h->exit_code != 0)
    return shows::other;
  // The id is git's last line (a filter may print to stderr before it).
  auto text = h->output;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  auto line = text.substr(text.find_last_of('\n') == std::string::npos
                            ? 0 : text.find_last_of('\n') + 1);
  git_oid on_disk;
  if (line.size() != GIT_OID_HEXSZ || git_oid_fromstr(&on_disk, line.c_str()) != 0)
    return shows::other;
  return git_oid_equal(&on_disk, &id) != 0 ? shows::entry : shows::other;
}

/// Whether the working file at `path` shows the entry (`id`, `mode`), or is absent. `ie` is the
/// index entry at that path, for its cached stat data.
shows file_state(check_context& cx, const std::string& path, const std::optional<git_oid>& id,
                 git_filemode_t mode, const git_index_entry* ie) {
  if (beyond_a_link(cx, path))
    return shows::other;
  auto full = cx.c.workdir + path;
  struct stat st;
  if (::lstat(full.c_str(), &st) != 0) {
    if (errno == ENOTDIR) {
      // A file sits where a folder of the path should be: fine only if the move deletes it.
      for (auto dir = parent_of(path); !dir.empty(); dir = parent_of(dir)) {
        struct stat pst;
        if (::lstat((cx.c.workdir + dir).c_str(), &pst) == 0 && !S_ISDIR(pst.st_mode))
          return cx.removed.count(dir) != 0 ? shows::absent : shows::other;
      }
      return shows::other;
    }
    return errno == ENOENT ? shows::absent : shows::other;
  }
  if (!id)
    return S_ISDIR(st.st_mode) && only_removed_files(cx, path) ? shows::absent : shows::other;
  if (mode == GIT_FILEMODE_COMMIT)
    return S_ISDIR(st.st_mode) ? shows::entry : shows::other;
  if (mode == GIT_FILEMODE_LINK) {
    if (!S_ISLNK(st.st_mode))
      return shows::other;
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    auto n = ::readlink(full.c_str(), target.data(), target.size());
    if (n < 0 || static_cast<std::size_t>(n) >= target.size())
      return shows::other;
    target.resize(static_cast<std::size_t>(n));
    git_oid link_id;
    return git_odb_hash(&link_id, target.data(), target.size(), GIT_OBJECT_BLOB) == 0 &&
               git_oid_equal(&link_id, &*id) != 0
             ? shows::entry
             : shows::other;
  }
  if (!S_ISREG(st.st_mode))
    return shows::other;
  if (cx.filemode && ((st.st_mode & S_IXUSR) != 0) != (mode == GIT_FILEMODE_BLOB_EXECUTABLE))
    return shows::other;
  if (ie != nullptr && git_oid_equal(&ie->id, &*id) != 0 && stat_matches(cx, ie, st))
    return shows::entry;
  if (ie != nullptr && git_oid_equal(&ie->id, &*id) != 0 && external_filter(cx.repo, path))
    return shows::entry; // Only git can compare it (its refresh and dry run decide).
  if (ie == nullptr && external_filter(cx.repo, path))
    return hashed_by_git(cx, path, full, *id); // No cached stat data: git's filter decides.
  // Hashed through the checkout's filters, as `git status` would compare it.
  git_oid on_disk;
  if (git_repository_hashfile(&on_disk, cx.repo, full.c_str(), GIT_OBJECT_BLOB, path.c_str()) != 0)
    return shows::other;
  return git_oid_equal(&on_disk, &*id) != 0 ? shows::entry : shows::other;
}

caf::expected<repo_ptr> open_checkout_repo(const git_checkout& c) {
  return open_repo(strip_slash(c.workdir));
}

check_context make_context(const git_checkout& c, git_repository* repo, git_index* index,
                           const std::string& index_path) {
  check_context cx{c, repo, index, 0, 0, true, {}};
  struct stat ist;
  if (::stat(index_path.c_str(), &ist) == 0) {
    cx.index_mtime_s = ist.st_mtim.tv_sec;
    cx.index_mtime_ns = ist.st_mtim.tv_nsec;
  }
  git_config* cfg_raw = nullptr;
  if (git_repository_config_snapshot(&cfg_raw, repo) == 0) {
    config_ptr cfg{cfg_raw};
    int flag = 1;
    if (git_config_get_bool(&flag, cfg.get(), "core.filemode") == 0)
      cx.filemode = flag != 0;
  }
  return cx;
}

/// The steps of `m`, with the entries of both trees.
caf::expected<std::vector<checkout_update::step>> plan_steps(const git_checkout& c,
                                                             git_repository* repo,
                                                             const checkout_move& m) {
  git_tree* from_raw = nullptr;
  git_tree* to_raw = nullptr;
  if (git_tree_lookup(&from_raw, repo, &m.from) != 0)
    return git_fail("reading the old tree", "the checkout at " + c.workdir);
  tree_ptr from{from_raw};
  if (git_tree_lookup(&to_raw, repo, &m.to) != 0)
    return git_fail("reading the new tree", "the checkout at " + c.workdir);
  tree_ptr to{to_raw};
  std::vector<checkout_update::step> steps;
  for (const auto& path : m.paths) {
    checkout_update::step s;
    s.path = path;
    if (auto e = entry_at(from.get(), path)) {
      s.from_id = e->first;
      s.from_mode = e->second;
    }
    if (auto e = entry_at(to.get(), path)) {
      s.to_id = e->first;
      s.to_mode = e->second;
    }
    steps.push_back(std::move(s));
  }
  return steps;
}

/// The paths at which the index or the file no longer shows `from`.
std::vector<std::string> dirty_paths(check_context& cx,
                                     const std::vector<checkout_update::step>& steps) {
  for (const auto& s : steps)
    if (s.from_id && !s.to_id)
      cx.removed.insert(s.path);
  std::vector<std::string> dirty;
  for (const auto& s : steps) {
    const git_index_entry* ie = nullptr;
    bool index_ok = true;
    if (cx.index != nullptr) {
      for (int stage = 1; stage <= 3 && index_ok; ++stage)
        index_ok = git_index_get_bypath(cx.index, s.path.c_str(), stage) == nullptr;
      ie = git_index_get_bypath(cx.index, s.path.c_str(), 0);
      index_ok = index_ok && same_entry(ie, s.from_id, s.from_mode);
      // Something staged beneath a path that becomes a file, or at a parent of a new path,
      // would leave the index with both a file and a folder of one name.
      if (index_ok && s.to_id) {
        auto below = s.path + "/";
        std::size_t at = 0;
        if (git_index_find_prefix(&at, cx.index, below.c_str()) == 0)
          for (auto n = git_index_entrycount(cx.index); at < n && index_ok; ++at) {
            const git_index_entry* e = git_index_get_byindex(cx.index, at);
            if (std::string_view{e->path}.compare(0, below.size(), below) != 0)
              break;
            index_ok = cx.removed.count(e->path) != 0; // the move itself empties that folder
          }
      }
    }
    // Outside a sparse checkout's cone the file is meant to be absent; git's rules apply.
    bool sparse = ie != nullptr && (ie->flags_extended & GIT_INDEX_ENTRY_SKIP_WORKTREE) != 0;
    bool file_ok = sparse;
    if (!sparse) {
      auto f = file_state(cx, s.path, s.from_id, s.from_mode, ie);
      file_ok = s.from_id ? f == shows::entry : f == shows::absent;
    }
    if (!index_ok || !file_ok)
      dirty.push_back(s.path);
  }
  return dirty;
}

std::string hex(const git_oid& id) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &id);
  return buf;
}

} // namespace

caf::expected<checkout_update>
checkout_update::lock_and_copy(const git_checkout& c, std::chrono::milliseconds patience,
                               const std::function<caf::error(const index_lock&)>& on_locked) {
  checkout_update up;
  up.checkout_ = c;
  auto repo = open_checkout_repo(c);
  if (!repo)
    return std::move(repo.error());
  up.repo_ = std::move(*repo);
  auto lock = index_lock::acquire(c.gitdir, strip_slash(c.workdir), patience);
  if (!lock)
    return std::move(lock.error());
  up.lock_.emplace(std::move(*lock));
  // Before anything else (the copy of a large index takes a while): a crash from here on must
  // leave a journal that names this lock, or nobody could tell it is ours to remove.
  if (on_locked)
    if (auto err = on_locked(*up.lock_))
      return err;
  // Read under the lock: what a `git add` finished a moment ago is in it, and no other git
  // command can write the index until we are done. The copy is what git edits for us.
  up.index_copy_ = c.gitdir + "sf-index." + random_hex(8);
  if (auto err = copy_file(up.lock_->index_path(), up.index_copy_))
    return err;
  return up;
}

caf::expected<checkout_update>
checkout_update::prepare(const git_checkout& c, const checkout_move& m,
                         std::chrono::milliseconds patience,
                         const std::function<caf::error(const index_lock&)>& on_locked,
                         int stop_fd) {
  auto up = lock_and_copy(c, patience, on_locked);
  if (!up)
    return up;
  up->move_ = m;
  auto steps = plan_steps(c, up->repo_.get(), m);
  if (!steps)
    return std::move(steps.error());
  up->steps_ = std::move(*steps);
  // libgit2 reads most indexes; a split or sparse index it cannot is left to git alone.
  git_index* raw = nullptr;
  if (git_index_open(&raw, up->index_copy_.c_str()) == 0) {
    index_ptr index{raw};
    auto cx = make_context(c, up->repo_.get(), index.get(), up->lock_->index_path());
    up->dirty_ = dirty_paths(cx, up->steps_);
    if (!up->dirty_.empty())
      return up;
  }
  std::vector<std::string> env = {"GIT_INDEX_FILE=" + up->index_copy_};
  // As `git merge` does: stat data refreshed first (git trusts it, and a touched file or a
  // changed ctime would look modified), then git's own check of the move, with the checkout's
  // filters and sparse rules, on our copy of the index (the real one stays locked, untouched).
  auto refresh = run_git(c.workdir, {"update-index", "-q", "--refresh"}, env, git_step_timeout,
                         stop_fd);
  if (!refresh)
    return std::move(refresh.error());
  if (refresh->exit_code < 0) // -2: our stop; -1: git's time ran out
    return make_error(refresh->exit_code == -2 ? ec::unavailable : ec::process_error,
                      git_failure(*refresh, "git update-index --refresh"));
  auto dry = run_git(c.workdir, {"read-tree", "-m", "-u", "-n", hex(m.from), hex(m.to)}, env,
                     git_step_timeout, stop_fd);
  if (!dry)
    return std::move(dry.error());
  if (dry->exit_code < 0) // -2: our stop; -1: git's time ran out
    return make_error(dry->exit_code == -2 ? ec::unavailable : ec::process_error,
                      git_failure(*dry, "git read-tree -n"));
  if (dry->exit_code != 0)
    up->refusal_ = git_failure(*dry, "git read-tree");
  return up;
}

caf::expected<checkout_update> checkout_update::prepare_finish(
  const git_checkout& c, const checkout_move& m, std::chrono::milliseconds patience,
  const std::function<caf::error(const index_lock&)>& on_locked) {
  auto up = lock_and_copy(c, patience, on_locked);
  if (!up)
    return up;
  up->move_ = m;
  up->finishing_ = true;
  auto steps = plan_steps(c, up->repo_.get(), m);
  if (!steps)
    return std::move(steps.error());
  up->steps_ = std::move(*steps);
  git_index* raw = nullptr;
  index_ptr index{git_index_open(&raw, up->index_copy_.c_str()) == 0 ? raw : nullptr};
  check_context cx = make_context(c, up->repo_.get(), nullptr, up->lock_->index_path());
  for (const auto& s : up->steps_)
    if (s.from_id && !s.to_id)
      cx.removed.insert(s.path);
  for (auto& s : up->steps_) {
    // Only a file that still shows the old version is ours to bring along, and only while its
    // index entry is ours too (the old or the new one); anything else is the user's.
    const git_index_entry* ie =
      index ? git_index_get_bypath(index.get(), s.path.c_str(), 0) : nullptr;
    bool index_ours = !index || same_entry(ie, s.from_id, s.from_mode) ||
                      same_entry(ie, s.to_id, s.to_mode);
    auto was = file_state(cx, s.path, s.from_id, s.from_mode, nullptr);
    s.file_is_from = index_ours && (s.from_id ? was == shows::entry : was == shows::absent);
    auto now = file_state(cx, s.path, s.to_id, s.to_mode, nullptr);
    bool done = index_ours && (s.to_id ? now == shows::entry : now == shows::absent);
    if (!s.file_is_from && !done)
      up->kept_.push_back(s.path);
  }
  return up;
}

caf::expected<std::vector<std::string>> checkout_update::inspect(const git_checkout& c,
                                                                 const checkout_move& m) {
  auto repo = open_checkout_repo(c);
  if (!repo)
    return std::move(repo.error());
  auto index_path = c.gitdir + "index";
  git_index* raw = nullptr;
  index_ptr index{git_index_open(&raw, index_path.c_str()) == 0 ? raw : nullptr};
  auto steps = plan_steps(c, repo->get(), m);
  if (!steps)
    return std::move(steps.error());
  auto cx = make_context(c, repo->get(), index.get(), index_path);
  return dirty_paths(cx, *steps);
}

checkout_update::~checkout_update() {
  abandon();
}

void checkout_update::abandon() noexcept {
  if (!index_copy_.empty()) {
    ::unlink(index_copy_.c_str());
    ::unlink((index_copy_ + ".lock").c_str());
    index_copy_.clear();
  }
  if (lock_)
    lock_->release();
  lock_.reset();
}

caf::error checkout_update::apply() {
  if (!lock_)
    return make_error(ec::invalid_input, "the checkout update of " + checkout_.workdir +
                                           " was already applied or abandoned");
  if (finishing_)
    return apply_finish();
  if (!dirty_.empty() || !refusal_.empty())
    return make_error(ec::invalid_input, "the checkout at " + checkout_.workdir +
                                           " has changes of the user; nothing may be applied");
  auto from = hex(move_.from);
  auto to = hex(move_.to);
  std::vector<std::string> env = {"GIT_INDEX_FILE=" + index_copy_};
  auto moved = run_git(checkout_.workdir, {"read-tree", "-m", "-u", from, to}, env,
                       git_step_timeout);
  caf::error behind;
  if (!moved || moved->exit_code != 0) {
    // The user changed a file in the instant since the check: the index still follows the
    // branch (so nothing reverts the merge in a commit), the files stay theirs.
    behind = make_error(ec::io_error, !moved ? describe(moved.error())
                                             : git_failure(*moved, "git read-tree"));
    auto index_only = run_git(checkout_.workdir, {"read-tree", "-m", from, to}, env,
                              git_step_timeout);
    if (!index_only || index_only->exit_code != 0) {
      abandon();
      return behind;
    }
  }
  auto copy = std::move(index_copy_);
  index_copy_.clear();
  ::unlink((copy + ".lock").c_str());
  auto err = lock_->commit(copy);
  lock_.reset();
  return err ? err : behind;
}

caf::error checkout_update::apply_finish() {
  std::vector<std::string> env = {"GIT_INDEX_FILE=" + index_copy_};
  std::set<std::string> kept(kept_.begin(), kept_.end());
  // Deletions first, deepest first, so a folder that becomes a file (or the reverse) is free;
  // folders they empty go too, as git removes them.
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    if (it->to_id || !it->file_is_from)
      continue;
    auto full = checkout_.workdir + it->path;
    if (::unlink(full.c_str()) != 0 && errno != ENOENT && errno != EISDIR)
      return sys_fail("removing", full, errno);
    for (auto dir = parent_of(it->path); !dir.empty(); dir = parent_of(dir))
      if (::rmdir((checkout_.workdir + dir).c_str()) != 0)
        break;
  }
  // The index follows the branch at every path but those the user staged something at: an
  // entry still at `from` moves to `to`.
  git_index* raw = nullptr;
  if (git_index_open(&raw, index_copy_.c_str()) == 0) {
    index_ptr index{raw};
    for (const auto& s : steps_) {
      const git_index_entry* ie = git_index_get_bypath(index.get(), s.path.c_str(), 0);
      if (!same_entry(ie, s.from_id, s.from_mode))
        continue;
      if (!s.to_id) {
        if (git_index_remove(index.get(), s.path.c_str(), 0) != 0)
          return git_fail("removing from the index", s.path);
        continue;
      }
      git_index_entry e{};
      e.mode = static_cast<uint32_t>(s.to_mode);
      e.id = *s.to_id;
      e.path = s.path.c_str();
      if (git_index_add(index.get(), &e) != 0)
        return git_fail("updating the index entry of", s.path);
    }
    if (git_index_write(index.get()) != 0)
      return git_fail("writing the index", "the checkout at " + checkout_.workdir);
  } else {
    auto moved = run_git(checkout_.workdir, {"read-tree", "-m", hex(move_.from), hex(move_.to)},
                         env, git_step_timeout);
    if (!moved)
      return std::move(moved.error());
    if (moved->exit_code != 0)
      return make_error(ec::git_error, "finishing the index of " + checkout_.workdir + ": " +
                                         git_failure(*moved, "git read-tree"));
  }
  // Files that still show `from` become `to`, written by git with the checkout's filters.
  std::vector<std::string> write = {"checkout-index", "-f", "-u", "--"};
  for (const auto& s : steps_)
    if (s.file_is_from && s.to_id && kept.count(s.path) == 0)
      write.push_back(s.path);
  if (write.size() > 4) {
    auto wrote = run_git(checkout_.workdir, write, env, git_step_timeout);
    if (!wrote)
      return std::move(wrote.error());
    if (wrote->exit_code != 0)
      return make_error(ec::git_error, "finishing the files of " + checkout_.workdir + ": " +
                                         git_failure(*wrote, "git checkout-index"));
  }
  auto copy = std::move(index_copy_);
  index_copy_.clear();
  ::unlink((copy + ".lock").c_str());
  auto err = lock_->commit(copy);
  lock_.reset();
  return err;
}

} // namespace sf::io
