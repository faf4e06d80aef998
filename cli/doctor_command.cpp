// `sf-actors doctor [--fix] [--json]`
#include "cli/command.hpp"
#include "doctor/doctor.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace sf::cli {

namespace {

/// One finding and, after --fix, what happened to it.
struct outcome {
  io::finding f;
  bool attempted = false;
  io::fix_result result;
};

void print_text(const std::vector<outcome>& all, bool fixing, int fixed, int kept) {
  if (all.empty()) {
    std::cout << "No problems found.\n";
    return;
  }
  std::cout << "# Doctor\n\n";
  for (const auto& o : all) {
    std::cout << "- [" << io::to_string(o.f.kind) << "] " << o.f.path << " — " << o.f.description
              << "\n  fix: " << o.f.fix << (o.f.safe ? "" : " (not automatic)") << '\n';
    if (fixing)
      std::cout << "  " << (o.result.fixed ? std::string{"fixed"} : o.result.text) << '\n';
  }
  std::cout << '\n'
            << all.size() << " problem(s) found, " << fixed << " fixed, " << kept << " kept\n";
  if (!fixing) {
    auto safe = std::count_if(all.begin(), all.end(), [](const auto& o) { return o.f.safe; });
    if (safe > 0)
      std::cout << "Run `sf-actors doctor --fix` to apply the " << safe << " safe fix(es).\n";
  }
}

nlohmann::json to_json(const std::vector<outcome>& all, int fixed, int kept) {
  auto list = nlohmann::json::array();
  for (const auto& o : all) {
    nlohmann::json j = {{"kind", io::id_of(o.f.kind)}, {"path", o.f.path},
                        {"description", o.f.description}, {"fix", o.f.fix}, {"safe", o.f.safe}};
    if (o.attempted) {
      j["action"] = o.result.text;
      j["result"] = o.result.fixed ? "fixed" : "kept";
    } else {
      j["action"] = nullptr;
      j["result"] = "open";
    }
    if (o.f.pid > 0)
      j["pid"] = o.f.pid;
    if (!o.f.mid.empty())
      j["milestone"] = o.f.mid;
    list.push_back(std::move(j));
  }
  return {{"findings", list}, {"fixed", fixed}, {"kept", kept}};
}

} // namespace

std::function<int()> setup_doctor(CLI::App& app, global_options& g) {
  auto fix = std::make_shared<bool>(false);
  app.add_flag("--fix", *fix, "Apply the fixes that are safe to do unattended");
  app.add_flag("--json", g.json, "Print the findings as JSON");
  return [&g, fix]() -> int {
    auto root = project_root(g);
    // Doctor is for broken setups: a bad preferences or plan file must not stop it.
    preferences prefs;
    if (auto loaded = load_preferences(root))
      prefs = std::move(*loaded);
    else
      std::cerr << "sf-actors: warning: " << describe(loaded.error())
                << " (doctor goes on with the default preferences)\n";
    std::unique_ptr<plan> milestones;
    if (auto loaded = load_plan(root))
      milestones = std::make_unique<plan>(std::move(*loaded));
    else
      std::cerr << "sf-actors: warning: " << describe(loaded.error())
                << " (doctor does not judge worktrees by the plan)\n";
    std::vector<outcome> all;
    for (auto& f : io::diagnose(root, prefs, milestones.get()))
      all.push_back({std::move(f), false, {}});
    int fixed = 0;
    for (auto& o : all) {
      if (*fix) {
        o.attempted = true;
        o.result = io::apply_fix(root, o.f);
      }
      if (o.result.fixed)
        ++fixed;
    }
    int kept = static_cast<int>(all.size()) - fixed;
    if (g.json)
      std::cout << to_json(all, fixed, kept).dump(2) << '\n';
    else
      print_text(all, *fix, fixed, kept);
    return kept == 0 ? exit_ok : exit_failure;
  };
}

} // namespace sf::cli
