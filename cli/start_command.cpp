// `sf-actors start [MID...] [--yes] [--max-workers N] [--detach | --json]`
#include "actors/orchestrator.hpp"
#include "cli/command.hpp"
#include "io/git/merge_driver.hpp"
#include "cli/terminal_style.hpp"
#include "cli/eligibility_text.hpp"
#include "cli/event_printer.hpp"
#include "cli/log_level.hpp"
#include "cli/merge_report_text.hpp"
#include "cli/run_summary.hpp"
#include "cli/start_budget_check.hpp"
#include "config/agent_units_check.hpp"
#include "config/prose_milestone.hpp"
#include "core/sf_paths.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/gitignore.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/runtime_files.hpp"
#include "io/git/git.hpp"
#include "io/git/committed_plan.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge_step.hpp"
#include "io/git/milestone_branch.hpp"
#include "io/os/executable_lookup.hpp"
#include "io/os/proc_files.hpp"
#include "io/os/process.hpp"
#include "messages/error.hpp"

#include <caf/send.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace sf::cli {

namespace {

struct start_options {
  std::vector<std::string> ids;
  bool yes = false;
  int max_workers = 0;
  bool detach = false;
  bool ignore_uncommitted = false; // Run the committed plan although the working copy differs.
  bool detached_child = false; // Internal: we are the background coordinator of --detach.
};

std::string self_exe() {
  auto exe = io::self_exe();
  return exe.empty() ? std::string("sf-actors") : exe;
}

// Where text for a person goes: standard error while standard output carries --json's lines.
std::ostream& human_out(bool json) { return json ? std::cerr : std::cout; }

bool confirm(std::size_t eligible, std::ostream& out) {
  out << "Start " << eligible << " milestone(s)? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

// --detach: the same command runs again in its own session, output to a log file.
int detach(const std::string& root, const start_options& o, const global_options& g) {
  if (auto dir = io::ensure_parallel_dir(root); !dir)
    return fail(dir.error());
  // Said here, not only in coordinator.out: the background coordinator refuses them too.
  if (auto err = io::first_unsafe_runtime_file(root))
    return fail(err);
  io::spawn_request req;
  req.argv = {self_exe(), "-C", root, "start", "--yes", "--detached-child"};
  for (const auto& level : log_level_args(g)) // The background coordinator logs as asked.
    req.argv.insert(req.argv.begin() + 3, level);
  if (o.ignore_uncommitted)
    req.argv.push_back("--ignore-uncommitted");
  if (o.max_workers > 0) {
    req.argv.push_back("--max-workers");
    req.argv.push_back(std::to_string(o.max_workers));
  }
  for (const auto& id : o.ids)
    req.argv.push_back(id);
  req.cwd = root;
  for (char** e = environ; *e != nullptr; ++e)
    req.env.emplace_back(*e);
  req.log_path = core::parallel_file(root, "coordinator.out");
  auto child = io::spawn_session_leader(req);
  if (!child)
    return fail(child.error());
  // Wait until it holds the lock (or died), so a following `status` sees it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t pid = 0;
  while (!io::coordinator_lock::is_held(root, &pid) || pid != child->pid()) {
    pollfd pfd{child->pidfd(), POLLIN, 0};
    if (::poll(&pfd, 1, 20) > 0) {
      int status = 0;
      child->try_reap(status);
      return fail("the background coordinator " + io::describe_exit(status) + "; see " +
                    req.log_path,
                  exit_failure);
    }
    if (std::chrono::steady_clock::now() > deadline)
      return fail("the background coordinator did not start within 30 s; see " + req.log_path,
                  exit_failure);
  }
  (void) g;
  std::cout << "coordinator running in the background (pid " << child->pid()
            << "); follow it with `sf-actors status --watch`, end it with `sf-actors stop`\n";
  return exit_ok;
}

// A worker command whose program cannot run would fail every restart of every milestone; say
// so once, before anything starts. Command lines only the shell understands are left to it.
caf::error check_worker_command(const std::string& root, const preferences& prefs) {
  if (prefs.worker_command.empty())
    return {};
  auto program = io::program_word(prefs.worker_command);
  if (!program)
    return {};
  auto why = io::why_not_executable(*program, root);
  if (why.empty())
    return {};
  return make_error(ec::invalid_input,
                    "parallel.worker_command (" + prefs.worker_command + "): " + why +
                      "; fix the command in .sf/PREFERENCES.md, or install the program");
}

// The repository after `read_committed_plan` found it with a commit: the integration branch is
// recorded, and no eligible milestone's branch is foreign to it.
caf::error preflight_repository(const std::string& root, const preferences& prefs, const plan& p,
                                const std::vector<std::string>& ids) {
  auto repo = io::open_repo(root);
  if (!repo)
    return repo.error();
  // Decided once and recorded: a later switch of the checkout never redirects a merge.
  auto branch = io::record_integration_branch(root, prefs.integration_branch);
  if (!branch)
    return branch.error();
  for (const auto& e : analyze_eligibility(p, ids).eligible)
    if (auto err = io::check_branch_history(repo->get(), e.id))
      return err;
  return {};
}

/// Waits for a line on standard input; false when a signal the caller blocked (`sigfd`) came
/// first, which is then left for the caller to read.
bool wait_for_answer(int sigfd, std::string& answer) {
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sigfd, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    if ((fds[1].revents & POLLIN) != 0)
      return false;
    if (fds[0].revents != 0)
      return static_cast<bool>(std::getline(std::cin, answer));
  }
}

// auto_merge: confirm on a terminal: ask, and merge through the coordinator's queue on yes. A
// Ctrl-C or SIGTERM while the question is open ends the wait, and the run stops.
void confirm_merge(orchestrator_runtime& rt, const std::string& mid, int sigfd,
                   std::ostream& out) {
  out << "Merge " << mid << " into main? [y/N] " << std::flush;
  std::string answer;
  const bool answered = wait_for_answer(sigfd, answer);
  if (!answered || (answer != "y" && answer != "Y" && answer != "yes")) {
    out << (answered ? "" : "\n") << mid << " left unmerged; run `sf-actors merge " << mid
        << "` when ready\n";
    rt.decline(mid); // Its dependents cannot start: the run need not wait for them.
    return;
  }
  auto report = rt.merge(mid, false);
  if (report)
    out << for_fd(&out == &std::cerr ? STDERR_FILENO : STDOUT_FILENO,
                  render_merge_report(*report))
        << std::flush;
  else
    out << "merge failed: " << describe(report.error()) << '\n';
}

int run_foreground(const std::string& root, preferences prefs, plan milestones,
                   const start_options& o, const global_options& g) {
  const bool json = g.json;
  // Block the signals we wait for before any thread starts, so only our signalfd sees them.
  // Workers get an empty mask at spawn (posix_spawn SETSIGMASK), so they are unaffected.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  io::unique_fd sigfd{::signalfd(-1, &mask, SFD_CLOEXEC)};
  auto printer = std::make_shared<event_printer>(std::cout, json);
  auto& human = human_out(json);
  orchestrator_options opts;
  opts.prefs = std::move(prefs);
  opts.milestones = std::move(milestones);
  opts.worker_argv = {self_exe(), "worker"};
  opts.can_confirm =
    ::isatty(STDIN_FILENO) && ::isatty(json ? STDERR_FILENO : STDOUT_FILENO);
  opts.log_level = coordinator_log_level(g);
  orchestrator_runtime rt{root, std::move(opts)};
  if (rt.error())
    return fail(rt.error());
  if (auto err = rt.subscribe([printer](const run_event& ev) { printer->print(ev); }))
    return fail(err);
  command_reply reply;
  if (auto r = rt.start(o.ids)) {
    reply = std::move(*r);
  } else {
    reply.lines.push_back("coordinator did not answer start: " + describe(r.error()));
    reply.exit_code = exit_failure;
  }
  // On success the events already told the story; only a refusal needs its lines.
  if (reply.exit_code != 0) {
    for (const auto& line : reply.lines)
      std::cerr << line << '\n';
    return reply.exit_code;
  }
  // A question keeps its line: what the run reports meanwhile is printed after the answer.
  auto ask = [&](const std::string& mid) {
    printer->begin_question();
    confirm_merge(rt, mid, sigfd.get(), human);
    printer->end_question();
  };
  bool stopping = false;
  int signal_number = 0; // The first signal that ended the run: the exit is 128 + it.
  while (!printer->finished()) {
    pollfd fds[3] = {{sigfd.get(), POLLIN, 0},
                     {printer->done_fd(), POLLIN, 0},
                     {printer->confirm_fd(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0)
      continue;
    if (fds[2].revents & POLLIN)
      for (const auto& mid : printer->take_confirmations())
        if (!stopping)
          ask(mid);
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      (void) ::read(sigfd.get(), &info, sizeof info);
      if (!stopping) {
        human << "\nstopping every worker...\n" << std::flush;
        stopping = true;
        signal_number = static_cast<int>(info.ssi_signo);
      }
      caf::anon_send(rt.coordinator(), atom::shutdown_v);
    }
  }
  // A milestone that completed as the run ended still gets its question, in order.
  if (!stopping)
    for (const auto& mid : printer->take_confirmations())
      ask(mid);
  // Interrupted: the conventional 128 + signal (130 for Ctrl-C), once every worker has ended.
  const int code = stopping ? 128 + signal_number : printer->exit_code();
  if (json)
    std::cout << run_summary_json(*printer, code).dump() << '\n' << std::flush;
  return code;
}

} // namespace

std::function<int()> setup_start(CLI::App& app, global_options& g) {
  auto o = std::make_shared<start_options>();
  app.add_option("milestones", o->ids, "Only start these milestones (default: every eligible one)")
    ->type_name("MID");
  app.add_flag("-y,--yes", o->yes, "Do not ask for confirmation (required without a terminal)");
  app.add_option("--max-workers", o->max_workers, "Override parallel.max_workers for this run")
    ->check(CLI::Range(1, 64));
  auto* detach_flag =
    app.add_flag("--detach", o->detach, "Run the coordinator in the background and return");
  app.add_flag("--json", g.json,
               "Print each run event as a JSON line while it runs, then a summary line")
    ->excludes(detach_flag);
  app.add_flag("--ignore-uncommitted", o->ignore_uncommitted,
               "Run the plan as committed on the integration branch even though plan files in "
               "the working copy differ from it (they are listed)");
  app.add_flag("--detached-child", o->detached_child)->group(""); // internal
  return [&g, o]() -> int {
    if (const char* w = std::getenv("SF_PARALLEL_WORKER"); w != nullptr && *w != '\0')
      return fail("refusing to start: SF_PARALLEL_WORKER is set, so this is a worker process and "
                  "nested parallel sessions are not allowed",
                  exit_usage);
    int code = exit_ok;
    auto root = project_root(g);
    preferences prefs;
    if (!load_preferences_or_report(root, prefs, code) || !require_enabled(prefs, code))
      return code;
    if (o->max_workers > 0)
      prefs.max_workers = o->max_workers;
    if (auto bad = check_worker_command(root, prefs))
      return fail(bad);
    // Worktrees are made from the integration branch, so that commit is the plan that runs.
    auto committed = io::read_committed_plan(root, prefs.integration_branch);
    if (!committed)
      return fail(committed.error());
    if (!committed->differences.empty() && !o->detached_child) {
      for (const auto& line : io::describe_differences(*committed))
        std::cerr << "sf-actors: " << line << '\n';
      if (!o->ignore_uncommitted)
        return fail("the plan files above differ from what " + committed->branch +
                      " holds, and a run uses only what is committed; commit them (git add .sf "
                      "&& git commit -m \"plan\") and start again, or pass --ignore-uncommitted "
                      "to run the plan as committed",
                    exit_failure);
      std::cerr << "sf-actors: --ignore-uncommitted: running the plan as committed on "
                << committed->branch << '\n';
    }
    plan p = committed->milestones;
    add_prose_units(p, prefs.agents);
    for (const auto& m : p.milestones)
      if (auto why = nothing_to_run(m); !why.empty())
        std::cerr << "sf-actors: warning: " << why << '\n';
    for (const auto& id : o->ids)
      if (p.find(id) == nullptr)
        return fail("unknown milestone `" + id + "`: not in the plan committed on " +
                      committed->branch + " (" + root +
                      "/.sf/milestones); commit it, or run `sf-actors graph` to list milestones",
                    exit_failure);
    // An agent unit naming a profile the preferences lack would fail only once its turn came.
    if (auto err = check_agent_units(p, prefs))
      return fail(err);
    // The repository comes first: without a repository, a commit or a usable milestone
    // branch, a worker fails much later in ways that point at the wrong cause.
    if (auto err = preflight_repository(root, prefs, p, o->ids))
      return fail(err);
    int64_t holder = 0;
    if (!o->detached_child && io::coordinator_lock::is_held(root, &holder))
      return fail("a coordinator (pid " + std::to_string(holder) + ") already runs for " + root +
                    "; use `sf-actors status`, or `sf-actors stop` to end it",
                  exit_busy);
    if (auto spent = budget_refusal(root, prefs); spent && !o->detached_child)
      return fail(*spent, exit_budget_reached);
    auto report = analyze_eligibility(p, o->ids);
    // With --json the report is only for a person about to answer the prompt.
    const bool asking = !o->yes && !o->detached_child;
    if (!o->detached_child && (!g.json || asking))
      human_out(g.json) << for_fd(g.json ? STDERR_FILENO : STDOUT_FILENO,
                                  render_eligibility_markdown(report))
                        << '\n';
    if (report.eligible.empty()) {
      std::string text = "No milestones are eligible for parallel execution.";
      for (const auto& e : report.ineligible)
        text += "\n  " + e.id + ": " + e.reason;
      return fail(text + "\nFix: complete or unblock a dependency, or set a parked milestone's "
                         "status to pending.",
                  exit_nothing_eligible);
    }
    if (auto changed = io::ensure_runtime_ignored(root); !changed)
      return fail(changed.error());
    // `git merge` in a worktree then merges the .sf/ files as the queue does (README, Merging).
    if (auto err = io::register_merge_driver(root, io::self_exe()))
      std::cerr << "sf-actors: warning: " << describe(err) << '\n';
    if (asking) {
      if (!::isatty(STDIN_FILENO))
        return fail("standard input is not a terminal, so `start` cannot ask for confirmation; "
                    "pass --yes",
                    exit_usage);
      if (!confirm(report.eligible.size(), human_out(g.json))) {
        human_out(g.json) << "not started\n";
        return exit_ok;
      }
    }
    if (o->detach)
      return detach(root, *o, g);
    return run_foreground(root, std::move(prefs), std::move(p), *o, g);
  };
}

} // namespace sf::cli
