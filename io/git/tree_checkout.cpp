#include "io/git/tree_checkout.hpp"

#include "io/git/git.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <strings.h>
#include <string_view>
#include <thread>
#include <vector>

namespace sf::io {

namespace {

/// One blob to write: a regular file or a symbolic link.
struct file_job {
  std::string path; // Relative to the working folder, '/'-separated, as in the index.
  git_oid id;
  git_filemode_t mode;
};

/// What the tree walk collected, in pre-order.
struct walk_result {
  std::vector<std::string> dirs; // Parents come before children.
  std::vector<file_job> files;
  bool has_attributes = false;   // A .gitattributes anywhere means content may be filtered.
  std::string bad_name;          // Set when the tree holds a name we refuse to write.
};

bool unsafe_name(const char* name) {
  // A hostile tree could climb out of the folder or plant a second .git; libgit2's checkout
  // refuses these names too.
  return *name == '\0' || std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0 ||
         strcasecmp(name, ".git") == 0 || std::strchr(name, '/') != nullptr;
}

int collect(const char* root, const git_tree_entry* entry, void* payload) {
  auto& out = *static_cast<walk_result*>(payload);
  const char* name = git_tree_entry_name(entry);
  std::string path = std::string{root} + name;
  if (unsafe_name(name)) {
    out.bad_name = path;
    return -1;
  }
  switch (git_tree_entry_filemode(entry)) {
    case GIT_FILEMODE_TREE:
      out.dirs.push_back(std::move(path));
      return 0;
    case GIT_FILEMODE_COMMIT:
      // A submodule is not checked out here; git expects an empty folder in its place.
      out.dirs.push_back(std::move(path));
      return 1;
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE:
    case GIT_FILEMODE_LINK:
      if (std::strcmp(name, ".gitattributes") == 0)
        out.has_attributes = true;
      out.files.push_back({std::move(path), *git_tree_entry_id(entry),
                           git_tree_entry_filemode(entry)});
      return 0;
    default:
      out.bad_name = path;
      return -1;
  }
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

/// True when something outside the tree could make git write different bytes than the blobs.
bool filters_possible(git_repository* repo, const walk_result& walk) {
  if (walk.has_attributes)
    return true;
  if (file_exists(std::string{git_repository_commondir(repo)} + "info/attributes"))
    return true;
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  if (xdg != nullptr && *xdg != '\0' && file_exists(std::string{xdg} + "/git/attributes"))
    return true;
  if (home != nullptr && *home != '\0' && file_exists(std::string{home} + "/.config/git/attributes"))
    return true;
  git_config* raw = nullptr;
  if (git_repository_config_snapshot(&raw, repo) != 0)
    return true; // Unknown settings: take the slow, always-correct path.
  config_ptr cfg{raw};
  const char* value = nullptr;
  if (git_config_get_string(&value, cfg.get(), "core.attributesfile") == 0)
    return true;
  int flag = 0;
  if (git_config_get_bool(&flag, cfg.get(), "core.autocrlf") == 0)
    return flag != 0;
  // Not a boolean: "input" is the only other legal value, and it converts.
  return git_config_get_string(&value, cfg.get(), "core.autocrlf") == 0;
}

caf::error io_fail(const char* what, const std::string& path, int err) {
  return make_error(ec::io_error, std::string{what} + " " + path + " failed: " +
                                    std::strerror(err) +
                                    "; check free space and permissions under that folder");
}

caf::error write_blob(const file_job& job, git_odb_object* obj, const std::string& full,
                      struct stat& st) {
  const char* data = static_cast<const char*>(git_odb_object_data(obj));
  size_t size = git_odb_object_size(obj);
  if (job.mode == GIT_FILEMODE_LINK) {
    std::string target{data, size};
    if (::symlink(target.c_str(), full.c_str()) != 0 || ::lstat(full.c_str(), &st) != 0)
      return io_fail("creating symbolic link", full, errno);
    return {};
  }
  mode_t perm = job.mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
  int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, perm);
  if (fd < 0)
    return io_fail("creating", full, errno);
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return io_fail("writing", full, err);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  // The stat data must describe the file after its last write, which is now.
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return io_fail("reading the status of", full, err);
  }
  if (::close(fd) != 0)
    return io_fail("closing", full, errno);
  return {};
}

/// Shared state of the writer pool.
struct pool_state {
  const std::vector<file_job>* jobs;
  std::vector<size_t> chunk_ends; // Jobs [end of chunk k-1, chunk_ends[k]) share a folder.
  std::vector<struct stat>* stats;
  std::string workdir;
  std::string gitdir; // Each writer opens its own repository here.
  std::atomic<size_t> next{0}; // The next chunk to take.
  std::atomic<bool> failed{false};
  const std::atomic<bool>* cancel = nullptr; // Set by a stop: end between files.
  std::mutex mtx;
  caf::error first_error;

