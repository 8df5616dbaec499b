// Disconnected TCP sockets kept for the next connection. connect(AF_UNSPEC)
// resets a socket to unconnected in a fraction of what closing it and
// allocating another costs the kernel (no socket, file or inode to free
// and create), which is a tenth of a plain-http probe's CPU.
#ifndef WATCHD_NET_SOCKET_POOL_H_
#define WATCHD_NET_SOCKET_POOL_H_

#include <cstddef>
#include <vector>

namespace watchd {

class SocketPool {
 public:
  static constexpr size_t kDefaultCapacity = 64;

  // Keeps at most `capacity` sockets of each address family.
  explicit SocketPool(size_t capacity = kDefaultCapacity)
      : capacity_(capacity) {}
  ~SocketPool();  // closes the sockets it keeps
  SocketPool(const SocketPool&) = delete;
  SocketPool& operator=(const SocketPool&) = delete;

  // An unconnected, unbound TCP socket of `family` (AF_INET or AF_INET6)
  // with the options it was given back with, or -1 when none is kept.
  int Take(int family);
  // Takes `fd`, a TCP socket of `family` that no epoll set holds: resets
  // its connection (a RST if one is open) and keeps it, or closes it when
  // the pool is full or the reset fails.
  void Give(int fd, int family);

  size_t size() const { return v4_.size() + v6_.size(); }

 private:
  std::vector<int>* Shelf(int family);

  size_t capacity_;
  std::vector<int> v4_;
  std::vector<int> v6_;
};

}  // namespace watchd

#endif  // WATCHD_NET_SOCKET_POOL_H_
