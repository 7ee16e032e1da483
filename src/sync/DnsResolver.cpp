#include "sync/DnsResolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "sync/SyncSettings.h"

namespace chfleet::sync {

namespace {

std::once_flag ares_init_flag;
int ares_init_status = ARES_SUCCESS;

/// What the c-ares callback hands back to the waiting loop.
struct Outcome {
    bool done = false;
    int status = ARES_SUCCESS;
    std::vector<std::string> addresses;
};

std::string dotted(const in_addr& address) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &address, text, sizeof(text));
    return text;
}

void onQueryAnswer(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
    auto* outcome = static_cast<Outcome*>(arg);
    outcome->done = true;
    outcome->status = status;
    if (status != ARES_SUCCESS) {
        return;
    }
    ares_addrttl records[64];
    int count = 64;
    outcome->status = ares_parse_a_reply(answer, length, nullptr, records, &count);
    if (outcome->status == ARES_SUCCESS) {
        for (int i = 0; i < count; ++i) {
            outcome->addresses.push_back(dotted(records[i].ipaddr));
        }
    }
}

void onHostAnswer(void* arg, int status, int /*timeouts*/, hostent* host) {
    auto* outcome = static_cast<Outcome*>(arg);
    outcome->done = true;
    outcome->status = status;
    if (status != ARES_SUCCESS || host == nullptr || host->h_addrtype != AF_INET) {
        return;
    }
    for (char** entry = host->h_addr_list; *entry != nullptr; ++entry) {
        in_addr address{};
        std::memcpy(&address, *entry, sizeof(address));
        outcome->addresses.push_back(dotted(address));
    }
}

DnsFailure failureFor(int status, std::string_view name, const std::string& server,
                      std::chrono::milliseconds timeout) {
    using Kind = DnsFailure::Kind;
    switch (status) {
        case ARES_ENOTFOUND:
            return {Kind::NotFound, fmt::format("NXDOMAIN: {} does not exist according to {}", name, server)};
        case ARES_ENODATA:
            return {Kind::NoData, fmt::format("{} has no A record at {}", name, server)};
        case ARES_EREFUSED:
            return {Kind::Refused,
                    fmt::format("{} REFUSED the query for {} (is it serving this zone?)", server, name)};
        case ARES_ESERVFAIL:
            return {Kind::ServerFailure, fmt::format("{} answered SERVFAIL for {}", server, name)};
        case ARES_ENOTIMP:
            return {Kind::ServerFailure, fmt::format("{} answered NOTIMP for {}", server, name)};
        case ARES_ETIMEOUT:
        case ARES_ECANCELLED:
            return {Kind::Timeout,
                    fmt::format("no answer from {} for {} within {} ms", server, name, timeout.count())};
        case ARES_ECONNREFUSED:
            return {Kind::Unreachable,
                    fmt::format("{} is unreachable (connection refused: nothing listens there?)", server)};
        case ARES_EBADNAME:
            return {Kind::BadInput, fmt::format("'{}' is not a valid DNS name", name)};
        default:
            return {Kind::Other,
                    fmt::format("lookup of {} at {} failed: {}", name, server, ares_strerror(status))};
    }
}

/// Owns one c-ares channel.
struct Channel {
    ares_channel handle = nullptr;
    ~Channel() {
        if (handle != nullptr) {
            ares_destroy(handle);
        }
    }
};

}  // namespace

DnsResolver::DnsResolver(std::string server, std::chrono::milliseconds timeout, unsigned tries)
    : server_(std::move(server)), timeout_(timeout), tries_(std::clamp(tries, 1u, 5u)) {}

std::string DnsResolver::describeServer() const {
    if (server_.empty()) {
        return "the system resolver";
    }
    auto parsed = parseHostPort(server_, 53);
    if (!parsed) {
        return "DNS server " + server_;
    }
    bool v6 = parsed->host.find(':') != std::string::npos;
    return v6 ? fmt::format("DNS server [{}]:{}", parsed->host, parsed->port)
              : fmt::format("DNS server {}:{}", parsed->host, parsed->port);
}

