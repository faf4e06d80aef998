// Measures the merge gate's throughput in a running coordinator: 16 milestones completed by
// the reference worker (auto_merge: manual, so all 16 are queued), then one `merge` request,
// as `sf-actors merge` sends it, hands them to the queue's gate at once. A 17th milestone that
// holds (`sleep`) keeps the run open meanwhile.
//
//   allpass  gate_batch 8, every milestone passes: goal 2 gate runs
//   culprit  gate_batch 8, one milestone's change makes the gate fail: at most 2 + 2 log2(8)
//            runs, and main gets the 15 others and never the culprit (checked: exit 1 if not)
//   serial   gate_batch 1, every milestone passes: the baseline of one run per milestone
//
// The gate is `sh gate.sh LOG SECONDS`, committed in the project: it sleeps SECONDS (a test
// suite's stand-in; 0.2 s, 0.02 s with --quick), fails when a tested part says "bad", and
// appends its start and end (ns), exit code and milestones to LOG, outside the repository.
// The queue's wall time runs from the merge request to the last milestone's merged (or
// gate_failed) event; the gate times are the sum of the runs' own spans from LOG.
//
// Usage: gate_bench [--quick] [--gate-seconds S] [--culprit N] [--only name,name...]
// Prints "name value unit" lines; lines starting with '#' are notes.

#include "bench/bench_session.hpp"
#include "bench/bench_util.hpp"

#include <signal.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace sf::bench;

constexpr int milestones = 16;
const char* const who = "gate_bench";

// Records the run, takes the given time, fails when any tested part says "bad".
constexpr const char* gate_script = R"(log=$1
start=$(date +%s%N)
sleep "$2"
rc=0
if cat M0*/f1.txt 2>/dev/null | grep -q bad; then rc=1; fi
echo "$start $(date +%s%N) $rc $SF_GATE_MILESTONES" >> "$log"
exit $rc
)";

struct scenario {
  std::string name;
  int batch = 8;
  int culprit = 0; ///< 1-based position of the failing milestone, 0 for none.
};

std::string mid(int i) {
  char id[8];
  std::snprintf(id, sizeof id, "M%03d", i);
  return id;
}

/// One gate run as the gate recorded it.
struct gate_record {
  double seconds = 0;
  bool passed = false;
  std::string milestones;
};

std::vector<gate_record> read_gate_log(const std::string& path) {
  std::vector<gate_record> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    long long start = 0, end = 0;
    int rc = 1;
    if (!(words >> start >> end >> rc))
      continue;
    gate_record r;
    r.seconds = static_cast<double>(end - start) / 1e9;
    r.passed = rc == 0;
    std::getline(words, r.milestones);
    out.push_back(r);
  }
  return out;
}

/// True when main's tree has `<id>/f1.txt` (the milestone's only file).
bool on_main(const std::string& root, const std::string& id) {
  return std::system(("git -C " + quote(root) + " cat-file -e main:" + id + "/f1.txt 2>/dev/null")
                         .c_str()) == 0;
}

/// True when no commit reachable from main ever had `<id>/`.
bool never_on_main(const std::string& root, const std::string& id) {
  return std::system(
             ("test -z \"$(git -C " + quote(root) + " log --format=%H main -- " + id + ")\"")
                 .c_str()) == 0;
}

/// What one scenario's queue did, from the merge request on.
struct outcome {
  std::size_t handed = 0;       ///< Items the request handed to the first gate run.
  std::set<std::string> merged; ///< Reached main.
  std::set<std::string> held;   ///< Failed the gate.
  double wall = 0;              ///< Request -> last merged or gate_failed event, seconds.
};

