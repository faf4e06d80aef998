#include "io/checkout_update.hpp"

#include "io/inode_release.hpp"
#include "io/safe_file.hpp"
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

using buf_guard = std::unique_ptr<git_buf, void (*)(git_buf*)>;

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
      return {}; // No index yet: the copy stays absent and libgit2 starts an empty one.
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
  git_index* index;
  int64_t index_mtime_s = 0;
  int64_t index_mtime_ns = 0;
  bool filemode = true;
  std::unordered_set<std::string> removed; // Paths the move deletes (for folders in the way).
};

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

/// True when the working file at `path` shows the entry (`id`, `mode`), or is absent when the
/// entry is absent. `ie` is the index entry at that path, for its cached stat data.
bool file_shows(const check_context& cx, const std::string& path, const std::optional<git_oid>& id,
                git_filemode_t mode, const git_index_entry* ie) {
  auto full = cx.c.workdir + path;
  struct stat st;
  if (::lstat(full.c_str(), &st) != 0) {
    if (errno == ENOTDIR) {
      // A file sits where a folder of the path should be: fine only if the move deletes it.
      for (auto dir = parent_of(path); !dir.empty(); dir = parent_of(dir)) {
        struct stat pst;
        if (::lstat((cx.c.workdir + dir).c_str(), &pst) == 0 && !S_ISDIR(pst.st_mode))
          return !id && cx.removed.count(dir) != 0;
      }
      return false;
    }
    return !id && errno == ENOENT;
  }
  if (!id)
    return S_ISDIR(st.st_mode) && only_removed_files(cx, path);
  if (mode == GIT_FILEMODE_COMMIT)
    return S_ISDIR(st.st_mode);
  if (mode == GIT_FILEMODE_LINK) {
    if (!S_ISLNK(st.st_mode))
      return false;
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    auto n = ::readlink(full.c_str(), target.data(), target.size());
    if (n < 0 || static_cast<std::size_t>(n) >= target.size())
      return false;
    target.resize(static_cast<std::size_t>(n));
    git_oid link_id;
    return git_odb_hash(&link_id, target.data(), target.size(), GIT_OBJECT_BLOB) == 0 &&
           git_oid_equal(&link_id, &*id) != 0;
  }
  if (!S_ISREG(st.st_mode))
    return false;
  if (cx.filemode && ((st.st_mode & S_IXUSR) != 0) != (mode == GIT_FILEMODE_BLOB_EXECUTABLE))
    return false;
  if (ie != nullptr && git_oid_equal(&ie->id, &*id) != 0 && stat_matches(cx, ie, st))
    return true;
  // Hashed through the checkout's filters, as `git status` would compare it.
  git_oid on_disk;
  if (git_repository_hashfile(&on_disk, cx.repo, full.c_str(), GIT_OBJECT_BLOB, path.c_str()) != 0)
    return false;
  return git_oid_equal(&on_disk, &*id) != 0;
}

caf::expected<repo_ptr> open_checkout_repo(const git_checkout& c) {
  return open_repo(strip_slash(c.workdir));
}

/// Plans the steps of `m` and lists the paths whose index entry or file the user changed.
caf::expected<std::vector<std::string>>
check_steps(const git_checkout& c, git_repository* repo, git_index* index,
            const std::string& index_path, const checkout_move& m, bool accept_to,
            std::vector<checkout_update::step>& steps) {
  git_tree* from_raw = nullptr;
  git_tree* to_raw = nullptr;
  if (git_tree_lookup(&from_raw, repo, &m.from) != 0)
    return git_fail("reading the old tree for the checkout at", c.workdir);
  tree_ptr from{from_raw};
  if (git_tree_lookup(&to_raw, repo, &m.to) != 0)
    return git_fail("reading the new tree for the checkout at", c.workdir);
  tree_ptr to{to_raw};
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
  steps.clear();
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
    if (s.from_id && !s.to_id)
      cx.removed.insert(path);
    steps.push_back(std::move(s));
  }
  std::vector<std::string> dirty;
  for (auto& s : steps) {
    bool conflicted = false;
    for (int stage = 1; stage <= 3 && !conflicted; ++stage)
      conflicted = git_index_get_bypath(index, s.path.c_str(), stage) != nullptr;
    const git_index_entry* ie = git_index_get_bypath(index, s.path.c_str(), 0);
    s.skip_worktree = ie != nullptr && (ie->flags_extended & GIT_INDEX_ENTRY_SKIP_WORKTREE) != 0;
    bool index_ok = !conflicted && (same_entry(ie, s.from_id, s.from_mode) ||
                                    (accept_to && same_entry(ie, s.to_id, s.to_mode)));
    bool file_ok = s.skip_worktree || file_shows(cx, s.path, s.from_id, s.from_mode, ie) ||
                   (accept_to && file_shows(cx, s.path, s.to_id, s.to_mode, ie));
    // A half-finished update may have removed a file it was about to rewrite.
    if (!file_ok && accept_to) {
      struct stat st;
      file_ok = ::lstat((c.workdir + s.path).c_str(), &st) != 0 && errno == ENOENT;
    }
    if (!index_ok || !file_ok)
      dirty.push_back(s.path);
  }
  return dirty;
}

