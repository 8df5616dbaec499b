#include "notify/command_sender.h"

#include <set>

#include "actions/argv_template.h"
#include "os/child_process.h"

namespace watchd {
namespace {

// Output kept for the log line of a failed run.
constexpr size_t kMaxOutput = 1024;

std::string Upper(std::string_view field) {
  std::string out = "WATCHD_";
  for (char c : field)
    out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

// Line breaks would split one notification's line in WATCHD_EVENTS.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

std::map<std::string, std::string> CommandFields(
    const std::vector<Notification>& batch) {
  std::map<std::string, std::string> fields;
  if (batch.size() == 1) {
    for (std::string_view field : kNotifyFields) {
      fields.emplace(std::string(field), FieldValue(batch[0], field));
    }
    return fields;
  }
  std::string services;
  std::set<std::string> seen;
  for (const Notification& n : batch) {
    if (n.service.empty() || !seen.insert(n.service).second) continue;
    services += (services.empty() ? "" : " ") + n.service;
  }
  for (std::string_view field : kNotifyFields) fields[std::string(field)];
  fields["event"] = "digest";
  fields["service"] = services;
  fields["reason"] = std::to_string(batch.size()) + " events";
  fields["time"] = FieldValue(batch[0], "time");
  fields["host"] = batch[0].host;
  return fields;
}

std::vector<std::string> CommandEnvironment(
    const std::vector<Notification>& batch) {
  std::vector<std::string> env;
  for (const auto& [field, value] : CommandFields(batch)) {
    env.push_back(Upper(field) + "=" + value);
  }
  env.push_back("WATCHD_COUNT=" + std::to_string(batch.size()));
  std::string lines;
  for (const Notification& n : batch) {
    lines += NotificationTime(n.time) + " " +
             (n.service.empty() ? std::string("watchd") : n.service) + " " +
             NotifyEventName(n.event) +
             (n.reason.empty() ? "" : ": " + OneLine(n.reason)) + "\n";
  }
  env.push_back("WATCHD_EVENTS=" + lines);
  return env;
}

CommandSender::CommandSender(EventLoop* loop, const CommandTargetConfig& config)
    : loop_(loop), config_(config) {}

CommandSender::~CommandSender() = default;

void CommandSender::Send(const std::vector<Notification>& batch, Done done) {
  SpawnOptions options;
  options.max_output = kMaxOutput;
  options.env = CommandEnvironment(batch);
  child_ = ChildProcess::Spawn(
      loop_, SubstituteArgs(config_.argv, CommandFields(batch)),
      config_.timeout,
      [this, done = std::move(done)](const ChildResult& result) {
        Delivery delivery;
        if (!result.success()) {
          std::string output = result.output;
          while (!output.empty() &&
                 (output.back() == '\n' || output.back() == ' ')) {
            output.pop_back();
          }
          delivery.status =
              Status::Error(config_.argv[0] + ": " + result.Describe() +
                            (output.empty() ? "" : ": " + OneLine(output)));
          delivery.retry = true;
        }
        // ChildProcess runs this lambda from a local copy, so the child
        // may go first; `done` may Send again.
        child_.reset();
        done(std::move(delivery));
      },
      options);
}

}  // namespace watchd
