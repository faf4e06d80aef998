#include "worker/reference_worker.hpp"

#include "config/cost.hpp"
#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "config/prose_milestone.hpp"
#include "config/unit_prompt.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/prompt_file.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "io/git/git.hpp"
#include "io/os/dir_watcher.hpp"
#include "io/os/process.hpp"
#include "messages/error.hpp"
#include "worker/agent_unit.hpp"
#include "worker/auto_lock.hpp"
#include "worker/gate_fix.hpp"
#include "worker/git_commit.hpp"
#include "worker/metrics.hpp"
#include "worker/milestone_edit.hpp"
#include "worker/unit_env.hpp"
#include "worker/unit_runner.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <thread>

extern char** environ;

namespace sf::worker {

namespace {

/// Prints one line on stderr with the worker's prefix.
void report(const std::string& line) {
  std::cerr << "sf-actors worker: " << line << std::endl;
}

std::string usd(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "$%.2f", v);
  return buf;
}

std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

/// What the signal files (or SIGTERM) asked for between units.
enum class next_step { proceed, stop };

/// One run of the worker: its plan, progress and status file.
class session {
public:
  explicit session(const worker_options& opts) : opts_(opts) {}

  int run();
  std::optional<int> agent_unit(const slice& s, const unit& u, const std::string& prompt,
                                const std::string& prompt_file,
                                const std::vector<std::string>& env, unit_record& rec,
                                std::string& summary, const std::string& resume_prompt = "");

private:
  std::optional<int> gate_fix(const gate_fix_order& order, const std::vector<std::string>& env);
  int fail(const caf::error& err);
  worker_hooks& hooks() const { return opts_.hooks != nullptr ? *opts_.hooks : no_hooks_; }
  int fail(const std::string& line) { return fail(make_error(ec::invalid_input, line)); }
  int stop(std::optional<std::string> reason = std::nullopt);
  caf::error count_attempt(const slice& s, const unit& u, const unit_result& result,
                           int64_t started);
  void publish();
  bool sigterm_pending();
  next_step between_units();
  std::optional<std::string> budget_reached();
  std::vector<std::string> unit_env() const;
  caf::error open_repo_once();
  caf::expected<std::string> commit(const std::string& message);
  std::optional<std::string> held_git_lock();
  caf::expected<std::string> commit_unit(const std::string& what, const std::string& message,
                                         bool& interrupted);

