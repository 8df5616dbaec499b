#include "os/safe_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

namespace watchd {
namespace {

bool TrustedOwner(uid_t uid, uid_t trusted_uid) {
  return uid == 0 || uid == trusted_uid;
}

std::string Owner(uid_t uid) { return "uid " + std::to_string(uid); }

}  // namespace

const char* FileTypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFLNK:
      return "a symbolic link";
  }
  return "not a regular file";
}

Result<int> OpenRegularFile(const std::string& path, const char* what,
                            struct stat* st) {
  const std::string who = std::string(what) + " " + path;
  int fd = open(path.c_str(),
                O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) {
    const int error = errno;
    struct stat lst;
    if (error == ELOOP && lstat(path.c_str(), &lst) == 0 &&
        S_ISLNK(lst.st_mode)) {
      return Status::Error(who + " is a symbolic link; name the file itself");
    }
    return Status::Error("cannot read " + who + ": " + strerror(error));
  }
  if (fstat(fd, st) != 0) {
    const int error = errno;
    close(fd);
    return Status::Error("cannot read " + who + ": " + strerror(error));
  }
  if (!S_ISREG(st->st_mode)) {
    close(fd);
    return Status::Error(who + " is " + FileTypeName(st->st_mode) +
                         ", not a regular file");
  }
  return fd;
}

std::string UntrustedBecause(const std::string& path, const struct stat& st,
                             uid_t trusted_uid) {
  if (!TrustedOwner(st.st_uid, trusted_uid)) {
    return "it is owned by " + Owner(st.st_uid);
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return "it is writable by group or others";
  }
  // Every directory on the way: whoever may rename an entry of one may put
  // another file in the pidfile's place.
  std::string dir = path;
  for (;;) {
    size_t slash = dir.find_last_of('/');
    if (slash == std::string::npos) {
      dir = ".";
    } else {
      dir.resize(slash == 0 ? 1 : slash);
    }
    struct stat ds;
    if (stat(dir.c_str(), &ds) != 0) {
      return "its directory " + dir + " cannot be examined: " + strerror(errno);
    }
    if (!TrustedOwner(ds.st_uid, trusted_uid)) {
      return "its directory " + dir + " is owned by " + Owner(ds.st_uid);
    }
    if ((ds.st_mode & (S_IWGRP | S_IWOTH)) && !(ds.st_mode & S_ISVTX)) {
      return "its directory " + dir + " is writable by group or others";
    }
    if (dir == "/" || dir == ".") return "";
  }
}

}  // namespace watchd
