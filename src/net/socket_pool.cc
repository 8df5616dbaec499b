#include "net/socket_pool.h"

#include <sys/socket.h>
#include <unistd.h>

namespace watchd {

SocketPool::~SocketPool() {
  for (int fd : v4_) close(fd);
  for (int fd : v6_) close(fd);
}

std::vector<int>* SocketPool::Shelf(int family) {
  if (family == AF_INET) return &v4_;
  if (family == AF_INET6) return &v6_;
  return nullptr;
}

int SocketPool::Take(int family) {
  std::vector<int>* shelf = Shelf(family);
  if (shelf == nullptr || shelf->empty()) return -1;
  int fd = shelf->back();
  shelf->pop_back();
  return fd;
}

void SocketPool::Give(int fd, int family) {
  std::vector<int>* shelf = Shelf(family);
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  // Leaves the socket in CLOSE with its local port released, as new.
  if (shelf == nullptr || shelf->size() >= capacity_ ||
      connect(fd, &unspec, sizeof(unspec)) != 0) {
    close(fd);
    return;
  }
  shelf->push_back(fd);
}

}  // namespace watchd
