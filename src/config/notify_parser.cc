#include "config/notify_parser.h"

#include <array>
#include <optional>
#include <string_view>

#include "config/host_port.h"
#include "config/node_reader.h"
#include "config/placeholders.h"
#include "config/probe_parser.h"

namespace watchd {
namespace {

constexpr std::string_view kNotifyKeys[] = {"targets", "reminder", "coalesce",
                                            "queue_max", "retry"};
constexpr std::string_view kRetryKeys[] = {"attempts", "initial", "within"};
enum TargetKey { kWebhook, kMail, kCommand, kEvents, kServices };
constexpr std::string_view kTargetKeys[] = {"webhook", "mail", "command",
                                            "events", "services"};
constexpr std::string_view kWebhookKeys[] = {"url", "headers", "timeout",
                                             "tls_verify"};
enum MailKey {
  kMailUrl,
  kFrom,
  kTo,
  kStarttls,
  kUsername,
  kPasswordFile,
  kSubject,
  kBody,
  kMailTimeout,
  kMailTlsVerify
};
constexpr std::string_view kMailKeys[] = {
    "url",           "from",    "to",   "starttls", "username",
    "password_file", "subject", "body", "timeout",  "tls_verify"};
constexpr std::string_view kCommandKeys[] = {"argv", "timeout"};

// Why `url` is not smtp://host[:port] or smtps://host[:port], or "".
std::string SmtpUrlProblem(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("smtp://")) {
    rest = url.substr(7);
  } else if (url.starts_with("smtps://")) {
    rest = url.substr(8);
  } else {
    return "must start with smtp:// or smtps://";
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return "expected only a host and a port (credentials go in username "
           "and password_file)";
  }
  if (rest.empty()) return "has no host";
  const int default_port = url.starts_with("smtps://") ? 465 : 25;
  Result<HostPort> hp = ParseHostPort(rest, default_port);
  if (!hp.ok()) return hp.status().message();
  return "";
}

// A mail address as it goes into MAIL FROM / RCPT TO and the headers:
// local@domain with nothing that could end a line or an address.
bool PlausibleAddress(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == address.size()) {
    return false;
  }
  for (char c : address) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '<' ||
        c == '>' || c == ',' || c == '"' || c == '(' || c == ')') {
      return false;
    }
  }
  return true;
}

std::optional<std::string> Address(NodeReader& reader, uint32_t node) {
  std::optional<std::string> address = reader.NonEmptyString(node);
  if (address && !PlausibleAddress(*address)) {
    reader.Error(node, "invalid mail address '" + *address +
                           "': expected local@domain, without a name or <>");
    return std::nullopt;
  }
  return address;
}

std::optional<std::string> Template(NodeReader& reader, uint32_t node) {
  std::optional<std::string> text = reader.String(node);
  if (text) CheckTextPlaceholders(reader, node, *text, kNotifyFields);
  return text;
}

WebhookTargetConfig ParseWebhook(NodeReader& reader, uint32_t node) {
  WebhookTargetConfig hook;
  bool has_url = false;
  reader.ForEachField(node, kWebhookKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        has_url = true;
        if (auto url = reader.NonEmptyString(f.value)) {
          if (std::string why = HttpUrlProblem(*url); !why.empty()) {
            reader.Error(f.value, "invalid url '" + *url + "': " + why);
          }
          hook.url = std::move(*url);
        }
        break;
      case 1:
        ReadHeaders(reader, f.value, &hook.headers);
        break;
      case 2:
        if (auto d = reader.PositiveDuration(f.value)) hook.timeout = *d;
        break;
      case 3:
        if (auto b = reader.Bool(f.value)) hook.tls_verify = *b;
        break;
    }
  });
  if (!has_url) reader.Error(node, "missing required key 'url' for webhook");
  return hook;
}