/// Creates the folders of `rel`'s parent under `workdir`.
caf::error make_parents(const std::string& workdir, const std::string& rel) {
  std::string dir;
  std::size_t pos = 0;
  while ((pos = rel.find('/', pos)) != std::string::npos) {
    dir = rel.substr(0, pos++);
    auto full = workdir + dir;
    if (::mkdir(full.c_str(), 0777) == 0 || errno != EEXIST)
      continue;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return make_error(ec::io_error, full + " is in the way of " + rel +
                                        " and is not a folder; the checkout was not finished");
  }
  return {};
}

/// Writes one blob (filtered for this checkout) or link at `rel`, replacing what is there in
/// one rename; gives the stat data of the new file.
caf::error write_entry(git_repository* repo, const std::string& workdir,
                       const checkout_update::step& s, held_inodes& held, struct stat& st) {
  auto full = workdir + s.path;
  if (auto err = make_parents(workdir, s.path))
    return err;
  if (s.to_mode == GIT_FILEMODE_COMMIT) {
    // A submodule: git leaves an empty folder in its place.
    if (::mkdir(full.c_str(), 0777) != 0 && errno != EEXIST)
      return sys_fail("creating", full, errno);
    if (::lstat(full.c_str(), &st) != 0)
      return sys_fail("inspecting", full, errno);
    return {};
  }
  git_blob* raw = nullptr;
  if (git_blob_lookup(&raw, repo, &*s.to_id) != 0)
    return git_fail("reading the blob of", s.path);
  blob_ptr blob{raw};
  auto tmp = full + ".sf-" + random_hex(6) + ".tmp";
  if (s.to_mode == GIT_FILEMODE_LINK) {
    std::string target{static_cast<const char*>(git_blob_rawcontent(blob.get())),
                       static_cast<std::size_t>(git_blob_rawsize(blob.get()))};
    if (::symlink(target.c_str(), tmp.c_str()) != 0)
      return sys_fail("creating the link", tmp, errno);
  } else {
    git_buf content = GIT_BUF_INIT;
    buf_guard guard{&content, git_buf_dispose};
    git_blob_filter_options opts = GIT_BLOB_FILTER_OPTIONS_INIT;
    if (git_blob_filter(&content, blob.get(), s.path.c_str(), &opts) != 0)
      return git_fail("filtering the content of", s.path);
    mode_t perm = s.to_mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0777 : 0666;
    unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm)};
    if (!fd)
      return sys_fail("creating", tmp, errno);
    const char* p = content.ptr;
    std::size_t left = content.size;
    while (left > 0) {
      ssize_t n = ::write(fd.get(), p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return sys_fail("writing", tmp, err);
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    if (auto err = close_checked(fd)) {
      ::unlink(tmp.c_str());
      return err;
    }
  }
  held.add(full);
  if (::rename(tmp.c_str(), full.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return sys_fail("replacing", full, err);
  }
  if (::lstat(full.c_str(), &st) != 0)
    return sys_fail("inspecting", full, errno);
  return {};
}

git_index_entry index_entry_for(const checkout_update::step& s, const struct stat& st) {
  git_index_entry e{};
  e.ctime.seconds = static_cast<int32_t>(st.st_ctim.tv_sec);
  e.ctime.nanoseconds = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  e.mtime.seconds = static_cast<int32_t>(st.st_mtim.tv_sec);
  e.mtime.nanoseconds = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  e.dev = static_cast<uint32_t>(st.st_dev);
  e.ino = static_cast<uint32_t>(st.st_ino);
  e.mode = static_cast<uint32_t>(s.to_mode);
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.file_size = s.to_mode == GIT_FILEMODE_COMMIT ? 0 : static_cast<uint32_t>(st.st_size);
  e.id = *s.to_id;
  e.path = s.path.c_str();
  return e;
}

} // namespace

