#pragma once
/// Reads a coding agent's output while it runs: session, model, what it is doing now, tokens
/// and USD so far, and how it ended. One parser per adapter, all fed the same way.
///
/// Formats (../shared/AGENTS.md): Claude `-p --output-format stream-json --verbose`, Codex
/// `exec --json` (JSON, one event per line), aider's plain text `Tokens:`/`Cost:` reports, and
/// the generic adapter's `SF_COST <usd>` lines. JSON parsers skip blank and non-JSON lines and
/// ignore unknown event types and fields. When stdout and stderr share one pipe, the agent's
/// stderr lines arrive here too: they show in the transcript and in `last_plain_line`.

#include "agents/agent_usage.hpp"
#include "agents/line_splitter.hpp"
#include "config/agent_profile.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sf::agents {

/// Longest output line read (1 MiB); a longer one is skipped whole and counted.
constexpr std::size_t max_stream_line_bytes = 1024 * 1024;

/// What the output said so far. Fields an adapter cannot know stay empty.
struct stream_report {
  /// Claude `session_id` (the newest seen), Codex `thread_id`; empty for aider and generic.
  std::string session_id;
  /// The model the agent names (Claude); Codex and aider never name it (use the profile's).
  std::string model;
  /// What it does now, one line of at most `max_activity_bytes`: a tool and its main argument
  /// (`Edit src/parse.cc`), a command (`bash: ctest`), or the start of its last message.
  std::string activity;
  /// The last event was an API retry (Claude `system/api_retry`): waiting, not hung.
  bool retrying = false;
  /// Tokens and USD of this process so far. Claude: summed from assistant messages (each
  /// `message.id` once) until the result, then the result's own figures, USD from its
  /// `total_cost_usd`. Codex: the thread's cumulative snapshot of its last `turn.completed`
  /// (on a resumed thread, subtract the previous snapshot: `usage_since`); no USD. aider: tokens
  /// summed over its reports, USD its last `session` figure. generic: the sum of `SF_COST`.
  agent_usage usage;
  /// A final event was seen (Claude `result`, Codex `turn.completed`/`turn.failed`); aider
  /// and generic output has none: their exit code decides.
  bool finished = false;
  /// The final event says the run failed (Claude `is_error`, Codex `turn.failed`).
  bool is_error = false;
  /// Claude's result `subtype` (`success`, `error_max_turns`, ...); Codex `turn.completed` or
  /// `turn.failed`; empty before the end and for aider and generic.
  std::string outcome;
  /// The agent's final answer: Claude's result `result`, Codex's last `agent_message`.
  std::string result;
  /// Why it failed: Claude's `errors[]` joined by "; " (or the result text of an error result);
  /// Codex's `turn.failed` message, or the last non-fatal `error` event's.
  std::string error;
  /// Tools refused for want of permission (Claude `permission_denials[].tool_name`, also
  /// `system/permission_denied` before the result; Codex declined commands as `command`).
  std::vector<std::string> permission_denials;
  /// The last non-blank line that was not a JSON event (for JSON adapters: often the agent's
  /// own error on stderr, such as `No conversation found with session ID: ...`).
  std::string last_plain_line;
  /// Events understood (JSON adapters) or lines read (text adapters).
  std::size_t events = 0;
  /// Lines longer than `max_stream_line_bytes`, skipped.
  std::size_t skipped_lines = 0;
};

/// Receives one readable transcript line (no newline, never raw JSON), e.g.
/// `[tool] Edit src/parse.cc`, `[bash] ctest`, `[assistant] Fixed it.`, `[result] ...`.
using transcript_sink = std::function<void(const std::string& line)>;

/// An incremental parser of one agent process's output. Not thread-safe.
class agent_stream {
public:
  virtual ~agent_stream() = default;
  agent_stream(const agent_stream&) = delete;
  agent_stream& operator=(const agent_stream&) = delete;

  /// Reads the next chunk of output; chunks may split lines (and `\r\n`) anywhere.
  void feed(std::string_view chunk);

  /// Reads a last line that had no newline; call once when the output ends.
  void finish();

  /// What the output said so far.
  const stream_report& report() const noexcept { return report_; }

  /// Sends transcript lines to `sink` from now on (none are kept otherwise).
  void on_transcript(transcript_sink sink) { sink_ = std::move(sink); }

protected:
  /// Lines up to `max_stream_line_bytes`; no transcript sink yet.
  agent_stream() : lines_(max_stream_line_bytes) {}

  /// One complete line (no `\n`, no trailing `\r`).
  virtual void on_line(std::string_view line) = 0;

  /// Sends `transcript_lines(prefix, text)` to the sink.
  void say(std::string_view prefix, std::string_view text);

  /// Sets `activity` to `one_line(text)`, unless that is empty; clears `retrying`.
  void set_activity(std::string_view text);

  /// Records a line that is not an event: `last_plain_line` and the transcript as it is.
  void plain_line(std::string_view line);

  /// For JSON adapters: a line that did not parse as an event. A broken event (a line
  /// starting with `{`, such as the half line of a killed agent) is dropped; anything else is
  /// a `plain_line`.
  void not_an_event(std::string_view line);

  stream_report report_; ///< Filled in by the adapter.

private:
  line_splitter lines_;
  transcript_sink sink_;
};

/// A fresh parser for `adapter`'s output.
std::unique_ptr<agent_stream> make_agent_stream(agent_adapter adapter);

} // namespace sf::agents