  worker_options opts_;
  io::unique_fd sigfd_;
  preferences prefs_;
  milestone plan_;
  metrics_file metrics_;
  io::worker_status status_;
  std::chrono::milliseconds heartbeat_{5000};
  std::chrono::milliseconds unit_grace_{2000}; ///< SIGTERM to SIGKILL of a unit being stopped.
  std::chrono::milliseconds lock_wait_{30000}; ///< How long a held git lock is waited out.
  mutable worker_hooks no_hooks_; ///< Used when the options name none.
  std::future<void> git_started_; ///< libgit2's start-up; joined at the latest on return.
  io::repo_ptr repo_;             ///< The worktree's repository, opened at the first commit.
  io::git_hook_settings git_hooks_; ///< The repository's git hooks around unit commits.
};

caf::error session::open_repo_once() {
  if (repo_)
    return {};
  auto repo = io::open_repo(opts_.worktree);
  if (!repo)
    return repo.error();
  repo_ = std::move(*repo);
  return {};
}

// Commits everything in the worktree; the repository stays open for the next unit.
caf::expected<std::string> session::commit(const std::string& message) {
  if (auto err = open_repo_once())
    return err;
  return commit_all(repo_.get(), opts_.worktree, message, git_hooks_);
}

// The lock file another git process holds and our commit needs: the worktree's index.lock (in
// its own git dir, `.git/worktrees/<MID>/` for a linked worktree) or its branch's ref lock.
std::optional<std::string> session::held_git_lock() {
  if (open_repo_once())
    return std::nullopt;
  std::vector<std::string> locks{std::string{git_repository_path(repo_.get())} + "index.lock"};
  git_reference* raw = nullptr;
  if (git_reference_lookup(&raw, repo_.get(), "HEAD") == 0) {
    io::reference_ptr head{raw};
    if (const char* target = git_reference_symbolic_target(head.get()))
      locks.push_back(std::string{git_repository_commondir(repo_.get())} + target + ".lock");
  }
  for (const auto& lock : locks) {
    struct stat st;
    if (::lstat(lock.c_str(), &st) == 0)
      return lock;
  }
  return std::nullopt;
}

// A unit's commit. A git lock held by someone else (an editor's background `git status`) is
// waited out with growing pauses, heartbeating meanwhile so the coordinator sees us alive; after
// `lock_wait_` the unit fails naming the lock. The unit stays recorded in the worktree's
// metrics file only, so the next run makes its commit before anything else.
caf::expected<std::string> session::commit_unit(const std::string& what, const std::string& message,
                                                bool& interrupted) {
  using clock = std::chrono::steady_clock;
  interrupted = false;
  const auto deadline = clock::now() + lock_wait_;
  auto pause = std::chrono::milliseconds(10);
  auto next_beat = clock::now() + heartbeat_;
  bool told = false;
  for (;;) {
    auto lock = held_git_lock();
    if (!lock) {
      auto done = commit(message);
      if (done)
        return done;
      // A git hook the stop ended: the unit is committed (hooks and all) at the next start.
      if (code_of(done.error()) == ec::unavailable) {
        (void) sigterm_pending();
        interrupted = true;
        return done.error();
      }
      // Taken between our look and libgit2's attempt (and maybe gone again already): wait it
      // out like any other, until the deadline.
      if (code_of(done.error()) == ec::locked || held_git_lock()) {
        if (clock::now() >= deadline)
          return make_error(ec::git_error, "the commit of " + what + " kept finding a git lock "
                                           "taken for " + seconds_text(lock_wait_) + " (" +
                                           describe(done.error()) + "); when no git command "
                                           "runs, start the milestone again (the unit is "
                                           "committed first)");
        pollfd p{sigfd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(pause.count())) > 0 && sigterm_pending()) {
          interrupted = true;
          return make_error(ec::git_error, "stopped while waiting for a git lock");
        }
        pause = std::min(pause * 2, std::chrono::milliseconds(250));
        if (clock::now() >= next_beat) {
          publish();
          next_beat = clock::now() + heartbeat_;
        }
        continue;
      }
      auto text = describe(done.error());
      if (text.find(io::errno_text(ENOSPC)) != std::string::npos ||
          text.find(io::errno_text(EDQUOT)) != std::string::npos)
        return make_error(ec::io_error, "the commit of " + what + " failed: the disk is full (" +
                                            text + "); free disk space, then start the milestone "
                                                   "again (the unit is committed first)");
      return done.error();
    }
    auto now = clock::now();
    if (now >= deadline)
      return make_error(ec::git_error,
                        "the commit of " + what + " waited " + seconds_text(lock_wait_) +
                          " for " +
                          *lock + ", which another git process holds; when no git command runs, "
                          "remove it (`rm " + *lock + "`) and start the milestone again (the "
                          "unit is committed first)");
    if (!told) {
      report("waiting for " + *lock + " (another git process holds it) to commit " + what);
      told = true;
    }
    auto wake = std::min({now + pause, deadline, next_beat});
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
    pollfd p{sigfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(ms, 1))) > 0 && sigterm_pending()) {
      interrupted = true;
      return make_error(ec::git_error, "stopped while waiting for " + *lock);
    }
    pause = std::min(pause * 2, std::chrono::milliseconds(250));
    if (clock::now() >= next_beat) {
      publish();
      next_beat = clock::now() + heartbeat_;
    }
  }
}

void session::publish() {
  status_.last_heartbeat = io::now_ms();
  auto shown = hooks().published(status_);
  for (std::size_t i = 0; i < shown.size(); ++i)
    if (auto err = io::write_status(opts_.root, shown[i]); err && i == 0)
      report("cannot write the status file: " + describe(err) +
             " (the coordinator may take this worker for stale)");
}

int session::fail(const caf::error& err) {
  auto line = describe(err);
  report(line);
  status_.state = core::worker_state::error;
  status_.error = line;
  status_.unit.reset();
  publish();
  return worker_exit_failure;
}

int session::stop(std::optional<std::string> reason) {
  status_.state = core::worker_state::stopped;
  status_.unit.reset();
  status_.error = std::move(reason);
  publish();
  return worker_exit_ok;
}

bool session::sigterm_pending() {
  signalfd_siginfo info;
  for (;;) {
    ssize_t n = ::read(sigfd_.get(), &info, sizeof(info));
    if (n == static_cast<ssize_t>(sizeof(info)))
      return true;
    if (n < 0 && errno == EINTR)
      continue;
    return false;
  }
}

std::optional<std::string> session::budget_reached() {
  if (!prefs_.budget_ceiling)
    return std::nullopt;
  double ceiling = *prefs_.budget_ceiling;
  // The ceiling covers the current budget period; running totals (ours, and those of other
  // workers' status files) count only beyond what earlier periods counted.
  io::ledger_record ledger;
  if (auto read = io::read_ledger_record(opts_.root)) {
    ledger = std::move(*read);
  } else if (code_of(read.error()) != ec::not_found) {
    report("cannot read the budget ledger, using the other workers' status files only: " +
           describe(read.error()));
  }
  auto in_period = [&](const std::string& mid, double running_total) {
    auto carried = ledger.carried.find(mid);
    return std::max(0.0, running_total - (carried == ledger.carried.end() ? 0.0 : carried->second));
  };
  double own = in_period(opts_.milestone, status_.cost);
  if (own >= ceiling)
    return "budget ceiling reached (" + usd(own) + " of " + usd(ceiling) + ")";
  // Others' costs: the ledger lags behind by the coordinator's processing, while each worker's
  // status file is written the moment a unit ends, so take the larger of the two per milestone.
  auto others = ledger.milestone_costs();
  // A file written before the period began is an earlier period's, all counted there.
  for (const auto& mid : io::status_file_milestones(opts_.root))
    if (auto st = io::read_status(opts_.root, mid); st && st->last_heartbeat >= ledger.period_start)
      others[mid] = std::max(others[mid], in_period(mid, st->cost));
  // Our own entry may lag behind too; our own cost is the fresher figure.
  double total = own;
  for (const auto& [mid, cost] : others)
    if (mid != opts_.milestone)
      total += cost;
  if (total >= ceiling)
    return "budget ceiling reached (" + usd(total) + " of " + usd(ceiling) + ")";
  return std::nullopt;
}

