// A mail target: each message is one mail (mail_message.h) sent through
// libcurl's smtp:// or smtps:// on the loop, with STARTTLS when asked.
// Failures are worth a retry unless the server's last answer was a
// permanent (5xx) one.
#ifndef WATCHD_NOTIFY_MAIL_SENDER_H_
#define WATCHD_NOTIFY_MAIL_SENDER_H_

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "notify/curl_sender.h"

namespace watchd {

class MailSender : public CurlSender {
 public:
  // `password`: the contents of password_file, read at start.
  MailSender(CurlMulti* curl, const MailTargetConfig& config,
             std::optional<std::string> password);
  ~MailSender() override;

 protected:
  Status Configure(CURL* easy, const std::vector<Notification>& batch) override;
  Delivery Judge(CURL* easy, CURLcode code) override;

 private:
  struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };

  static size_t Read(char* buffer, size_t size, size_t count, void* self);

  MailTargetConfig config_;
  std::optional<std::string> password_;
  std::string from_;  // "<address>"
  std::unique_ptr<curl_slist, SlistDeleter> recipients_;
  std::string message_;  // of the mail in flight
  size_t sent_ = 0;      // bytes of message_ handed to curl
  uint64_t count_ = 0;   // mails built, for Message-ID
};

}  // namespace watchd

#endif  // WATCHD_NOTIFY_MAIL_SENDER_H_
