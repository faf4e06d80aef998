#include "chaos/invariants.hpp"

#include "chaos/command_runner.hpp"
#include "core/sf_paths.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/process.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace sf::chaos {

namespace {

using verdict = check_result::verdict_type;

// Never through a planted link, never blocking on a planted FIFO.
std::string slurp(const std::string& path) {
  auto text = io::read_file_capped(path, 256u << 20);
  return text ? std::move(*text) : std::string{};
}

command_output git(const run_record& r, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git", "-C", r.root};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, r.root, {"PATH=/usr/bin:/bin", "HOME=" + r.workdir});
}

/// One commit on main's first-parent line.
struct main_commit {
  std::string id;
  int parents = 0;
  std::string milestone; ///< SF-Milestone trailer, or empty.
  std::string slice;     ///< SF-Slice trailer, or empty.
};

std::string trailer(const std::string& body, const std::string& key) {
  auto pos = body.find("\n" + key + ": ");
  if (pos == std::string::npos)
    return {};
  pos += key.size() + 3;
  return body.substr(pos, body.find('\n', pos) - pos);
}

std::vector<main_commit> main_line(const run_record& r) {
  std::vector<main_commit> out;
  auto res = git(r, {"log", "--first-parent", "--format=%H%x1f%P%x1f%n%B%x1e", r.main_branch});
  std::istringstream in{res.out};
  std::string rec;
  while (std::getline(in, rec, '\x1e')) {
    while (!rec.empty() && rec.front() == '\n')
      rec.erase(0, 1);
    if (rec.empty())
      continue;
    auto f1 = rec.find('\x1f');
    auto f2 = rec.find('\x1f', f1 + 1);
    if (f1 == std::string::npos || f2 == std::string::npos)
      continue;
    main_commit c;
    c.id = rec.substr(0, f1);
    std::istringstream parents{rec.substr(f1 + 1, f2 - f1 - 1)};
    for (std::string p; parents >> p;)
      ++c.parents;
    auto body = "\n" + rec.substr(f2 + 1);
    c.milestone = trailer(body, "SF-Milestone");
    c.slice = trailer(body, "SF-Slice");
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<nlohmann::json> events(const run_record& r) {
  std::vector<nlohmann::json> out;
  std::istringstream in{slurp(core::parallel_file(r.root, "events.jsonl"))};
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object())
      out.push_back(std::move(j));
  }
  return out;
}

// Whether a worker's resident memory means what it says in this build.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool memory_is_measured = false;
#else
constexpr bool memory_is_measured = true;
#endif

check_result units_reachable(const run_record& r) {
  check_result c{"completed units reachable", verdict::pass, ""};
  std::istringstream in{slurp(r.workdir + "/journal")};
  int n = 0;
  for (std::string mid, unit, commit; in >> mid >> unit >> commit;) {
    ++n;
    bool ok = git(r, {"merge-base", "--is-ancestor", commit, "milestone/" + mid}).exit_code == 0 ||
              git(r, {"merge-base", "--is-ancestor", commit, r.main_branch}).exit_code == 0;
    if (!ok) {
      c.verdict = verdict::fail;
      c.detail = mid + "/" + unit + " commit " + commit.substr(0, 12) +
                 " is on neither milestone/" + mid + " nor main";
      return c;
    }
  }
  if (n == 0) {
    c.verdict = verdict::not_applicable;
    c.detail = "no unit was committed";
  } else {
    c.detail = std::to_string(n) + " unit commit(s) all reachable";
  }
  return c;
}

check_result merged_once(const std::vector<main_commit>& line) {
  check_result c{"no milestone merged twice", verdict::pass, ""};
  std::map<std::string, int> seen;
  for (const auto& m : line)
    if (!m.milestone.empty() && ++seen[m.milestone + (m.slice.empty() ? "" : "/" + m.slice)] > 1) {
      c.verdict = verdict::fail;
      c.detail = m.milestone + (m.slice.empty() ? "" : "/" + m.slice) + " merged more than once";
      return c;
    }
  c.detail = std::to_string(seen.size()) + " merge(s), each once";
  return c;
}

check_result main_moved_by_us(const run_record& r, const std::vector<main_commit>& line) {
  check_result c{"main moved only by our merges or the user", verdict::pass, ""};
  int ours = 0;
  int users = 0;
  for (const auto& m : line) {
    if (r.harness_commits.count(m.id) != 0)
      continue;
    if (r.user_commits.count(m.id) != 0) {
      ++users;
      continue;
    }
    if (!m.milestone.empty() && m.parents == 2) {
      ++ours;
      continue;
    }
    c.verdict = verdict::fail;
    c.detail = "commit " + m.id.substr(0, 12) + " on main is neither a merge of ours nor the user's";
    return c;
  }
  c.detail = std::to_string(ours) + " merge(s), " + std::to_string(users) + " user commit(s)";
  return c;
}

check_result nothing_alive(const run_record& r) {
  check_result c{"no process of the run alive after stop", verdict::pass, ""};
  auto left = run_processes(r.root);
  if (!left.empty()) {
    c.verdict = verdict::fail;
    auto read = io::read_proc_file(left.front(), "cmdline", 4096);
    std::string cmd = read ? *read : std::string("(gone)");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    c.detail = std::to_string(left.size()) + " process(es) left, e.g. pid " +
               std::to_string(left.front()) + ": " + cmd;
  } else {
    c.detail = "none left";
  }
  return c;
}

check_result bystander_untouched(const run_record& r) {
  check_result c{"no process outside the run signalled", verdict::pass, ""};
  auto stat = io::read_proc_stat(r.bystander);
  auto got = slurp(r.bystander_log);
  auto signals = got.substr(std::min(got.size(), got.find('\n') + 1));
  if (!stat || stat->state == 'Z') {
    c.verdict = verdict::fail;
    c.detail = "the bystander process " + std::to_string(r.bystander) + " is dead";
  } else if (stat->state == 'T' || stat->state == 't') {
    c.verdict = verdict::fail;
    c.detail = "the bystander process was stopped";
  } else if (!signals.empty()) {
    c.verdict = verdict::fail;
    c.detail = "the bystander received: " + signals.substr(0, signals.find('\n'));
  } else if (!r.victim.empty() && slurp(r.victim) != r.victim_text) {
    c.verdict = verdict::fail;
    c.detail = "the file behind the planted symlink was changed";
  } else {
    c.detail = "bystander alive and unsignalled" +
               std::string(r.victim.empty() ? "" : ", symlink target unchanged");
  }
  return c;
}

check_result cost_bounded(const scenario& s, const run_record& r,
                          const std::vector<nlohmann::json>& evs) {
  check_result c{"cost <= ceiling + units in flight", verdict::pass, ""};
  auto it = s.preferences.find("budget_ceiling");
  if (it == s.preferences.end() || it->second == "null") {
    c.verdict = verdict::not_applicable;
    c.detail = "no budget_ceiling";
    return c;
  }
  double ceiling = std::stod(it->second);
  int workers = 2;
  if (auto w = s.preferences.find("max_workers"); w != s.preferences.end())
    workers = std::stoi(w->second);
  std::vector<double> unit_costs;
  for (const auto& m : s.milestones)
    unit_costs.push_back(unit_claim(m));
  std::sort(unit_costs.rbegin(), unit_costs.rend());
  double in_flight = 0;
  for (int i = 0; i < workers && i < static_cast<int>(unit_costs.size()); ++i)
    in_flight += unit_costs[static_cast<std::size_t>(i)];
  double seen = 0;
  for (const auto& e : evs)
    if (e.value("kind", "") == "budget")
      seen = std::max(seen, e.value("cost", 0.0));
  if (auto ledger = io::read_ledger(r.root)) {
    double sum = 0;
    for (const auto& [mid, cost] : *ledger)
      sum += cost;
    seen = std::max(seen, sum);
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "max total $%.2f, ceiling $%.2f + in flight $%.2f", seen, ceiling,
                in_flight);
  c.detail = buf;
  if (seen > ceiling + in_flight + 1e-9)
    c.verdict = verdict::fail;
  return c;
}

check_result failures_explained(const std::vector<nlohmann::json>& evs) {
  check_result c{"every failure left a message", verdict::pass, ""};
  std::map<std::string, std::pair<std::string, std::string>> last; // mid -> state, text
  for (const auto& e : evs)
    if (e.value("kind", "") == "state_changed" && e.contains("milestone"))
      last[e.value("milestone", "")] = {e.value("state", ""), e.value("text", "")};
  int failed = 0;
  for (const auto& [mid, st] : last) {
    if (st.first != "failed" && st.first != "gate_failed" && st.first != "conflict" &&
        st.first != "error" && st.first != "stale")
      continue;
    ++failed;
    if (st.second.size() < 8) {
      c.verdict = verdict::fail;
      c.detail = mid + " ended " + st.first + " without a reason";
      return c;
    }
  }
  c.detail = failed == 0 ? "no milestone failed" : std::to_string(failed) + " failure(s), each with a reason";
  return c;
}

check_result clean_after_stop(const run_record& r) {
  check_result c{"no status/signal/temp file after a clean stop", verdict::pass, ""};
  if (!r.clean_stop) {
    c.verdict = verdict::not_applicable;
    c.detail = "the last coordinator did not stop by itself";
    return c;
  }
  DIR* d = ::opendir(core::parallel_dir(r.root).c_str());
  if (d == nullptr) {
    c.detail = "no .sf/parallel";
    return c;
  }
  std::vector<std::string> left;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (io::is_temp_name(name) || name.find(".status.json") != std::string::npos ||
        name.find(".signal.json") != std::string::npos)
      left.push_back(name);
  }
  ::closedir(d);
  if (!left.empty()) {
    c.verdict = verdict::fail;
    c.detail = "left behind: " + left.front() + (left.size() > 1 ? " and more" : "");
  } else {
    c.detail = "none left";
  }
  return c;
}