next_step session::between_units() {
  bool paused = false;
  std::optional<io::dir_watcher> watcher;
  bool watch_failed = false;
  auto next_beat = std::chrono::steady_clock::now() + heartbeat_;
  for (;;) {
    if (sigterm_pending())
      return next_step::stop;
    // Drain every pending signal: one may have been written while we handled the last.
    for (;;) {
      auto sig = io::consume_signal(opts_.root, opts_.milestone);
      if (!sig) {
        report("skipping a signal file: " + describe(sig.error()));
        break;
      }
      if (!*sig)
        break;
      switch ((*sig)->kind) {
        case io::signal_kind::stop:
          return next_step::stop;
        case io::signal_kind::pause:
          paused = true;
          break;
        case io::signal_kind::resume:
          if (!paused && status_.state != core::worker_state::paused)
            report("ignoring `resume`: not paused");
          paused = false;
          break;
        case io::signal_kind::rebase:
          report("ignoring `rebase`: the reference worker does not rebase its branch");
          break;
      }
    }
    if (!paused) {
      if (status_.state != core::worker_state::running) {
        status_.state = core::worker_state::running;
        publish();
      }
      return next_step::proceed;
    }
    if (status_.state != core::worker_state::paused) {
      status_.state = core::worker_state::paused;
      publish();
      next_beat = std::chrono::steady_clock::now() + heartbeat_;
    }
    if (!watcher && !watch_failed) {
      auto w = io::dir_watcher::create(core::parallel_dir(opts_.root));
      if (w) {
        watcher.emplace(std::move(*w));
        // A resume may have landed before the watch existed: look again first.
        continue;
      }
      watch_failed = true;
      report("cannot watch for signals, checking at each heartbeat instead: " +
             describe(w.error()));
    }
    pollfd pfds[2];
    nfds_t n = 0;
    pfds[n++] = {sigfd_.get(), POLLIN, 0};
    if (watcher)
      pfds[n++] = {watcher->fd(), POLLIN, 0};
    // The deadline persists across wakeups: other workers' status writes in the same folder
    // wake us often, and must not postpone our own heartbeat forever.
    auto now = std::chrono::steady_clock::now();
    if (next_beat <= now)
      next_beat = now;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(next_beat - now).count();
    int rc = ::poll(pfds, n, static_cast<int>(std::min<long long>(left, 1000000)));
    if (rc < 0 && errno != EINTR) {
      report(std::string("poll failed while paused: ") + std::strerror(errno));
      return next_step::stop;
    }
    if (watcher && n > 1 && (pfds[1].revents & POLLIN) != 0)
      (void) watcher->read_events(); // Which file changed does not matter: we re-check.
    if (std::chrono::steady_clock::now() >= next_beat) {
      publish();
      next_beat = std::chrono::steady_clock::now() + heartbeat_;
    }
  }
}

// The worker's own environment, which every unit's starts from (with_unit_vars adds the rest).
std::vector<std::string> session::unit_env() const {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    env.emplace_back(*e);
  return env;
}

