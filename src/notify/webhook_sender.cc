#include "notify/webhook_sender.h"

#include "core/version.h"
#include "notify/webhook_json.h"

namespace watchd {

WebhookSender::WebhookSender(CurlMulti* curl, const WebhookTargetConfig& config)
    : CurlSender(curl), config_(config) {
  curl_slist* list = nullptr;
  auto append = [&](const std::string& line) {
    if (curl_slist* grown = curl_slist_append(list, line.c_str())) {
      list = grown;
    }
  };
  append("Content-Type: application/json");
  append("User-Agent: watchd/" WATCHD_VERSION);
  // No "Expect: 100-continue" round trip for a large digest.
  append("Expect:");
  for (const auto& [name, value] : config_.headers) {
    // "Name;" is curl's way to send a header with an empty value.
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  headers_.reset(list);
}

WebhookSender::~WebhookSender() = default;

Status WebhookSender::Configure(CURL* easy,
                                const std::vector<Notification>& batch) {
  if (!headers_) return Status::Error("out of memory");
  body_ = WebhookBody(batch);
  curl_easy_setopt(easy, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body_.size()));
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body_.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WebhookSender::Discard);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(
      easy, CURLOPT_TIMEOUT_MS,
      static_cast<long>(
          std::chrono::ceil<std::chrono::milliseconds>(config_.timeout)
              .count()));
  if (!config_.tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return Status::Ok();
}

size_t WebhookSender::Discard(char*, size_t size, size_t count, void*) {
  return size * count;
}

Delivery WebhookSender::Judge(CURL* easy, CURLcode code) {
  body_.clear();
  if (code != CURLE_OK) {
    bool permanent = code == CURLE_UNSUPPORTED_PROTOCOL ||
                     code == CURLE_URL_MALFORMAT ||
                     code == CURLE_PEER_FAILED_VERIFICATION;
    return {Status::Error(config_.url + ": " + Error(code)), !permanent};
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return {Status::Ok(), false};
  bool retry = status >= 500 || status == 408 || status == 429;
  return {
      Status::Error(config_.url + " answered HTTP " + std::to_string(status)),
      retry};
}

}  // namespace watchd