check_result user_work_kept(const run_record& r) {
  check_result c{"the user's work is kept", verdict::pass, ""};
  if (r.user_kept.empty() && r.user_staged.empty() && r.user_files.empty() &&
      r.user_lost.empty()) {
    c.verdict = verdict::not_applicable;
    c.detail = "the user did nothing in the repository";
    return c;
  }
  if (!r.user_lost.empty()) {
    c.verdict = verdict::fail;
    c.detail = r.user_lost.front();
    return c;
  }
  auto reachable = git(r, {"rev-list", "--all"}).out;
  for (const auto& commit : r.user_kept)
    if (reachable.find(commit) == std::string::npos) {
      c.verdict = verdict::fail;
      c.detail = "the user's commit " + commit.substr(0, 12) + " is reachable from no ref";
      return c;
    }
  for (const auto& [path, blob] : r.user_staged) {
    auto now = git(r, {"rev-parse", ":" + path}).out;
    if (now.compare(0, blob.size(), blob) != 0) {
      c.verdict = verdict::fail;
      c.detail = "the change the user staged in " + path + " is no longer staged";
      return c;
    }
  }
  for (const auto& path : r.user_files)
    if (slurp(r.root + "/" + path).find("the user's uncommitted edit") == std::string::npos) {
      c.verdict = verdict::fail;
      c.detail = "the user's uncommitted edit of " + path + " is gone";
      return c;
    }
  c.detail = std::to_string(r.user_kept.size()) + " commit(s), " +
             std::to_string(r.user_staged.size()) + " staged and " +
             std::to_string(r.user_files.size()) + " uncommitted file(s) kept";
  return c;
}