int session::run() {
  // A log reader that goes away must not kill us with SIGPIPE; the write error is reported.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  if (hooks().ignores_sigterm())
    ::signal(SIGTERM, SIG_IGN);
  else
    sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {
    report(std::string("cannot block SIGTERM: ") + std::strerror(errno));
    return worker_exit_failure;
  }
  sigfd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_) {
    report(std::string("cannot create a signalfd: ") + std::strerror(errno));
    return worker_exit_failure;
  }

  auto lock = auto_lock::acquire(opts_.worktree, opts_.milestone);
  if (!lock) {
    report(describe(lock.error()));
    return code_of(lock.error()) == ec::already_running ? worker_exit_busy : worker_exit_failure;
  }

  hooks().on_locked();
  status_.milestone_id = opts_.milestone;
  status_.pid = ::getpid();
  status_.state = core::worker_state::running;
  status_.started_at = io::now_ms();
  status_.worktree_path = opts_.worktree;
  status_.spawn_token = opts_.spawn_token;
  status_.protocol = 1;

  // The lock file lives in the worktree; the branch's .gitignore may not list it yet.
  if (auto err = ensure_excluded(opts_.worktree, std::string(core::tree_path::auto_lock)))
    return fail(err);
  // libgit2 parses the system's CA bundle when it starts (Debian builds it with mbedTLS;
  // ~7 ms measured, a quarter of our start-up): done on a thread while the first unit runs.
  git_started_ = std::async(std::launch::async, [] { io::git_init_once(); });
  auto prefs = load_preferences(opts_.root);
  if (!prefs)
    return fail(prefs.error());
  prefs_ = std::move(*prefs);
  heartbeat_ = std::chrono::milliseconds(
      std::max<long long>(1, std::llround(prefs_.heartbeat_interval * 1000)));
  heartbeat_ = hooks().heartbeat(heartbeat_);
  // A unit (or agent) that ignores SIGTERM is killed within half the coordinator's grace for
  // this worker, so the worker still ends it and exits cleanly before it is SIGKILLed itself.
  unit_grace_ = std::min(unit_grace_, std::chrono::milliseconds(std::max<long long>(
                                        1, std::llround(prefs_.stop_grace * 500))));
  git_hooks_.enabled = prefs_.git_hooks;
  git_hooks_.grace = unit_grace_;
  git_hooks_.stop_fd = sigfd_.get();
  git_hooks_.on_note = [](const std::string& hint) { report(hint); };
  if (!prefs_.git_hooks)
    report("git_hooks: false: the repository's pre-commit and commit-msg hooks do not run for "
           "unit commits");
  auto plan_path = core::milestone_file(opts_.worktree, opts_.milestone);
  auto m = load_milestone_file(plan_path, opts_.milestone);
  if (!m)
    return fail(m.error());
  plan_ = std::move(*m);
  add_prose_unit(plan_, prefs_.agents);
  if (auto why = nothing_to_run(plan_); !why.empty())
    report(why);
  lock_wait_ = std::chrono::milliseconds(
      std::max<long long>(1, std::llround(prefs_.stale_timeout * 1000)));
  // Progress is what the branch holds: a unit is done only once its commit exists. The
  // worktree's copy may be ahead of HEAD (its commit failed); those units get their commits
  // below, each its own, before any other unit runs.
  auto worktree_metrics = metrics_file::load(opts_.worktree);
  if (!worktree_metrics)
    return fail(worktree_metrics.error());
  auto committed = metrics_file::load_committed(opts_.worktree);
  if (!committed)
    return fail(committed.error());
  metrics_ = std::move(*committed);
  // Failed attempts no commit carries yet were paid for all the same.
  metrics_.adopt_failed(opts_.milestone, *worktree_metrics);
  // An agent's session left by a worker that died: the next attempt resumes it.
  for (const auto& s : plan_.slices)
    for (const auto& u : s.units)
      if (auto rec = u.is_agent() ? worktree_metrics->agent_session(opts_.milestone, u.id)
                                  : std::nullopt)
        metrics_.set_agent_session(opts_.milestone, u.id, *rec);

  auto fix_order = gate_fix_from_env();
  if (!fix_order)
    return fail(fix_order.error());
  if (*fix_order)
    if (auto rec = worktree_metrics->agent_session(opts_.milestone,
                                                   gate_fix_unit_id((*fix_order)->round)))
      metrics_.set_agent_session(opts_.milestone, gate_fix_unit_id((*fix_order)->round), *rec);

  std::set<std::string> done;
  for (const auto& rec : metrics_.units(opts_.milestone))
    done.insert(rec.id);
  std::map<std::string, const unit*> planned;
  for (const auto& s : plan_.slices)
    for (const auto& u : s.units)
      planned.emplace(u.id, &u);
  std::vector<unit_record> ahead;
  for (const auto& rec : worktree_metrics->units(opts_.milestone))
    if (done.count(rec.id) == 0 && planned.count(rec.id) != 0)
      ahead.push_back(rec);
  status_.total_units = static_cast<int64_t>(plan_.unit_count());
  // The last pending unit's commit also marks the milestone complete: one commit less.
  std::string last_pending;
  for (const auto& s : plan_.slices)
    for (const auto& u : s.units)
      if (done.count(u.id) != 0)
        ++status_.completed_units;
      else
        last_pending = u.id;
  const bool mark_at_last = plan_.status != milestone_status::complete;
  // Starting from the recorded sum keeps the reported cost from dropping across restarts.
  status_.cost = metrics_.cost(opts_.milestone);
  if (auto t = metrics_.tokens(opts_.milestone); t.input > 0 || t.output > 0 || t.cached > 0)
    status_.tokens = t;
  publish();

  // Units that finished in an earlier run whose commit is missing (index.lock held, disk full):
  // one commit each, with the unit's own message, in the order they finished. Files the
  // worktree holds go with the first of them; there is normally only one.
  for (const auto& rec : ahead) {
    metrics_.record(opts_.milestone, rec);
    if (auto err = metrics_.save(opts_.worktree))
      return fail(err);
    done.insert(rec.id);
    const auto* u = planned[rec.id];
    std::string message = opts_.milestone + "/" + u->id + ": " + u->title;
    if (done.size() >= planned.size() &&
        std::all_of(planned.begin(), planned.end(),
                    [&](const auto& p) { return done.count(p.first) != 0; })) {
      if (auto err = mark_milestone_complete(plan_path))
        return fail(err);
      message += "\n\n" + opts_.milestone + " is complete.";
    }
    report("unit " + u->id + " finished in an earlier run but its commit is missing; "
           "committing it now");
    bool interrupted = false;
    auto commit = commit_unit("unit " + u->id, message, interrupted);
    if (interrupted)
      return stop();
    if (!commit)
      return fail(commit.error());
    ++status_.completed_units;
    status_.cost = add_costs_capped(status_.cost, rec.cost);
    publish();
  }
  if (!ahead.empty()) {
    last_pending.clear();
    for (const auto& s : plan_.slices)
      for (const auto& u : s.units)
        if (done.count(u.id) == 0)
          last_pending = u.id;
  }

  auto env = unit_env();
  for (const auto& s : plan_.slices) {
    for (const auto& u : s.units) {
      if (done.count(u.id) != 0)
        continue;
      if (between_units() == next_step::stop)
        return stop();
      if (auto reason = hooks().obeys_budget() ? budget_reached() : std::nullopt) {
        report(*reason + "; stopping before unit " + u.id);
        return stop(*reason);
      }
      auto started = io::now_ms();
      status_.unit = io::current_unit{"unit", u.id, started};
      status_.current_slice = s.id;
      publish();
      std::cout << "=== " << opts_.milestone << "/" << u.id << ": " << u.title << std::endl;
      // The prompt lives in the runtime folder, never in the worktree a commit takes in.
      auto prompt = build_prompt(plan_, s, u);
      // A full disk must not fail a shell unit that may never read the file (as a status file
      // it cannot write does not stop the worker): it runs without SF_PROMPT_FILE.
      auto prompt_file = io::write_prompt_file(opts_.root, opts_.milestone, prompt);
      if (!prompt_file && u.is_agent())
        return fail(make_error(ec::io_error, "unit " + u.id + " cannot give its agent the "
                                             "prompt: " + describe(prompt_file.error())));
      if (!prompt_file)
        report("unit " + u.id + " runs without SF_PROMPT_FILE: " + describe(prompt_file.error()));
      // What each unit is, for the unit itself and for whoever must tell a unit from its
      // worker (a coordinator adopting a worker it only knows by token).
      auto vars_env = with_unit_vars(env, {u.id, s.id, plan_path,
                                           prompt_file ? *prompt_file : "", prompt});
      unit_record rec;
      rec.id = u.id;
      rec.slice = s.id;
      rec.title = u.title;
      rec.started_at = started;
      std::string message = opts_.milestone + "/" + u.id + ": " + u.title;
      if (u.is_agent()) {
        std::string summary;
        auto ended = agent_unit(s, u, prompt, *prompt_file, vars_env, rec, summary);
        io::remove_prompt_file(opts_.root, opts_.milestone);
        if (ended)
          return *ended;
        message = agent_commit_message(prefs_.agents.commit_subject, opts_.milestone, u.id,
                                       u.title, summary);
      } else {
        unit_request req;
        req.command = u.run;
        req.cwd = opts_.worktree;
        req.env = std::move(vars_env);
        req.copy_fd = STDOUT_FILENO;
        req.stop_fd = sigfd_.get();
        req.heartbeat = heartbeat_;
        req.kill_grace = unit_grace_;
        req.on_heartbeat = [this] { publish(); };
        auto result = run_unit(req);
        // Whatever the outcome, the unit is over; the next one gets its own prompt.
        io::remove_prompt_file(opts_.root, opts_.milestone);
        if (!result)
          return fail(result.error());
        if (result->interrupted || !result->succeeded()) {
          // Counted before it is published, so a crash in between never loses the money.
          if (auto err = count_attempt(s, u, *result, started))
            return fail(err);
        }
        if (result->interrupted) {
          (void) sigterm_pending(); // Consume it; we are stopping anyway.
          report("stopped during unit " + u.id + "; its changes stay uncommitted in " +
                 opts_.worktree);
          return stop();
        }
        if (!result->succeeded())
          return fail(make_error(ec::process_error, "unit " + u.id + " failed: " +
                                                        io::describe_exit(result->exit_status)));
        rec.cost = u.cost ? *u.cost : result->reported_cost;
      }
      rec.finished_at = io::now_ms();
      metrics_.record(opts_.milestone, rec);
      if (auto err = metrics_.save(opts_.worktree))
        return fail(err);
      if (u.id == last_pending && mark_at_last) {
        if (auto err = mark_milestone_complete(plan_path))
          return fail(err);
        message += "\n\n" + opts_.milestone + " is complete.";
      }
      bool interrupted = false;
      auto commit = commit_unit("unit " + u.id, message, interrupted);
      if (interrupted) {
        report("stopped while unit " + u.id + " waited for its commit; the next run commits it");
        return stop();
      }
      if (!commit)
        return fail(commit.error());
      ++status_.completed_units;
      status_.cost = add_costs_capped(status_.cost, rec.cost);
      if (rec.tokens)
        status_.tokens = metrics_.tokens(opts_.milestone);
      status_.unit.reset();
      publish();
      hooks().after_unit({opts_.root, opts_.milestone, u.id, *commit, heartbeat_}, status_);
    }
  }

  // Every unit was done before this run: the mark (or its commit) may still be missing when
  // an earlier run died between the two. Neither step repeats work already on the branch.
  if (last_pending.empty()) {
    if (auto err = mark_milestone_complete(plan_path))
      return fail(err);
    bool interrupted = false;
    auto commit = commit_unit("the completion mark of " + opts_.milestone,
                              opts_.milestone + ": complete", interrupted);
    if (interrupted)
      return stop();
    if (!commit)
      return fail(commit.error());
  }
  if (*fix_order) {
    if (between_units() == next_step::stop)
      return stop();
    if (auto reason = hooks().obeys_budget() ? budget_reached() : std::nullopt) {
      report(*reason + "; stopping before the fix of the merge gate failure");
      return stop(*reason);
    }
    if (auto ended = gate_fix(**fix_order, env))
      return *ended;
  }
  status_.current_slice.reset();
  return stop();
}

