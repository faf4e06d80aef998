// `sf-actors init`: a commented preferences file and one example milestone, never overwriting.
#include "cli/command.hpp"
#include "io/git/merge_driver.hpp"
#include "io/os/proc_files.hpp"
#include "core/sf_paths.hpp"
#include "io/files/gitignore.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>
#include <sstream>

namespace fs = std::filesystem;

namespace sf::cli {

namespace {

std::string preferences_template() {
  std::ostringstream out;
  out << "---\n"
         "# sf-actors preferences for this project (the user file ~/.sf/PREFERENCES.md is read\n"
         "# first; keys set here win). Uncomment a key to change it; values shown are defaults.\n"
         "parallel:\n"
         "  enabled: false\n";
  std::ostringstream agents;
  for (const auto& key : preference_keys()) {
    std::string_view name = key.name;
    if (name == "enabled")
      continue;
    // Dotted names are paths in the top-level `agents:` block, shown after `parallel:`.
    auto& to = name.find('.') == std::string_view::npos ? out : agents;
    to << (&to == &out ? "  # " : "# ") << key.name << ": " << key.default_value << "    # "
       << key.type << ". " << key.description << '\n';
  }
  out << "# Agent profiles for `agent:` units: a top-level block next to parallel:, e.g.\n"
         "# agents:\n"
         "#   default: claude\n"
         "#   profiles:\n"
         "#     claude: {adapter: claude, model: sonnet, timeout: 1800}\n"
         "#   prices:\n"
         "#     gpt-5-codex: {input: 1.25, output: 10, cached: 0.125}\n"
      << agents.str() << "---\n\nNotes for humans may follow the front matter.\n";
  return out.str();
}

// The example milestone, its one unit's work given as front-matter lines.
std::string example_milestone(const std::string& work, const std::string& text) {
  return "---\n"
         "title: Example milestone\n"
         "status: pending\n"
         "dependsOn: []\n"
         "slices:\n"
         "  - id: S01\n"
         "    title: First slice\n"
         "    units:\n"
         "      - id: U01\n"
         "        title: Write a greeting\n" +
         work + "        files: [hello.txt]\n---\n\n" + text + "\n";
}

// `init --agent <name>`: a profile for that agent, made the default, as the real CLI runs
// headless in a worktree (docs/agents.md has the options of each).
std::string agent_block(const std::string& agent) {
  std::string profile;
  if (agent == "claude")
    profile = "      adapter: claude\n      model: sonnet\n      permission_mode: acceptEdits\n"
              "      timeout: 1800\n      idle_timeout: 300\n      max_attempts: 2\n";
  else if (agent == "codex")
    profile = "      adapter: codex\n      model: gpt-5-codex\n"
              "      permission_mode: workspace-write\n      timeout: 1800\n"
              "      idle_timeout: 300\n      max_attempts: 2\n";
  else
    profile = "      adapter: aider\n      model: sonnet\n      timeout: 1800\n"
              "      idle_timeout: 300\n      max_attempts: 2\n";
  std::string out = "agents:\n  default: " + agent + "\n  profiles:\n    " + agent + ":\n" +
                    profile;
  if (agent == "codex") // Codex reports tokens only: without a price its cost counts as $0.
    out += "  prices:\n    gpt-5-codex: {input: 1.25, output: 10, cached: 0.125}\n";
  return out;
}

std::string agent_milestone(const std::string& agent) {
  return example_milestone("        agent: " + agent +
                             "\n"
                             "        prompt: |\n"
                             "          Create hello.txt holding one line that greets the "
                             "reader.\n"
                             "        verify: test -s hello.txt\n",
                           "Everything written here, below the front matter, is part of the "
                           "agent's prompt.");
}

// Creates `path` with `text` unless something is already there; O_EXCL makes that race-free.
caf::expected<bool> create_new(const fs::path& path, const std::string& text) {
  std::error_code err;
  fs::create_directories(path.parent_path(), err);
  if (err)
    return make_error(ec::io_error, "cannot create folder " + path.parent_path().string() + ": " +
                                      err.message());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      return false;
    return make_error(ec::io_error, "cannot create " + path.string() + ": " + std::strerror(errno));
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return make_error(ec::io_error, "cannot write " + path.string() + ": " + std::strerror(saved));
  return true;
}

// What to do after `init`, in order; a run uses only what is committed, so that step is named.
void print_next_steps(const fs::path& root) {
  std::error_code err;
  bool repo = fs::exists(root / ".git", err);
  std::vector<std::string> steps;
  if (!repo)
    steps.push_back("make this folder a git repository: git init && git add -A && git commit -m "
                    "start");
  steps.push_back("turn parallel mode on: set `enabled: true` under `parallel:` in "
                  ".sf/PREFERENCES.md");
  steps.push_back("describe the work: one .sf/milestones/<MID>/MILESTONE.md per milestone (M001 "
                  "is an example)");
  steps.push_back("commit the plan, which is what runs: git add .sf .gitignore && git commit -m "
                  "\"plan\"");
  steps.push_back("check and start: sf-actors eligibility, then sf-actors start");
  std::cout << "\nNext steps:\n";
  for (std::size_t i = 0; i < steps.size(); ++i)
    std::cout << "  " << i + 1 << ". " << steps[i] << '\n';
}

} // namespace

std::function<int()> setup_init(CLI::App& app, global_options& g) {
  auto agent = std::make_shared<std::string>();
  app.add_option("--agent", *agent,
                 "Write a profile for this coding agent (claude, codex or aider) and an "
                 "example milestone it runs")
    ->check(CLI::IsMember({"claude", "codex", "aider"}));
  return [&g, agent]() -> int {
    fs::path root = g.directory.empty() ? fs::current_path() : fs::absolute(g.directory);
    struct item {
      fs::path path;
      std::string text;
    };
    auto prefs = preferences_template();
    if (!agent->empty())
      prefs.insert(prefs.rfind("---\n"), agent_block(*agent));
    const item items[] = {{core::preferences_file(root), prefs},
                          {core::milestone_file(root, "M001"),
                           agent->empty()
                             ? example_milestone("        run: echo hello > hello.txt\n",
                                                 "Free text for whoever works on this "
                                                 "milestone.")
                             : agent_milestone(*agent)}};
    for (const auto& it : items) {
      auto made = create_new(it.path, it.text);
      if (!made)
        return fail(made.error());
      std::cout << (*made ? "created " : "kept existing ") << it.path.string() << '\n';
    }
    auto changed = io::ensure_runtime_ignored(root.string());
    if (!changed)
      return fail(changed.error());
    // `git merge` in a worktree then merges the .sf/ files as the queue does (README, Merging).
    if (auto err = io::register_merge_driver(root.string(), io::self_exe()))
      std::cerr << "sf-actors: warning: " << describe(err) << '\n';
    std::cout << (*changed ? "added runtime paths to " : "runtime paths already ignored in ")
              << (root / ".gitignore").string() << '\n';
    print_next_steps(root);
    return exit_ok;
  };
}

} // namespace sf::cli