check_result checkout_matches_main(const run_record& r) {
  check_result c{"root checkout matches main", verdict::pass, ""};
  auto st = git(r, {"status", "--porcelain"});
  std::istringstream in{st.out};
  for (std::string line; std::getline(in, line);) {
    auto path = line.size() > 3 ? line.substr(3) : line;
    if (r.user_files.count(path) != 0 || r.user_staged.count(path) != 0)
      continue; // The user's own uncommitted or staged edit, which must survive.
    c.verdict = verdict::fail;
    c.detail = "`git status` in the root shows: " + line;
    return c;
  }
  c.detail = "clean apart from the user's own edits";
  return c;
}

void expected_outcome(const scenario& s, const run_record& r, const std::vector<main_commit>& line,
                      const std::vector<nlohmann::json>& evs, std::vector<check_result>& out) {
  check_result c{"outcome as expected", verdict::pass, ""};
  auto fail = [&](const std::string& why) {
    if (c.verdict == verdict::pass) {
      c.verdict = verdict::fail;
      c.detail = why;
    }
  };
  if (r.timed_out)
    fail("the scenario timed out after " + std::to_string(static_cast<int>(s.timeout)) + " s");
  if (r.last_exit != s.expect.exit)
    fail("the last coordinator exited " + std::to_string(r.last_exit) + ", expected " +
         std::to_string(s.expect.exit));
  std::set<std::string> merged;
  for (const auto& m : line)
    if (!m.milestone.empty() && m.slice.empty())
      merged.insert(m.milestone);
  // Per-slice merges count as merged once the milestone's last slice is on main.
  for (const auto& m : s.milestones)
    if (m.slices > 1) {
      int slices = 0;
      for (const auto& c2 : line)
        slices += c2.milestone == m.id && !c2.slice.empty() ? 1 : 0;
      if (slices == m.slices)
        merged.insert(m.id);
    }
  for (const auto& mid : s.expect.merged)
    if (merged.count(mid) == 0)
      fail(mid + " is not merged on main");
  for (const auto& mid : s.expect.not_merged)
    if (merged.count(mid) != 0)
      fail(mid + " was merged but should not be");
  std::map<std::string, std::string> last;
  for (const auto& e : evs)
    if (e.value("kind", "") == "state_changed" && e.contains("milestone"))
      last[e.value("milestone", "")] = e.value("state", "");
  for (const auto& [mid, state] : s.expect.states)
    if (last[mid] != state)
      fail(mid + " ended " + (last[mid].empty() ? "without a state" : last[mid]) + ", expected " +
           state);
  auto logs = all_logs(r);
  for (const auto& m : s.expect.messages)
    if (logs.find(m) == std::string::npos)
      fail("no log line says \"" + m + "\"");
  for (const auto& m : s.expect.absent)
    if (auto at = logs.find(m); at != std::string::npos)
      fail("a log line says \"" + logs.substr(at, logs.find('\n', at) - at) + "\"");
  for (const auto& [path, lines] : s.expect.main_has) {
    auto shown = git(r, {"show", r.main_branch + ":" + path});
    for (const auto& want : lines)
      if (shown.exit_code != 0 || shown.out.find(want) == std::string::npos)
        fail(r.main_branch + ":" + path + " does not contain \"" + want + "\"");
  }
  for (const auto& [path, most] : s.expect.max_bytes) {
    struct stat st {};
    auto full = r.root + "/" + path;
    int64_t size = ::lstat(full.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
    if (size > most)
      fail(path + " holds " + std::to_string(size) + " bytes, more than " +
           std::to_string(most));
  }
  if (s.expect.worker_max_rss_mib > 0 && !memory_is_measured) {
    // AddressSanitizer's shadow memory and quarantine make every worker large: no bound holds.
  } else if (s.expect.worker_max_rss_mib > 0) {
    if (r.worker_peak_kib.empty())
      fail("no worker's memory was sampled");
    for (const auto& [mid, kib] : r.worker_peak_kib)
      if (static_cast<double>(kib) > s.expect.worker_max_rss_mib * 1024) {
        char why[160];
        std::snprintf(why, sizeof why, "the worker of %s reached %.1f MiB resident, more than %g MiB",
                      mid.c_str(), static_cast<double>(kib) / 1024, s.expect.worker_max_rss_mib);
        fail(why);
      }
  }
  for (const auto& [mid, want] : s.expect.agent_runs) {
    std::istringstream in{slurp(agent_runs_file(r.workdir, mid))};
    int runs = 0;
    for (std::string line; std::getline(in, line);)
      runs += line.empty() ? 0 : 1;
    if (runs != want)
      fail("the agent of " + mid + " was started " + std::to_string(runs) + " time(s), expected " +
           std::to_string(want));
  }
  if (c.verdict == verdict::pass) {
    c.detail = "exit " + std::to_string(r.last_exit) + ", " + std::to_string(merged.size()) +
               " merged" + (s.expect.messages.empty() ? "" : ", messages found");
    int64_t peak = 0;
    for (const auto& [mid, kib] : r.worker_peak_kib)
      peak = std::max(peak, kib);
    if (s.expect.worker_max_rss_mib > 0) {
      char mem[64];
      std::snprintf(mem, sizeof mem, ", worker peak %.1f MiB", static_cast<double>(peak) / 1024);
      c.detail += mem;
    }
  }
  out.push_back(std::move(c));
}

} // namespace