// Under `on_gate_failure: agent`: the complete milestone failed the merge gate. The agent of its
// last agent unit is resumed (that unit's session) with the gate's report, and what it changes
// is committed as unit `gate-fix-<round>`. A fix already committed (its worker died after the
// commit) is not made again; one under way when its worker died resumes its own session.
std::optional<int> session::gate_fix(const gate_fix_order& order,
                                     const std::vector<std::string>& env) {
  const auto& mid = opts_.milestone;
  const auto id = gate_fix_unit_id(order.round);
  for (const auto& rec : metrics_.units(mid))
    if (rec.id == id)
      return std::nullopt;
  auto last = metrics_.last_agent_session(mid);
  const slice* in_slice = nullptr;
  const unit* agent_u = nullptr;
  for (const auto& s : plan_.slices)
    for (const auto& u : s.units)
      if (last && u.is_agent() && u.id == last->unit) {
        agent_u = &u;
        in_slice = &s;
      }
  if (agent_u == nullptr) {
    agent_u = fixing_unit(plan_, &in_slice);
    // An earlier fix's session is that unit's agent's too; any other is not its session.
    const auto* profile = agent_u == nullptr ? nullptr : prefs_.agents.find(agent_u->agent);
    if (last && (!is_gate_fix_id(last->unit) || profile == nullptr ||
                 profile->name != last->profile))
      last.reset();
  }
  if (agent_u == nullptr)
    return fail("the merge gate failed and the coordinator asked this worker to have the agent "
                "fix it, but " + mid + " has no agent unit; fix it by hand (" +
                order.report_file + " says what failed)");
  auto report_text = io::read_file_capped(order.report_file, 64 * 1024);
  if (!report_text)
    return fail(make_error(ec::io_error, "cannot read the merge gate's report: " +
                                           describe(report_text.error())));
  unit fix = *agent_u;
  fix.id = id;
  fix.title = "Fix the merge gate failure";
  const auto task = build_prompt(plan_, *in_slice, *agent_u);
  const auto prompt = gate_fix_prompt(*report_text, task);
  std::string resume_prompt;
  if (!metrics_.agent_session(mid, id) && last) {
    // The unit's agent, in the session it ended with: it knows what it did and why.
    auto rec = last->session;
    rec.attempt = 1;
    metrics_.set_agent_session(mid, id, rec);
    resume_prompt = gate_fix_prompt(*report_text, "");
  }
  auto started = io::now_ms();
  status_.unit = io::current_unit{"unit", id, started};
  status_.current_slice = in_slice->id;
  publish();
  std::cout << "=== " << mid << "/" << id << ": " << fix.title << " (round " << order.round
            << ", " << order.report_file << ")" << std::endl;
  auto prompt_file = io::write_prompt_file(opts_.root, mid, prompt);
  if (!prompt_file)
    return fail(make_error(ec::io_error, "the fix of the merge gate failure cannot give its "
                                         "agent the prompt: " + describe(prompt_file.error())));
  auto plan_path = core::milestone_file(opts_.worktree, mid);
  auto vars_env = with_unit_vars(env, {id, in_slice->id, plan_path, *prompt_file, prompt});
  unit_record rec;
  rec.id = id;
  rec.slice = in_slice->id;
  rec.title = fix.title;
  rec.started_at = started;
  std::string summary;
  auto ended = agent_unit(*in_slice, fix, prompt, *prompt_file, vars_env, rec, summary,
                          resume_prompt);
  io::remove_prompt_file(opts_.root, mid);
  if (ended)
    return ended;
  rec.finished_at = io::now_ms();
  metrics_.record(mid, rec);
  if (auto err = metrics_.save(opts_.worktree))
    return fail(err);
  auto message = agent_commit_message(prefs_.agents.commit_subject, mid, id, fix.title, summary);
  if (auto err = open_repo_once())
    return fail(err);
  git_oid before{};
  const bool had_head = git_reference_name_to_id(&before, repo_.get(), "HEAD") == 0;
  bool interrupted = false;
  auto commit = commit_unit("the fix of the merge gate failure", message, interrupted);
  if (interrupted) {
    report("stopped while the gate fix waited for its commit; the next run commits it");
    return stop();
  }
  if (!commit)
    return fail(commit.error());
  status_.cost = metrics_.cost(mid);
  status_.tokens = metrics_.tokens(mid);
  status_.unit.reset();
  publish();
  // The metrics file is always in the commit; a fix that changed nothing else is no fix.
  auto changed = had_head ? changed_outside_state(repo_.get(), before, *commit)
                          : caf::expected<bool>{true};
  if (!changed)
    return fail(changed.error());
  if (!*changed)
    return fail("the agent's fix of the merge gate failure changed no file outside .sf/, so "
                "merging again would fail the same way; fix it by hand (" + order.report_file +
                " says what failed)");
  return std::nullopt;
}

