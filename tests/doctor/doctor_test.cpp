// `sf-actors doctor`: planted leftovers in real repositories, real processes, the real CLI.
#include "docs/json_schema.hpp"
#include "doctor/doctor.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/status_file.hpp"
#include "io/files/worker_registry.hpp"
#include "io/git/worktree.hpp"
#include "io/os/proc_scan.hpp"
#include "io/os/process.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace std::chrono_literals;
using namespace sf::test;
namespace fs = std::filesystem;

namespace {

std::string base_env_path() {
  const char* path = std::getenv("PATH");
  return std::string("PATH=") + (path ? path : "/usr/bin:/bin");
}

/// A `sleep` child in its own process group, with extra environment entries.
sf::io::child_process spawn_sleep(std::vector<std::string> env = {}) {
  sf::io::spawn_request req;
  req.argv = {"sleep", "600"};
  req.env = std::move(env);
  req.env.push_back(base_env_path());
  auto child = sf::io::spawn_process(req);
  REQUIRE(child);
  return std::move(*child);
}

void end(sf::io::child_process& c) {
  if (c.pid() > 0 && !c.reaped()) {
    (void) c.signal(SIGKILL);
    (void) wait_exit(c, 10s);
  }
}

/// Pid of a process that has exited and been reaped.
int64_t dead_pid() {
  sf::io::spawn_request req;
  req.argv = {"true"};
  req.env = {base_env_path()};
  auto child = sf::io::spawn_process(req);
  REQUIRE(child);
  REQUIRE(wait_exit(*child, 10s));
  return child->pid();
}

void plant_status(const test_project& p, const std::string& mid, int64_t pid,
                  int64_t heartbeat = sf::io::now_ms()) {
  sf::io::worker_status s;
  s.milestone_id = mid;
  s.pid = pid;
  s.state = sf::core::worker_state::running;
  s.last_heartbeat = heartbeat;
  s.started_at = heartbeat;
  s.worktree_path = p.path(".sf/worktrees/" + mid);
  REQUIRE_FALSE(sf::io::write_status(p.root(), s));
}

/// Sets a file's modification time `seconds` into the past.
void age(const std::string& path, int seconds) {
  timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - seconds;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

nlohmann::json doctor_json(const test_project& p, const std::string& args = "") {
  auto r = p.cli("doctor --json " + args);
  INFO(r.err);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  check_valid("doctor-output", j);
  j["exit"] = r.exit_code;
  return j;
}

/// The finding for `path`, or null.
nlohmann::json finding_at(const nlohmann::json& j, const std::string& path) {
  for (const auto& f : j["findings"])
    if (f["path"] == path)
      return f;
  return nullptr;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

/// Waits (bounded) until the process's environment is readable and names the project.
bool wait_visible(const std::string& root, int64_t pid) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& p : sf::io::find_project_processes(root))
      if (p.pid == pid)
        return true;
    std::this_thread::yield();
  }
  return false;
}

void check_clean(const test_project& p) {
  auto again = p.cli("doctor");
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out == "No problems found.\n");
}

} // namespace

