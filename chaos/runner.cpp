#include "chaos/runner.hpp"

#include "chaos/command_runner.hpp"
#include "config/escape.hpp"
#include "core/sf_paths.hpp"
#include "io/files/gitignore.hpp"
#include "io/os/fault_point.hpp"
#include "io/os/proc_files.hpp"
#include "io/os/process.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

namespace sf::chaos {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

bool scenario_result::passed() const {
  if (skipped)
    return true;
  for (const auto& c : checks)
    if (c.verdict == check_result::fail)
      return false;
  return true;
}

namespace {

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
}

// Runtime files a scenario planted as links or FIFOs must not block or mislead the harness.
std::string read_text(const std::string& path) {
  auto text = io::read_file_capped(path, 256u << 20);
  return text ? std::move(*text) : std::string{};
}

std::string read_text_trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

/// The agent profile that runs `m`'s units: one per milestone, so each has its own fault.
std::string agent_profile_name(const scenario_milestone& m) {
  return "fake-" + m.id;
}

/// The `agents:` block of the preferences: per agent milestone a profile whose command passes
/// the fault to the fake CLI (workers pass only an allowlist of the environment on). The fake
/// logs its runs and keeps its `once` marker in the scenario's folder, outside the project.
std::string agents_block(const scenario& s, const std::string& fixtures, const std::string& dir) {
  std::string out = "agents:\n  profiles:\n";
  for (const auto& m : s.milestones) {
    if (!m.agent)
      continue;
    const auto& a = *m.agent;
    std::vector<std::string> words = {
      "FAKE_AGENT_SCENARIO=" + a.scenario, "FAKE_AGENT_EDIT=" + m.files.front(),
      "FAKE_AGENT_LOG=" + agent_runs_file(dir, m.id)};
    if (a.once)
      words.push_back("FAKE_AGENT_ONCE=" + dir + "/agent-once-" + m.id);
    char num[64];
    for (auto [key, value] : {std::pair{"FAKE_AGENT_COST=", a.cost},
                              std::pair{"FAKE_AGENT_DELAY=", a.delay},
                              std::pair{"FAKE_AGENT_SILENCE=", a.silence}})
      if (value) {
        std::snprintf(num, sizeof num, "%.17g", *value);
        words.push_back(key + std::string(num));
      }
    std::string cmd = "[env";
    for (const auto& w : words)
      cmd += ", " + yaml_quote(w);
    cmd += ", " + yaml_quote(fixtures + "/" + a.cli) + "]";
    out += "    " + agent_profile_name(m) + ":\n      adapter: " + a.cli + "\n      command: " +
           cmd + "\n";
  }
  // The fake Claude's model, so the tokens of an attempt without a result have a price.
  return out + "  prices:\n    claude-sonnet-4-5: {input: 3, output: 15, cached: 0.3}\n";
}

/// MILESTONE.md for one scenario milestone: each unit sleeps, then appends to its files (or,
/// for an agent milestone, the fake agent does).
std::string milestone_text(const scenario_milestone& m) {
  std::ostringstream out;
  out << "---\ntitle: Chaos " << m.id << "\nstatus: " << m.status << "\ndependsOn: [";
  for (std::size_t i = 0; i < m.deps.size(); ++i)
    out << (i ? ", " : "") << m.deps[i];
  out << "]\nslices:\n";
  int per_slice = (m.units + m.slices - 1) / m.slices;
  int unit = 1;
  for (int s = 1; s <= m.slices && unit <= m.units; ++s) {
    char sid[16];
    std::snprintf(sid, sizeof sid, "S%02d", s);
    out << "  - id: " << sid << "\n    title: Slice " << s << "\n    units:\n";
    for (int k = 0; k < per_slice && unit <= m.units; ++k, ++unit) {
      char uid[16];
      std::snprintf(uid, sizeof uid, "U%02d", unit);
      std::string run = "sleep " + std::to_string(m.unit_seconds);
      if (!m.run.empty()) {
        run = m.run;
        for (auto [key, value] : {std::pair<std::string, std::string>{"{mid}", m.id},
                                  std::pair<std::string, std::string>{"{unit}", uid}})
          for (auto at = run.find(key); at != std::string::npos; at = run.find(key, at))
            run.replace(at, key.size(), value);
      }
      out << "      - id: " << uid << "\n        title: Unit " << uid;
      if (m.agent) {
        out << "\n        agent: " << agent_profile_name(m) << "\n        prompt: "
            << yaml_quote("Append a line to " + m.files.front() + " (unit " + uid + ").");
        const auto& a = *m.agent;
        if (a.timeout)
          out << "\n        timeout: " << *a.timeout;
        if (a.idle_timeout)
          out << "\n        idle_timeout: " << *a.idle_timeout;
        if (a.max_attempts)
          out << "\n        max_attempts: " << *a.max_attempts;
      } else {
        for (const auto& f : m.files)
          run += "; echo " + m.id + "-" + uid + " >> " + sh_quote(f);
        out << "\n        run: " << yaml_quote(run) << "\n        cost: " << m.unit_cost;
      }
      out << "\n        files: [";
      for (std::size_t i = 0; i < m.files.size(); ++i)
        out << (i ? ", " : "") << m.files[i];
      out << "]\n";
    }
  }
  out << "---\n\nA milestone of a chaos scenario.\n";
  return out.str();
}

/// `env` with `entry` ("K=V") replacing any earlier value of K (getenv takes the first).
void set_env(std::vector<std::string>& env, const std::string& entry) {
  auto key = entry.substr(0, entry.find('=') + 1);
  env.erase(std::remove_if(env.begin(), env.end(),
                           [&](const std::string& e) { return e.compare(0, key.size(), key) == 0; }),
            env.end());
  env.push_back(entry);
}

/// The environment of the user's own git commands: the harness's, with the user as author.
std::vector<std::string> user_env(std::vector<std::string> env) {
  set_env(env, "GIT_AUTHOR_NAME=Chaos User");
  set_env(env, "GIT_COMMITTER_NAME=Chaos User");
  return env;
}

/// Everything one run holds while it goes.
class scenario_run {
public:
  scenario_run(const scenario& s, const run_options& o) : s_(s), o_(o) {}
  ~scenario_run();

