#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

#include "sandbox/Sandbox.h"

namespace chfleet::testing {

/// A loopback TCP port that nothing listens on now, below the kernel's ephemeral range (as the sandbox picks
/// its ports): an outgoing connection can never take it between this call and the test's server binding it.
inline uint16_t freeLoopbackPort() {
    return sandbox::findFreePortRange(1);
}

/// A loopback port free for both TCP and UDP now, below the ephemeral range (a DNS server binds both).
inline uint16_t freeLoopbackDnsPort() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        uint16_t port = freeLoopbackPort();
        int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool bound = ::bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
        ::close(udp);
        if (bound) {
            return port;
        }
    }
    throw std::runtime_error("no loopback port free for both TCP and UDP below the ephemeral range");
}

/// A loopback port where connections are refused for as long as this object lives: a socket bound to it
/// and never listening holds it, so no other process can take the port meanwhile.
class RefusingPort {
  public:
    RefusingPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            throw std::runtime_error("cannot bind a loopback port");
        }
        port_ = ntohs(address.sin_port);
    }
    ~RefusingPort() { ::close(fd_); }
    RefusingPort(const RefusingPort&) = delete;
    RefusingPort& operator=(const RefusingPort&) = delete;

    uint16_t port() const { return port_; }

  private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

}  // namespace chfleet::testing
