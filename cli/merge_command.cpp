// `sf-actors merge [MID] [--dry-run] [--json]`: through the coordinator's merge queue when one
// runs, otherwise directly, in the configured order, stopping at the first conflict.
#include "cli/command.hpp"
#include "cli/gated_merge.hpp"
#include "cli/terminal_style.hpp"
#include "cli/merge_report_text.hpp"
#include "cli/push_wait.hpp"
#include "core/merge_policy.hpp"
#include "io/files/control_file.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/merge_queue_file.hpp"
#include "io/files/merge_report_json.hpp"
#include "io/files/run_file.hpp"
#include "io/files/runtime_files.hpp"
#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge.hpp"
#include "io/git/merge_step.hpp"
#include "io/git/milestone_branch.hpp"
#include "messages/error.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <iostream>
#include <set>

namespace sf::cli {

namespace {

// What a dry run says of a branch whose worker has not finished: the prediction is of the
// branch as it stands, which its worker may still change.
const char* incomplete_note =
  "incomplete: its worker has not finished, so this is the branch as it stands now";

// Dry run, with or without a coordinator (it only reads): every branch that is complete or on
// its way, against main and against each other. Exit 5 when any conflict is predicted.
merge_report predict_all(const std::string& root, const plan& p, const std::string& only) {
  merge_report r;
  std::string main_branch = "main";
  auto repo = io::open_repo(root);
  if (!repo)
    return r; // As always: a folder that is no repository predicts nothing.
  if (auto name = io::resolve_main_branch(repo->get()))
    main_branch = *name;
  struct candidate {
    std::string id, tip;
    bool complete;
  };
  std::vector<candidate> branches;
  for (const auto& m : p.milestones) {
    if (!only.empty() && m.id != only)
      continue;
    auto state = io::read_milestone_branch(repo->get(), m.id);
    if (!state || !*state)
      continue;
    const auto& b = **state;
    if (b.merged && b.complete)
      continue; // On main already.
    if (b.merged) {
      // Made from main, nothing committed on it yet: nothing to predict.
      merge_outcome x;
      x.milestone = m.id;
      x.kind = core::merge_kind::would_merge;
      x.notes = "incomplete: nothing is committed on its branch yet";
      r.results.push_back(x);
      continue;
    }
    branches.push_back({m.id, b.tip, b.complete});
  }
  for (const auto& b : branches) {
    merge_outcome x;
    x.milestone = b.id;
    if (!b.complete)
      x.notes = incomplete_note;
    auto files = io::predict_conflicts(root, main_branch, b.tip);
    if (!files) {
      x.kind = core::merge_kind::failed;
      x.text = describe(files.error());
      r.exit_code = std::max(r.exit_code, static_cast<int>(exit_failure));
    } else if (files->empty()) {
      x.kind = core::merge_kind::would_merge;
    } else {
      x.kind = core::merge_kind::conflict;
      x.files = *files;
      r.exit_code = exit_merge_conflict;
    }
    r.results.push_back(x);
  }
  // Pairs of branches that would conflict with each other once both are on main.
  for (std::size_t i = 0; i < branches.size(); ++i)
    for (std::size_t j = i + 1; j < branches.size(); ++j) {
      auto files = io::predict_conflicts(root, branches[i].tip, branches[j].tip);
      if (files && !files->empty()) {
        merge_outcome x;
        x.milestone = branches[i].id;
        x.kind = core::merge_kind::would_conflict;
        x.text = branches[j].id;
        x.files = *files;
        if (!branches[i].complete || !branches[j].complete)
          x.notes = "one of them is incomplete: its worker may still change this";
        r.results.push_back(x);
        r.exit_code = exit_merge_conflict;
      }
    }
  return r;
}

/// The report as JSON (docs/schemas/merge-output.schema.json) or as text for a person.
void print_report(const merge_report& r, bool json) {
  if (json)
    std::cout << io::merge_report_to_json(r).dump(2) << '\n';
  else
    std::cout << for_stdout(render_merge_report(r));
}

/// True once a signal the direct merge blocked has arrived (read without waiting).
bool signalled(int sigfd) {
  pollfd pfd{sigfd, POLLIN, 0};
  return sigfd >= 0 && ::poll(&pfd, 1, 0) > 0;
}

merge_report merge_directly(const std::string& root, const preferences& prefs, const plan& p,
                            const std::string& only, int sigfd) {
  merge_report r;
  auto items = io::find_mergeable(root, p);
  if (!items) {
    merge_outcome x;
    x.milestone = only.empty() ? "-" : only;
    x.kind = core::merge_kind::failed;
    x.text = describe(items.error());
    r.results.push_back(x);
    r.exit_code = exit_failure;
    return r;
  }
  core::sort_for_merge(*items, prefs.order == merge_order::by_completion);
  io::merge_options o;
  o.push_remote = prefs.push_remote;
  o.push_timeout =
    std::chrono::milliseconds(static_cast<int64_t>(prefs.push_timeout * 1000));
  o.delete_merged_branch = prefs.delete_merged_branches;
  o.stop_fd = sigfd;
  o.git_hooks = io::merge_git_hooks(prefs);
  std::string stopped_by;
  for (const auto& item : *items) {
    if (!only.empty() && item.milestone != only)
      continue;
    if (stopped_by.empty() && signalled(sigfd)) {
      // Ctrl-C or SIGTERM: the merge in progress finished (never half done), the rest waits.
      stopped_by = "the interruption of this command (Ctrl-C or SIGTERM)";
      r.exit_code = exit_interrupted;
    }
    if (!stopped_by.empty()) {
      // Later milestones wait behind a halted queue; the report names each of them.
      merge_outcome w;
      w.milestone = item.milestone;
      w.kind = core::merge_kind::waiting;
      w.text = "waits behind " + stopped_by;
      r.results.push_back(w);
      continue;
    }
    auto x = io::merge_one(root, item, o);
    r.results.push_back(x);
    if (core::stops_queue(x.kind)) {
      // Exit 5 is for conflicts; an obstacle or a failure is 1 (the report says which), an
      // interruption the conventional 130.
      r.exit_code = x.kind == core::merge_kind::conflict      ? exit_merge_conflict
                    : x.kind == core::merge_kind::interrupted ? exit_interrupted
                                              : exit_failure;
      stopped_by = x.kind == core::merge_kind::interrupted ? "the interruption of this command"
                                           : x.milestone + " (" + std::string(core::to_string(x.kind)) + ")";
    }
  }
  if (!only.empty() && r.results.empty()) {
    auto state = io::read_milestone_branch(root, only);
    merge_outcome x;
    x.milestone = only;
    if (state && *state && (*state)->merged) {
      x.kind = core::merge_kind::already_merged;
    } else {
      x.kind = core::merge_kind::failed;
      x.text = state && *state ? "the milestone is not complete on its branch yet"
                               : "there is no branch milestone/" + only;
      r.exit_code = exit_failure;
    }
    r.results.push_back(x);
  }
  return r;
}

// Without a coordinator nobody else updates what a later `status` and `start` read: the merged
// milestones leave the queue file a dead coordinator left, and the run file shows them merged.
void record_offline_merges(const std::string& root, const merge_report& r) {
  std::set<std::string> merged;
  for (const auto& x : r.results)
    if (x.kind == core::merge_kind::merged || x.kind == core::merge_kind::already_merged)
      merged.insert(x.milestone);
  if (merged.empty() || io::coordinator_lock::is_held(root))
    return; // One that started meanwhile reads the branches itself.
  if (auto queue = io::read_merge_queue(root); queue && !queue->empty()) {
    auto before = queue->size();
    queue->erase(std::remove_if(queue->begin(), queue->end(),
                                [&](const merge_item& i) { return merged.count(i.milestone) > 0; }),
                 queue->end());
    if (queue->size() != before)
      if (auto err = io::write_merge_queue(root, *queue))
        std::cerr << "sf-actors: " << describe(err) << '\n';
  }
  auto run = io::read_run_file(root);
  if (!run)
    return;
  bool changed = false;
  for (auto& w : run->status.workers)
    if (merged.count(w.milestone) > 0 && w.state != core::milestone_state::merged) {
      w.state = core::milestone_state::merged;
      w.note = "merged into main by `sf-actors merge`";
      w.pid = 0;
      changed = true;
    }
  if (changed)
    if (auto err = io::write_run_file(root, run->status, run->coordinator_pid))
      std::cerr << "sf-actors: " << describe(err) << '\n';
}

} // namespace

std::function<int()> setup_merge(CLI::App& app, global_options& g) {
  auto mid = std::make_shared<std::string>();
  auto dry = std::make_shared<bool>(false);
  app.add_option("milestone", *mid, "Only this milestone (default: every completed one)")
    ->type_name("MID");
  app.add_flag("--dry-run", *dry,
               "Predict conflicts of every completed or running branch, changing nothing");
  app.add_flag("--json", g.json, "Print the results as JSON");
  return [&g, mid, dry]() -> int {
    int code = exit_ok;
    project_context ctx;
    if (!load_enabled_project(g, *mid, ctx, code))
      return code;
    const auto& root = ctx.root;
    const auto& prefs = ctx.prefs;
    const auto& p = ctx.milestones;
    // The coordinator's queue answers within 10 minutes or says why not: waited a little longer.
    // Through a coordinator the push follows its answer: the report is shown once the push
    // outcome is known, so the exit code (8 for a failed push) is the one without a coordinator.
    const auto log_mark = event_log_size(root);
    std::optional<merge_report> answered;
    auto keep = [&answered](const merge_report& r) { answered = r; };
    // A dry run only reads the branches, so it needs no coordinator and covers what its queue
    // does not hold yet (running branches, and every pair).
    if (!*dry &&
        forward_to_coordinator(root, "merge", *mid, *dry, std::chrono::minutes(11), code, keep)) {
      if (!answered)
        return code;
      const bool merged = std::any_of(answered->results.begin(), answered->results.end(),
                                      [](const merge_outcome& x) {
                                        return x.kind == core::merge_kind::merged;
                                      });
      if (code == exit_ok && merged && !prefs.push_remote.empty()) {
        auto wait = std::chrono::milliseconds(static_cast<int64_t>(prefs.push_timeout * 1000)) +
                    std::chrono::seconds(15);
        if (auto failed = wait_push_outcome(root, log_mark, wait); failed && !failed->empty()) {
          for (auto& x : answered->results)
            if (x.kind == core::merge_kind::merged && x.push_error.empty())
              x.push_error = *failed;
          answered->exit_code = code = exit_push_failed;
        }
      }
      print_report(*answered, g.json);
      return code;
    }
    // As `start`: a planted link, FIFO or folder among the runtime files stops it up front
    // (the merge turn's lock is one of them), before anything is merged.
    if (auto err = io::first_unsafe_runtime_file(root))
      return fail(err);
    // Decided once and recorded, so a later switch of the checkout never redirects a merge.
    if (!*dry)
      if (auto branch = io::record_integration_branch(root, prefs.integration_branch); !branch)
        return fail(branch.error());
    merge_report report;
    if (*dry) {
      report = predict_all(root, p, *mid);
    } else {
      // A signal must not cut a merge in half (it holds the checkout's index.lock): it is
      // taken between merges, and ends a push at once.
      sigset_t mask;
      sigemptyset(&mask);
      sigaddset(&mask, SIGINT);
      sigaddset(&mask, SIGTERM);
      sigaddset(&mask, SIGHUP);
      ::sigprocmask(SIG_BLOCK, &mask, nullptr);
      io::unique_fd sigfd{::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)};
      // What an earlier merge that was cut short left in a checkout of main comes first.
      if (auto done = io::recover_checkouts(root); !done)
        std::cerr << "sf-actors: " << describe(done.error()) << '\n';
      else if (!done->empty())
        std::cerr << "sf-actors: " << *done << '\n';
      report = prefs.merge_gate.empty() ? merge_directly(root, prefs, p, *mid, sigfd.get())
                                        : merge_through_gate(root, prefs, p, *mid, sigfd.get());
      record_offline_merges(root, report);
      // Merged, but main did not reach the remote: a script must not take that for success.
      if (report.exit_code == exit_ok &&
          std::any_of(report.results.begin(), report.results.end(),
                      [](const merge_outcome& x) { return !x.push_error.empty(); }))
        report.exit_code = exit_push_failed;
    }
    print_report(report, g.json);
    return report.exit_code;
  };
}

} // namespace sf::cli