  scenario_result run();

private:
  caf::error setup();
  caf::error start_coordinator(bool with_fault_points, const std::string& stop_at = {});
  caf::error act(const action& a);
  caf::error top_up_filler();
  bool matches(const trigger& t);
  void read_new_events();
  void finish_coordinator();
  caf::error worker_pid(const std::string& mid, pid_t& out);
  std::vector<std::pair<std::string, pid_t>> worker_pids();
  void sample_worker_memory();
  command_output git(const std::vector<std::string>& args);
  command_output as_user(const std::string& shell_line);
  std::set<std::string> user_commits_now();
  void note_user_work(bool after_user_action);
  std::vector<std::string> base_env() const;
  std::string log_path(const std::string& what);

  const scenario& s_;
  const run_options& o_;
  run_record rec_;
  std::string dir_;
  std::optional<io::child_process> coordinator_;
  std::optional<io::child_process> bystander_;
  std::vector<nlohmann::json> events_;
  std::size_t events_offset_ = 0;
  int coordinators_ = 0;
  int user_commits_ = 0;
  int logs_ = 0;
  std::string coordinator_log_;
  bool keep_full_ = false;
  std::string mounted_;
  std::string skip_;
  bool remove_dir_ = false;
};

scenario_run::~scenario_run() {
  if (coordinator_ && !coordinator_->reaped()) {
    (void) coordinator_->signal(SIGKILL);
    int st = 0;
    pollfd pfd{coordinator_->pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    coordinator_->try_reap(st);
  }
  if (bystander_ && !bystander_->reaped()) {
    (void) bystander_->signal(SIGKILL);
    int st = 0;
    pollfd pfd{bystander_->pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    bystander_->try_reap(st);
  }
  if (!mounted_.empty())
    ::umount2(mounted_.c_str(), MNT_DETACH);
  if (remove_dir_ && !dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

std::vector<std::string> scenario_run::base_env() const {
  std::vector<std::string> env = {"HOME=" + dir_ + "/home", "SF_CHAOS_ROOT=" + rec_.root,
                                  "GIT_AUTHOR_NAME=sf-actors", "GIT_AUTHOR_EMAIL=sf@example.invalid",
                                  "GIT_COMMITTER_NAME=sf-actors",
                                  "GIT_COMMITTER_EMAIL=sf@example.invalid"};
  const char* path = std::getenv("PATH");
  env.push_back(std::string("PATH=") + (path != nullptr ? path : "/usr/bin:/bin"));
  // Sanitizer builds of the harness pass their settings (suppressions) on to the coordinator,
  // and the test suite its check of every milestone move (docs/architecture.md).
  for (const char* key :
       {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "SF_STRICT_MOVES"})
    if (const char* v = std::getenv(key))
      env.push_back(std::string(key) + "=" + v);
  return env;
}

std::string scenario_run::log_path(const std::string& what) {
  auto p = dir_ + "/" + what + "-" + std::to_string(++logs_) + ".log";
  rec_.logs.push_back(p);
  return p;
}

command_output scenario_run::git(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git", "-C", rec_.root};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, rec_.root, user_env(base_env()));
}

command_output scenario_run::as_user(const std::string& shell_line) {
  auto env = user_env(base_env());
  // Nobody sits at an editor in a scenario: commits and --continue keep git's message.
  set_env(env, "GIT_EDITOR=true");
  set_env(env, "SF_ACTORS=" + o_.sf_binary);
  return run_command({"/bin/sh", "-c", shell_line}, rec_.root, env);
}

std::set<std::string> scenario_run::user_commits_now() {
  std::set<std::string> out;
  std::istringstream in{git({"rev-list", "--all", "--author=Chaos User"}).out};
  for (std::string id; std::getline(in, id);)
    if (!id.empty())
      out.insert(id);
  return out;
}

// Before a user action: a commit of the user's that became unreachable since the last look was
// lost by the run. After one: commits the user dropped themselves (a rebase, a reset) no longer
// count, and new ones are noted.
void scenario_run::note_user_work(bool after_user_action) {
  auto now = user_commits_now();
  for (auto it = rec_.user_kept.begin(); it != rec_.user_kept.end();) {
    if (now.count(*it) != 0) {
      ++it;
      continue;
    }
    if (!after_user_action)
      rec_.user_lost.push_back("the user's commit " + it->substr(0, 12) +
                               " became unreachable while the run went on");
    it = rec_.user_kept.erase(it);
  }
  if (after_user_action)
    for (const auto& id : now)
      if (rec_.user_kept.insert(id).second)
        rec_.user_commits.insert(id);
}

caf::error scenario_run::setup() {
  for (const auto& m : s_.milestones)
    if (m.agent && ::access((o_.agent_fixtures + "/" + m.agent->cli).c_str(), X_OK) != 0)
      return make_error(ec::not_found,
                        m.id + " needs the fake agent CLI " + o_.agent_fixtures + "/" +
                          m.agent->cli + ", which is missing (" + io::errno_text(errno) +
                          "); pass --agent-fixtures with the sources' tests/fixtures/agents");
  std::string tmpl = o_.work_base + "/sf-chaos-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return make_error(ec::io_error, "cannot create a folder under " + o_.work_base +
                                      ": " + io::errno_text(errno));
  dir_ = tmpl;
  rec_.workdir = dir_;
  rec_.root = dir_ + "/repo";
  fs::create_directories(dir_ + "/home");
  fs::create_directories(dir_ + "/counters");
  fs::create_directories(rec_.root);
  rec_.main_branch = s_.branch;
  if (auto r = git({"init", "-q", "-b", s_.branch}); r.exit_code != 0)
    return make_error(ec::process_error, "git init failed: " + r.out);
  write_text(rec_.root + "/README.md", "A chaos scenario: " + s_.name + "\n");
  // The same rules `sf-actors start` would add, committed, so the root starts clean.
  if (auto ignored = io::ensure_runtime_ignored(rec_.root); !ignored)
    return ignored.error();
  for (const auto& m : s_.milestones)
    write_text(core::milestone_file(rec_.root, m.id), milestone_text(m));
  // Harness defaults make faults show up in seconds; the scenario's keys win.
  std::map<std::string, std::string> prefs = {
    {"enabled", "true"},       {"max_workers", "2"},       {"auto_merge", "auto"},
    {"heartbeat_interval", "0.2"}, {"stale_timeout", "2"}, {"stop_grace", "1"},
    {"restart_backoff", "0"},  {"max_restarts", "3"}};
  for (const auto& [k, v] : s_.preferences)
    prefs[k] = v;
  std::string cmd;
  if (s_.worker == "original") {
    const auto& m = s_.milestones.front();
    cmd = "sh " + sh_quote(o_.original_worker) + " " + std::to_string(m.units) + " " +
          std::to_string(m.unit_seconds) + " " + std::to_string(m.unit_cost);
  } else {
    cmd = sh_quote(o_.sf_binary) + " chaos-worker --knobs " + sh_quote(dir_ + "/knobs.json");
  }
  if (prefs.count("worker_command") == 0)
    prefs["worker_command"] = yaml_quote(cmd);
  std::string text = "---\nparallel:\n";
  for (const auto& [k, v] : prefs)
    text += "  " + k + ": " + v + "\n";
  if (s_.needs_agents())
    text += agents_block(s_, o_.agent_fixtures, dir_);
  write_text(core::preferences_file(rec_.root), text + "---\n");
  if (auto r = git({"add", "-A"}); r.exit_code != 0)
    return make_error(ec::process_error, "git add failed: " + r.out);
  if (auto r = git({"commit", "-q", "-m", "chaos: plan for " + s_.name}); r.exit_code != 0)
    return make_error(ec::process_error, "git commit failed: " + r.out);
  rec_.harness_commits.insert(read_text_trim(git({"rev-parse", "HEAD"}).out));

  // The bystander: a process outside the run that records any signal it gets.
  rec_.bystander_log = dir_ + "/bystander.log";
  io::spawn_request by;
  by.argv = {o_.sf_binary, "chaos-bystander", rec_.bystander_log};
  by.env = {"PATH=/usr/bin:/bin"};
  auto b = io::spawn_process(by);
  if (!b)
    return b.error();
  bystander_.emplace(std::move(*b));
  rec_.bystander = bystander_->pid();
  auto ready_by = clock_type::now() + std::chrono::seconds(10);
  while (read_text(rec_.bystander_log).find("ready\n") == std::string::npos) {
    if (clock_type::now() > ready_by)
      return make_error(ec::process_error, "the bystander process did not start within 10 s");
    pollfd pfd{bystander_->pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 5);
  }

  nlohmann::json knobs = {{"journal", dir_ + "/journal"}, {"counters", dir_ + "/counters"},
                          {"milestones", nlohmann::json::object()}};
  for (const auto& [mid, k] : s_.knobs) {
    auto pid = k.forge_pid == -1 ? static_cast<int64_t>(rec_.bystander) : k.forge_pid;
    auto& entry = knobs["milestones"][mid];
    for_each_knob(k, [&entry](const char* name, const auto& field) { entry[name] = field; });
    entry["forge_pid"] = pid;
  }
  write_text(dir_ + "/knobs.json", knobs.dump(2));
  rec_.victim = dir_ + "/victim.txt";
  rec_.victim_text = "a file outside the project that nothing may write\n";
  write_text(rec_.victim, rec_.victim_text);
  return {};
}

caf::error scenario_run::start_coordinator(bool with_fault_points, const std::string& stop_at) {
  io::spawn_request req;
  req.argv = {o_.sf_binary, "-C", rec_.root, "start", "--yes"};
  req.cwd = rec_.root;
  req.env = base_env();
  std::string points;
  if (with_fault_points) {
    for (const auto& x : s_.inject)
      if (x.when.kind == trigger::fault_point)
        points += (points.empty() ? "" : ",") + x.when.point + "=stop";
  }
  if (!stop_at.empty())
    points += (points.empty() ? "" : ",") + stop_at + "=stop";
  if (!points.empty())
    req.env.push_back("SF_FAULT_POINTS=" + points);
  req.log_path = log_path("coordinator");
  coordinator_log_ = req.log_path;
  auto child = io::spawn_process(req);
  if (!child)
    return child.error();
  coordinator_.emplace(std::move(*child));
  ++coordinators_;
  return {};
}

// The workers of the run, with their milestones: processes of this run whose environment
// names a milestone and whose parent does not (units and agents inherit the same environment).
std::vector<std::pair<std::string, pid_t>> scenario_run::worker_pids() {
  std::vector<std::pair<std::string, pid_t>> out;
  for (pid_t pid : run_processes(rec_.root)) {
    auto m = io::read_environ_value(pid, "SF_MILESTONE_LOCK");
    if (!m)
      continue;
    auto stat = io::read_proc_stat(pid);
    if (!stat)
      continue;
    auto parent = io::read_environ_value(stat->ppid, "SF_MILESTONE_LOCK");
    if (parent && *parent == *m)
      continue;
    out.emplace_back(*m, pid);
  }
  return out;
}

caf::error scenario_run::worker_pid(const std::string& mid, pid_t& out) {
  for (const auto& [m, pid] : worker_pids())
    if (m == mid) {
      out = pid;
      return {};
    }
  return make_error(ec::not_found, "no worker process of " + mid + " is running");
}

// The peak resident memory (VmHWM) of each worker seen so far. The peak only grows, so a
// sample shortly before a worker exits holds nearly all of it.
void scenario_run::sample_worker_memory() {
  for (const auto& [mid, pid] : worker_pids()) {
    auto status = io::read_proc_file(pid, "status", 1 << 16);
    if (!status)
      continue;
    auto at = status->find("\nVmHWM:");
    if (at == std::string::npos)
      continue;
    auto kib = std::strtoll(status->c_str() + at + 7, nullptr, 10);
    auto& peak = rec_.worker_peak_kib[mid];
    peak = std::max<int64_t>(peak, kib);
  }
}

caf::error scenario_run::act(const action& a) {
  auto signal_worker = [&](int sig) -> caf::error {
    pid_t pid = -1;
    if (auto err = worker_pid(a.args[0], pid))
      return err;
    if (::kill(pid, sig) != 0)
      return make_error(ec::process_error, "kill " + std::to_string(pid) + ": " +
                                             io::errno_text(errno));
    return {};
  };
  auto signal_coordinator = [&](int sig) -> caf::error {
    if (!coordinator_ || coordinator_->reaped())
      return make_error(ec::not_found, "no coordinator is running");
    return coordinator_->signal(sig);
  };
  const auto& v = a.verb;
  if (v == "kill-worker") {
    pid_t pid = -1;
    if (auto err = worker_pid(a.args[0], pid))
      return err;
    if (::kill(pid, SIGKILL) != 0)
      return make_error(ec::process_error, "kill " + std::to_string(pid) + ": " +
                                             io::errno_text(errno));
    // SIGKILL takes effect asynchronously: the next action must find the worker dead.
    auto deadline = clock_type::now() + std::chrono::seconds(5);
    for (;;) {
      auto st = io::read_proc_stat(pid);
      if (!st || st->state == 'Z' || st->state == 'X')
        return {};
      if (clock_type::now() > deadline)
        return make_error(ec::process_error, "worker " + std::to_string(pid) +
                                               " still runs 5 s after SIGKILL");
      ::sched_yield();
    }
  }
  if (v == "stop-worker")
    return signal_worker(SIGSTOP);
  if (v == "continue-worker")
    return signal_worker(SIGCONT);
  if (v == "kill-coordinator") {
    if (auto err = signal_coordinator(SIGKILL))
      return err;
    finish_coordinator();
    return {};
  }
  if (v == "stop-coordinator")
    return signal_coordinator(SIGSTOP);
  if (v == "term-coordinator")
    return signal_coordinator(SIGTERM);
  if (v == "continue-coordinator")
    return signal_coordinator(SIGCONT);
  if (v == "start-coordinator")
    return start_coordinator(false);
  if (v == "start-coordinator-at") {
    bool known = false;
    for (int i = 0; i < io::fault_point_count; ++i)
      known = known || a.args[0] == io::fault_point_names[i];
    if (!known)
      return make_error(ec::invalid_input, "unknown fault point " + a.args[0]);
    return start_coordinator(false, a.args[0]);
  }
  if (v == "cli") {
    std::vector<std::string> argv = {o_.sf_binary, "-C", rec_.root};
    argv.insert(argv.end(), a.args.begin(), a.args.end());
    auto r = run_command(argv, rec_.root, base_env());
    std::ofstream{log_path("cli"), std::ios::binary} << "$ sf-actors " << a.text.substr(4)
                                                     << "\n" << r.out << "(exit " << r.exit_code
                                                     << ")\n";
    return {};
  }
  auto lock = [&](const std::string& rel, bool create) -> caf::error {
    auto path = rec_.root + "/.git/" + rel;
    if (create) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0)
        return make_error(ec::io_error, "cannot create " + path + ": " + io::errno_text(errno));
      ::close(fd);
    } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return make_error(ec::io_error, "cannot remove " + path + ": " + io::errno_text(errno));
    }
    return {};
  };
  if (v == "lock-main")
    return lock("refs/heads/main.lock", true);
  if (v == "unlock-main")
    return lock("refs/heads/main.lock", false);
  if (v == "lock-index")
    return lock("index.lock", true);
  if (v == "unlock-index")
    return lock("index.lock", false);
  if (v == "user-commit") {
    auto name = "user-" + std::to_string(++user_commits_) + ".txt";
    write_text(rec_.root + "/" + name, "the user's own work\n");
    auto add = git({"add", "--", name});
    auto commit = git({"commit", "-q", "-m", "user: " + name, "--", name});
    if (add.exit_code != 0 || commit.exit_code != 0)
      return make_error(ec::process_error, "the user's commit failed: " + add.out + commit.out);
    auto id = read_text_trim(git({"rev-parse", "HEAD"}).out);
    rec_.user_commits.insert(id);
    rec_.user_kept.insert(id);
    return {};
  }
  if (v == "git" || v == "sh") {
    // The rest of the line, quotes and all, as the user would type it.
    auto line = a.text.substr(a.text.find(v) + v.size());
    note_user_work(false);
    auto r = as_user(v == "git" ? "git" + line : line);
    note_user_work(true);
    std::ofstream{log_path("user"), std::ios::binary} << "$ " << (v == "git" ? "git" + line : line)
                                                      << "\n" << r.out << "(exit " << r.exit_code
                                                      << ")\n";
    return {};
  }
  if (v == "user-stage") {
    std::ofstream{rec_.root + "/" + a.args[0], std::ios::app} << "the user's staged line\n";
    auto add = git({"add", "--", a.args[0]});
    if (add.exit_code != 0)
      return make_error(ec::process_error, "the user's git add failed: " + add.out);
    rec_.user_staged[a.args[0]] = read_text_trim(git({"rev-parse", ":" + a.args[0]}).out);
    return {};
  }
  if (v == "user-edit") {
    std::ofstream{rec_.root + "/" + a.args[0], std::ios::app} << "the user's uncommitted edit\n";
    rec_.user_files.insert(a.args[0]);
    return {};
  }
  if (v == "user-discard") {
    auto r = git({"checkout", "-q", "--", a.args[0]});
    if (r.exit_code != 0)
      ::unlink((rec_.root + "/" + a.args[0]).c_str());
    rec_.user_files.erase(a.args[0]);
    return {};
  }
  if (v == "plant-symlink" || v == "plant-fifo" || v == "plant-folder") {
    // Under a temp name, then renamed over the file the run may already have: the name never
    // goes missing, as when a hostile process swaps it.
    fs::create_directories(core::parallel_dir(rec_.root));
    auto path = core::parallel_file(rec_.root, a.args[0]);
    if (v == "plant-folder") {
      ::unlink(path.c_str()); // A folder cannot be renamed over a file.
      if (::mkdir(path.c_str(), 0700) != 0)
        return make_error(ec::io_error, "cannot plant " + path + ": " + io::errno_text(errno));
      return {};
    }
    auto tmp = rec_.root + "/.chaos-plant";
    ::unlink(tmp.c_str());
    int rc = v == "plant-fifo" ? ::mkfifo(tmp.c_str(), 0600)
                               : ::symlink(rec_.victim.c_str(), tmp.c_str());
    if (rc != 0 || ::rename(tmp.c_str(), path.c_str()) != 0)
      return make_error(ec::io_error, "cannot plant " + path + ": " + io::errno_text(errno));
    return {};
  }
  if (v == "lock-worktree-index" || v == "unlock-worktree-index") {
    // The linked worktree's own index lock, as a user's editor running `git status` holds it.
    auto path = rec_.root + "/.git/worktrees/" + a.args[0] + "/index.lock";
    if (v == "unlock-worktree-index") {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return make_error(ec::io_error, "cannot remove " + path + ": " + io::errno_text(errno));
      return {};
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
      return make_error(ec::io_error, "cannot create " + path + ": " + io::errno_text(errno));
    ::close(fd);
    return {};
  }
  if (v == "delete-worktree") {
    // The worker may create files while the tree is removed (remove_all then fails with
    // ENOTEMPTY), so repeat until the folder is gone.
    auto dir = core::worktree_dir(rec_.root, a.args[0]);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::error_code err;
    while (fs::exists(dir, err) || err) {
      fs::remove_all(dir, err);
      if (std::chrono::steady_clock::now() > deadline)
        return make_error(ec::io_error, "cannot delete " + dir + ": " + err.message());
    }
    return {};
  }
  if (v == "mount-tmpfs") {
    // A private mount namespace keeps the small filesystem to this process and its children.
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      skip_ = "cannot create a mount namespace here (" + io::errno_text(errno) +
              "); run as root or with unprivileged user namespaces";
      return {};
    }
    auto path = core::parallel_dir(rec_.root);
    fs::create_directories(path);
    auto opts = "size=" + a.args[0] + ",mode=0700";
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      skip_ = "cannot mount a tmpfs (" + io::errno_text(errno) + ")";
      return {};
    }
    mounted_ = path;
    return {};
  }
  if (v == "fill-disk") {
    keep_full_ = true;
    return top_up_filler();
  }
  if (v == "free-disk") {
    keep_full_ = false;
    ::unlink(core::parallel_file(rec_.root, "chaos-filler").c_str());
    return {};
  }
  return make_error(ec::invalid_input, "unknown action " + v);
}

