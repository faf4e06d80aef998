// `sf-actors status [--json] [--watch]`
#include "cli/command.hpp"
#include "cli/terminal_style.hpp"
#include "cli/status_view.hpp"
#include "config/prose_milestone.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/os/dir_watcher.hpp"

#include <poll.h>
#include <unistd.h>

#include <iostream>

namespace sf::cli {

std::function<int()> setup_status(CLI::App& app, global_options& g) {
  auto watch = std::make_shared<bool>(false);
  app.add_flag("--json", g.json, "Print the status as JSON");
  app.add_flag("--watch", *watch, "Redraw whenever a status or run file changes (Ctrl-C ends)");
  return [&g, watch]() -> int {
    int code = exit_ok;
    auto root = project_root(g);
    preferences prefs;
    if (!load_preferences_or_report(root, prefs, code))
      return code;
    plan p;
    if (!load_plan_or_report(root, p, code))
      return code;
    add_prose_units(p, prefs.agents);
    std::size_t unsafe = 0;
    auto draw = [&] {
      auto view = collect_status(root, p, prefs.budget_ceiling.value_or(0));
      unsafe = view.unsafe_files;
      if (g.json)
        std::cout << status_to_json(view).dump(2) << '\n';
      else {
        if (*watch && ::isatty(STDOUT_FILENO))
          std::cout << "\x1b[H\x1b[2J";
        std::cout << for_stdout(render_status(view, io::now_ms()));
      }
      std::cout << std::flush;
    };
    draw();
    // The view is shown either way; a link or FIFO among the runtime files fails the command.
    if (!*watch)
      return unsafe > 0 ? exit_failure : exit_ok;
    auto dir = io::ensure_parallel_dir(root);
    if (!dir)
      return fail(dir.error());
    auto watcher = io::dir_watcher::create(dir->path);
    if (!watcher)
      return fail(watcher.error());
    // Event-driven: block until files change, never redraw on a timer.
    for (;;) {
      pollfd pfd{watcher->fd(), POLLIN, 0};
      if (::poll(&pfd, 1, -1) < 0)
        continue;
      auto events = watcher->read_events();
      if (!events.empty())
        draw();
    }
  };
}

} // namespace sf::cli
