// The RFC 5322 message a mail target sends: headers (Date, From, To,
// Subject, Message-ID, MIME) and a plain-text UTF-8 body, CRLF line ends.
#ifndef WATCHD_NOTIFY_MAIL_MESSAGE_H_
#define WATCHD_NOTIFY_MAIL_MESSAGE_H_

#include <string>
#include <vector>

#include "config/config.h"
#include "notify/notification.h"

namespace watchd {

// The subject of `batch`: the configured template for one notification,
// "watchd: N events: web hung, db dead, ..." for a digest. Never holds a
// line break.
std::string MailSubject(const MailTargetConfig& mail,
                        const std::vector<Notification>& batch);

// The whole message; `message_id` is the part inside <>, unique per mail.
std::string BuildMailMessage(const MailTargetConfig& mail,
                             const std::vector<Notification>& batch,
                             SystemTime now, const std::string& message_id);

}  // namespace watchd

#endif  // WATCHD_NOTIFY_MAIL_MESSAGE_H_