// Fills the disk to ENOSPC. Called again whenever .sf/parallel changes while the disk is to
// stay full: a file removed or replaced frees a block that the run would otherwise reuse.
caf::error scenario_run::top_up_filler() {
  auto path = core::parallel_file(rec_.root, "chaos-filler");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno == ENOSPC ? caf::error{}
                           : make_error(ec::io_error, "cannot create " + path + ": " +
                                                        io::errno_text(errno));
  std::string block(4096, 'x');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
  return {};
}

void scenario_run::read_new_events() {
  auto text = read_text(core::parallel_file(rec_.root, "events.jsonl"));
  if (text.size() < events_offset_)
    events_offset_ = 0;
  // Only whole lines: the last one may still be being written.
  auto end = text.rfind('\n');
  if (end == std::string::npos || end + 1 <= events_offset_)
    return;
  std::istringstream in{text.substr(events_offset_, end + 1 - events_offset_)};
  events_offset_ = end + 1;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object())
      events_.push_back(std::move(j));
  }
}

bool scenario_run::matches(const trigger& t) {
  switch (t.kind) {
    case trigger::coordinator_exit:
      return coordinator_ && coordinator_->reaped();
    case trigger::file: {
      auto path = dir_ + "/" + t.path;
      if (::access(path.c_str(), F_OK) != 0)
        return false;
      return t.text.empty() || read_text(path).find(t.text) != std::string::npos;
    }
    case trigger::printed:
      return !coordinator_log_.empty() &&
             read_text(coordinator_log_).find(t.output) != std::string::npos;
    case trigger::fault_point: {
      if (!coordinator_ || coordinator_->reaped())
        return false;
      auto st = io::read_proc_stat(coordinator_->pid());
      return st && st->state == 'T';
    }
    case trigger::event:
      for (const auto& e : events_) {
        if (e.value("kind", "") != t.event_kind)
          continue;
        if (!t.milestone.empty() && e.value("milestone", "") != t.milestone)
          continue;
        if (!t.state.empty() && e.value("state", "") != t.state)
          continue;
        if (!t.text.empty() && e.value("text", "").find(t.text) == std::string::npos)
          continue;
        if (t.units >= 0 && e.value("completedUnits", -1) != t.units)
          continue;
        return true;
      }
      return false;
  }
  return false;
}