/// The project: 16 milestones that each write `<id>/f1.txt` ("bad" for the culprit), a 17th
/// that holds, the gate script and the preferences.
bool make_gate_project(const std::string& root, const std::string& log, const scenario& sc,
                       double gate_seconds) {
  std::vector<milestone_def> plan;
  for (int i = 1; i <= milestones; ++i) {
    auto id = mid(i);
    auto text = i == sc.culprit ? "bad" : "ok";
    plan.push_back({id, {}, 1, "mkdir -p " + id + " && echo " + text + " > " + id + "/f1.txt"});
  }
  // Keeps the run open while the gate works; stopped at the end.
  plan.push_back({"M099", {}, 1, "sleep 600"});
  char secs[32];
  std::snprintf(secs, sizeof secs, "%g", gate_seconds);
  auto yaml =
      "  enabled: true\n  max_workers: 8\n  auto_merge: manual\n  merge_gate: 'sh gate.sh " + log +
      " " + secs + "'\n  gate_batch: " + std::to_string(sc.batch) + "\n";
  return make_project(root, plan, yaml, who, {{"gate.sh", gate_script}});
}

/// Runs the 16 milestones to `complete`, then times one `merge` request until each of them
/// merged or failed the gate.
std::optional<outcome> run_queue(const std::string& root, const std::string& name,
                                 double gate_seconds) {
  auto prefs = sf::load_preferences(root, root);
  if (!prefs) {
    std::fprintf(stderr, "%s: %s\n", who, sf::describe(prefs.error()).c_str());
    return std::nullopt;
  }
  std::vector<std::string> ids;
  for (int i = 1; i <= milestones; ++i)
    ids.push_back(mid(i));
  auto cli = fs::path(self_exe()).parent_path() / "sf-actors";
  session s{who};
  if (!s.open(root, *prefs, {cli.string(), "worker"}))
    return std::nullopt;
  auto from = s.rec->size();
  if (!s.start({}))
    return std::nullopt;
  for (const auto& id : ids) {
    auto idx = from;
    // The worker's last unit marks the milestone complete (a `completed` event).
    auto complete = [&](const sf::run_event& e) {
      return e.milestone == id && e.state && *e.state == sf::core::milestone_state::complete;
    };
    if (!s.rec->wait(idx, complete, 120s)) {
      std::fprintf(stderr, "%s: %s %s did not complete in time\n", who, name.c_str(), id.c_str());
      return std::nullopt;
    }
  }
  // Every milestone is queued: the timed part starts with the request.
  from = s.rec->size();
  auto t0 = clock_type::now();
  auto report = s.merge("");
  if (!report)
    return std::nullopt;
  outcome out;
  for (const auto& x : report->results)
    out.handed += x.kind == sf::core::merge_kind::gate_running ? 1 : 0;
  std::set<std::string> left(ids.begin(), ids.end());
  auto ended = [&](const sf::run_event& e) {
    return e.kind == sf::event_kind::state_changed && left.count(e.milestone) != 0 && e.state &&
           (*e.state == sf::core::milestone_state::merged ||
            *e.state == sf::core::milestone_state::gate_failed);
  };
  auto limit = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(120 + 4 * milestones * gate_seconds));
  auto last = t0;
  while (!left.empty()) {
    auto ev = s.rec->wait(from, ended, limit);
    if (!ev) {
      std::fprintf(stderr, "%s: %s: %zu milestones neither merged nor failed the gate in time\n",
                   who, name.c_str(), left.size());
      return std::nullopt;
    }
    left.erase(ev->ev.milestone);
    auto& into = *ev->ev.state == sf::core::milestone_state::merged ? out.merged : out.held;
    into.insert(ev->ev.milestone);
    last = ev->at;
  }
  out.wall = std::chrono::duration<double>(last - t0).count();
  return out;
}

