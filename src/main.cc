// watchd: the daemon's command line.
#include <getopt.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <stdio.h>

#include <string>

#include "config/loader.h"
#include "core/version.h"
#include "daemon/daemon.h"
#include "daemon/preflight.h"

namespace {

constexpr char kUsage[] =
    "usage: watchd -c FILE [--check-config]\n"
    "       watchd --version\n"
    "\n"
    "  -c, --config FILE   configuration file (default "
    "/etc/watchd/watchd.yaml)\n"
    "      --check-config  validate the configuration and exit: 0 valid,\n"
    "                      1 invalid (every error as FILE:LINE:COL: message)\n"
    "  -V, --version       print the version and exit\n"
    "  -h, --help          this text\n";

spdlog::level::level_enum ToSpdlog(watchd::LogLevel level) {
  switch (level) {
    case watchd::LogLevel::kTrace:
      return spdlog::level::trace;
    case watchd::LogLevel::kDebug:
      return spdlog::level::debug;
    case watchd::LogLevel::kInfo:
      return spdlog::level::info;
    case watchd::LogLevel::kWarn:
      return spdlog::level::warn;
    case watchd::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/watchd/watchd.yaml";
  bool check_only = false;
  enum { kCheckConfig = 1000 };
  static const option kOptions[] = {
      {"config", required_argument, nullptr, 'c'},
      {"check-config", no_argument, nullptr, kCheckConfig},
      {"version", no_argument, nullptr, 'V'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "c:Vh", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 'c':
        config_path = optarg;
        break;
      case kCheckConfig:
        check_only = true;
        break;
      case 'V':
        printf("watchd %s\n", WATCHD_VERSION);
        return 0;
      case 'h':
        fputs(kUsage, stdout);
        return 0;
      default:
        fputs(kUsage, stderr);
        return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "watchd: unexpected argument '%s'\n%s", argv[optind],
            kUsage);
    return 2;
  }

  watchd::LoadResult loaded = watchd::LoadConfig(config_path);
  if (loaded.ok()) loaded.errors = watchd::Preflight(loaded.config);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) {
      fprintf(stderr, "%s\n", e.ToString().c_str());
    }
    fprintf(stderr, "watchd: %zu error%s in configuration\n",
            loaded.errors.size(), loaded.errors.size() == 1 ? "" : "s");
    return 1;
  }
  if (check_only) {
    size_t checks = 0;
    for (const auto& s : loaded.config.services) checks += s.checks.size();
    printf("%s: ok (%zu services, %zu checks)\n", config_path.c_str(),
           loaded.config.services.size(), checks);
    return 0;
  }

  // Logs go to stderr: the supervisor (journald, supervisord) keeps them.
  auto logger = spdlog::stderr_color_mt("watchd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(ToSpdlog(loaded.config.daemon.log_level));
  // Peers that hang up must not kill the daemon; writes report EPIPE.
  signal(SIGPIPE, SIG_IGN);

  watchd::Daemon daemon(std::move(loaded.config), config_path);
  watchd::Status status = daemon.Init();
  if (!status.ok()) {
    spdlog::error("cannot start: {}", status.message());
    return 1;
  }
  return daemon.Run();
}
