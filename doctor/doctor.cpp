#include "doctor/doctor.hpp"

#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "doctor/doctor_detail.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/run_file.hpp"
#include "io/files/runtime_files.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "io/files/worker_registry.hpp"
#include "io/os/proc_files.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace sf::io {

const char* to_string(finding_kind k) {
  switch (k) {
    case finding_kind::stale_status: return "stale status";
    case finding_kind::bad_status: return "malformed status";
    case finding_kind::silent_worker: return "silent worker";
    case finding_kind::leftover_signal: return "leftover signal";
    case finding_kind::leftover_temp: return "temp file";
    case finding_kind::finished_worktree: return "finished worktree";
    case finding_kind::half_worktree: return "half-created worktree";
    case finding_kind::prunable_worktree: return "prunable worktree entry";
    case finding_kind::idle_branch: return "idle branch";
    case finding_kind::trash_folder: return "trash folder";
    case finding_kind::stale_git_lock: return "git lock";
    case finding_kind::interrupted_merge: return "interrupted merge";
    case finding_kind::orphan_worker: return "orphan worker";
    case finding_kind::orphan_process: return "orphan process";
    case finding_kind::coordinator_lock: return "coordinator lock";
    case finding_kind::unsafe_file: return "unsafe file";
    case finding_kind::check_failed: return "check failed";
  }
  return "unknown";
}

std::string id_of(finding_kind k) {
  // Derived from the label, so the text and the JSON never name a kind differently.
  std::string id = to_string(k);
  std::replace_if(id.begin(), id.end(), [](char c) { return c == ' ' || c == '-'; }, '_');
  return id;
}

namespace detail {

const project_process* doctor_context::live_worker(const std::string& mid) const {
  for (const auto& p : procs)
    if (p.mid == mid && dead_tokens.count(p.spawn_token) == 0)
      return &p;
  return nullptr;
}

doctor_context make_context(const std::string& root, const preferences& prefs,
                            const plan* milestones) {
  doctor_context ctx;
  std::error_code ec_;
  auto canon = fs::weakly_canonical(root, ec_);
  ctx.root = ec_ ? root : canon.string();
  while (ctx.root.size() > 1 && ctx.root.back() == '/')
    ctx.root.pop_back();
  ctx.prefs = &prefs;
  ctx.milestones = milestones;
  ctx.procs = find_project_processes(ctx.root);
  ctx.coordinator_running = coordinator_lock::is_held(ctx.root, &ctx.coordinator_pid);
  ctx.now = now_ms();
  // An entry written before its spawn (pid 0) names no process to check: never called dead.
  if (auto known = read_worker_registry(ctx.root))
    for (const auto& who : *known) {
      if (who.token.empty() || who.pid == 0)
        continue;
      if (verify_worker(ctx.root, who))
        ctx.live_tokens.emplace(who.token, who.pid);
      else
        ctx.dead_tokens.emplace(who.token, who);
    }
  return ctx;
}

std::string relative_to(const std::string& root, const std::string& path) {
  if (path_within(path, root) && path.size() > root.size() + 1)
    return path.substr(root.size() + 1);
  return path;
}

int64_t mtime_ms(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0)
    return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

} // namespace detail