DnsAnswer DnsResolver::resolveA(std::string_view name) const {
    using Kind = DnsFailure::Kind;
    std::string server = describeServer();
    if (name.empty() || name.find_first_of(" \t/") != std::string_view::npos) {
        return tl::make_unexpected(
            DnsFailure{Kind::BadInput, fmt::format("'{}' is not a valid DNS name", name)});
    }
    std::call_once(ares_init_flag, [] { ares_init_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (ares_init_status != ARES_SUCCESS) {
        return tl::make_unexpected(
            DnsFailure{Kind::Other, fmt::format("c-ares cannot start: {}", ares_strerror(ares_init_status))});
    }

    // c-ares doubles the per-try timeout on each round over the servers, so t + 2t + 4t ... fills the total.
    ares_options options{};
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
    long rounds_weight = (1L << tries_) - 1;
    options.timeout = static_cast<int>(std::max<long>(50, timeout_.count() / rounds_weight));
    options.tries = static_cast<int>(tries_);
    char lookups_files_then_dns[] = "fb";
    char lookups_dns_only[] = "b";
    options.lookups = server_.empty() ? lookups_files_then_dns : lookups_dns_only;
    if (!server_.empty()) {
        // With one chosen server its REFUSED or SERVFAIL is the answer: report it instead of retrying, which
        // c-ares 1.18 ends with a misleading "connection refused".
        mask |= ARES_OPT_FLAGS;
        options.flags = ARES_FLAG_NOCHECKRESP;
    }

    Channel channel;
    int status = ares_init_options(&channel.handle, &options, mask);
    if (status != ARES_SUCCESS) {
        return tl::make_unexpected(
            DnsFailure{Kind::Other, fmt::format("c-ares cannot start a lookup: {}", ares_strerror(status))});
    }
    if (!server_.empty()) {
        auto parsed = parseHostPort(server_, 53);
        in_addr v4{};
        in6_addr v6{};
        bool is_ip = parsed && (::inet_pton(AF_INET, parsed->host.c_str(), &v4) == 1 ||
                                ::inet_pton(AF_INET6, parsed->host.c_str(), &v6) == 1);
        if (!is_ip || parsed->port == 0) {
            return tl::make_unexpected(DnsFailure{
                Kind::BadInput,
                fmt::format("DNS server '{}' is not an IP address with an optional port", server_)});
        }
        bool is_v6 = parsed->host.find(':') != std::string::npos;
        std::string csv = is_v6 ? fmt::format("[{}]:{}", parsed->host, parsed->port)
                                : fmt::format("{}:{}", parsed->host, parsed->port);
        status = ares_set_servers_ports_csv(channel.handle, csv.c_str());
        if (status != ARES_SUCCESS) {
            return tl::make_unexpected(
                DnsFailure{Kind::BadInput,
                           fmt::format("DNS server '{}' is not usable: {}", server_, ares_strerror(status))});
        }
    }

    Outcome outcome;
    std::string query_name(name);
    if (server_.empty()) {
        ares_gethostbyname(channel.handle, query_name.c_str(), AF_INET, onHostAnswer, &outcome);
    } else {
        ares_query(channel.handle, query_name.c_str(), ns_c_in, ns_t_a, onQueryAnswer, &outcome);
    }

    // The event loop of one lookup: poll the channel's sockets until the callback ran or the total time is
    // up.
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + timeout_;
    while (!outcome.done) {
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            ares_cancel(channel.handle);  // runs the callback with ARES_ECANCELLED
            outcome.done = true;
            outcome.status = ARES_ETIMEOUT;
            break;
        }
        ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
        int bits = ares_getsock(channel.handle, sockets, ARES_GETSOCK_MAXNUM);
        pollfd fds[ARES_GETSOCK_MAXNUM];
        nfds_t count = 0;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
            short events = 0;
            if (ARES_GETSOCK_READABLE(bits, i)) {
                events |= POLLIN;
            }
            if (ARES_GETSOCK_WRITABLE(bits, i)) {
                events |= POLLOUT;
            }
            if (events != 0) {
                fds[count++] = pollfd{sockets[i], events, 0};
            }
        }
        timeval max_wait{static_cast<time_t>(left.count() / 1000000),
                         static_cast<suseconds_t>(left.count() % 1000000)};
        timeval wait{};
        timeval* next = ares_timeout(channel.handle, &max_wait, &wait);
        int wait_ms = static_cast<int>(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000);
        int ready = ::poll(fds, count, wait_ms);
        if (ready <= 0) {
            ares_process_fd(channel.handle, ARES_SOCKET_BAD,
                            ARES_SOCKET_BAD);  // handles timeouts and retries
            continue;
        }
        for (nfds_t i = 0; i < count; ++i) {
            bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
            bool writable = (fds[i].revents & POLLOUT) != 0;
            if (readable || writable) {
                ares_process_fd(channel.handle, readable ? fds[i].fd : ARES_SOCKET_BAD,
                                writable ? fds[i].fd : ARES_SOCKET_BAD);
            }
        }
    }
    if (outcome.status == ARES_SUCCESS && outcome.addresses.empty()) {
        outcome.status = ARES_ENODATA;
    }
    if (outcome.status != ARES_SUCCESS) {
        return tl::make_unexpected(failureFor(outcome.status, name, server, timeout_));
    }
    return outcome.addresses;
}

std::string_view dnsFailureKindName(DnsFailure::Kind kind) {
    switch (kind) {
        case DnsFailure::Kind::NotFound:
            return "nxdomain";
        case DnsFailure::Kind::NoData:
            return "no_data";
        case DnsFailure::Kind::Refused:
            return "refused";
        case DnsFailure::Kind::ServerFailure:
            return "server_failure";
        case DnsFailure::Kind::Timeout:
            return "timeout";
        case DnsFailure::Kind::Unreachable:
            return "unreachable";
        case DnsFailure::Kind::BadInput:
            return "bad_input";
        case DnsFailure::Kind::Other:
            break;
    }
    return "other";
}

}  // namespace chfleet::sync
