#include "probes/dns_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace watchd {
namespace {

// How many records a reason lists before it summarises.
constexpr size_t kListedRecords = 5;

// Records compare as a resolver would: addresses by value ("::0001" is
// "::1"), names without case or a final dot. TXT is compared exactly.
std::string Normalize(const std::string& type, const std::string& record) {
  if (type == "TXT") return record;
  if (type == "A" || type == "AAAA") {
    const int family = type == "A" ? AF_INET : AF_INET6;
    unsigned char addr[sizeof(in6_addr)];
    char buf[INET6_ADDRSTRLEN];
    if (inet_pton(family, record.c_str(), addr) == 1 &&
        inet_ntop(family, addr, buf, sizeof(buf)) != nullptr) {
      return buf;
    }
    return record;
  }
  std::istringstream words(record);
  std::string out;
  for (std::string word; words >> word;) {
    while (word.size() > 1 && word.back() == '.') word.pop_back();
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

std::string List(const std::vector<std::string>& records) {
  std::string out;
  for (size_t i = 0; i < records.size() && i < kListedRecords; ++i) {
    if (i > 0) out += ", ";
    out += records[i];
  }
  if (records.size() > kListedRecords) {
    out += ", ... (" + std::to_string(records.size()) + " records)";
  }
  return out;
}

}  // namespace

DnsProbe::DnsProbe(const DnsProbeConfig& config, Resolver* resolver)
    : config_(config), resolver_(resolver) {
  std::transform(config_.type.begin(), config_.type.end(), config_.type.begin(),
                 [](unsigned char c) { return std::toupper(c); });
}

void DnsProbe::Start(Duration /*timeout*/, DoneCallback done) {
  done_ = std::move(done);
  running_ = true;
  const uint64_t run = ++runs_;
  std::weak_ptr<int> alive = alive_;
  Resolver::RequestId id = resolver_->QueryUncached(
      config_.name, config_.type,
      [this](const QueryAnswer& answer) { OnAnswer(answer); });
  // The answer may already have come (a bad name), maybe ending the run.
  if (alive.expired() || runs_ != run || !running_) return;
  request_ = id;
}

void DnsProbe::Cancel() {
  if (!running_) return;
  running_ = false;
  if (request_) resolver_->Cancel(*request_);
  request_.reset();
  done_ = nullptr;
}

void DnsProbe::OnAnswer(const QueryAnswer& answer) {
  running_ = false;
  request_.reset();
  ProbeResult result = Judge(answer);
  if (answer.lookup_time > Duration::zero()) {
    result.dns_lookup_seconds = ToSeconds(answer.lookup_time);
  }
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  // Last: done may start the next run, cancel or destroy this probe.
  done(std::move(result));
}

ProbeResult DnsProbe::Judge(const QueryAnswer& answer) const {
  if (!answer.status.ok()) return ProbeResult::Failure(answer.status.message());
  std::vector<std::string> got;
  got.reserve(answer.records.size());
  for (const auto& record : answer.records) {
    got.push_back(Normalize(config_.type, record));
  }
  for (const auto& expected : config_.expect) {
    if (std::find(got.begin(), got.end(), Normalize(config_.type, expected)) ==
        got.end()) {
      return ProbeResult::Failure("expected " + expected + ", got " +
                                  List(answer.records));
    }
  }
  return ProbeResult::Success(List(answer.records));
}

}  // namespace watchd
