#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/Process.h"
#include "shared/FreePort.h"
#include "shared/WaitUntil.h"

namespace chfleet::testing {

/// A UDP socket on a loopback port that receives queries and never answers: a DNS server that times out.
class SilentDnsServer {
  public:
    SilentDnsServer() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            ::close(fd_);
            throw std::runtime_error("cannot bind a silent UDP port");
        }
        port_ = ntohs(address.sin_port);
    }
    ~SilentDnsServer() { ::close(fd_); }
    SilentDnsServer(const SilentDnsServer&) = delete;
    SilentDnsServer& operator=(const SilentDnsServer&) = delete;

    /// "127.0.0.1:port", as DNS_SERVER.
    std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

/// A real dnsmasq (package dnsmasq-base) serving fixed A records on a free loopback port, for tests of
/// anything that resolves a failover record. Started with --no-daemon (foreground, no user switch, so it runs
/// the same as root or not) in a session of its own with
/// process::spawnDetached, stopped by pid (its private folder is the marker that protects against pid reuse).
/// Each record is a --host-record in a --local domain, so a name with only an IPv6 address has no A record
/// (NOERROR, no answer); names it does not know are answered REFUSED (no upstream servers). restart() changes
/// the records on the same port, as a DNS failover would.
///
///     DnsmasqFixture dns(DnsmasqFixture::Records{{"failover.test", "127.0.0.5"}});
///     settings.dns_server = dns.server();
class DnsmasqFixture {
  public:
    /// name -> IPv4 (or IPv6, which gives the name no A record).
    using Records = std::map<std::string, std::string>;

    explicit DnsmasqFixture(Records records, std::string binary = "/usr/sbin/dnsmasq")
        : binary_(std::move(binary)), records_(std::move(records)) {
        char pattern[] = "/tmp/chfleet-dnsmasq-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) {
            throw std::runtime_error("cannot create a folder for dnsmasq");
        }
        dir_ = pattern;
        std::ofstream(dir_ + "/dnsmasq.conf").flush();
        port_ = freeLoopbackDnsPort();
        start();
    }

    ~DnsmasqFixture() {
        stop();
        std::error_code ignored_if_already_gone;
        std::filesystem::remove_all(dir_, ignored_if_already_gone);
    }

    DnsmasqFixture(const DnsmasqFixture&) = delete;
    DnsmasqFixture& operator=(const DnsmasqFixture&) = delete;

    /// Stops dnsmasq and starts it again on the same port with `records`.
    void restart(Records records) {
        stop();
        records_ = std::move(records);
        start();
    }

    uint16_t port() const { return port_; }
    /// "127.0.0.1:port", as DNS_SERVER.
    std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
    /// dnsmasq's own log (queries included), to print when a test failed.
    std::string log() const {
        std::ifstream in(dir_ + "/dnsmasq.log");
        std::stringstream buffer;
        buffer << in.rdbuf();
        return buffer.str();
    }

  private:
    std::string marker() const { return "--conf-file=" + dir_ + "/dnsmasq.conf"; }

    void start() {
        std::vector<std::string> argv = {binary_,
                                         "--no-daemon",
                                         "--port=" + std::to_string(port_),
                                         "--listen-address=127.0.0.1",
                                         "--bind-interfaces",
                                         "--no-resolv",
                                         "--no-hosts",
                                         "--no-poll",
                                         "--pid-file=",
                                         "--log-facility=-",
                                         "--log-queries",
                                         marker()};
        for (const auto& [name, address] : records_) {
            argv.push_back("--host-record=" + name + "," + address);
            argv.push_back("--local=/" + name + "/");  // answered here only: other types get NOERROR, no data
        }
        pid_ = process::spawnDetached(argv, dir_ + "/dnsmasq.log", dir_);
        waitUntilAnswering();
    }

    void stop() {
        if (pid_ > 0) {
            process::stop(pid_, marker(), std::chrono::seconds(5));
            pid_ = 0;
        }
    }

    /// Sends a query for "ready.invalid" until any answer (REFUSED is one) comes back.
    void waitUntilAnswering() {
        // Header: id 0x4348, recursion desired, one question; then QNAME, QTYPE A, QCLASS IN.
        const unsigned char query[] = {0x43, 0x48, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x00, 5,    'r',  'e',  'a',  'd',  'y',  7,    'i',  'n',  'v',
                                       'a',  'l',  'i',  'd',  0,    0x00, 0x01, 0x00, 0x01};
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port_);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool answering = waitUntil([&] {
            if (!process::isRunning(pid_, marker())) {
                throw std::runtime_error("dnsmasq exited at start:\n" + log());
            }
            int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
            ::sendto(fd, query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&address), sizeof(address));
            pollfd wait{fd, POLLIN, 0};
            unsigned char answer[512];
            bool answered = ::poll(&wait, 1, 100) == 1 && ::recv(fd, answer, sizeof(answer), 0) >= 2 &&
                            answer[0] == 0x43 && answer[1] == 0x48;
            ::close(fd);
            return answered;
        });
        if (!answering) {
            throw std::runtime_error("dnsmasq does not answer on " + server() + ":\n" + log());
        }
    }

    std::string binary_;
    Records records_;
    std::string dir_;
    uint16_t port_ = 0;
    pid_t pid_ = 0;
};

}  // namespace chfleet::testing