  void fail(caf::error err) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!first_error)
      first_error = std::move(err);
    failed = true;
  }
};

void writer(pool_state& ps) {
  // libgit2 objects are not shared across threads: every writer has its own object database.
  auto repo = open_repo(ps.gitdir);
  if (!repo) {
    ps.fail(repo.error());
    return;
  }
  git_odb* raw_odb = nullptr;
  if (git_repository_odb(&raw_odb, repo->get()) != 0) {
    ps.fail(git_fail("opening the object database", ps.gitdir));
    return;
  }
  odb_ptr odb{raw_odb};
  const auto& jobs = *ps.jobs;
  for (;;) {
    size_t k = ps.next.fetch_add(1);
    if (k >= ps.chunk_ends.size())
      return;
    for (size_t i = k == 0 ? 0 : ps.chunk_ends[k - 1]; i < ps.chunk_ends[k]; ++i) {
      if (ps.failed)
        return;
      if (ps.cancel != nullptr && ps.cancel->load()) {
        ps.fail(make_error(ec::unavailable, "the checkout of " + ps.workdir +
                                              " was stopped before it was complete"));
        return;
      }
      git_odb_object* raw_obj = nullptr;
      if (git_odb_read(&raw_obj, odb.get(), &jobs[i].id) != 0) {
        ps.fail(git_fail("reading a blob", jobs[i].path));
        return;
      }
      odb_object_ptr obj{raw_obj};
      if (auto err =
              write_blob(jobs[i], obj.get(), ps.workdir + "/" + jobs[i].path, (*ps.stats)[i])) {
        ps.fail(std::move(err));
        return;
      }
    }
  }
}

/// Ends of the runs of consecutive jobs in one folder. Writers take whole runs: two threads
/// creating files in the same folder queue on its lock (15 % of a 2-thread checkout's CPU went
/// to spinning on it), while different folders proceed side by side.
std::vector<size_t> folder_runs(const std::vector<file_job>& jobs) {
  std::vector<size_t> ends;
  auto parent = [](const std::string& path) {
    auto slash = path.rfind('/');
    std::string_view view{path};
    return slash == std::string::npos ? std::string_view{} : view.substr(0, slash);
  };
  for (size_t i = 1; i <= jobs.size(); ++i)
    if (i == jobs.size() || parent(jobs[i].path) != parent(jobs[i - 1].path))
      ends.push_back(i);
  return ends;
}

void fill_stat(git_index_entry& e, const struct stat& st) {
  // The index stores 32-bit fields; git truncates the same way when it compares.
  e.ctime.seconds = static_cast<int32_t>(st.st_ctim.tv_sec);
  e.ctime.nanoseconds = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  e.mtime.seconds = static_cast<int32_t>(st.st_mtim.tv_sec);
  e.mtime.nanoseconds = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  e.dev = static_cast<uint32_t>(st.st_dev);
  e.ino = static_cast<uint32_t>(st.st_ino);
  e.uid = static_cast<uint32_t>(st.st_uid);
  e.gid = static_cast<uint32_t>(st.st_gid);
  e.file_size = static_cast<uint32_t>(st.st_size);
}

