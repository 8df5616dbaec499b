// watchd: the daemon's command line.
#include <getopt.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdio.h>

#include <string>

#include "config/loader.h"
#include "core/version.h"
#include "daemon/daemon.h"
#include "daemon/log_setup.h"

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

  // To stderr, which the supervisor (journald, supervisord) keeps, unless
  // the config names a file.
  const std::string log_file = loaded.config.daemon.log_file;
  watchd::Status logging = watchd::SetUpLogging(loaded.config.daemon);
  if (!logging.ok()) {
    fprintf(stderr, "watchd: %s\n", logging.message().c_str());
    return 1;
  }
  // Peers that hang up must not kill the daemon; writes report EPIPE.
  signal(SIGPIPE, SIG_IGN);

  watchd::Daemon daemon(std::move(loaded.config), config_path);
  watchd::Status status = daemon.Init();
  if (!status.ok()) {
    spdlog::error("cannot start: {}", status.message());
    // Whoever started watchd reads stderr, not the log file.
    if (!log_file.empty()) {
      fprintf(stderr, "watchd: cannot start: %s\n", status.message().c_str());
    }
    return 1;
  }
  return daemon.Run();
}