TEST_CASE("stale status files are removed and no pid from a file is ever signalled",
          "[doctor]") {
  test_project p({ms("M001", {}, {})}, "  enabled: true\n  stale_timeout: 30\n");
  auto sleeper = spawn_sleep();
  auto gone = dead_pid();
  plant_status(p, "M001", 1);
  plant_status(p, "M002", ::getpid());
  plant_status(p, "M003", sleeper.pid());
  plant_status(p, "M004", gone);
  plant_status(p, "M005", sleeper.pid(), sf::io::now_ms() - 120'000);
  write_file(p.path(".sf/parallel/M006.status.json"), "{\"milestoneId\": \"M006\", \"pid\": ");

  auto before = doctor_json(p);
  CHECK(before["exit"] == 1);
  CHECK(before["findings"].size() == 6);
  for (std::string mid : {"M001", "M002", "M003", "M004", "M005"}) {
    auto f = finding_at(before, ".sf/parallel/" + mid + ".status.json");
    INFO(mid);
    REQUIRE(f.is_object());
    CHECK(f["kind"] == "stale_status");
    CHECK(f["safe"] == true);
    CHECK(f["result"] == "open");
  }
  CHECK(finding_at(before, ".sf/parallel/M004.status.json")["description"].get<std::string>().find(
          "is not running") != std::string::npos);
  CHECK(finding_at(before, ".sf/parallel/M005.status.json")["description"].get<std::string>().find(
          "last heartbeat") != std::string::npos);
  CHECK(finding_at(before, ".sf/parallel/M006.status.json")["kind"] == "malformed_status");

  auto text = p.cli("doctor");
  CHECK(text.out.find("- [stale status] .sf/parallel/M004.status.json — worker pid " +
                      std::to_string(gone) + " is not running") != std::string::npos);
  CHECK(text.out.find("  fix: remove the file\n") != std::string::npos);
  CHECK(text.out.find("6 problem(s) found, 0 fixed, 6 kept") != std::string::npos);

  auto fixed = p.cli("doctor --fix");
  INFO(fixed.out);
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find("6 problem(s) found, 6 fixed, 0 kept") != std::string::npos);
  for (std::string mid : {"M001", "M002", "M003", "M004", "M005", "M006"})
    CHECK_FALSE(exists(p.path(".sf/parallel/" + mid + ".status.json")));
  // Nothing was signalled: every process named in a file still runs.
  CHECK(alive(1));
  CHECK(alive(sleeper.pid()));
  check_clean(p);
  end(sleeper);
}

