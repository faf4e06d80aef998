#include "support/project.hpp"

#include "io/files/parallel_dir.hpp"
#include "io/files/run_file.hpp"
#include "io/os/dir_watcher.hpp"

#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace sf::test {

milestone_spec ms(const std::string& id, std::vector<std::string> deps,
                  std::vector<unit_spec> units) {
  milestone_spec m;
  m.id = id;
  m.deps = std::move(deps);
  m.units = std::move(units);
  return m;
}

std::string milestone_text(const milestone_spec& m) {
  std::ostringstream out;
  out << "---\ntitle: " << (m.title.empty() ? "Milestone " + m.id : m.title)
      << "\nstatus: " << m.status << "\ndependsOn: [";
  for (std::size_t i = 0; i < m.deps.size(); ++i)
    out << (i ? ", " : "") << m.deps[i];
  out << "]\nslices:\n  - id: S01\n    title: Slice one\n    units:\n";
  for (const auto& u : m.units) {
    out << "      - id: " << u.id << "\n        title: Unit " << u.id << "\n        run: '";
    for (char c : u.run)
      out << (c == '\'' ? std::string("''") : std::string(1, c));
    out << "'\n        files: [";
    for (std::size_t i = 0; i < u.files.size(); ++i)
      out << (i ? ", " : "") << u.files[i];
    out << "]\n";
    if (u.cost >= 0)
      out << "        cost: " << u.cost << "\n";
  }
  out << "---\n\nTest milestone.\n";
  return out.str();
}

test_project::test_project(const std::vector<milestone_spec>& plan,
                           const std::string& parallel_yaml) {
  init_git_repo(dir_.path());
  for (const auto& m : plan)
    write_file(dir_ / (".sf/milestones/" + m.id + "/MILESTONE.md"), milestone_text(m));
  write_file(dir_ / ".sf/PREFERENCES.md", "---\nparallel:\n" + parallel_yaml + "---\n");
  git("add -A");
  git("commit -q -m plan");
}

command_result test_project::cli(const std::string& args) const {
  // HOME points at the project so a developer's ~/.sf/PREFERENCES.md cannot leak in.
  return run("HOME=" + sh_quote(root()) + " " + sh_quote(SF_CLI_PATH) + " " + args, root());
}

std::string test_project::cli_log(int n) const { return dir_ / ("cli-" + std::to_string(n) + ".log"); }

io::child_process test_project::spawn_cli(const std::vector<std::string>& args) {
  io::spawn_request req;
  req.argv.push_back(SF_CLI_PATH);
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  req.cwd = root();
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).rfind("HOME=", 0) != 0)
      req.env.emplace_back(*e);
  req.env.push_back("HOME=" + root());
  req.log_path = cli_log(++spawned_);
  auto child = io::spawn_process(req);
  if (!child)
    throw std::runtime_error("cannot spawn the CLI");
  return std::move(*child);
}

std::string test_project::git(const std::string& args) const {
  auto r = run("git " + args, root());
  if (r.exit_code != 0)
    throw std::runtime_error("git " + args + " failed: " + r.err);
  return r.out;
}

bool wait_for(const std::string& root, const std::function<bool()>& pred,
              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The folder may not exist yet: watch the root until it does.
  std::optional<io::dir_watcher> watcher;
  for (;;) {
    if (!watcher) {
      if (auto w = io::dir_watcher::create(root + "/.sf/parallel"))
        watcher.emplace(std::move(*w));
      else if (auto w2 = io::dir_watcher::create(root + "/.sf"))
        watcher.emplace(std::move(*w2));
    }
    if (pred())
      return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return pred();
    if (!watcher)
      return pred();
    pollfd pfd{watcher->fd(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    for (const auto& ev : watcher->read_events())
      if (ev.kind == io::dir_event::watched_dir_gone)
        watcher.reset();
    if (watcher && watcher->dir() == root + "/.sf")
      watcher.reset(); // Re-try the real folder next round.
  }
}

std::optional<int> wait_exit(io::child_process& child, std::chrono::milliseconds timeout) {
  pollfd pfd{child.pidfd(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0)
    return std::nullopt;
  int status = 0;
  if (!child.try_reap(status))
    return std::nullopt;
  return status;
}

std::vector<std::string> event_lines(const std::string& root, const std::string& needle) {
  std::vector<std::string> out;
  std::string text;
  try {
    text = read_file(root + "/.sf/parallel/events.jsonl");
  } catch (const std::exception&) {
    return out;
  }
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos)
      out.push_back(line);
  return out;
}

int64_t event_time(const std::string& root, const std::string& mid, const std::string& state) {
  for (const auto& line : event_lines(root, "\"" + mid + "\"")) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("milestone", "") == mid && j.value("state", "") == state)
      return j.value("at", int64_t{-1});
  }
  return -1;
}

bool alive(int64_t pid) {
  auto st = io::read_proc_stat(pid);
  return st && st->state != 'Z';
}

worker_snapshot row_of(const std::string& root, const std::string& mid) {
  if (auto rf = io::read_run_file(root))
    for (const auto& w : rf->status.workers)
      if (w.milestone == mid)
        return w;
  return {};
}

std::string state_of(const std::string& root, const std::string& mid) {
  return std::string(sf::core::to_string(row_of(root, mid).state));
}

std::optional<io::worker_status> status_of(const std::string& root, const std::string& mid) {
  auto st = io::read_status(root, mid);
  if (!st)
    return std::nullopt;
  return *st;
}

std::string original_worker_script() {
  return std::string(SF_SOURCE_DIR) + "/examples/workers/original-protocol-worker.sh";
}

} // namespace sf::test