caf::error write_index(git_repository* wt_repo, git_tree* tree, const std::vector<file_job>& jobs,
                       const std::vector<struct stat>& stats, const std::string& workdir) {
  git_index* raw = nullptr;
  if (git_repository_index(&raw, wt_repo) != 0)
    return git_fail("opening the index", workdir);
  index_ptr idx{raw};
  if (git_index_read_tree(idx.get(), tree) != 0)
    return git_fail("loading the tree into the index", workdir);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const git_index_entry* found = git_index_get_bypath(idx.get(), jobs[i].path.c_str(), 0);
    if (found == nullptr)
      return make_error(ec::git_error, "the index of " + workdir + " lacks " + jobs[i].path +
                                         " right after loading its tree; report this as a bug");
    // git_index_add would copy, re-validate and re-insert every entry (~10 us each, seconds
    // at 50k files). The stat fields are plain data outside the sort key (path, stage), and the
    // entry is heap memory the index owns, so updating it in place is sound.
    fill_stat(const_cast<git_index_entry&>(*found), stats[i]);
  }
  if (git_index_write(idx.get()) != 0)
    return git_fail("writing the index", workdir);
  return {};
}

int stop_if_cancelled(git_checkout_notify_t, const char*, const git_diff_file*,
                      const git_diff_file*, const git_diff_file*, void* payload) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(payload);
  return cancel != nullptr && cancel->load() ? -1 : 0;
}

caf::error libgit2_checkout(git_repository* wt_repo, git_tree* tree, const std::string& workdir,
                            const std::atomic<bool>* cancel) {
  // libgit2 insists the tree object belong to the repository it checks out into.
  git_tree* raw = nullptr;
  if (git_tree_lookup(&raw, wt_repo, git_tree_id(tree)) != 0)
    return git_fail("reading the tree to check out", workdir);
  tree_ptr own{raw};
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_FORCE;
  // A stop asked for before libgit2 writes ends the checkout: it calls notify_cb while it
  // plans, file by file; once it writes (it has no way to abort then) it runs to its end.
  opts.notify_flags = GIT_CHECKOUT_NOTIFY_UPDATED;
  opts.notify_cb = stop_if_cancelled;
  opts.notify_payload = const_cast<std::atomic<bool>*>(cancel);
  if (git_checkout_tree(wt_repo, reinterpret_cast<git_object*>(own.get()), &opts) != 0) {
    if (cancel != nullptr && cancel->load())
      return make_error(ec::unavailable, "the checkout of " + workdir +
                                           " was stopped before it was complete");
    return git_fail("checking out files", workdir);
  }
  return {};
}

} // namespace

caf::error checkout_tree_fast(git_repository* wt_repo, git_tree* tree, const std::string& workdir,
                              unsigned threads, const std::atomic<bool>* cancel) {
  walk_result walk;
  int rc = git_tree_walk(tree, GIT_TREEWALK_PRE, collect, &walk);
  if (!walk.bad_name.empty())
    return make_error(ec::unsafe_path, "the tree to check out into " + workdir +
                                         " holds an entry we refuse to write: " + walk.bad_name +
                                         "; rewrite that commit without it");
  if (rc != 0)
    return git_fail("walking the tree", workdir);
  if (filters_possible(wt_repo, walk))
    return libgit2_checkout(wt_repo, tree, workdir, cancel);
  for (const auto& dir : walk.dirs) {
    std::string full = workdir + "/" + dir;
    if (::mkdir(full.c_str(), 0755) != 0)
      return io_fail("creating folder", full, errno);
  }
  std::vector<struct stat> stats(walk.files.size());
  pool_state ps;
  ps.jobs = &walk.files;
  ps.chunk_ends = folder_runs(walk.files);
  ps.stats = &stats;
  ps.workdir = workdir;
  ps.gitdir = git_repository_commondir(wt_repo);
  ps.cancel = cancel;
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(
      std::min<size_t>(threads, std::max<size_t>(1, ps.chunk_ends.size())));
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    try {
      pool.emplace_back(writer, std::ref(ps));
    } catch (const std::system_error& e) {
      // Out of threads: stop the writers already running, then report.
      ps.fail(make_error(ec::io_error, "starting a checkout thread for " + workdir +
                                         " failed: " + e.what() + "; lower the system load"));
      break;
    }
  }
  for (auto& th : pool)
    th.join();
  if (ps.first_error)
    return ps.first_error;
  return write_index(wt_repo, tree, walk.files, stats, workdir);
}

} // namespace sf::io