MailTargetConfig ParseMail(NodeReader& reader, uint32_t node) {
  MailTargetConfig mail;
  std::array<std::optional<uint32_t>, std::size(kMailKeys)> keys;
  reader.ForEachField(node, kMailKeys, [&](const NodeReader::Field& f) {
    keys[f.index] = f.key_node;
    switch (f.index) {
      case kMailUrl:
        if (auto url = reader.NonEmptyString(f.value)) {
          if (std::string why = SmtpUrlProblem(*url); !why.empty()) {
            reader.Error(f.value, "invalid url '" + *url + "': " + why);
          }
          mail.url = std::move(*url);
        }
        break;
      case kFrom:
        if (auto from = Address(reader, f.value)) mail.from = std::move(*from);
        break;
      case kTo: {
        auto add = [&](uint32_t item) {
          if (auto to = Address(reader, item))
            mail.to.push_back(std::move(*to));
        };
        if (reader.IsSequence(f.value)) {
          reader.ForEachItem(f.value, add);
          if (mail.to.empty() && !reader.IsNull(f.value)) {
            reader.Error(f.value, "expected at least one address");
          }
        } else {
          add(f.value);
        }
        break;
      }
      case kStarttls:
        if (auto b = reader.Bool(f.value)) mail.starttls = *b;
        break;
      case kUsername:
        if (auto user = reader.NonEmptyString(f.value)) {
          mail.username = std::move(*user);
        }
        break;
      case kPasswordFile:
        if (auto path = reader.NonEmptyString(f.value)) {
          if (path->front() != '/') {
            reader.Error(f.value, "password_file must be an absolute path");
          }
          mail.password_file = std::move(*path);
        }
        break;
      case kSubject:
        if (auto t = Template(reader, f.value)) mail.subject = std::move(*t);
        break;
      case kBody:
        if (auto t = Template(reader, f.value)) mail.body = std::move(*t);
        break;
      case kMailTimeout:
        if (auto d = reader.PositiveDuration(f.value)) mail.timeout = *d;
        break;
      case kMailTlsVerify:
        if (auto b = reader.Bool(f.value)) mail.tls_verify = *b;
        break;
    }
  });
  for (MailKey key : {kMailUrl, kFrom, kTo}) {
    if (!keys[key]) {
      reader.Error(node, "missing required key '" +
                             std::string(kMailKeys[key]) + "' for mail");
    }
  }
  if (keys[kStarttls] && mail.url.starts_with("smtps://")) {
    reader.Error(*keys[kStarttls],
                 "'starttls' applies only to smtp:// (smtps:// is TLS from "
                 "the start)");
  }
  if (keys[kPasswordFile] && !keys[kUsername]) {
    reader.Error(*keys[kPasswordFile], "password_file needs a username");
  }
  return mail;
}

CommandTargetConfig ParseCommand(NodeReader& reader, uint32_t node) {
  CommandTargetConfig command;
  auto read_argv = [&](uint32_t argv_node) {
    if (auto argv = reader.Argv(argv_node, &command.argv0_location)) {
      CheckArgvPlaceholders(reader, argv_node, kNotifyFields);
      command.argv = std::move(*argv);
    }
  };
  if (reader.IsSequence(node)) {
    read_argv(node);
    return command;
  }
  if (!reader.IsMap(node)) {
    reader.Error(node,
                 "expected a command list like [/usr/local/bin/page, "
                 "\"{service}\"] or {argv: [...], timeout: 30s}");
    return command;
  }
  bool has_argv = false;
  reader.ForEachField(node, kCommandKeys, [&](const NodeReader::Field& f) {
    if (f.index == 0) {
      has_argv = true;
      read_argv(f.value);
    } else if (auto d = reader.PositiveDuration(f.value)) {
      command.timeout = *d;
    }
  });
  if (!has_argv) reader.Error(node, "missing required key 'argv' for command");
  return command;
}