const std::vector<std::string>& invariant_names() {
  static const std::vector<std::string> names = {
    "completed units reachable",     "no milestone merged twice",
    "main moved only by our merges or the user",
    "no process of the run alive after stop", "no process outside the run signalled",
    "cost <= ceiling + units in flight", "every failure left a message",
    "no status/signal/temp file after a clean stop", "root checkout matches main",
    "the user's work is kept", "outcome as expected"};
  return names;
}

std::string agent_runs_file(const std::string& workdir, const std::string& mid) {
  return workdir + "/agent-runs-" + mid + ".jsonl";
}

std::vector<pid_t> run_processes(const std::string& root) {
  std::vector<pid_t> out;
  for (auto pid : io::all_pids()) {
    if (!io::proc_alive(pid))
      continue;
    auto env = io::read_environ(pid);
    if (!env)
      continue;
    auto a = env->find("SF_PROJECT_ROOT");
    auto b = env->find("SF_CHAOS_ROOT");
    if ((a != env->end() && a->second == root) || (b != env->end() && b->second == root))
      out.push_back(static_cast<pid_t>(pid));
  }
  return out;
}

std::string all_logs(const run_record& r) {
  std::string text;
  for (const auto& log : r.logs)
    text += slurp(log);
  text += slurp(core::parallel_file(r.root, "events.jsonl"));
  if (DIR* d = ::opendir(core::parallel_dir(r.root).c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0)
        text += slurp(core::parallel_file(r.root, name));
    }
    ::closedir(d);
  }
  return text;
}

std::vector<check_result> check_all(const scenario& s, const run_record& r) {
  auto line = main_line(r);
  auto evs = events(r);
  std::vector<check_result> out;
  out.push_back(units_reachable(r));
  out.push_back(merged_once(line));
  out.push_back(main_moved_by_us(r, line));
  out.push_back(nothing_alive(r));
  out.push_back(bystander_untouched(r));
  out.push_back(cost_bounded(s, r, evs));
  out.push_back(failures_explained(evs));
  out.push_back(clean_after_stop(r));
  out.push_back(checkout_matches_main(r));
  out.push_back(user_work_kept(r));
  expected_outcome(s, r, line, evs, out);
  return out;
}

} // namespace sf::chaos