void scenario_run::finish_coordinator() {
  if (!coordinator_)
    return;
  int status = 0;
  pollfd pfd{coordinator_->pidfd(), POLLIN, 0};
  ::poll(&pfd, 1, 10000);
  if (!coordinator_->try_reap(status))
    return;
  rec_.last_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  rec_.clean_stop = WIFEXITED(status);
}

scenario_result scenario_run::run() {
  scenario_result res;
  res.name = s_.name;
  res.fault = s_.fault;
  auto started = clock_type::now();
  auto harness_error = [&](const std::string& what) {
    res.checks.push_back({"harness", check_result::fail, what});
  };
  if (auto err = setup()) {
    harness_error("setup: " + describe(err));
    res.workdir = dir_;
    return res;
  }
  for (const auto& a : s_.before_start)
    if (auto err = act(a)) {
      harness_error(a.text + ": " + describe(err));
      res.workdir = dir_;
      return res;
    }
  if (!skip_.empty()) {
    res.skipped = true;
    res.skip_reason = skip_;
    remove_dir_ = !o_.keep;
    return res;
  }
  if (auto err = start_coordinator(true)) {
    harness_error("starting the coordinator: " + describe(err));
    return res;
  }
  // Wake on any change in .sf/parallel (events, status files) or when the coordinator exits;
  // a short poll also catches a coordinator that stopped itself at a fault point.
  int in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  io::unique_fd inotify{in};
  auto deadline = started + std::chrono::milliseconds(static_cast<int64_t>(s_.timeout * 1000));
  std::vector<bool> fired(s_.inject.size(), false);
  int watch = -1;
  for (;;) {
    if (watch < 0 && inotify)
      watch = ::inotify_add_watch(inotify.get(), (core::parallel_dir(rec_.root)).c_str(),
                                  IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
    if (keep_full_)
      (void) top_up_filler();
    if (s_.expect.worker_max_rss_mib > 0)
      sample_worker_memory();
    read_new_events();
    if (coordinator_ && !coordinator_->reaped()) {
      int status = 0;
      if (coordinator_->try_reap(status)) {
        rec_.last_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        rec_.clean_stop = WIFEXITED(status);
      }
    }
    for (std::size_t i = 0; i < s_.inject.size(); ++i) {
      if (fired[i] || !matches(s_.inject[i].when))
        continue;
      fired[i] = true;
      for (const auto& a : s_.inject[i].then) {
        auto err = act(a);
        char when[32];
        std::snprintf(when, sizeof when, "%.3f s: ",
                      std::chrono::duration<double>(clock_type::now() - started).count());
        std::ofstream{dir_ + "/harness.log", std::ios::app}
          << when << a.text << (err ? " failed: " + describe(err) : std::string(" done")) << "\n";
        if (err)
          harness_error(a.text + ": " + describe(err));
      }
    }
    bool exit_pending = false;
    for (std::size_t i = 0; i < s_.inject.size(); ++i)
      exit_pending = exit_pending || (!fired[i] && s_.inject[i].when.kind == trigger::coordinator_exit);
    if (coordinator_ && coordinator_->reaped() && !exit_pending)
      break;
    if (clock_type::now() > deadline) {
      rec_.timed_out = true;
      if (coordinator_ && !coordinator_->reaped())
        (void) coordinator_->signal(SIGCONT);
      auto r = run_command({o_.sf_binary, "-C", rec_.root, "stop"}, rec_.root, base_env());
      std::ofstream{log_path("cli"), std::ios::binary} << "$ sf-actors stop (timeout)\n" << r.out;
      if (coordinator_ && !coordinator_->reaped()) {
        finish_coordinator();
        if (!coordinator_->reaped()) {
          (void) coordinator_->signal(SIGKILL);
          finish_coordinator();
        }
      }
      break;
    }
    pollfd pfds[2] = {{inotify.get(), POLLIN, 0},
                      {coordinator_ && !coordinator_->reaped() ? coordinator_->pidfd() : -1, POLLIN, 0}};
    ::poll(pfds, 2, 50);
    if ((pfds[0].revents & POLLIN) != 0) {
      char buf[4096];
      while (::read(inotify.get(), buf, sizeof buf) > 0) {
      }
    }
  }
  // Workers of a coordinator that died unreplaced are the run's too: the checks see them, then
  // the harness ends them so nothing outlives the scenario.
  res.checks = check_all(s_, rec_);
  for (pid_t pid : run_processes(rec_.root))
    ::kill(pid, SIGKILL);
  res.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  if (!res.passed() || o_.keep)
    res.workdir = dir_;
  else
    remove_dir_ = true;
  return res;
}

} // namespace

scenario_result run_scenario(const scenario& s, const run_options& o) {
  scenario_run run{s, o};
  return run.run();
}

} // namespace sf::chaos
