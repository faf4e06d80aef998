#include "agents/agent_launch.hpp"

#include "messages/error.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace sf::agents {

namespace {

void append(std::vector<std::string>& to, const std::vector<std::string>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

void option(std::vector<std::string>& argv, const char* flag, const std::string& value) {
  if (value.empty())
    return;
  argv.push_back(flag);
  argv.push_back(value);
}

std::vector<std::string> program(const agent_profile& p, const char* fallback) {
  return p.command.empty() ? std::vector<std::string>{fallback} : p.command;
}

std::string where(const agent_profile& p) {
  return "agent profile '" + p.name + "'";
}

launch_line claude_line(const agent_profile& p, const launch_request& req) {
  launch_line l;
  l.argv = program(p, "claude");
  append(l.argv, {"-p", "--output-format", "stream-json", "--verbose"});
  option(l.argv, "--permission-mode", p.permission_mode);
  option(l.argv, "--model", p.model);
  append(l.argv, p.extra_args);
  // The CLI refuses --session-id together with --resume.
  option(l.argv, req.resume ? "--resume" : "--session-id", req.session_id);
  l.stdin_is_prompt = true;
  // Set inside a Claude Code session; a nested claude would think it runs inside one.
  l.unset_env.push_back("CLAUDECODE");
  return l;
}

launch_line codex_line(const agent_profile& p, const launch_request& req) {
  launch_line l;
  l.argv = program(p, "codex");
  append(l.argv, {"exec", "--json"});
  if (req.resume) {
    // `resume` rejects -C and -s: the cwd is the worktree and the sandbox goes through -c.
    option(l.argv, "-m", p.model);
    if (!p.permission_mode.empty())
      option(l.argv, "-c", "sandbox_mode=" + p.permission_mode);
    append(l.argv, p.extra_args);
    append(l.argv, {"resume", req.session_id, req.prompt_text});
    return l;
  }
  option(l.argv, "--sandbox", p.permission_mode);
  l.argv.push_back("--skip-git-repo-check");
  option(l.argv, "-m", p.model);
  append(l.argv, p.extra_args);
  append(l.argv, {"-C", req.worktree, "-"});
  l.stdin_is_prompt = true;
  return l;
}

launch_line aider_line(const agent_profile& p, const launch_request& req) {
  launch_line l;
  l.argv = program(p, "aider");
  append(l.argv,
         {"--message-file", req.prompt_file, "--yes-always", "--no-auto-commits", "--no-pretty",
          "--no-stream", "--analytics-disable", "--no-check-update", "--no-show-release-notes"});
  if (req.resume)
    l.argv.push_back("--restore-chat-history");
  option(l.argv, "--model", p.model);
  append(l.argv, p.extra_args);
  return l;
}

} // namespace

caf::expected<launch_line> build_launch(const agent_profile& profile, const launch_request& req) {
  if (req.resume && !supports_resume(profile.adapter))
    return make_error(ec::invalid_input,
                      where(profile) + " uses the generic adapter, which cannot resume a run: "
                                       "start it afresh, or use adapter claude, codex or aider");
  if (req.resume && req.session_id.empty() && profile.adapter != agent_adapter::aider)
    return make_error(ec::invalid_input, where(profile) + ": no session id recorded to resume; "
                                                          "start the agent afresh");
  launch_line line;
  switch (profile.adapter) {
  case agent_adapter::claude:
    line = claude_line(profile, req);
    break;
  case agent_adapter::codex:
    line = codex_line(profile, req);
    break;
  case agent_adapter::aider:
    line = aider_line(profile, req);
    break;
  case agent_adapter::generic:
    if (profile.command.empty())
      return make_error(ec::invalid_input, where(profile) +
                                               " uses the generic adapter but has no command: add "
                                               "`command:` (the program to run) to that profile in "
                                               ".sf/PREFERENCES.md");
    line.argv = profile.command;
    line.stdin_is_prompt = true;
    line.set_env.emplace_back("SF_PROMPT_FILE", req.prompt_file);
    break;
  }
  line.cwd = req.worktree;
  return line;
}

bool supports_resume(agent_adapter adapter) {
  return adapter != agent_adapter::generic;
}

std::vector<std::string> launch_environment(const launch_line& line,
                                            const std::vector<std::string>& base) {
  auto named = [](const std::string& entry, const std::string& key) {
    return entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
           entry[key.size()] == '=';
  };
  std::vector<std::string> env;
  for (const auto& entry : base) {
    bool drop = false;
    for (const auto& key : line.unset_env)
      drop = drop || named(entry, key);
    for (const auto& kv : line.set_env)
      drop = drop || named(entry, kv.first);
    if (!drop)
      env.push_back(entry);
  }
  for (const auto& [key, value] : line.set_env)
    env.push_back(key + "=" + value);
  return env;
}

std::string make_session_uuid() {
  std::random_device rd; // /dev/urandom on glibc
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 4) {
    auto r = rd();
    for (std::size_t k = 0; k < 4; ++k)
      b[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40); // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80); // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 0x0F];
  }
  return out;
}

} // namespace sf::agents