// An `agent:` unit: the profile's agent works on the prompt (resuming the session a dead
// worker left), every attempt is recorded and costed as it ends, and the budget is checked as
// its cost grows. Fills `rec` and `summary` when the unit is done, else returns the exit code.
std::optional<int> session::agent_unit(const slice& s, const unit& u, const std::string& prompt,
                                       const std::string& prompt_file,
                                       const std::vector<std::string>& env, unit_record& rec,
                                       std::string& summary, const std::string& resume_prompt) {
  const auto* profile = prefs_.agents.find(u.agent);
  if (profile == nullptr)
    return fail("unit " + u.id + " names the agent profile `" + u.agent +
                "`, which .sf/PREFERENCES.md does not define; add it under agents.profiles");
  // aider keeps its chat history and caches in the worktree: resumable, never committed.
  if (profile->adapter == agent_adapter::aider)
    if (auto err = ensure_excluded(opts_.worktree, ".aider*"))
      return fail(err);
  const double base_cost = status_.cost;
  const auto base_tokens = status_.tokens.value_or(io::token_counts{});
  agent_unit_request req;
  req.profile = profile;
  req.prices = &prefs_.agents.prices;
  req.root = opts_.root;
  req.milestone = opts_.milestone;
  req.unit_id = u.id;
  req.worktree = opts_.worktree;
  req.prompt = prompt;
  req.prompt_file = prompt_file;
  req.verify = u.verify;
  req.limits = effective_limits(u.limits, profile->limits);
  req.env = env;
  req.stop_fd = sigfd_.get();
  req.transcript_fd = STDOUT_FILENO;
  req.raw_log_path = core::agent_stream_file(opts_.root, opts_.milestone);
  req.heartbeat = heartbeat_;
  req.kill_grace = unit_grace_;
  if (auto rec_session = metrics_.agent_session(opts_.milestone, u.id)) {
    // Attempts are counted on; a session is resumed only when there is one to resume.
    req.resume = *rec_session;
    req.resume_prompt = resume_prompt;
    if (!rec_session->session_id.empty() || profile->adapter == agent_adapter::aider)
      report("unit " + u.id + ": resuming the agent's recorded session" +
             (rec_session->session_id.empty() ? "" : " " + rec_session->session_id));
  }
  req.on_progress = [&](const io::agent_progress& p, double unit_cost,
                        const io::token_counts& t) {
    status_.agent = p;
    status_.cost = add_costs_capped(base_cost, unit_cost);
    status_.tokens = base_tokens + t; // Held within int64_t (a lying agent's counts).
    publish();
  };
  req.over_budget = [&](double unit_cost) -> std::optional<std::string> {
    if (!hooks().obeys_budget())
      return std::nullopt;
    status_.cost = add_costs_capped(base_cost, unit_cost);
    return budget_reached();
  };
  req.on_session = [&](const agent_session_record& r) {
    metrics_.set_agent_session(opts_.milestone, u.id, r);
    if (auto err = metrics_.save(opts_.worktree))
      report("unit " + u.id + ": cannot record the agent's session: " + describe(err));
  };
  req.on_attempt = [&](const agent_attempt& a) {
    unit_record r;
    r.id = u.id;
    r.slice = s.id;
    r.title = u.title;
    r.cost = a.cost;
    r.tokens = a.tokens;
    r.agent = profile->name;
    r.attempt = a.number;
    r.outcome = a.outcome;
    r.started_at = a.started_at;
    r.finished_at = a.finished_at;
    if (a.price_missing)
      report("unit " + u.id + ": the tokens of attempt " + std::to_string(a.number) +
             " have no price (add the model under agents.prices); they count as $0");
    if (a.outcome == "done") {
      rec = r;
      return;
    }
    // Counted before anything else happens, so a crash never loses the money.
    metrics_.record_failed(opts_.milestone, r);
    if (auto err = metrics_.save(opts_.worktree))
      report("unit " + u.id + ": cannot record attempt " + std::to_string(a.number) + ": " +
             describe(err));
  };
  auto result = run_agent_unit(req);
  status_.agent.reset();
  if (!result)
    return fail(result.error());
  // What the failed attempts cost is in the record now; a done attempt is added with its commit.
  status_.cost = metrics_.cost(opts_.milestone);
  status_.tokens = metrics_.tokens(opts_.milestone);
  switch (result->end) {
    case agent_end::done: {
      // Kept as the milestone's last session, with Codex's usage after this attempt, for a
      // gate fix that resumes it.
      auto at_end = metrics_.agent_session(opts_.milestone, u.id).value_or(agent_session_record{});
      if (rec.tokens) {
        auto& snap = at_end.snapshot;
        auto sum = io::token_counts{snap.input, snap.output, snap.cached} + *rec.tokens;
        snap.input = sum.input;
        snap.output = sum.output;
        snap.cached = sum.cached;
      }
      metrics_.finish_agent_session(opts_.milestone, u.id, profile->name, at_end);
      summary = result->summary;
      return std::nullopt;
    }
    case agent_end::interrupted:
      (void) sigterm_pending(); // Consume it; we are stopping anyway.
      report("stopped during unit " + u.id + "; its changes stay uncommitted in " +
             opts_.worktree + ", and the next run resumes the agent's session");
      return stop();
    case agent_end::budget:
      report(result->reason + "; the agent was stopped during unit " + u.id);
      return stop(result->reason);
    case agent_end::timed_out:
    case agent_end::failed:
      break;
  }
  int code = fail(make_error(ec::process_error, "unit " + u.id + " failed: " + result->reason));
  return result->agent_failed ? static_cast<int>(worker_exit_agent) : code;
}

