// Times merging milestone branches into main four ways on a generated repository:
// sf::io::merge_milestone, the git CLI (merge-tree + commit-tree + update-ref), libgit2's
// git_merge_commits path, and `git merge --no-ff` in a checkout of main (a clone, so the
// other contenders keep moving a ref nobody has checked out). Every contender merges the same
// K branches in order, from the same starting main, so each sample is one real merge into a
// main that already has earlier merges.
//
// With --renames R the history is rename-heavy instead: milestone/B0 edits files on one side,
// milestone/B1 renames R files (one in ten also edited, so similarity has work) on the other,
// and only the merge of B1, after B0's, is timed. --spread puts renamed files in every folder
// (see make_rename_repo).
//
// Usage: merge_bench [--files N] [--branches K] [--renames R [--spread]] [--quick]
// Prints one `name min median p99 unit` line per contender.

#include "bench/bench_util.hpp"
#include "io/git/git.hpp"
#include "io/git/merge.hpp"
#include "messages/error.hpp"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using sf::bench::ms_since;
using sf::bench::quote;
using sf::bench::stats;
using sf::bench::summarize;
bool sh(const std::string& cmd) { return sf::bench::sh(cmd, "merge_bench"); }

using clock_type = std::chrono::steady_clock;



/// Output of `cmd` without the trailing newline; empty on failure.
std::string capture(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    return {};
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  if (::pclose(p) != 0)
    return {};
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

std::string file_path(int i, int dirs, const char* name = "f") {
  char path[64];
  std::snprintf(path, sizeof path, "d%03d/sub/%s%06d.txt", i % dirs, name, i);
  return path;
}

// fast-import writes every blob and tree in one pass; the branches are commits on top of main
// that each rewrite a few files spread over several folders (distinct per branch: clean merges).
bool make_repo(const std::string& root, int files, int branches) {
  FILE* pipe = sf::bench::start_fast_import(root, "merge_bench");
  if (pipe == nullptr)
    return false;
  int dirs = std::max(1, std::min(100, files / 10));
  std::fprintf(pipe, "commit refs/heads/main\nmark :1\ncommitter bench <b@example.com> 0 +0000\n"
                     "data 5\nbench\n");
  for (int i = 0; i < files; ++i) {
    char body[128];
    int n = std::snprintf(body, sizeof body, "file %d\nsome text to make it look real\n", i);
    std::fprintf(pipe, "M %s inline %s\ndata %d\n%s\n", i % 50 == 0 ? "100755" : "100644",
                 file_path(i, dirs).c_str(), n, body);
  }
  for (int b = 0; b < branches; ++b) {
    std::fprintf(pipe, "commit refs/heads/milestone/B%d\ncommitter bench <b@example.com> 0 +0000\n"
                       "data 7\nbranch\nfrom :1\n",
                 b);
    for (int k = 0; k < 3; ++k) {
      int i = (b * 3 + k) * 7919 % files;
      char body[128];
      int n = std::snprintf(body, sizeof body, "file %d\nchanged by branch %d\n", i, b);
      std::fprintf(pipe, "M 100644 inline %s\ndata %d\n%s\n", file_path(i, dirs).c_str(), n, body);
    }
    std::fprintf(pipe, "M 100644 inline added/B%d.txt\ndata 4\nnew\n\n", b);
  }
  // Nobody has main checked out: every contender only moves the ref.
  return ::pclose(pipe) == 0 && sh("git -C " + quote(root) + " symbolic-ref HEAD refs/heads/idle");
}

// B0 edits every tenth of the files B1 will rename (and as many others); B1 renames `renames`
// files within their folders (so no folder moves) and edits one in ten of them. The renamed
// files are every `files / renames`-th file, which puts them in a tenth of the folders (at 10k
// files and 1k renames) and the ones B0 edits in a single folder; with `spread` they are
// shifted so that every folder has renamed files and the ones B0 edits lie in ten folders (at
// those sizes), so the merge reads every folder of all three trees and the alignment rewrites
// ten of the base's and main's.
bool make_rename_repo(const std::string& root, int files, int renames, bool spread) {
  FILE* pipe = sf::bench::start_fast_import(root, "merge_bench");
  if (pipe == nullptr)
    return false;
  int dirs = std::max(1, std::min(100, files / 10));
  int step = std::max(1, files / renames);
  // The k-th renamed file; spread adds an offset below `step` that moves on every `cycle`
  // renames, where `cycle` renames at `step` apart come back to the same folder.
  int cycle = dirs / std::gcd(step, dirs);
  auto renamed = [&](int k) {
    return (k * step + (spread ? k / cycle % step : 0)) % files;
  };
  auto body_of = [](int i, const char* extra) {
    char body[160];
    std::snprintf(body, sizeof body, "file %d\nsome text to make it look real\n%s", i, extra);
    return std::string(body);
  };
  auto put = [&](const std::string& path, const std::string& body) {
    std::fprintf(pipe, "M 100644 inline %s\ndata %zu\n%s\n", path.c_str(), body.size(),
                 body.c_str());
  };
  std::fprintf(pipe, "commit refs/heads/main\nmark :1\ncommitter bench <b@example.com> 0 +0000\n"
                     "data 5\nbench\n");
  for (int i = 0; i < files; ++i)
    put(file_path(i, dirs), body_of(i, ""));
  std::fprintf(pipe, "commit refs/heads/milestone/B0\ncommitter bench <b@example.com> 0 +0000\n"
                     "data 6\nedits\nfrom :1\n");
  for (int k = 0; k < renames; ++k)
    if (k % 10 == 5) {
      int i = renamed(k);
      auto body = body_of(i, "");
      put(file_path(i, dirs), "edited first line" + body.substr(body.find('\n')));
      int j = (i + step / 2 + 1) % files; // A file B1 leaves alone.
      put(file_path(j, dirs), body_of(j, "edited\n"));
    }
  std::fprintf(pipe, "commit refs/heads/milestone/B1\ncommitter bench <b@example.com> 0 +0000\n"
                     "data 8\nrenames\nfrom :1\n");
  for (int k = 0; k < renames; ++k) {
    int i = renamed(k);
    std::fprintf(pipe, "D %s\n", file_path(i, dirs).c_str());
    put(file_path(i, dirs, "renamed"), body_of(i, k % 10 == 0 ? "edited while renamed\n" : ""));
  }
  std::fprintf(pipe, "\n");
  return ::pclose(pipe) == 0 && sh("git -C " + quote(root) + " symbolic-ref HEAD refs/heads/idle");
}




bool merge_ours(const std::string& root, const std::string& mid, const std::string& tip) {
  sf::io::merge_request req;
  req.root = root;
  req.mid = mid;
  req.tip = tip;
  req.message = "Merge " + mid;
  auto r = sf::io::merge_milestone(req);
  if (!r || r->kind != sf::core::merge_kind::merged) {
    std::fprintf(stderr, "merge_milestone %s: %s\n", mid.c_str(),
                 r ? r->text.c_str() : sf::describe(r.error()).c_str());
    return false;
  }
  return true;
}

bool merge_git_cli(const std::string& root, const std::string& tip) {
  std::string g = "git -C " + quote(root) + " ";
  std::string old = capture(g + "rev-parse main");
  std::string tree = capture(g + "merge-tree --write-tree main " + tip);
  if (old.empty() || tree.empty())
    return false;
  std::string commit = capture(g + "commit-tree " + tree + " -p " + old + " -p " + tip +
                               " -m merge");
  return !commit.empty() && sh(g + "update-ref refs/heads/main " + commit + " " + old);
}

bool merge_no_ff(const std::string& checkout, const std::string& tip) {
  return sh("git -C " + quote(checkout) + " merge --no-ff -q -m merge " + tip + " >/dev/null");
}

bool merge_libgit2(const std::string& root, const std::string& tip_hex) {
  auto repo = sf::io::open_repo(root);
  if (!repo)
    return false;
  git_repository* r = repo->get();
  git_oid main_id, tip_id, tree_id, commit_id;
  if (git_reference_name_to_id(&main_id, r, "refs/heads/main") != 0 ||
      git_oid_fromstr(&tip_id, tip_hex.c_str()) != 0)
    return false;
  git_commit *ours = nullptr, *theirs = nullptr;
  if (git_commit_lookup(&ours, r, &main_id) != 0)
    return false;
  sf::io::commit_ptr ours_ptr{ours};
  if (git_commit_lookup(&theirs, r, &tip_id) != 0)
    return false;
  sf::io::commit_ptr theirs_ptr{theirs};
  git_index* idx = nullptr;
  if (git_merge_commits(&idx, r, ours, theirs, nullptr) != 0)
    return false;
  sf::io::index_ptr index{idx};
  if (git_index_has_conflicts(idx) != 0 || git_index_write_tree_to(&tree_id, idx, r) != 0)
    return false;
  git_tree* tree = nullptr;
  if (git_tree_lookup(&tree, r, &tree_id) != 0)
    return false;
  sf::io::tree_ptr tree_ptr{tree};
  git_signature* sig = nullptr;
  if (git_signature_now(&sig, "bench", "b@example.com") != 0)
    return false;
  sf::io::signature_ptr sig_ptr{sig};
  const git_commit* parents[] = {ours, theirs};
  if (git_commit_create(&commit_id, r, nullptr, sig, sig, nullptr, "merge", tree, 2, parents) != 0)
    return false;
  git_reference* ref = nullptr;
  int rc = git_reference_create_matching(&ref, r, "refs/heads/main", &commit_id, 1, &main_id,
                                         "bench");
  git_reference_free(ref);
  return rc == 0;
}

} // namespace

