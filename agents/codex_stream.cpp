// Codex CLI `exec --json` (AGENTS.md section 2).
#include "agents/adapter_streams.hpp"
#include "agents/json_fields.hpp"
#include "agents/json_stream.hpp"
#include "agents/readable_text.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <set>

namespace sf::agents {

namespace {

using nlohmann::json;

class codex_stream final : public json_stream {
protected:
  void on_event(const json& ev) override {
    auto type = text_at(ev, "type");
    if (type == "thread.started") {
      report_.session_id = text_at(ev, "thread_id");
      set_activity("started");
      say("[session]", report_.session_id);
    } else if (type == "item.started" || type == "item.updated" || type == "item.completed") {
      on_item(child_at(ev, "item"), type == "item.completed");
    } else if (type == "turn.completed") {
      on_turn_completed(child_at(ev, "usage"));
    } else if (type == "turn.failed") {
      report_.finished = true;
      report_.is_error = true;
      report_.outcome = type;
      report_.error = text_at(child_at(ev, "error"), "message");
      set_activity("failed: " + one_line(report_.error));
      say("[error]", report_.error);
    } else if (type == "error") {
      // Not final by itself: `turn.failed` or the exit code says whether it was fatal.
      report_.error = text_at(ev, "message");
      say("[error]", report_.error);
    }
  }

private:
  void on_item(const json& item, bool completed) {
    auto kind = text_at(item, "type");
    auto id = text_at(item, "id");
    if (kind == "agent_message") {
      auto text = text_at(item, "text");
      if (completed) {
        report_.result = text;
        say("[assistant]", text);
      }
      set_activity(text);
    } else if (kind == "reasoning") {
      if (completed)
        say("[thinking]", text_at(item, "text"));
    } else if (kind == "command_execution") {
      on_command(item, id, completed);
    } else if (kind == "file_change") {
      const json& changes = child_at(item, "changes");
      if (!completed || !changes.is_array())
        return;
      for (const auto& c : changes) {
        auto what = text_at(c, "kind") + " " + text_at(c, "path");
        set_activity(what);
        say("[edit]", what);
      }
    } else if (kind == "mcp_tool_call") {
      auto what = text_at(item, "server") + "/" + text_at(item, "tool");
      set_activity(what);
      if (!completed)
        say("[tool]", what);
    } else if (kind == "web_search") {
      auto query = text_at(item, "query");
      set_activity("search " + query);
      if (completed)
        say("[search]", query);
    } else if (kind == "todo_list") {
      const json& items = child_at(item, "items");
      std::size_t done = 0, all = items.is_array() ? items.size() : 0;
      for (std::size_t i = 0; i < all; ++i)
        done += flag_at(items[i], "completed") ? 1 : 0;
      say("[todo]", fmt::format("{} of {} done", done, all));
    } else if (kind == "error") {
      say("[warning]", text_at(item, "message"));
    }
  }

  // A command shows once when it starts; its end only when it failed or was refused.
  void on_command(const json& item, const std::string& id, bool completed) {
    auto command = unwrap_shell(text_at(item, "command"));
    auto status = text_at(item, "status");
    bool first = started_.insert(id).second;
    if (first || !completed)
      set_activity("bash: " + command);
    if (first)
      say("[bash]", command);
    if (!completed)
      return;
    if (status == "declined") {
      report_.permission_denials.push_back(cap_bytes(command, max_activity_bytes));
      say("[denied]", command);
    } else if (status == "failed") {
      auto it = item.find("exit_code");
      bool has_code = it != item.end() && it->is_number_integer();
      say("[bash failed]", has_code ? fmt::format("exit {}", it->get<int>()) : "no exit code");
    }
  }

  void on_turn_completed(const json& usage) {
    report_.finished = true;
    report_.outcome = "turn.completed";
    if (usage.is_object()) {
      // `input_tokens` includes the cached part; the snapshot is the thread's total so far.
      auto cached = count_at(usage, "cached_input_tokens");
      auto input = count_at(usage, "input_tokens");
      report_.usage.cached = cached;
      report_.usage.input = input > cached ? input - cached : 0;
      report_.usage.output = count_at(usage, "output_tokens");
    }
    set_activity("finished: " + one_line(report_.result));
    const auto& u = report_.usage;
    say("[done]", fmt::format("{} input, {} cached, {} output tokens (thread total)", u.input,
                              u.cached, u.output));
  }

  std::set<std::string> started_;
};

} // namespace

std::unique_ptr<agent_stream> make_codex_stream() {
  return std::make_unique<codex_stream>();
}

} // namespace sf::agents
