// Times sf::io::ensure_worktree against `git worktree add` on a generated repository.
//
// Usage: worktree_bench [--files N] [--trials N] [--quick] [--keep]
// Prints one `name min median p99 unit` line per contender, then the ratio of the medians.

#include "bench/bench_util.hpp"
#include "io/git/worktree.hpp"
#include "messages/error.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using sf::bench::ms_since;
using sf::bench::quote;
using sf::bench::stats;
using sf::bench::summarize;
bool sh(const std::string& cmd) { return sf::bench::sh(cmd, "worktree_bench"); }

using clock_type = std::chrono::steady_clock;



// fast-import writes all blobs and the tree in one pass: seconds for tens of thousands of files.
bool make_repo(const std::string& root, int files) {
  FILE* pipe = sf::bench::start_fast_import(root, "worktree_bench");
  if (pipe == nullptr)
    return false;
  std::fprintf(pipe, "commit refs/heads/main\ncommitter bench <b@example.com> 0 +0000\n"
                     "data 5\nbench\n");
  int dirs = std::max(1, std::min(100, files / 10));
  for (int i = 0; i < files; ++i) {
    char path[64];
    std::snprintf(path, sizeof path, "d%03d/sub/f%06d.txt", i % dirs, i);
    char body[128];
    int n = std::snprintf(body, sizeof body, "file %d\nsome text to make it look real\n", i);
    // Every 50th file is executable so modes are exercised too.
    std::fprintf(pipe, "M %s inline %s\ndata %d\n%s\n", i % 50 == 0 ? "100755" : "100644", path,
                 n, body);
  }
  return ::pclose(pipe) == 0 && sh("cd " + quote(root) + " && git checkout -q -f main");
}

// Removing is not what we measure, and deleting many files slows later creation on this disk:
// move the folder out of the way and let git forget it.
bool set_aside(const std::string& root, const std::string& wt, const std::string& trash) {
  static int n = 0;
  std::string dest = trash + "/" + std::to_string(n++);
  if (::rename(wt.c_str(), dest.c_str()) != 0) {
    std::perror(("rename " + wt).c_str());
    return false;
  }
  return sh("git -C " + quote(root) + " worktree prune");
}




} // namespace

int main(int argc, char** argv) {
  int files = 1000;
  int trials = 5;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--files" && i + 1 < argc)
      files = std::atoi(argv[++i]);
    else if (a == "--trials" && i + 1 < argc)
      trials = std::atoi(argv[++i]);
    else if (a == "--quick")
      trials = 2;
    else if (a == "--keep")
      keep = true;
    else {
      std::fprintf(stderr, "usage: %s [--files N] [--trials N] [--quick] [--keep]\n", argv[0]);
      return 2;
    }
  }
  if (files < 1 || trials < 1) {
    std::fprintf(stderr, "--files and --trials must be positive\n");
    return 2;
  }
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sf-wt-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = fs::canonical(tmpl).string();
  std::string root = dir + "/repo";
  std::string trash = dir + "/trash";
  fs::create_directories(trash);
  auto t0 = clock_type::now();
  if (!make_repo(root, files))
    return 1;
  std::printf("# generated %d files in %.0f ms under %s\n", files, ms_since(t0), dir.c_str());
  std::vector<double> ours, git;
  auto run_ours = [&](int t) {
    auto start = clock_type::now();
    auto info = sf::io::ensure_worktree(root, "B" + std::to_string(t));
    ours.push_back(ms_since(start));
    if (!info) {
      std::fprintf(stderr, "ensure_worktree: %s\n", sf::describe(info.error()).c_str());
      return false;
    }
    return set_aside(root, info->path, trash);
  };
  auto run_git = [&](int t) {
    std::string gpath = root + "/.sf/worktrees/G" + std::to_string(t);
    auto start = clock_type::now();
    if (!sh("git -C " + quote(root) + " worktree add -q -b g" + std::to_string(t) + " " +
            quote(gpath) + " main"))
      return false;
    git.push_back(ms_since(start));
    return set_aside(root, gpath, trash);
  };
  // The two take turns going first: the disk's state drifts during a run (writeback, freed
  // inodes), and neither contender should always get the fresher one.
  for (int t = 0; t < trials; ++t) {
    bool ok = t % 2 == 0 ? run_ours(t) && run_git(t) : run_git(t) && run_ours(t);
    if (!ok)
      return 1;
  }
  auto a = summarize(ours);
  auto b = summarize(git);
  std::printf("ensure_worktree %.1f %.1f %.1f ms\n", a.min, a.median, a.p99);
  std::printf("git_worktree_add %.1f %.1f %.1f ms\n", b.min, b.median, b.p99);
  std::printf("ratio_median %.2f x (ensure_worktree / git worktree add; files=%d trials=%d)\n",
              a.median / b.median, files, trials);
  if (!keep && !sf::bench::keep_scratch()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}
