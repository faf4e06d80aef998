// The shell completions and the man page the build generates from the command table, and
// their installation by `cmake --install`.
#include "support/help_verbs.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace sf::test;

namespace {

// What bash offers for the command line `words` (the last one being completed), using the
// generated script in a real bash, in `cwd`.
std::string bash_offers(const std::string& words, const std::string& cwd = ".") {
  const std::string script = "source " + sh_quote(SF_BASH_COMPLETION) +
                             " && COMP_WORDS=(" + words +
                             ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _sf_actors; "
                             "printf '%s\\n' \"${COMPREPLY[@]}\"";
  auto r = run("bash --norc --noprofile -c " + sh_quote(script), cwd);
  INFO(words << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

bool has_command(const std::string& name) {
  return run("command -v " + name).exit_code == 0;
}

} // namespace

TEST_CASE("the generated bash completion completes verbs, options and milestones",
          "[cli][completion]") {
  CHECK(bash_offers("sf-actors st") == "start\nstatus\nstop\n");
  CHECK(bash_offers("sf-actors -C / he") == "help\n");
  CHECK(bash_offers("sf-actors help lo") == "logs\n");
  CHECK(bash_offers("sf-actors start --max") == "--max-workers\n");
  CHECK(bash_offers("sf-actors graph --format ''") == "mermaid\ndot\n");
  // Global options after the verb, as the program takes them.
  CHECK(bash_offers("sf-actors status --qu") == "--quiet\n");
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}}),
                  ms("M002", {}, {{"U01", "true", {}, -1}})},
                 "  enabled: true\n");
  std::filesystem::create_directories(p.path("src"));
  CHECK(bash_offers("sf-actors logs ''", p.path("src")) == "M001\nM002\n");
  CHECK(bash_offers("sf-actors -C " + sh_quote(p.root()) + " stop M00", "/") == "M001\nM002\n");
  auto registered = run("bash --norc --noprofile -c " +
                        sh_quote("source " + sh_quote(SF_BASH_COMPLETION) +
                                 " && complete -p sf-actors"));
  CHECK(registered.out == "complete -F _sf_actors sf-actors\n");
}

TEST_CASE("the generated zsh completion and man page name every visible verb",
          "[cli][completion]") {
  const auto verbs = help_verbs();
  REQUIRE(verbs.size() >= 10);
  const auto zsh = read_file(SF_ZSH_COMPLETION);
  const auto man = read_file(SF_MAN_PAGE);
  CHECK(zsh.rfind("#compdef sf-actors\n", 0) == 0);
  CHECK(man.find(".TH SF\\-ACTORS 1") != std::string::npos);
  for (const auto& verb : verbs) {
    INFO(verb);
    CHECK(zsh.find("    '" + verb + ":") != std::string::npos);
    std::string escaped;
    for (char c : verb)
      escaped += c == '-' ? std::string("\\-") : std::string(1, c);
    CHECK(man.find(".SS \"sf\\-actors " + escaped + " ") != std::string::npos);
  }
  // Hidden helper verbs stay out.
  CHECK(man.find("generate\\-docs [") == std::string::npos);
  CHECK(man.find("chaos\\-worker") == std::string::npos);
  CHECK(man.find("\\-\\-detached\\-child") == std::string::npos);
  if (has_command("groff")) {
    auto lint = run("groff -man -Tutf8 -ww -z " + sh_quote(SF_MAN_PAGE));
    CHECK(lint.exit_code == 0);
    CHECK(lint.err.empty());
  }
  if (has_command("zsh"))
    CHECK(run("zsh -n " + sh_quote(SF_ZSH_COMPLETION)).exit_code == 0);
}

TEST_CASE("the generated zsh completion completes verbs and milestones in an interactive zsh",
          "[cli][completion]") {
  if (!has_command("zsh")) {
    WARN("zsh is not installed: the zsh completion is only checked for the verbs it names");
    return;
  }
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}}),
                  ms("M002", {}, {{"U01", "true", {}, -1}})},
                 "  enabled: true\n");
  temp_dir fpath;
  std::filesystem::copy_file(SF_ZSH_COMPLETION, fpath / "_sf-actors");
  // A real interactive zsh on a pseudo-terminal (zsh/zpty), TAB pressed after each line;
  // each read waits for the text it expects (the outer timeout bounds a missing one).
  write_file(fpath / "drive.zsh",
             "zmodload zsh/zpty\n"
             "zpty z zsh -f -i\n"
             "zpty -w z \"PS1='> '; fpath=(" + fpath.path() + " \\$fpath); autoload -Uz compinit; "
             "compinit -u -d " + (fpath / "dump") + "; cd " + p.root() + "; echo READY\"\n"
             "zpty -r -m z line '*READY*'\nzpty -r -m z line '*READY*'\n"
             "zpty -w -n z $'sf-actors st\\t'\n"
             "zpty -r -m z out '*stop *--*' && print -r -- \"$out\"\n"
             "zpty -w -n z $'\\C-u'\n"
             "zpty -w -n z $'sf-actors logs \\t'\n"
             "zpty -r -m z out '*logs M00*' && print -r -- LISTED-MILESTONES\n"
             "zpty -d z\n");
  auto r = run("timeout 60 zsh -f " + sh_quote(fpath / "drive.zsh"), p.root());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("start") != std::string::npos);
  CHECK(r.out.find("status") != std::string::npos);
  CHECK(r.out.find("stop") != std::string::npos);
  // M001 and M002 share "M00", which zsh inserts before listing them.
  CHECK(r.out.find("LISTED-MILESTONES") != std::string::npos);
}

TEST_CASE("cmake --install puts the completions and the man page where shells and man look",
          "[cli][completion]") {
  temp_dir prefix;
  const auto build = std::filesystem::path(SF_CLI_PATH).parent_path().string();
  auto install = run("cmake --install " + sh_quote(build) + " --component cli --prefix " +
                     sh_quote(prefix.path()));
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);
  CHECK(read_file(prefix / "share/bash-completion/completions/sf-actors") ==
        read_file(SF_BASH_COMPLETION));
  CHECK(read_file(prefix / "share/zsh/site-functions/_sf-actors") ==
        read_file(SF_ZSH_COMPLETION));
  CHECK(read_file(prefix / "share/man/man1/sf-actors.1") == read_file(SF_MAN_PAGE));
  CHECK(std::filesystem::exists(prefix / "bin/sf-actors"));
}
