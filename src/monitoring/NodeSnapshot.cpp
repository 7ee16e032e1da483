#include "monitoring/NodeSnapshot.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "clickhouse/HttpConnection.h"
#include "clickhouse/Result.h"
#include "common/Exception.h"
#include "monitoring/MonitoringSection.h"
#include "topology/NodeConnection.h"

namespace chfleet::monitoring {

namespace {

using clickhouse::Connection;
using clickhouse::Result;

/// Counts the statements a pass sends, so the benchmark can report queries per node.
class CountingReader {
  public:
    CountingReader(Connection& connection, NodeSnapshot& snapshot)
        : connection_(connection), snapshot_(snapshot) {}
    Result query(const std::string& sql) {
        ++snapshot_.queries_sent;
        return clickhouse::query(connection_, sql);
    }

  private:
    Connection& connection_;
    NodeSnapshot& snapshot_;
};

bool isThisHost(const std::string& host) {
    if (host == "127.0.0.1" || host == "localhost" || host == "::1") {
        return true;
    }
    char name[256] = {};
    return gethostname(name, sizeof(name) - 1) == 0 && host == name;
}

std::string histogramSql() {
    std::string sql = "SELECT count() AS c, sum(query_duration_ms) AS ms";
    const auto& bounds = queryDurationBounds();
    for (size_t i = 0; i < bounds.size(); ++i) {
        sql += fmt::format(", countIf(query_duration_ms <= {}) AS b{}",
                           static_cast<uint64_t>(bounds[i] * 1000), i);
    }
    return sql + " FROM system.query_log WHERE toString(type) IN ('QueryFinish', '2')";
}

/// The one pass over a node (see NodeSnapshot for what each query feeds).
NodeSnapshot readNode(Connection& connection, const topology::Node& node, const ReadOptions& options) {
    NodeSnapshot s;
    CountingReader reader(connection, s);
    auto identity = reader.query(
        "SELECT version() AS version, uptime() AS uptime, "
        "(SELECT sum(value) FROM system.events WHERE event = 'InsertedRows') AS inserted_rows, "
        "(SELECT count() FROM system.tables WHERE database = 'system' AND name = 'query_log') AS query_log, "
        "(SELECT count() FROM system.tables WHERE database = 'system' AND name = 'disks') AS disks, "
        "(SELECT count() FROM system.columns WHERE database = 'system' AND table = 'clusters' "
        "AND name = 'errors_count') AS cluster_errors, "
        "(SELECT count() FROM system.columns WHERE database = 'system' AND table = 'mutations' "
        "AND name = 'latest_fail_reason') AS fail_reason");
    s.version = identity.getString(0, "version");
    s.uptime_seconds = identity.getUInt64(0, "uptime");
    s.inserted_rows = identity.getUInt64(0, "inserted_rows");
    const bool has_query_log = identity.getUInt64(0, "query_log") > 0;
    const bool has_disks = identity.getUInt64(0, "disks") > 0;
    const bool has_cluster_errors = identity.getUInt64(0, "cluster_errors") > 0;
    const bool has_fail_reason = identity.getUInt64(0, "fail_reason") > 0;

    auto replicas = reader.query(
        "SELECT database, table, is_readonly, is_session_expired, absolute_delay, queue_size FROM "
        "system.replicas");
    for (size_t r = 0; r < replicas.rowCount(); ++r) {
        s.replicas.push_back({replicas.getString(r, "database"), replicas.getString(r, "table"),
                              replicas.getBool(r, "is_readonly"), replicas.getBool(r, "is_session_expired"),
                              replicas.getUInt64(r, "absolute_delay"), replicas.getUInt64(r, "queue_size")});
    }
    if (!s.replicas.empty()) {
        bool connected = true;
        for (const auto& replica : s.replicas) {
            connected = connected && !replica.is_session_expired;
        }
        s.zookeeper_connected = connected;
    } else {
        try {
            reader.query("SELECT count() AS c FROM system.zookeeper WHERE path = '/'");
            s.zookeeper_connected = true;
        } catch (const ServerException& e) {
            // A node configured without a keeper has no system.zookeeper (Code 999 / "no zookeeper"):
            // the keeper is then not its concern; any other error means the session is lost.
            const bool no_keeper = e.serverMessage().find("configuration") != std::string::npos &&
                                   e.serverMessage().find("ookeeper") != std::string::npos;
            s.zookeeper_connected = no_keeper ? std::nullopt : std::optional<bool>(false);
        }
    }

    auto parts = reader.query(
        "SELECT database, table, sum(rows) AS rows, sum(bytes) AS bytes, count() AS partitions, "
        "max(parts) AS max_parts FROM (SELECT database, table, partition_id, count() AS parts, "
        "sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active "
        "GROUP BY database, table, partition_id) GROUP BY database, table");
    for (size_t r = 0; r < parts.rowCount(); ++r) {
        s.tables.push_back({parts.getString(r, "database"), parts.getString(r, "table"),
                            parts.getUInt64(r, "rows"), parts.getUInt64(r, "bytes"),
                            parts.getUInt64(r, "partitions"), parts.getUInt64(r, "max_parts")});
    }

    auto mutations = reader.query(
        fmt::format("SELECT database, table, countIf(is_done = 0) AS pending, "
                    "max(if(is_done = 0, toUInt64(greatest(toInt64(toUInt32(now())) - "
                    "toInt64(toUInt32(create_time)), 0)), "
                    "toUInt64(0))) AS oldest, {} AS failed "
                    "FROM system.mutations GROUP BY database, table",
                    has_fail_reason ? "countIf(is_done = 0 AND latest_fail_reason != '')" : "toUInt64(0)"));
    for (size_t r = 0; r < mutations.rowCount(); ++r) {
        s.mutations.push_back({mutations.getString(r, "database"), mutations.getString(r, "table"),
                               mutations.getUInt64(r, "pending"), mutations.getUInt64(r, "oldest"),
                               mutations.getUInt64(r, "failed")});
    }

    if (has_disks) {
        auto disks = reader.query("SELECT name, total_space, free_space FROM system.disks");
        for (size_t r = 0; r < disks.rowCount(); ++r) {
            s.disks.push_back({disks.getString(r, "name"), "system.disks", disks.getUInt64(r, "total_space"),
                               disks.getUInt64(r, "free_space")});
        }
    } else if (options.only_node == node.name || isThisHost(node.host)) {
        std::string path = hostDataPath(options.host_data_path, node);
        struct statvfs fs {};
        if (statvfs(path.c_str(), &fs) == 0) {
            // As df counts: the space root keeps in reserve is neither used nor available to the server.
            const uint64_t used = static_cast<uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
            const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
            s.disks.push_back({"default", "host", used + available, available});
        } else {
            s.disk_note =
                fmt::format("no system.disks on {} and {} cannot be read on this host", s.version, path);
        }
    } else {
        s.disk_note = fmt::format(
            "no system.disks on {}; run an exporter on {} (chfleet exporter serve --node {}) for disk "
            "figures",
            s.version, node.host, node.name);
    }

    // The query log and the clusters' error counts are optional: a server that refuses one of these reads
    // still answered, so it stays up and the failure is reported with its snapshot.
    try {
        if (has_query_log) {
            auto histogram = reader.query(histogramSql());
            QueryHistogram h;
            h.bounds = queryDurationBounds();
            h.count = histogram.getUInt64(0, "c");
            h.sum_seconds = static_cast<double>(histogram.getUInt64(0, "ms")) / 1000.0;
            for (size_t i = 0; i < h.bounds.size(); ++i) {
                h.buckets.push_back(histogram.getUInt64(0, fmt::format("b{}", i)));
            }
            s.queries = std::move(h);
            if (options.for_health) {
                auto recent = reader.query(
                    "SELECT count() AS c, quantile(0.95)(query_duration_ms) AS p95, "
                    "quantile(0.99)(query_duration_ms) AS p99 FROM system.query_log "
                    "WHERE toString(type) IN ('QueryFinish', '2') AND event_time > now() - INTERVAL 1 HOUR");
                RecentLatency latency;
                latency.queries = recent.getUInt64(0, "c");
                if (latency.queries > 0) {
                    latency.p95_seconds = recent.getDouble(0, "p95") / 1000.0;
                    latency.p99_seconds = recent.getDouble(0, "p99") / 1000.0;
                }
                s.recent = latency;
            }
        }
        if (options.for_health && has_cluster_errors) {
            auto clusters = reader.query(
                "SELECT cluster, host_name, port, errors_count FROM system.clusters WHERE errors_count > 0");
            for (size_t r = 0; r < clusters.rowCount(); ++r) {
                s.cluster_errors.push_back({clusters.getString(r, "cluster"),
                                            clusters.getString(r, "host_name"), clusters.getUInt64(r, "port"),
                                            clusters.getUInt64(r, "errors_count")});
            }
        }
    } catch (const ServerException& e) {
        s.read_errors.push_back(e.what());
    }
    return s;
}

/// What the node threads of one pass share with the caller: the caller may stop waiting and leave; the
/// threads still hold it until they end.
struct Pass {
    std::mutex mutex;
    std::condition_variable done;
    size_t remaining = 0;
    std::vector<NodeRead> reads;
};

}  // namespace

const std::vector<double>& queryDurationBounds() {
    static const std::vector<double> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    return kBounds;
}

std::vector<NodeRead> readFleet(const topology::Fleet& fleet, const ReadOptions& options) {
    auto nodes = fleet.nodes();
    if (!options.only_node.empty()) {
        const auto* only = fleet.node(options.only_node);
        if (only == nullptr) {
            throw Exception(ErrorCode::BadArguments, "no node named '{}' in {}", options.only_node,
                            fleet.source_path);
        }
        nodes = {only};
    }
    auto pass = std::make_shared<Pass>();
    pass->remaining = nodes.size();
    pass->reads.resize(nodes.size());
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + options.timeout;
    for (size_t i = 0; i < nodes.size(); ++i) {
        pass->reads[i].node = nodes[i];
        auto endpoint = topology::endpointFor(fleet, *nodes[i]);
        endpoint.connect_timeout = std::min(options.timeout, std::chrono::milliseconds(2000));
        endpoint.total_timeout = options.timeout;
        std::thread([pass, i, endpoint = std::move(endpoint), node = *nodes[i], options, started] {
            NodeRead read;
            try {
                clickhouse::HttpConnection connection(endpoint);
                read.snapshot = readNode(connection, node, options);
                read.up = true;
            } catch (const std::exception& e) {
                read.error = e.what();
            }
            read.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            std::lock_guard lock(pass->mutex);
            read.node = pass->reads[i].node;
            pass->reads[i] = std::move(read);
            --pass->remaining;
            pass->done.notify_all();
        }).detach();
    }
    std::unique_lock lock(pass->mutex);
    pass->done.wait_until(lock, deadline, [&] { return pass->remaining == 0; });
    std::vector<NodeRead> reads;
    for (auto& read : pass->reads) {
        NodeRead copy = read;
        if (!copy.up && copy.error.empty()) {
            copy.error = fmt::format("no answer within {} ms", options.timeout.count());
            copy.seconds = std::chrono::duration<double>(options.timeout).count();
        }
        reads.push_back(std::move(copy));
    }
    return reads;
}

}  // namespace chfleet::monitoring