TEST_CASE("a verified live worker that went silent is reported and never touched", "[doctor]") {
  test_project p({ms("M001", {}, {})}, "  enabled: true\n  stale_timeout: 30\n");
  // Registered as a worker of M007 by its environment, but not as a parallel worker (no orphan).
  auto worker = spawn_sleep({"SF_PROJECT_ROOT=" + p.root(), "SF_MILESTONE_LOCK=M007"});
  REQUIRE(wait_visible(p.root(), worker.pid()));
  plant_status(p, "M007", worker.pid(), sf::io::now_ms() - 120'000);
  write_file(p.path(".sf/parallel/M007.signal.json"), "{\"signal\":\"pause\"}");
  auto j = doctor_json(p, "--fix");
  CHECK(j["exit"] == 1);
  REQUIRE(j["findings"].size() == 1); // The signal file belongs to the live worker.
  auto f = j["findings"][0];
  CHECK(f["kind"] == "silent_worker");
  CHECK(f["safe"] == false);
  CHECK(f["result"] == "kept");
  CHECK(exists(p.path(".sf/parallel/M007.status.json")));
  CHECK(exists(p.path(".sf/parallel/M007.signal.json")));
  CHECK(alive(worker.pid()));
  end(worker);
  // Once it is gone, the same files are leftovers.
  auto after = doctor_json(p, "--fix");
  CHECK(after["exit"] == 0);
  CHECK(after["fixed"] == 2);
  check_clean(p);
}

TEST_CASE("leftover signal and temp files are removed", "[doctor]") {
  test_project p({ms("M001", {}, {})}, "  enabled: true\n");
  write_file(p.path(".sf/parallel/M001.signal.json"), "{\"signal\":\"stop\",\"sentAt\":1}");
  write_file(p.path(".sf/parallel/M001.status.json.tmp.0a1b"), "{\"milestoneId\":");
  write_file(p.path(".sf/parallel/run.json.tmp.ffee"), "{");
  auto j = doctor_json(p);
  CHECK(j["exit"] == 1);
  CHECK(finding_at(j, ".sf/parallel/M001.signal.json")["kind"] == "leftover_signal");
  CHECK(finding_at(j, ".sf/parallel/M001.status.json.tmp.0a1b")["kind"] == "temp_file");
  CHECK(finding_at(j, ".sf/parallel/run.json.tmp.ffee")["kind"] == "temp_file");
  auto fixed = doctor_json(p, "--fix");
  CHECK(fixed["exit"] == 0);
  CHECK(fixed["fixed"] == 3);
  CHECK_FALSE(exists(p.path(".sf/parallel/M001.signal.json")));
  CHECK_FALSE(exists(p.path(".sf/parallel/M001.status.json.tmp.0a1b")));
  CHECK_FALSE(exists(p.path(".sf/parallel/run.json.tmp.ffee")));
  check_clean(p);
}

TEST_CASE("finished worktrees are removed unless they hold unmerged or uncommitted work",
          "[doctor]") {
  // The plan on main knows M001 only: M002 and M003 are no longer planned.
  test_project p({ms("M001", {}, {})}, "  enabled: true\n");
  for (std::string mid : {"M001", "M002", "M003"})
    REQUIRE(sf::io::ensure_worktree(p.root(), mid));
  auto wt = [&](const std::string& mid) { return p.path(".sf/worktrees/" + mid); };
  // M001 completes on its branch and is merged into main.
  auto md = wt("M001") + "/.sf/milestones/M001/MILESTONE.md";
  auto text = read_file(md);
  text.replace(text.find("status: pending"), 15, "status: complete");
  write_file(md, text);
  REQUIRE(run("git add -A && git commit -q -m done", wt("M001")).exit_code == 0);
  p.git("merge -q --ff-only milestone/M001");
  // M002 has a commit main does not have; M003 has an uncommitted file.
  write_file(wt("M002") + "/work.txt", "work\n");
  REQUIRE(run("git add -A && git commit -q -m work", wt("M002")).exit_code == 0);
  write_file(wt("M003") + "/draft.txt", "draft\n");

  auto j = doctor_json(p);
  CHECK(j["exit"] == 1);
  CHECK(finding_at(j, ".sf/worktrees/M001")["safe"] == true);
  CHECK(finding_at(j, ".sf/worktrees/M002")["safe"] == false);
  CHECK(finding_at(j, ".sf/worktrees/M003")["safe"] == false);

  auto fixed = p.cli("doctor --fix");
  INFO(fixed.out);
  CHECK(fixed.exit_code == 1);
  CHECK(fixed.out.find("kept: 1 unmerged commit(s) on milestone/M002") != std::string::npos);
  CHECK(fixed.out.find("kept: uncommitted changes (1 file(s), first: draft.txt)") !=
        std::string::npos);
  CHECK_FALSE(exists(wt("M001")));
  CHECK(exists(wt("M002") + "/work.txt"));
  CHECK(exists(wt("M003") + "/draft.txt"));
  CHECK(p.git("worktree list").find("M001") == std::string::npos);
  // The branch itself stays.
  CHECK_FALSE(p.git("branch --list milestone/M001").empty());
  // Only the two kept ones remain.
  auto after = doctor_json(p);
  CHECK(after["findings"].size() == 2);
}

TEST_CASE("half-created worktrees and prunable admin entries", "[doctor]") {
  test_project p({ms("M004", {}, {}), ms("M005", {}, {}), ms("M006", {}, {})},
                 "  enabled: true\n");
  fs::create_directories(p.path(".sf/worktrees/M004"));
  write_file(p.path(".sf/worktrees/M005/notes.txt"), "mine\n");
  REQUIRE(sf::io::ensure_worktree(p.root(), "M006"));
  fs::remove_all(p.path(".sf/worktrees/M006"));

  auto j = doctor_json(p);
  CHECK(j["exit"] == 1);
  CHECK(finding_at(j, ".sf/worktrees/M004")["kind"] == "half_created_worktree");
  CHECK(finding_at(j, ".sf/worktrees/M004")["safe"] == true);
  CHECK(finding_at(j, ".sf/worktrees/M005")["safe"] == false);
  CHECK(finding_at(j, ".git/worktrees/M006")["kind"] == "prunable_worktree_entry");

  auto fixed = p.cli("doctor --fix");
  INFO(fixed.out);
  CHECK(fixed.exit_code == 1);
  CHECK(fixed.out.find("kept: it holds files (first: notes.txt)") != std::string::npos);
  CHECK_FALSE(exists(p.path(".sf/worktrees/M004")));
  CHECK(exists(p.path(".sf/worktrees/M005/notes.txt")));
  CHECK_FALSE(exists(p.path(".git/worktrees/M006")));
  fs::remove_all(p.path(".sf/worktrees/M005"));
  check_clean(p);
}

TEST_CASE("stale git lock files are removed, fresh ones are only reported", "[doctor]") {
  test_project p({ms("M001", {}, {})}, "  enabled: true\n");
  write_file(p.path(".git/index.lock"), "");
  write_file(p.path(".git/refs/heads/main.lock"), "");
  age(p.path(".git/index.lock"), 60);
  age(p.path(".git/refs/heads/main.lock"), 60);
  write_file(p.path(".git/HEAD.lock"), ""); // Fresh: a git command may be writing it.
  auto j = doctor_json(p, "--fix");
  CHECK(j["exit"] == 1);
  CHECK(finding_at(j, ".git/index.lock")["result"] == "fixed");
  CHECK(finding_at(j, ".git/refs/heads/main.lock")["result"] == "fixed");
  CHECK(finding_at(j, ".git/HEAD.lock")["result"] == "kept");
  CHECK_FALSE(exists(p.path(".git/index.lock")));
  CHECK_FALSE(exists(p.path(".git/refs/heads/main.lock")));
  CHECK(exists(p.path(".git/HEAD.lock")));
  age(p.path(".git/HEAD.lock"), 60);
  CHECK(doctor_json(p, "--fix")["exit"] == 0);
  check_clean(p);
  // Git works again.
  write_file(p.path("x.txt"), "x\n");
  CHECK(run("git add x.txt && git commit -q -m x", p.root()).exit_code == 0);
}

TEST_CASE("an orphan worker is reported with its pid and never killed", "[doctor]") {
  test_project p({ms("M001", {}, {})}, "  enabled: true\n");
  auto orphan = spawn_sleep(
    {"SF_PROJECT_ROOT=" + p.root(), "SF_PARALLEL_WORKER=1", "SF_MILESTONE_LOCK=M001"});
  REQUIRE(wait_visible(p.root(), orphan.pid()));
  auto fixed = p.cli("doctor --fix");
  INFO(fixed.out);
  CHECK(fixed.exit_code == 1);
  CHECK(fixed.out.find("[orphan worker]") != std::string::npos);
  CHECK(fixed.out.find("worker pid " + std::to_string(orphan.pid()) + " of M001") !=
        std::string::npos);
  CHECK(fixed.out.find("kill " + std::to_string(orphan.pid())) != std::string::npos);
  CHECK(fixed.out.find("kept: doctor signals only what it proves a dead worker left behind") !=
        std::string::npos);
  CHECK(alive(orphan.pid()));
  end(orphan);
  check_clean(p);
}

TEST_CASE("a live worker's setsid daemon is not offered for adoption as a second worker",
          "[doctor]") {
  test_project p({ms("M001", {}, {})}, "  enabled: true\n");
  temp_dir tmp;
  const std::string pidfile = tmp / "daemon.pid";
  // A worker whose unit left a daemon in a session of its own, carrying the worker's token.
  sf::io::spawn_request req;
  req.argv = {"sh", "-c",
              "(setsid sleep 600 >/dev/null 2>&1 & echo $! > " + sh_quote(pidfile) +
                ".tmp && mv " + sh_quote(pidfile) + ".tmp " + sh_quote(pidfile) +
                "); exec sleep 600"};
  req.env = {"SF_PROJECT_ROOT=" + p.root(), "SF_PARALLEL_WORKER=1", "SF_MILESTONE_LOCK=M001",
             "SF_SPAWN_TOKEN=doctor-test-token", base_env_path()};
  auto worker = sf::io::spawn_process(req);
  REQUIRE(worker);
  REQUIRE(wait_for(p.root(), [&] { return exists(pidfile); }, 10s));
  const int64_t daemon = std::stoll(read_file(pidfile));
  REQUIRE(wait_visible(p.root(), daemon));
  auto boot = sf::io::read_boot_id();
  REQUIRE(boot);
  sf::worker_identity who{"M001", worker->pid(), worker->start_time(), *boot, "doctor-test-token"};
  REQUIRE_FALSE(sf::io::write_worker_registry(p.root(), {who}));
  auto j = doctor_json(p);
  std::vector<nlohmann::json> workers;
  for (const auto& f : j["findings"])
    if (f["kind"] == "orphan_worker")
      workers.push_back(f);
  INFO(j.dump(2));
  REQUIRE(workers.size() == 1);
  CHECK(workers[0]["pid"] == worker->pid());
  CHECK(workers[0]["fix"].get<std::string>().find("adopts it") != std::string::npos);
  ::kill(static_cast<pid_t>(daemon), SIGKILL);
  end(*worker);
}

TEST_CASE("a dead coordinator's lock file is removed, a held one is left alone", "[doctor]") {
  test_project p({ms("M001", {}, {})}, "  enabled: true\n");
  {
    auto held = sf::io::coordinator_lock::acquire(p.root());
    REQUIRE(held);
    CHECK(p.cli("doctor").out == "No problems found.\n");
  }
  // The lock was released, but the file still records our pid: pretend it was a dead one.
  write_file(p.path(".sf/parallel/coordinator.lock"), std::to_string(dead_pid()) + "\n");
  auto j = doctor_json(p, "--fix");
  CHECK(j["exit"] == 0);
  CHECK(finding_at(j, ".sf/parallel/coordinator.lock")["result"] == "fixed");
  CHECK_FALSE(exists(p.path(".sf/parallel/coordinator.lock")));
  check_clean(p);
}

TEST_CASE("troubleshooting: after a worker crash, doctor --fix, status and start resume it",
          "[doctor]") {
  temp_dir trace;
  auto t = [&](const std::string& name) { return sh_quote(trace / name); };
  test_project p({ms("M001", {},
                     {{"U1", "echo x >> " + t("u1"), {}, -1},
                      {"U2", "echo $$ > " + t("u2pid") + "; echo x >> " + t("u2") + "; [ -e " +
                               t("release") + " ] || exec sleep 600",
                       {}, -1}})},
                 "  enabled: true\n  heartbeat_interval: 0.2\n  stale_timeout: 5\n");
  auto info = sf::io::ensure_worktree(p.root(), "M001");
  REQUIRE(info);
  // The worker started by hand, the way a coordinator would, then killed with its unit.
  sf::io::spawn_request req;
  req.argv = {SF_CLI_PATH, "worker"};
  req.cwd = info->path;
  req.env = {base_env_path(), "HOME=" + p.root(), "SF_MILESTONE_LOCK=M001",
             "SF_PARALLEL_WORKER=1", "SF_PROJECT_ROOT=" + p.root(), "SF_SPAWN_TOKEN=tok-9"};
  req.log_path = trace / "worker.log";
  auto worker = sf::io::spawn_process(req);
  REQUIRE(worker);
  REQUIRE(wait_for(p.root(), [&] {
    auto s = sf::io::read_status(p.root(), "M001");
    return s && s->unit && s->unit->id == "U2" && exists(trace / "u2pid");
  }, 20s));
  int64_t unit_pid = std::stoll(read_file(trace / "u2pid"));
  REQUIRE(worker->signal(SIGKILL) == caf::error{});
  REQUIRE(wait_exit(*worker, 10s));
  // The unit outlives its worker: doctor reports it as an orphan, the test ends it.
  REQUIRE(wait_visible(p.root(), unit_pid));
  auto orphan = p.cli("doctor");
  CHECK(orphan.out.find("[orphan worker]") != std::string::npos);
  REQUIRE(::kill(static_cast<pid_t>(unit_pid), SIGKILL) == 0);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (alive(unit_pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  REQUIRE_FALSE(alive(unit_pid));

  auto found = p.cli("doctor");
  INFO(found.out);
  CHECK(found.exit_code == 1);
  CHECK(found.out.find("[stale status] .sf/parallel/M001.status.json — worker pid " +
                       std::to_string(worker->pid()) + " is not running") != std::string::npos);
  auto fixed = p.cli("doctor --fix");
  INFO(fixed.out);
  CHECK(fixed.exit_code == 0);
  check_clean(p);
  auto status = p.cli("status");
  CHECK(status.exit_code == 0);
  INFO(status.out);
  CHECK(status.out.find("Coordinator: not running") != std::string::npos);

  write_file(trace / "release", "");
  auto start = p.cli("start --yes");
  INFO(start.out << start.err);
  CHECK(start.exit_code == 0);
  // U1 was recorded before the crash and is not run again; U2 ran once more and finished.
  CHECK(read_file(trace / "u1") == "x\n");
  CHECK(read_file(trace / "u2") == "x\nx\n");
  auto subjects = p.git("log --format=%s milestone/M001");
  CHECK(subjects.find("U2") != std::string::npos);
}

TEST_CASE("after a double crash doctor names a unit as a dead worker's orphan and --fix ends it",
          "[doctor]") {
  temp_dir trace;
  auto unit_pid_file = trace / "unit.pid";
  test_project p({ms("M001", {},
                     {{"U1", "echo $$ > " + sh_quote(unit_pid_file) + "; exec sleep 600", {},
                       -1}})},
                 "  enabled: true\n  heartbeat_interval: 0.2\n  stale_timeout: 30\n");
  auto coordinator = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto s = sf::io::read_status(p.root(), "M001");
    return s && s->unit && exists(unit_pid_file) && !read_file(unit_pid_file).empty();
  }, 30s));
  auto worker = sf::io::read_status(p.root(), "M001")->pid;
  int64_t unit = std::stoll(read_file(unit_pid_file));
  // Coordinator and worker die together; the unit, in its own process group, runs on.
  REQUIRE(coordinator.signal(SIGKILL) == caf::error{});
  REQUIRE(wait_exit(coordinator, 10s));
  REQUIRE(::kill(static_cast<pid_t>(worker), SIGKILL) == 0);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (alive(worker) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  REQUIRE_FALSE(alive(worker));
  REQUIRE(alive(unit));
  auto found = p.cli("doctor");
  INFO(found.out);
  CHECK(found.exit_code == 1);
  CHECK(found.out.find("[orphan process] .sf/worktrees/M001 — pid " + std::to_string(unit) +
                       " (sleep): orphan(s) of a dead worker of M001 (worker pid " +
                       std::to_string(worker) + " is gone)") != std::string::npos);
  CHECK(found.out.find("a live worker") == std::string::npos);
  CHECK(found.out.find("[orphan worker]") == std::string::npos);
  auto fixed = p.cli("doctor --fix");
  INFO(fixed.out);
  CHECK(fixed.exit_code == 0);
  deadline = std::chrono::steady_clock::now() + 10s;
  while (alive(unit) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CHECK_FALSE(alive(unit));
  if (alive(unit))
    ::kill(static_cast<pid_t>(unit), SIGKILL);
}

TEST_CASE("a merge killed after main moved: doctor names it, and the fix or the next merge "
          "finishes the checkout",
          "[doctor]") {
  for (const char* repair : {"doctor --fix", "merge"}) {
    CAPTURE(repair);
    test_project p({ms("M001", {}, {{"U01", "true", {"m.txt"}, -1}})},
                   "  enabled: true\n  auto_merge: manual\n");
    // A milestone done on its branch, as a worker leaves it.
    p.git("switch -q -c milestone/M001");
    write_file(p.path("m.txt"), "m\n");
    auto plan = read_file(p.path(".sf/milestones/M001/MILESTONE.md"));
    plan.replace(plan.find("status: pending"), 15, "status: complete");
    write_file(p.path(".sf/milestones/M001/MILESTONE.md"), plan);
    p.git("add -A");
    p.git("commit -qm done");
    p.git("switch -q main");
    auto killed = run("SF_FAULT_POINTS=merge.after_update_ref=kill " +
                        sh_quote(SF_CLI_PATH) + " merge",
                      p.root());
    REQUIRE(killed.exit_code == 128 + SIGKILL);
    // Main names the merge; the checkout does not show it yet, and our lock keeps git out.
    REQUIRE(std::filesystem::exists(p.path(".git/index.lock")));
    REQUIRE(std::filesystem::exists(p.path(".git/sf-merge-checkout.json")));
    CHECK_FALSE(std::filesystem::exists(p.path("m.txt")));
    auto report = p.cli("doctor --json");
    CHECK(report.exit_code == 1);
    CHECK(report.out.find("\"interrupted_merge\"") != std::string::npos);
    // Our lock is part of that finding, never offered for removal on its own.
    CHECK(report.out.find("\"git_lock\"") == std::string::npos);
    auto fixed = p.cli(repair);
    INFO(fixed.out << fixed.err);
    CHECK(fixed.exit_code == 0);
    CHECK(read_file(p.path("m.txt")) == "m\n");
    CHECK(p.git("status --porcelain --untracked-files=no") == "");
    CHECK_FALSE(std::filesystem::exists(p.path(".git/index.lock")));
    CHECK_FALSE(std::filesystem::exists(p.path(".git/sf-merge-checkout.json")));
    CHECK(p.cli("doctor").exit_code == 0);
  }
}

TEST_CASE("an idle milestone branch behind main is reported and brought up to main",
          "[doctor]") {
  test_project p({ms("M001", {}, {}), ms("M002", {}, {})}, "  enabled: true\n");
  // Both start and fail before a unit; then main gains a commit (the fix, say).
  REQUIRE(sf::io::ensure_worktree(p.root(), "M001"));
  REQUIRE(sf::io::ensure_worktree(p.root(), "M002"));
  auto old_tip = p.git("rev-parse main");
  write_file(p.path("fix.txt"), "the fix\n");
  p.git("add fix.txt");
  p.git("commit -q -m fix");
  auto main_tip = p.git("rev-parse main");
  // M002's worktree holds a file of a unit that did not commit: it must stay as it is.
  write_file(p.path(".sf/worktrees/M002/draft.txt"), "draft\n");

  auto j = doctor_json(p);
  CHECK(j["exit"] == 1);
  auto f1 = finding_at(j, "refs/heads/milestone/M001");
  REQUIRE(f1.is_object());
  CHECK(f1["kind"] == "idle_branch");
  CHECK(f1["safe"] == true);
  REQUIRE(finding_at(j, "refs/heads/milestone/M002").is_object());

  auto fixed = p.cli("doctor --fix");
  INFO(fixed.out << fixed.err);
  CHECK(fixed.out.find("1 fixed, 1 kept") != std::string::npos);
  CHECK(fixed.out.find("kept: its worktree holds uncommitted work") != std::string::npos);
  CHECK(p.git("rev-parse milestone/M001") == main_tip);
  CHECK(read_file(p.path(".sf/worktrees/M001/fix.txt")) == "the fix\n");
  CHECK(run("git status --porcelain", p.path(".sf/worktrees/M001")).out.empty());
  CHECK(p.git("rev-parse milestone/M002") == old_tip);
  CHECK(read_file(p.path(".sf/worktrees/M002/draft.txt")) == "draft\n");
}