caf::expected<checkout_update> checkout_update::prepare(const git_checkout& c,
                                                        const checkout_move& m, bool accept_to,
                                                        std::chrono::milliseconds patience) {
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
  // Read under the lock: what a `git add` finished a moment ago is in it, and no other git
  // command can write the index until we are done.
  up.index_copy_ = c.gitdir + "sf-index." + random_hex(8);
  if (auto err = copy_file(up.lock_->index_path(), up.index_copy_))
    return err;
  git_index* raw = nullptr;
  if (git_index_open(&raw, up.index_copy_.c_str()) != 0) {
    auto err = git_fail("reading the index of the checkout at", c.workdir);
    ::unlink(up.index_copy_.c_str());
    return err;
  }
  up.index_.reset(raw);
  auto dirty = check_steps(c, up.repo_.get(), up.index_.get(), up.lock_->index_path(), m,
                           accept_to, up.steps_);
  if (!dirty)
    return std::move(dirty.error());
  up.dirty_ = std::move(*dirty);
  return up;
}

caf::expected<std::vector<std::string>> checkout_update::inspect(const git_checkout& c,
                                                                 const checkout_move& m) {
  auto repo = open_checkout_repo(c);
  if (!repo)
    return std::move(repo.error());
  auto index_path = c.gitdir + "index";
  git_index* raw = nullptr;
  if (git_index_open(&raw, index_path.c_str()) != 0)
    return git_fail("reading the index of the checkout at", c.workdir);
  index_ptr index{raw};
  std::vector<step> steps;
  return check_steps(c, repo->get(), index.get(), index_path, m, false, steps);
}

checkout_update::~checkout_update() {
  abandon();
}

void checkout_update::abandon() noexcept {
  index_.reset();
  if (!index_copy_.empty()) {
    ::unlink(index_copy_.c_str());
    index_copy_.clear();
  }
  if (lock_)
    lock_->release();
  lock_.reset();
}

caf::error checkout_update::apply() {
  if (!lock_ || !index_)
    return make_error(ec::invalid_input, "the checkout update of " + checkout_.workdir +
                                           " was already applied or abandoned");
  if (!dirty_.empty())
    return make_error(ec::invalid_input, "the checkout at " + checkout_.workdir +
                                           " has changes of the user; nothing may be applied");
  const auto& workdir = checkout_.workdir;
  // The old index and every replaced or removed file: their blocks are freed later, not here.
  held_inodes held;
  held.add(lock_->index_path());
  auto fail = [this](caf::error err) {
    abandon();
    return err;
  };
  // Deletions first, deepest first, so a folder that becomes a file (or the reverse) is free.
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    if (it->to_id)
      continue;
    if (!it->skip_worktree) {
      auto full = workdir + it->path;
      struct stat st;
      if (::lstat(full.c_str(), &st) == 0) {
        held.add(full);
        int rc = S_ISDIR(st.st_mode) ? ::rmdir(full.c_str()) : ::unlink(full.c_str());
        if (rc != 0 && errno != ENOENT && errno != ENOTEMPTY)
          return fail(sys_fail("removing", full, errno));
      }
      // Folders the deletion emptied go too, as git removes them.
      for (auto dir = parent_of(it->path); !dir.empty(); dir = parent_of(dir))
        if (::rmdir((workdir + dir).c_str()) != 0)
          break;
    }
    if (git_index_get_bypath(index_.get(), it->path.c_str(), 0) != nullptr &&
        git_index_remove(index_.get(), it->path.c_str(), 0) != 0)
      return fail(git_fail("removing from the index", it->path));
  }
  for (const auto& s : steps_) {
    if (!s.to_id)
      continue;
    struct stat st{};
    if (s.skip_worktree) {
      // Sparse: the file is not in the working folder; only the staged entry moves.
      const git_index_entry* old = git_index_get_bypath(index_.get(), s.path.c_str(), 0);
      git_index_entry e = old != nullptr ? *old : git_index_entry{};
      e.id = *s.to_id;
      e.mode = static_cast<uint32_t>(s.to_mode);
      e.path = s.path.c_str();
      if (git_index_add(index_.get(), &e) != 0)
        return fail(git_fail("updating the index entry of", s.path));
      continue;
    }
    if (auto err = write_entry(repo_.get(), workdir, s, held, st))
      return fail(std::move(err));
    auto e = index_entry_for(s, st);
    if (git_index_add(index_.get(), &e) != 0)
      return fail(git_fail("updating the index entry of", s.path));
  }
  // libgit2 writes the copy through its own lock beside it; the copy then replaces the index
  // through ours.
  if (git_index_write(index_.get()) != 0)
    return fail(git_fail("writing the updated index of the checkout at", workdir));
  index_.reset();
  auto copy = std::move(index_copy_);
  index_copy_.clear();
  auto err = lock_->commit(copy);
  lock_.reset();
  return err;
}

} // namespace sf::io
