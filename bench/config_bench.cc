// LoadConfig on generated files of N services with one http check each
// (bench/gen_config.py), to show it is fast and linear in N.
//
//   cmake --build build --target config_bench && build/config_bench
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "config/loader.h"

namespace {

// Generated files, one per size, in a directory removed at exit.
class GeneratedFiles {
 public:
  GeneratedFiles() {
    char tmpl[] = "/tmp/watchd-config-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    dir_ = tmpl;
  }
  ~GeneratedFiles() { std::filesystem::remove_all(dir_); }

  // The file for `n` checks, made by gen_config.py on first use.
  const std::string& For(int n) {
    auto it = files_.find(n);
    if (it != files_.end()) return it->second;
    std::string generator =
        (std::filesystem::path(__FILE__).parent_path() / "gen_config.py")
            .string();
    std::string path = dir_ + "/checks-" + std::to_string(n) + ".yaml";
    std::string command = "python3 '" + generator + "' " + std::to_string(n) +
                          " > '" + path + "'";
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "failed: %s\n", command.c_str());
      std::exit(1);
    }
    return files_.emplace(n, path).first->second;
  }

 private:
  std::string dir_;
  std::map<int, std::string> files_;
};

const std::string& ConfigFile(int n) {
  static GeneratedFiles files;
  return files.For(n);
}

void BM_LoadConfig(benchmark::State& state) {
  const std::string& path = ConfigFile(static_cast<int>(state.range(0)));
  size_t checks = 0;
  for (auto _ : state) {
    watchd::LoadResult result = watchd::LoadConfig(path);
    if (!result.ok()) {
      state.SkipWithError(result.errors[0].ToString().c_str());
      return;
    }
    checks = result.config.services.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["checks"] = static_cast<double>(checks);
  state.counters["bytes"] =
      static_cast<double>(std::filesystem::file_size(path));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(checks));
}
BENCHMARK(BM_LoadConfig)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(20000)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