int main(int argc, char** argv) {
  int files = 1000;
  int branches = 8;
  int rounds = 3;
  int renames = 0;
  bool quick = false;
  bool spread = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--files" && i + 1 < argc)
      files = std::atoi(argv[++i]);
    else if (a == "--branches" && i + 1 < argc)
      branches = std::atoi(argv[++i]);
    else if (a == "--renames" && i + 1 < argc)
      renames = std::atoi(argv[++i]);
    else if (a == "--quick")
      quick = true;
    else if (a == "--spread")
      spread = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--files N] [--branches K] [--renames R [--spread]] [--quick]\n",
                   argv[0]);
      return 2;
    }
  }
  if (renames > 0) {
    // One timed merge per round: more rounds for as many samples as a plain run has.
    branches = 2;
    rounds = 8;
    if (renames > files) {
      std::fprintf(stderr, "--renames must not exceed --files\n");
      return 2;
    }
  }
  // A rename run times one merge per round: three in a quick run, so that its median is not a
  // single sample.
  if (quick)
    rounds = renames > 0 ? 3 : 1;
  if (files < 100 || branches < 1) {
    std::fprintf(stderr, "--files must be at least 100 and --branches positive\n");
    return 2;
  }
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sf-merge-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = fs::canonical(tmpl).string();
  std::string root = dir + "/repo";
  auto t0 = clock_type::now();
  if (renames > 0 ? !make_rename_repo(root, files, renames, spread)
                   : !make_repo(root, files, branches))
    return 1;
  std::printf("# generated %d files and %d branches in %.0f ms under %s\n", files, branches,
              ms_since(t0), dir.c_str());
  if (renames > 0)
    std::printf("# milestone/B0 edits %d files, milestone/B1 renames %d (only B1's merge is "
                "timed)\n",
                2 * ((renames + 4) / 10), renames);
  std::string start = capture("git -C " + quote(root) + " rev-parse main");
  std::vector<std::string> tips;
  for (int b = 0; b < branches; ++b)
    tips.push_back(capture("git -C " + quote(root) + " rev-parse milestone/B" +
                           std::to_string(b)));
  // The checkout for `git merge --no-ff`: a local clone with main checked out.
  std::string checkout = dir + "/checkout";
  t0 = clock_type::now();
  if (!sh("git clone -q -b main " + quote(root) + " " + quote(checkout) + " && git -C " +
          quote(checkout) + " config user.email b@example.com && git -C " + quote(checkout) +
          " config user.name bench"))
    return 1;
  std::printf("# cloned a checkout for git merge --no-ff in %.0f ms\n", ms_since(t0));
  std::vector<double> ours, cli, lg2, noff;
  bool ok = true;
  auto reset = [&] { return sh("git -C " + quote(root) + " update-ref refs/heads/main " + start); };
  auto reset_checkout = [&] {
    return sh("git -C " + quote(checkout) + " reset -q --hard " + start);
  };
  std::vector<double> warmup;
  std::vector<std::vector<double>*> order{&ours, &cli, &lg2, &noff};
  // Round 0 warms the page cache and the disk (the first fsyncs cost ~10 ms) and is dropped;
  // the order rotates so no contender always runs right after another's writes.
  for (int round = 0; round <= rounds && ok; ++round) {
    std::rotate(order.begin(), order.begin() + 1, order.end());
    for (auto* counted : order) {
      auto* v = round == 0 ? &warmup : counted;
      ok = ok && (counted == &noff ? reset_checkout() : reset());
      for (int b = 0; b < branches && ok; ++b) {
        t0 = clock_type::now();
        if (counted == &ours)
          ok = merge_ours(root, "B" + std::to_string(b), tips[b]);
        else if (counted == &cli)
          ok = merge_git_cli(root, tips[b]);
        else if (counted == &noff)
          ok = merge_no_ff(checkout, tips[b]);
        else
          ok = merge_libgit2(root, tips[b]);
        // In the rename-heavy run the first merge only sets the stage.
        if (renames == 0 || b == 1)
          v->push_back(ms_since(t0));
      }
    }
  }
  if (ok) {
    for (auto [name, v] : {std::pair{"merge_milestone", &ours}, std::pair{"git_cli", &cli},
                           std::pair{"git_merge_commits", &lg2},
                           std::pair{"git_merge_no_ff", &noff}}) {
      auto s = summarize(*v);
      std::printf("%s %.2f %.2f %.2f ms\n", name, s.min, s.median, s.p99);
    }
    std::printf("# files=%d branches=%d renames=%d rounds=%d\n", files, branches, renames,
                rounds);
  }
  std::error_code ec;
  if (!sf::bench::keep_scratch())
    fs::remove_all(dir, ec);
  return ok ? 0 : 1;
}