namespace {

using detail::doctor_context;

std::string seconds_text(int64_t ms) {
  return std::to_string(ms / 1000) + " s";
}

finding make_finding(finding_kind kind, const std::string& path, std::string description,
                     std::string fix) {
  finding f;
  f.kind = kind;
  f.path = path;
  f.description = std::move(description);
  f.fix = std::move(fix);
  f.safe = true;
  return f;
}

void keep(finding& f, std::string why) {
  f.safe = false;
  f.keep_reason = std::move(why);
}

std::string live_worker_note(const project_process& p, const std::string& mid) {
  return "a live worker of " + mid + " (pid " + std::to_string(p.pid) +
         ") runs and rewrites the file itself";
}

/// Names in `.sf/parallel`, sorted so the report is stable.
std::vector<std::string> list_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec_;
  for (fs::directory_iterator it{dir, ec_}, end; !ec_ && it != end; it.increment(ec_))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void check_status_file(const doctor_context& ctx, const parallel_dir& dir, const std::string& name,
                       const std::string& mid, std::vector<finding>& out) {
  std::string rel = std::string(core::tree_path::parallel) + name;
  auto text = read_file_capped(dir.fd.get(), dir.path, name, max_status_bytes);
  if (!text && code_of(text.error()) == ec::not_found)
    return; // Gone since the listing: its writer removed it.
  const auto* live = ctx.live_worker(mid);
  if (!text || !decode_status(*text, mid)) {
    auto why = text ? decode_status(*text, mid).error() : text.error();
    auto f = make_finding(finding_kind::bad_status, rel, "cannot be read: " + describe(why),
                          "remove the file (a running worker writes a fresh one)");
    f.mid = mid;
    f.seen = text ? *text : std::string{};
    if (live != nullptr)
      keep(f, live_worker_note(*live, mid));
    out.push_back(std::move(f));
    return;
  }
  auto status = decode_status(*text, mid);
  auto check = verify_worker(ctx.root, mid, status->pid, status->spawn_token);
  int64_t age = ctx.now - status->last_heartbeat;
  bool expired = age > static_cast<int64_t>(ctx.prefs->stale_timeout * 1000);
  std::string beat = "last heartbeat " + seconds_text(age) + " ago (stale after " +
                     seconds_text(static_cast<int64_t>(ctx.prefs->stale_timeout * 1000)) + ")";
  if (check.verdict == worker_verdict::verified) {
    if (!expired)
      return;
    auto pid = std::to_string(status->pid);
    auto f = make_finding(finding_kind::silent_worker, rel,
                          "worker pid " + pid + " of " + mid + " is alive but silent: " + beat,
                          "read .sf/parallel/" + mid + ".log, then stop it with `sf-actors stop " +
                            mid + "` (or `kill " + pid + "` when no coordinator runs)");
    f.mid = mid;
    f.pid = status->pid;
    keep(f, "worker pid " + pid + " is alive; doctor never touches a live worker or its files");
    out.push_back(std::move(f));
    return;
  }
  auto f = make_finding(finding_kind::stale_status, rel,
                        check.reason + (expired ? "; " + beat : std::string{}),
                        "remove the file");
  f.mid = mid;
  f.pid = status->pid;
  f.seen = *text;
  if (live != nullptr)
    keep(f, live_worker_note(*live, mid));
  else if (ctx.coordinator_running &&
           ctx.now - detail::mtime_ms(dir.path + "/" + name) < detail::temp_age_ms)
    keep(f, "the running coordinator may still read the last status of this worker; run doctor "
            "again in a minute");
  out.push_back(std::move(f));
}

void check_signal_file(const doctor_context& ctx, const parallel_dir& dir, const std::string& name,
                       const std::string& mid, std::vector<finding>& out) {
  if (ctx.live_worker(mid) != nullptr)
    return;
  int64_t age = ctx.now - detail::mtime_ms(dir.path + "/" + name);
  // A running coordinator may have written it for a worker it is starting right now.
  if (ctx.coordinator_running && age < detail::temp_age_ms)
    return;
  auto f =
      make_finding(finding_kind::leftover_signal, std::string(core::tree_path::parallel) + name,
                   "no live worker of " + mid + " will ever read it", "remove the file");
  f.mid = mid;
  auto text = read_file_capped(dir.fd.get(), dir.path, name, max_signal_bytes);
  if (text)
    f.seen = *text;
  out.push_back(std::move(f));
}

void check_temp_file(const doctor_context& ctx, const parallel_dir& dir, const std::string& name,
                     std::vector<finding>& out) {
  struct stat st;
  if (::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
    return;
  int64_t age = ctx.now - detail::mtime_ms(dir.path + "/" + name);
  // Temp names start with the final name: `<MID>....` for workers, anything else is ours.
  auto prefix = name.substr(0, name.find('.'));
  bool writer_alive =
    ctx.coordinator_running || (core::valid_milestone_id(prefix) && ctx.live_worker(prefix) != nullptr);
  if (writer_alive && age < detail::temp_age_ms)
    return; // Probably a write in progress; no write takes a minute.
  auto f = make_finding(finding_kind::leftover_temp, std::string(core::tree_path::parallel) + name,
                        writer_alive ? "an interrupted write left it " + seconds_text(age) + " ago"
                                     : "an interrupted write left it and its writer is gone",
                        "remove the file");
  out.push_back(std::move(f));
}

void check_coordinator_lock(const doctor_context& ctx, std::vector<finding>& out) {
  auto path = coordinator_lock::path(ctx.root);
  struct stat st;
  if (ctx.coordinator_running || ::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return;
  auto text = read_file_capped(path, 64);
  int64_t pid = text ? std::strtoll(text->c_str(), nullptr, 10) : 0;
  if (pid <= 0)
    return; // Nothing recorded: an inert file, the next coordinator takes it as it is.
  // A coordinator that ended normally leaves its lock file too; its last run file says so.
  auto run = read_run_file(ctx.root);
  if (run && run->coordinator_pid == pid && !run->status.active)
    return;
  auto f = make_finding(finding_kind::coordinator_lock, detail::relative_to(ctx.root, path),
                        "coordinator pid " + std::to_string(pid) +
                          " ended without a clean shutdown and left its lock file (harmless: "
                          "nothing holds the lock)",
                        "remove the file");
  f.pid = pid;
  f.seen = *text;
  out.push_back(std::move(f));
}

// A link, FIFO or folder under a runtime file's name: sf-actors refuses to work through it.
void check_unsafe_files(const doctor_context& ctx, std::vector<finding>& out) {
  for (auto& u : unsafe_runtime_files(ctx.root)) {
    std::string fix = S_ISDIR(u.mode) ? "look inside, then remove the folder (`rm -r " + u.path +
                                          "`); sf-actors recreates the file"
                                      : "remove it (`rm " + u.path +
                                          "`); sf-actors recreates the file";
    auto f = make_finding(finding_kind::unsafe_file, detail::relative_to(ctx.root, u.path),
                          describe(u.error), std::move(fix));
    // Unlinking a link, FIFO or socket removes only the name; a folder may hold someone's files.
    if (S_ISDIR(u.mode) || u.mode == 0)
      keep(f, "doctor does not remove folders");
    f.seen = std::to_string(u.mode & S_IFMT);
    out.push_back(std::move(f));
  }
}

fix_result remove_unsafe_file(const doctor_context& ctx, const finding& f) {
  auto path = f.path.empty() || f.path[0] == '/' ? f.path : ctx.root + "/" + f.path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return errno == ENOENT ? fix_result{true, "already gone"}
                           : fix_result{false, "kept: cannot check it: " + errno_text(errno)};
  // Only the very kind of entry that was diagnosed: a regular file there now is a runtime file.
  if (std::to_string(st.st_mode & S_IFMT) != f.seen || S_ISDIR(st.st_mode))
    return {false, "kept: it changed since the check; run doctor again"};
  if (::unlink(path.c_str()) != 0)
    return {false, "kept: cannot remove it: " + errno_text(errno)};
  return {true, "removed it"};
}

/// `comm` of a process, for reports ("sleep"); "?" when gone.
std::string command_name(int64_t pid) {
  auto name = read_comm(pid);
  return name.empty() ? "?" : name;
}

void check_orphans(const doctor_context& ctx, std::vector<finding>& out) {
  // Whatever carries the token of a worker that is gone was started by it: reported (and
  // ended by the fix) whether a coordinator runs or not, since no worker will ever end it.
  for (const auto& [token, who] : ctx.dead_tokens) {
    std::string pids;
    int64_t first = 0;
    for (const auto& p : ctx.procs) {
      if (p.spawn_token != token)
        continue;
      pids += (pids.empty() ? "pid " : ", pid ") + std::to_string(p.pid) + " (" +
              command_name(p.pid) + ")";
      if (first == 0)
        first = p.pid;
    }
    if (first == 0)
      continue;
    auto f = make_finding(
        finding_kind::orphan_process, std::string(core::tree_path::worktrees) + who.milestone,
        pids + ": orphan(s) of a dead worker of " + who.milestone + " (worker pid " +
            std::to_string(who.pid) + " is gone); they may still change its worktree",
        "end them: every process carrying that worker's spawn token is "
        "killed, each checked through a pidfd first (`sf-actors start` does "
        "the same before it runs " +
            who.milestone + " again)");
    f.mid = who.milestone;
    f.pid = first;
    f.token = token;
    out.push_back(std::move(f));
  }
  if (ctx.coordinator_running)
    return;
  for (const auto& p : ctx.procs) {
    if (!p.parallel_worker || ctx.dead_tokens.count(p.spawn_token) != 0)
      continue;
    // Units inherit the worker's environment: report only the top of each process tree.
    bool child_of_worker = std::any_of(ctx.procs.begin(), ctx.procs.end(), [&](const auto& q) {
      return q.pid == p.ppid && q.parallel_worker;
    });
    if (child_of_worker)
      continue;
    auto pid = std::to_string(p.pid);
    std::string mid = core::valid_milestone_id(p.mid) ? p.mid : std::string{"an unknown milestone"};
    // A live worker's tree carries its token: only the recorded pid is the worker (a unit's
    // `setsid` daemon carries it too, and belongs to the worker reported here).
    auto live = ctx.live_tokens.find(p.spawn_token);
    if (live != ctx.live_tokens.end() && live->second != p.pid)
      continue;
    bool adoptable = live != ctx.live_tokens.end();
    auto f = make_finding(
        finding_kind::orphan_worker,
        core::valid_milestone_id(p.mid) ? std::string(core::tree_path::worktrees) + p.mid
                                        : std::string{"pid " + pid},
        "worker pid " + pid + " of " + mid + " runs without a coordinator",
        adoptable ? "`sf-actors start` adopts it (its pid, start time, boot id and "
                    "spawn token match .sf/parallel/workers.json) and supervises it "
                    "to its end; or stop it with `kill " +
                        pid + "`"
                  : "it is not in .sf/parallel/workers.json, so `sf-actors start` "
                    "will not adopt it; stop it with `kill " +
                        pid + "` if it is not wanted");
    f.mid = p.mid;
    f.pid = p.pid;
    keep(f, "doctor signals only what it proves a dead worker left behind; stop this live "
            "worker yourself with `kill " + pid + "`");
    out.push_back(std::move(f));
  }
}

void check_parallel_dir(const doctor_context& ctx, std::vector<finding>& out) {
  auto dir = open_parallel_dir(ctx.root);
  if (!dir)
    return; // Absent, or an unsafe folder that check_unsafe_files reported.
  for (const auto& name : list_names(dir->path)) {
    // Links, FIFOs and folders are check_unsafe_files' findings; nothing here opens them.
    struct stat st {};
    if (is_runtime_name(name) &&
        (::fstatat(dir->fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
         !S_ISREG(st.st_mode)))
      continue;
    if (is_temp_name(name)) {
      check_temp_file(ctx, *dir, name, out);
      continue;
    }
    auto parsed = parse_parallel_name(name);
    if (!parsed)
      continue;
    if (parsed->kind == parallel_file_kind::status)
      check_status_file(ctx, *dir, name, parsed->mid, out);
    else
      check_signal_file(ctx, *dir, name, parsed->mid, out);
  }
  check_coordinator_lock(ctx, out);
}

/// Removes `.sf/parallel/<name>` only if it still holds `seen`: claims it by renaming, compares,
/// and puts a changed file back (unless a newer one took the name meanwhile).
fix_result remove_if_unchanged(const std::string& root, const std::string& name,
                               const std::string& seen) {
  auto dir = open_parallel_dir(root);
  if (!dir)
    return {false, "kept: " + describe(dir.error())};
  std::string claim = name + ".tmp.doctor." + random_hex();
  if (::renameat(dir->fd.get(), name.c_str(), dir->fd.get(), claim.c_str()) != 0) {
    if (errno == ENOENT)
      return {true, "already gone"};
    return {false, "kept: cannot move " + name + " aside: " + errno_text(errno)};
  }
  auto now = read_file_capped(dir->fd.get(), dir->path, claim, 1 << 20);
  if (now && *now == seen) {
    if (::unlinkat(dir->fd.get(), claim.c_str(), 0) != 0)
      return {false, "kept: cannot remove " + dir->path + "/" + claim + ": " + errno_text(errno)};
    return {true, "removed the file"};
  }
  if (::renameat2(dir->fd.get(), claim.c_str(), dir->fd.get(), name.c_str(), RENAME_NOREPLACE) !=
      0)
    (void) ::unlinkat(dir->fd.get(), claim.c_str(), 0); // A newer file took the name: it wins.
  return {false, "kept: the file changed since the check; run doctor again"};
}

/// Removes the lock file while holding its flock, so no coordinator can hold it meanwhile.
fix_result remove_coordinator_lock(const doctor_context& ctx, const finding& f) {
  auto path = coordinator_lock::path(ctx.root);
  auto opened = open_regular(path, O_RDONLY);
  if (!opened)
    return code_of(opened.error()) == ec::not_found
             ? fix_result{true, "already gone"}
             : fix_result{false, "kept: " + describe(opened.error())};
  unique_fd fd = std::move(*opened);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
    return {false, "kept: a coordinator holds the lock now"};
  struct stat held;
  struct stat named;
  char buf[64] = {};
  auto n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  if (::fstat(fd.get(), &held) != 0 || ::lstat(path.c_str(), &named) != 0 ||
      held.st_ino != named.st_ino || held.st_dev != named.st_dev || n < 0 ||
      std::string(buf, static_cast<std::size_t>(n)) != f.seen)
    return {false, "kept: the file changed since the check; run doctor again"};
  if (::unlink(path.c_str()) != 0)
    return {false, "kept: cannot remove it: " + errno_text(errno)};
  return {true, "removed the file"};
}

fix_result fix_parallel_finding(const doctor_context& ctx, const finding& f) {
  auto name = fs::path(f.path).filename().string();
  switch (f.kind) {
    case finding_kind::stale_status:
    case finding_kind::bad_status:
    case finding_kind::leftover_signal: {
      // Re-check right before acting: a worker may have started since the diagnosis.
      if (const auto* live = ctx.live_worker(f.mid))
        return {false, "kept: " + live_worker_note(*live, f.mid)};
      if (f.kind == finding_kind::stale_status) {
        auto st = decode_status(f.seen, f.mid);
        if (st && verify_worker(ctx.root, f.mid, st->pid, st->spawn_token).verdict ==
                    worker_verdict::verified)
          return {false, "kept: worker pid " + std::to_string(st->pid) + " is alive"};
      }
      return remove_if_unchanged(ctx.root, name, f.seen);
    }
    case finding_kind::leftover_temp: {
      auto dir = open_parallel_dir(ctx.root);
      if (!dir)
        return {false, "kept: " + describe(dir.error())};
      if (::unlinkat(dir->fd.get(), name.c_str(), 0) != 0 && errno != ENOENT)
        return {false, "kept: cannot remove it: " + errno_text(errno)};
      return {true, "removed the file"};
    }
    case finding_kind::coordinator_lock:
      return remove_coordinator_lock(ctx, f);
    case finding_kind::unsafe_file:
      return remove_unsafe_file(ctx, f);
    case finding_kind::orphan_process: {
      // Only while the worker is still gone (checked again now), and only what carries its
      // token: kill_token_holders re-reads each one's environment through a pidfd.
      if (f.token.empty() || ctx.dead_tokens.count(f.token) == 0)
        return {false, "kept: the worker of " + f.mid + " is no longer recorded as dead; run "
                       "doctor again"};
      int n = kill_token_holders(ctx.root, f.token);
      return {true, n > 0 ? "ended " + std::to_string(n) + " process(es)" : "already gone"};
    }
    default:
      return {false, "kept: no automatic fix for this kind"};
  }
}

} // namespace

std::vector<finding> diagnose(const std::string& root, const preferences& prefs,
                              const plan* milestones) {
  auto ctx = detail::make_context(root, prefs, milestones);
  std::vector<finding> out;
  check_unsafe_files(ctx, out);
  check_parallel_dir(ctx, out);
  check_orphans(ctx, out);
  detail::check_worktrees(ctx, out);
  detail::check_git_locks(ctx, out);
  return out;
}

fix_result apply_fix(const std::string& root, const finding& f) {
  if (!f.safe)
    return {false, "kept: " + (f.keep_reason.empty() ? std::string{"not safe to fix unattended"}
                                                     : f.keep_reason)};
  // Processes are scanned again: the fix must see the world as it is now.
  preferences prefs;
  auto ctx = detail::make_context(root, prefs, nullptr);
  switch (f.kind) {
    case finding_kind::finished_worktree:
    case finding_kind::half_worktree:
    case finding_kind::prunable_worktree:
    case finding_kind::idle_branch:
    case finding_kind::trash_folder:
    case finding_kind::stale_git_lock:
    case finding_kind::interrupted_merge:
      return detail::fix_git_finding(ctx, f);
    default:
      return fix_parallel_finding(ctx, f);
  }
}

} // namespace sf::io
