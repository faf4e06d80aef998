#include "cli/gated_merge.hpp"

#include "actors/hook_runner.hpp"
#include "cli/command.hpp"
#include "core/gate_bisect.hpp"
#include "core/merge_policy.hpp"
#include "core/sf_paths.hpp"
#include "io/files/gate_failure_report.hpp"
#include "io/git/gate_run.hpp"
#include "io/git/merge.hpp"
#include "io/git/merge_compose.hpp"
#include "io/git/merge_step.hpp"
#include "messages/error.hpp"

#include <fmt/format.h>

#include <poll.h>

#include <algorithm>
#include <iostream>
#include <set>

namespace sf::cli {

namespace {

std::string key_of(const merge_item& it) {
  return it.slice.empty() ? it.milestone : it.milestone + "/" + it.slice;
}

std::string keys_text(const std::vector<merge_item>& batch) {
  std::string out;
  for (const auto& it : batch)
    out += (out.empty() ? "" : ", ") + key_of(it);
  return out;
}

bool stop_requested(int sigfd) {
  pollfd pfd{sigfd, POLLIN, 0};
  return sigfd >= 0 && ::poll(&pfd, 1, 0) > 0;
}

merge_outcome outcome_for(const merge_item& it, core::merge_kind k, std::string text) {
  merge_outcome x;
  x.milestone = it.milestone;
  x.slice = it.slice;
  x.kind = k;
  x.text = std::move(text);
  return x;
}

} // namespace

merge_report merge_through_gate(const std::string& root, const preferences& prefs, const plan& p,
                                const std::string& only, int sigfd) {
  merge_report r;
  auto found = io::find_mergeable(root, p);
  if (!found) {
    merge_outcome x;
    x.milestone = only.empty() ? "-" : only;
    x.kind = core::merge_kind::failed;
    x.text = describe(found.error());
    r.results.push_back(x);
    r.exit_code = exit_failure;
    return r;
  }
  core::sort_for_merge(*found, prefs.order == merge_order::by_completion);
  std::vector<merge_item> items;
  for (auto& it : *found)
    if (only.empty() || it.milestone == only)
      items.push_back(std::move(it));
  io::merge_options o;
  o.push_remote = prefs.push_remote;
  o.push_timeout = std::chrono::milliseconds(static_cast<int64_t>(prefs.push_timeout * 1000));
  o.delete_merged_branch = prefs.delete_merged_branches;
  o.stop_fd = sigfd;
  o.git_hooks = io::merge_git_hooks(prefs);
  auto hooks = o.git_hooks;
  hooks.stop_fd = sigfd;
  hooks.on_note = [](const std::string& hint) { std::cerr << "sf-actors: " << hint << "\n"; };
  io::gate_request base;
  base.root = root;
  base.command = prefs.merge_gate;
  base.base_env = inherited_environment();
  base.timeout = std::chrono::milliseconds(static_cast<int64_t>(prefs.merge_gate_timeout * 1000));
  base.grace = std::chrono::milliseconds(static_cast<int64_t>(prefs.stop_grace * 1000));
  core::gate_bisect bisect;
  std::string stopped_by;
  auto remove = [&](const std::string& key) {
    items.erase(std::remove_if(items.begin(), items.end(),
                               [&](const merge_item& it) { return key_of(it) == key; }),
                items.end());
  };
  auto find = [&](const std::string& key) {
    return std::find_if(items.begin(), items.end(),
                        [&](const merge_item& it) { return key_of(it) == key; });
  };
  auto stop_with = [&](const merge_outcome& x, int code) {
    r.results.push_back(x);
    if (r.exit_code == exit_ok || code == exit_merge_conflict)
      r.exit_code = code;
    stopped_by = x.milestone + " (" + std::string(core::to_string(x.kind)) + ")";
  };
  while (!items.empty() && stopped_by.empty()) {
    if (stop_requested(sigfd)) {
      stopped_by = "the interruption of this command (Ctrl-C or SIGTERM)";
      r.exit_code = exit_interrupted;
      break;
    }
    std::vector<std::string> keys;
    for (const auto& it : items)
      keys.push_back(key_of(it));
    std::vector<merge_item> batch;
    for (const auto& k : bisect.next(keys, static_cast<std::size_t>(prefs.gate_batch)))
      batch.push_back(*find(k));
    auto chain = io::compose_merges(root, batch, hooks);
    if (!chain) {
      stop_with(outcome_for(batch.front(), core::merge_kind::failed, describe(chain.error())),
                exit_failure);
      break;
    }
    const auto& first = chain->steps.front();
    if (first.kind == core::merge_kind::already_merged) {
      r.results.push_back(outcome_for(batch.front(), first.kind, first.text + "; nothing to do"));
      bisect.forget(key_of(batch.front()));
      remove(key_of(batch.front()));
      continue;
    }
    if (first.kind == core::merge_kind::blocked) {
      // The pre-merge-commit hook refused the merge: nothing to test, main stays.
      auto x = outcome_for(batch.front(), first.kind, first.text);
      x.watch = first.watch;
      stop_with(x, exit_failure);
      break;
    }
    if (first.kind == core::merge_kind::conflict) {
      auto x = outcome_for(batch.front(), first.kind,
                           first.text + ": " + io::conflict_preview(first.files) +
                             "; resolve them on milestone/" + batch.front().milestone +
                             ", commit, and merge " + batch.front().milestone + " again");
      x.files = first.files;
      stop_with(x, exit_merge_conflict);
      break;
    }
    std::size_t n = 0;
    while (n < chain->steps.size() && chain->steps[n].kind == core::merge_kind::merged)
      ++n;
    batch.resize(n);
    chain->steps.resize(n);
    chain->tip = chain->steps.back().commit;
    auto req = base;
    req.commit = chain->tip;
    req.base = chain->base;
    for (const auto& it : batch)
      req.milestones.push_back(key_of(it));
    std::cerr << "sf-actors: merge gate `" << req.command << "` tests " << keys_text(batch)
              << "\n";
    auto ran = io::run_gate(req, sigfd);
    if (!ran) {
      stop_with(outcome_for(batch.front(), core::merge_kind::failed, describe(ran.error())),
                exit_failure);
      break;
    }
    const auto* out = &ran->outcome;
    if (stop_requested(sigfd)) {
      for (const auto& it : batch)
        r.results.push_back(outcome_for(it, core::merge_kind::interrupted,
                                        "the merge gate was stopped (" + out->describe() +
                                          "); main was not moved"));
      stopped_by = "the interruption of this command (Ctrl-C or SIGTERM)";
      r.exit_code = exit_interrupted;
      break;
    }
    auto verdict = bisect.record(req.milestones, out->ok());
    io::gate_failure failure;
    failure.command = req.command;
    failure.ended = out->describe() + " after " +
                    fmt::format("{:.1f} s", static_cast<double>(out->took.count()) / 1000.0);
    failure.tested = (batch.size() == 1 ? "its merge" : "the merge of " + keys_text(batch)) +
                     " as " + chain->tip + " on " + chain->main + " " +
                     chain->base.substr(0, 12);
    failure.log_tail = ran->tail;
    std::string why = "merge gate `" + req.command + "` " + failure.ended;
    if (verdict.land) {
      o.gated_commit = chain->tip;
      o.gated_base = chain->base;
      auto x = io::merge_one(root, batch.back(), o);
      o.gated_commit.clear();
      o.gated_base.clear();
      if (x.main_moved || x.kind == core::merge_kind::already_merged) {
        std::cerr << "sf-actors: " << x.text << "\n";
        continue; // composed and tested again on the new main
      }
      if (x.kind != core::merge_kind::merged) {
        stop_with(x, x.kind == core::merge_kind::interrupted ? exit_interrupted : exit_failure);
        break;
      }
      for (std::size_t k = 0; k < batch.size(); ++k) {
        auto m = outcome_for(batch[k], core::merge_kind::merged,
                             "merged milestone/" + batch[k].milestone + " into " + chain->main +
                               " as " + chain->steps[k].commit.substr(0, 12) +
                               " after the merge gate passed" +
                               (batch.size() == 1 ? "" : " (with " + keys_text(batch) + ")"));
        m.commit = chain->steps[k].commit;
        if (k + 1 == batch.size()) {
          m.files = x.files;
          m.notes = x.notes;
          m.pushed = x.pushed;
          m.push_error = x.push_error;
        }
        r.results.push_back(std::move(m));
        remove(key_of(batch[k]));
      }
      continue;
    }
    if (verdict.retry || verdict.failed.empty())
      std::cerr << "sf-actors: " << why << " on " << keys_text(batch)
                << (verdict.retry ? "; running it once more\n" : "; testing smaller batches\n");
    for (const auto& key : verdict.failed) {
      auto it = find(key);
      if (it == items.end())
        continue;
      failure.milestone = it->milestone;
      if (auto err = io::write_gate_failure(root, failure))
        std::cerr << "sf-actors: " << describe(err) << "\n";
      r.results.push_back(
        outcome_for(*it, core::merge_kind::gate_failed, io::gate_failure_note(failure)));
      if (r.exit_code == exit_ok)
        r.exit_code = exit_gate_failed;
      remove(key);
    }
  }
  for (const auto& it : items)
    if (!stopped_by.empty())
      r.results.push_back(outcome_for(it, core::merge_kind::waiting, "waits behind " + stopped_by));
  if (!only.empty() && r.results.empty()) {
    merge_outcome x;
    x.milestone = only;
    x.kind = core::merge_kind::failed;
    x.text = "milestone " + only + " is not complete on its branch, or already on main";
    r.exit_code = exit_failure;
    r.results.push_back(x);
  }
  return r;
}

} // namespace sf::cli
