#include "notify/mail_sender.h"

#include <unistd.h>

#include <cstring>

#include "notify/mail_message.h"

namespace watchd {

MailSender::MailSender(CurlMulti* curl, const MailTargetConfig& config,
                       std::optional<std::string> password)
    : CurlSender(curl),
      config_(config),
      password_(std::move(password)),
      from_("<" + config.from + ">") {
  curl_slist* list = nullptr;
  bool ok = true;
  for (const std::string& to : config_.to) {
    curl_slist* grown = curl_slist_append(list, ("<" + to + ">").c_str());
    ok = ok && grown != nullptr;
    if (grown != nullptr) list = grown;
  }
  recipients_.reset(list);
  if (!ok) recipients_.reset();
}

MailSender::~MailSender() = default;

Status MailSender::Configure(CURL* easy,
                             const std::vector<Notification>& batch) {
  if (!recipients_) return Status::Error("out of memory");
  const SystemTime now = std::chrono::system_clock::now();
  const std::string host =
      batch.front().host.empty() ? "localhost" : batch.front().host;
  const std::string id =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         now.time_since_epoch())
                         .count()) +
      "." + std::to_string(getpid()) + "." + std::to_string(++count_) +
      ".watchd@" + host;
  message_ = BuildMailMessage(config_, batch, now, id);
  sent_ = 0;
  curl_easy_setopt(easy, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from_.c_str());
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, recipients_.get());
  curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, &MailSender::Read);
  curl_easy_setopt(easy, CURLOPT_READDATA, this);
  curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(message_.size()));
  curl_easy_setopt(
      easy, CURLOPT_TIMEOUT_MS,
      static_cast<long>(
          std::chrono::ceil<std::chrono::milliseconds>(config_.timeout)
              .count()));
  if (config_.starttls) curl_easy_setopt(easy, CURLOPT_USE_SSL, CURLUSESSL_ALL);
  if (config_.username) {
    curl_easy_setopt(easy, CURLOPT_USERNAME, config_.username->c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD,
                     password_ ? password_->c_str() : "");
  }
  if (!config_.tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return Status::Ok();
}

size_t MailSender::Read(char* buffer, size_t size, size_t count, void* self) {
  auto* sender = static_cast<MailSender*>(self);
  size_t n = std::min(size * count, sender->message_.size() - sender->sent_);
  memcpy(buffer, sender->message_.data() + sender->sent_, n);
  sender->sent_ += n;
  return n;
}

Delivery MailSender::Judge(CURL* easy, CURLcode code) {
  message_.clear();
  if (code == CURLE_OK) return {Status::Ok(), false};
  long reply = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply);
  std::string detail = config_.url + ": " + Error(code);
  if (reply != 0) detail += " (server said " + std::to_string(reply) + ")";
  // RFC 5321 4.2.1: 5yz is a permanent failure, 4yz a transient one.
  bool permanent =
      (reply >= 500 && reply < 600) || code == CURLE_LOGIN_DENIED ||
      code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT;
  return {Status::Error(detail), !permanent};
}

}  // namespace watchd