void print_outcome(const scenario& sc, const outcome& o, const std::vector<gate_record>& runs) {
  double sum = 0;
  for (const auto& r : runs)
    sum += r.seconds;
  auto n = static_cast<double>(runs.size());
  const auto p = "gate_" + sc.name + "_";
  std::printf("%sbatch %d count\n", p.c_str(), sc.batch);
  std::printf("%smilestones %d count\n", p.c_str(), milestones);
  std::printf("%shanded_to_first_run %zu count\n", p.c_str(), o.handed);
  std::printf("%sruns %zu count\n", p.c_str(), runs.size());
  std::printf("%smerged %zu count\n", p.c_str(), o.merged.size());
  std::printf("%sheld %zu count\n", p.c_str(), o.held.size());
  std::printf("%sruns_per_merged %.3f runs\n", p.c_str(),
              o.merged.empty() ? 0.0 : n / static_cast<double>(o.merged.size()));
  std::printf("%swall %.3f s\n", p.c_str(), o.wall);
  std::printf("%sgate_sum %.3f s\n", p.c_str(), sum);
  std::printf("%sratio %.3f x\n", p.c_str(), sum > 0 ? o.wall / sum : 0.0);
  std::printf("%soverhead_per_run %.1f ms\n", p.c_str(), n > 0 ? (o.wall - sum) * 1000 / n : 0.0);
  for (std::size_t i = 0; i < runs.size(); ++i)
    std::printf("# %s run %zu: %.3f s %s:%s\n", sc.name.c_str(), i + 1, runs[i].seconds,
                runs[i].passed ? "pass" : "FAIL", runs[i].milestones.c_str());
  std::fflush(stdout);
}

/// What main got: every good milestone, never the culprit (at any commit).
bool check_main(const std::string& root, const scenario& sc, const outcome& o) {
  bool ok = true;
  for (int i = 1; i <= milestones; ++i) {
    auto id = mid(i);
    bool bad = i == sc.culprit;
    if (bad && (!never_on_main(root, id) || o.held.count(id) == 0)) {
      std::fprintf(stderr, "%s: %s: the culprit %s reached main or was not held\n", who,
                   sc.name.c_str(), id.c_str());
      ok = false;
    }
    if (!bad && (!on_main(root, id) || o.merged.count(id) == 0)) {
      std::fprintf(stderr, "%s: %s: %s passes the gate but is not on main\n", who, sc.name.c_str(),
                   id.c_str());
      ok = false;
    }
  }
  return ok;
}

bool run_scenario(const std::string& dir, const scenario& sc, double gate_seconds) {
  auto root = dir + "/" + sc.name;
  auto log = dir + "/" + sc.name + "-gate-runs.log"; // outside the repository
  if (!make_gate_project(root, log, sc, gate_seconds))
    return false;
  auto o = run_queue(root, sc.name, gate_seconds);
  if (!o)
    return false;
  print_outcome(sc, *o, read_gate_log(log));
  return check_main(root, sc, *o);
}

int usage() {
  std::fprintf(stderr,
               "usage: gate_bench [--quick] [--gate-seconds S] [--culprit 1-%d] "
               "[--only allpass,culprit,serial]\n",
               milestones);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  bool quick = false;
  double gate_seconds = -1;
  int culprit = 13; // In the second batch, after a first half that passes.
  std::set<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--gate-seconds" && i + 1 < argc) {
      gate_seconds = std::atof(argv[++i]);
    } else if (a == "--culprit" && i + 1 < argc) {
      culprit = std::atoi(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      std::stringstream names(argv[++i]);
      for (std::string name; std::getline(names, name, ',');)
        only.insert(name);
    } else {
      return usage();
    }
  }
  if (culprit < 1 || culprit > milestones)
    return usage();
  if (gate_seconds < 0)
    gate_seconds = quick ? 0.02 : 0.2;
  ::signal(SIGPIPE, SIG_IGN);
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sf-gate-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = fs::canonical(tmpl).string();
  std::printf("# gate_bench %s under %s\n", quick ? "quick" : "full", dir.c_str());
  std::printf("gate_seconds %.3f s\n", gate_seconds);
  std::printf("gate_culprit_position %d count\n", culprit);
  std::printf("gate_culprit_bound %d count\n", 2 + 2 * static_cast<int>(std::log2(8)));
  bool ok = true;
  for (const auto& sc :
       {scenario{"allpass", 8, 0}, scenario{"culprit", 8, culprit}, scenario{"serial", 1, 0}})
    if (ok && (only.empty() || only.count(sc.name) != 0))
      ok = run_scenario(dir, sc, gate_seconds);
  std::error_code ec;
  if (ok && !keep_scratch())
    fs::remove_all(dir, ec);
  else
    std::fprintf(stderr, "%s: %s; files kept in %s\n", who, ok ? "done" : "failed", dir.c_str());
  return ok ? 0 : 1;
}
