// `sf-actors logs <MID> [-f]`: a milestone's worker output, `.sf/parallel/<MID>.log`.
#include "cli/command.hpp"
#include "cli/log_follow.hpp"
#include "io/files/parallel_dir.hpp"
#include "messages/error.hpp"

namespace sf::cli {

namespace {

struct logs_options {
  std::string mid;
  bool follow = false;
};

int no_log_yet(const std::string& root, const std::string& mid) {
  return fail("no log for " + mid + " yet: " + root + "/.sf/parallel/" + mid +
                ".log does not exist (its worker has not run); `sf-actors start " + mid +
                "` runs it, `sf-actors logs -f " + mid + "` waits for it",
              exit_failure);
}

int run_logs(const global_options& g, const logs_options& o) {
  int code = exit_ok;
  auto root = project_root(g);
  plan p;
  if (!load_plan_or_report(root, p, code) || !check_milestone_known(root, p, o.mid, code))
    return code;
  const std::string name = o.mid + ".log";
  if (!o.follow) {
    auto dir = io::open_parallel_dir(root);
    if (!dir)
      return code_of(dir.error()) == ec::not_found ? no_log_yet(root, o.mid) : fail(dir.error());
    auto err = print_log(*dir, name);
    if (err && code_of(err) == ec::not_found)
      return no_log_yet(root, o.mid);
    return err ? fail(err) : exit_ok;
  }
  // Following waits for a log that is not there yet, so the folder to watch must be.
  auto dir = io::ensure_parallel_dir(root);
  if (!dir)
    return fail(dir.error());
  auto err = follow_log(*dir, name);
  return err ? fail(err) : exit_ok;
}

} // namespace

std::function<int()> setup_logs(CLI::App& app, global_options& g) {
  auto o = std::make_shared<logs_options>();
  app.add_option("milestone", o->mid, "The milestone whose worker output to print")
    ->type_name("MID")
    ->required();
  app.add_flag("-f,--follow", o->follow,
               "Keep printing what the worker writes, across log rotations, until Ctrl-C");
  return [&g, o] { return run_logs(g, *o); };
}

} // namespace sf::cli