// A unit that failed or was stopped: the money it reported was spent all the same.
caf::error session::count_attempt(const slice& s, const unit& u, const unit_result& result,
                                  int64_t started) {
  unit_record rec;
  rec.id = u.id;
  rec.slice = s.id;
  rec.title = u.title;
  // What its SF_COST lines reported: a fixed `cost:` is the price of a unit that completes.
  rec.cost = result.reported_cost;
  rec.started_at = started;
  rec.finished_at = io::now_ms();
  if (rec.cost <= 0)
    return {};
  metrics_.record_failed(opts_.milestone, rec);
  // Saved in the worktree without a commit: the next run of this milestone starts from it,
  // and the next unit's commit carries it.
  if (auto err = metrics_.save(opts_.worktree))
    return err;
  status_.cost = add_costs_capped(status_.cost, rec.cost);
  return {};
}

caf::error usage_error(const std::string& line) {
  return make_error(ec::usage, line);
}

} // namespace

caf::expected<worker_options> options_from_env() {
  worker_options opts;
  const char* mid = std::getenv("SF_MILESTONE_LOCK");
  if (mid == nullptr || *mid == '\0')
    return usage_error("SF_MILESTONE_LOCK is not set; the coordinator sets it to the milestone "
                       "id (e.g. M001) when it starts a worker");
  if (!core::valid_milestone_id(mid))
    return usage_error(std::string("SF_MILESTONE_LOCK=\"") + mid +
                       "\" is not a valid milestone id; use letters, digits, '_' or '-', "
                       "starting with a letter (e.g. M001)");
  opts.milestone = mid;
  const char* root = std::getenv("SF_PROJECT_ROOT");
  if (root == nullptr || *root == '\0')
    return usage_error("SF_PROJECT_ROOT is not set; set it to the project's absolute root "
                       "folder (the one holding .sf/parallel)");
  if (root[0] != '/')
    return usage_error(std::string("SF_PROJECT_ROOT=\"") + root +
                       "\" is not an absolute path; give the project root as an absolute path");
  struct stat st;
  if (::stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
    return usage_error(std::string("SF_PROJECT_ROOT=\"") + root +
                       "\" is not an existing folder; point it at the project root");
  opts.root = root;
  while (opts.root.size() > 1 && opts.root.back() == '/')
    opts.root.pop_back();
  char* cwd = ::getcwd(nullptr, 0);
  if (cwd == nullptr)
    return usage_error(std::string("cannot read the working directory: ") +
                       std::strerror(errno) + "; start the worker inside its worktree");
  opts.worktree = cwd;
  std::free(cwd);
  if (const char* token = std::getenv("SF_SPAWN_TOKEN"); token != nullptr && *token != '\0')
    opts.spawn_token = token;
  return opts;
}

int run_reference_worker(const worker_options& opts) {
  session s{opts};
  return s.run();
}

} // namespace sf::worker
