#pragma once
/// The command line, stdin and environment that start (or resume) a coding agent headless,
/// per adapter, exactly as ../shared/AGENTS.md documents each CLI.

#include "config/agent_profile.hpp"

#include <caf/expected.hpp>

#include <string>
#include <utility>
#include <vector>

namespace sf::agents {

/// One run of an agent to start.
struct launch_request {
  std::string prompt_file; ///< The prompt as a file (stdin, `--message-file`, SF_PROMPT_FILE).
  std::string prompt_text; ///< The same prompt as text (Codex resume takes it as an argument).
  std::string worktree;    ///< Where the agent works (its cwd; Codex also gets `-C`).
  /// Fresh run: the session id to pin (Claude `--session-id`; a `make_session_uuid()`), may be
  /// empty. Resume: the session to continue (Claude session id, Codex thread id).
  std::string session_id;
  bool resume = false; ///< Continue `session_id` (aider: its chat history in the cwd).
};

/// How to start the process.
struct launch_line {
  std::vector<std::string> argv; ///< Program (looked up in PATH without '/') and arguments.
  std::string cwd;               ///< The worktree: Claude files sessions under its cwd.
  bool stdin_is_prompt = false;  ///< Give the prompt file as stdin; else stdin is empty.
  std::vector<std::pair<std::string, std::string>> set_env; ///< Variables to set.
  std::vector<std::string> unset_env; ///< Variables to remove (Claude: `CLAUDECODE`).
};

/// The launch line of `profile` for `req`:
/// - claude: `claude -p --output-format stream-json --verbose [--permission-mode M]
///   [--model M] [args...] (--session-id U | --resume ID)`, prompt on stdin;
/// - codex: `codex exec --json [--sandbox M] --skip-git-repo-check [-m M] [args...]
///   -C <worktree> -`, prompt on stdin; resume: `codex exec --json [-m M]
///   [-c sandbox_mode=M] [args...] resume <id> <prompt text>`, stdin empty;
/// - aider: `aider --message-file <file> --yes-always --no-auto-commits --no-pretty
///   --no-stream --analytics-disable --no-check-update --no-show-release-notes
///   [--restore-chat-history] [--model M] [args...]`, stdin empty;
/// - generic: the profile's `command` as it is, prompt on stdin and in `SF_PROMPT_FILE`.
/// `command` replaces the program (`claude`, `codex`, `aider`) and may add leading arguments.
/// Errors (`ec::invalid_input`, one line naming the profile and the fix): a generic profile
/// without a command; resuming an adapter that cannot, or without a session id.
caf::expected<launch_line> build_launch(const agent_profile& profile, const launch_request& req);

/// True when the adapter can continue an earlier run (claude, codex, aider).
bool supports_resume(agent_adapter adapter);

/// `base` ("KEY=VALUE" entries, e.g. the worker's environment) with the line's variables
/// removed and set: the child's whole environment.
std::vector<std::string> launch_environment(const launch_line& line,
                                            const std::vector<std::string>& base);

/// A random UUID version 4 (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lower case), from the
/// kernel's random source, for Claude's `--session-id`.
std::string make_session_uuid();

} // namespace sf::agents