NotifyEventSet ParseEvents(NodeReader& reader, uint32_t node) {
  NotifyEventSet events = 0;
  auto add = [&](uint32_t item) {
    if (auto choice = reader.Choice(item, kNotifyEventNames)) {
      events |= 1u << *choice;
    }
  };
  if (reader.IsSequence(node)) {
    reader.ForEachItem(node, add);
  } else if (reader.IsMap(node)) {
    reader.Error(node, "expected an event name or a list of them");
  } else if (!reader.IsNull(node)) {
    add(node);
  }
  return events;
}

void ParseServices(NodeReader& reader, uint32_t node,
                   NotifyTargetConfig* target, NotifyRefs* refs) {
  auto add = [&](uint32_t item) {
    std::optional<std::string> pattern = reader.NonEmptyString(item);
    if (!pattern) return;
    if (pattern->find_first_of("*?[") == std::string::npos) {
      refs->service_names.push_back(
          {target->name, *pattern, reader.Location(item)});
    }
    target->services.push_back(std::move(*pattern));
  };
  if (reader.IsSequence(node)) {
    reader.ForEachItem(node, add);
  } else if (reader.IsMap(node)) {
    reader.Error(node, "expected a service name or pattern, or a list");
  } else if (!reader.IsNull(node)) {
    add(node);
  }
}

NotifyTargetConfig ParseTarget(NodeReader& reader, const std::string& name,
                               uint32_t key_node, uint32_t node,
                               NotifyRefs* refs) {
  NotifyTargetConfig target;
  target.name = name;
  target.location = reader.Location(key_node);
  std::optional<uint32_t> kind_key;
  reader.ForEachField(node, kTargetKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case kWebhook:
      case kMail:
      case kCommand:
        if (kind_key) {
          reader.Error(f.key_node,
                       "a target has one of webhook, mail or command: '" +
                           std::string(f.key) + "' is a second one");
          return;
        }
        kind_key = f.key_node;
        if (f.index == kWebhook) {
          target.kind = ParseWebhook(reader, f.value);
        } else if (f.index == kMail) {
          target.kind = ParseMail(reader, f.value);
        } else {
          target.kind = ParseCommand(reader, f.value);
        }
        break;
      case kEvents:
        target.events = ParseEvents(reader, f.value);
        break;
      case kServices:
        ParseServices(reader, f.value, &target, refs);
        break;
    }
  });
  if (!kind_key && (reader.IsMap(node) || reader.IsNull(node))) {
    reader.Error(node, "missing the target's kind: webhook, mail or command");
  }
  return target;
}

void ParseRetry(NodeReader& reader, uint32_t node, NotifyRetry* retry) {
  reader.ForEachField(node, kRetryKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        if (auto n = reader.Int(f.value, 1, 100)) {
          retry->attempts = static_cast<int>(*n);
        }
        break;
      case 1:
        if (auto d = reader.PositiveDuration(f.value)) retry->initial = *d;
        break;
      case 2:
        if (auto d = reader.PositiveDuration(f.value)) retry->within = *d;
        break;
    }
  });
}

}  // namespace

void ParseNotify(NodeReader& reader, uint32_t node, NotifyConfig* notify,
                 NotifyRefs* refs) {
  reader.ForEachField(node, kNotifyKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        reader.ForEachEntry(
            f.value, /*unique=*/true, [&](const NodeReader::Entry& e) {
              if (!reader.CheckName(e.key_node, e.name, "target")) return;
              notify->targets[e.name] =
                  ParseTarget(reader, e.name, e.key_node, e.value, refs);
            });
        break;
      case 1:
        if (auto d = reader.ReadDuration(f.value)) notify->reminder = *d;
        break;
      case 2:
        if (auto d = reader.ReadDuration(f.value)) notify->coalesce = *d;
        break;
      case 3:
        if (auto n = reader.Int(f.value, 1, 1'000'000)) {
          notify->queue_max = static_cast<size_t>(*n);
        }
        break;
      case 4:
        ParseRetry(reader, f.value, &notify->retry);
        break;
    }
  });
}

}  // namespace watchd
