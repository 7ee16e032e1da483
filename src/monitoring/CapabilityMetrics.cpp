#include "monitoring/CapabilityMetrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "backup/BackupSection.h"
#include "common/Exception.h"
#include "common/Log.h"
#include "erase/Eraser.h"
#include "monitoring/TrackedFamilies.h"
#include "retention/RetentionMetrics.h"
#include "sync/SyncState.h"

namespace chfleet::monitoring {

namespace {

std::shared_ptr<spdlog::logger> logger() {
    return log::get("exporter");
}

}  // namespace

ErasureState readErasures(const topology::Fleet& fleet, std::chrono::system_clock::time_point now) {
    ErasureState state;
    auto statuses = erase::erasureStatus(fleet);
    state.recorded = statuses.size();
    for (auto& status : statuses) {
        if (status.pending_nodes.empty()) {
            continue;
        }
        PendingErasure pending{status.erasure, status.requested_at, 0, std::move(status.pending_nodes)};
        if (auto requested = sync::fromIsoUtc(status.requested_at)) {
            pending.age_seconds = std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::seconds>(now - *requested).count());
        }
        state.pending.push_back(std::move(pending));
    }
    return state;
}

retention::RetentionReport readRetention(const topology::Fleet& fleet, int64_t stalled_hours) {
    retention::RunOptions options;
    options.grace = std::chrono::hours(stalled_hours);
    return retention::status(fleet, options);
}

std::vector<RegionBackup> readBackups(const topology::Fleet& fleet) {
    std::vector<RegionBackup> out;
    const auto& repositories = backup::backupConfig(fleet).repositories;
    std::set<std::string> seen;
    for (const auto& site : fleet.sites) {
        for (const auto& region : site.regions) {
            if (repositories.count(region.name) == 0 || !seen.insert(region.name).second) {
                continue;
            }
            RegionBackup entry{region.name, std::nullopt, ""};
            try {
                entry.stats = backup::backupStats(fleet, region.name);
            } catch (const Exception& e) {
                entry.error = e.what();
            }
            out.push_back(std::move(entry));
        }
    }
    return out;
}

struct CapabilityMetrics::Families {
    /// Per capability: how to remove the families of its last refresh.
    std::map<std::string, std::vector<std::function<void()>>> removers;
};

namespace {}  // namespace

CapabilityMetrics::CapabilityMetrics(const topology::Fleet& fleet,
                                     std::shared_ptr<prometheus::Registry> registry, int64_t stalled_hours)
    : fleet_(fleet),
      registry_(std::move(registry)),
      stalled_hours_(stalled_hours),
      families_(std::make_unique<Families>()) {}

CapabilityMetrics::~CapabilityMetrics() = default;

void CapabilityMetrics::refresh() {
    // Each capability is read without the lock (it takes seconds), then its families are replaced under it.
    auto replace = [this](const std::string& capability, const std::function<void()>& read,
                          const std::function<void(TrackedFamilies&)>& build) {
        try {
            read();
        } catch (const std::exception& e) {
            logger()->warn("{}: not read, its gauges keep their last figures: {}", capability, e.what());
            return;
        }
        std::lock_guard lock(mutex_);
        auto& removers = families_->removers[capability];
        for (const auto& remove : removers) {
            remove();
        }
        removers.clear();
        TrackedFamilies families(*registry_, removers);
        build(families);
    };

    ErasureState erasures;
    replace(
        "erase", [&] { erasures = readErasures(fleet_, std::chrono::system_clock::now()); },
        [&](TrackedFamilies& f) {
            auto& count = f.gauge(erase::kPendingErasuresMetric,
                                  "Erasures requested and not yet complete on every replica of the site");
            auto& age = f.gauge(erase::kOldestPendingAgeMetric,
                                "Age of the oldest erasure pending on the site (0 when none)");
            for (const auto& site : fleet_.sites) {
                double pending = 0, oldest = 0;
                for (const auto& erasure : erasures.pending) {
                    bool here = std::any_of(erasure.pending_nodes.begin(), erasure.pending_nodes.end(),
                                            [&](const std::string& node) {
                                                const auto* found = fleet_.node(node);
                                                return found != nullptr && found->site == site.name;
                                            });
                    if (here) {
                        ++pending;
                        oldest = std::max(oldest, static_cast<double>(erasure.age_seconds));
                    }
                }
                count.Add({{"site", site.name}}).Set(pending);
                age.Add({{"site", site.name}}).Set(oldest);
            }
        });

    retention::RetentionReport report;
    replace(
        "retention", [&] { report = readRetention(fleet_, stalled_hours_); },
        [&](TrackedFamilies& f) {
            auto& overdue =
                f.gauge(retention::kOverdueSecondsMetric,
                        "How long the oldest expired partition still present has been due for removal");
            for (const auto& table : report.tables) {
                overdue.Add({{"site", table.site}, {"region", table.region}, {"table", table.table}})
                    .Set(static_cast<double>(table.overdue_seconds));
            }
        });

    std::vector<RegionBackup> backups;
    replace(
        "backup", [&] { backups = readBackups(fleet_); },
        [&](TrackedFamilies& f) {
            auto& success =
                f.gauge(backup::kLastSuccessMetric, "Unix time of the region's last complete backup");
            auto& failure =
                f.gauge(backup::kLastFailureMetric, "Unix time of the region's last failed backup");
            auto& duration =
                f.gauge(backup::kLastDurationMetric, "Seconds the region's last complete backup took");
            auto& size = f.gauge(backup::kLastSizeMetric, "Bytes of the region's last complete backup");
            auto& failures = f.counter(backup::kFailuresMetric, "Failed backups of the region");
            for (const auto& entry : backups) {
                if (!entry.stats) {
                    logger()->warn("backup stats of {}: {}", entry.region, entry.error);
                    continue;
                }
                prometheus::Labels labels{{"region", entry.region}};
                const auto& stats = *entry.stats;
                if (stats.last_success_ms > 0) {
                    success.Add(labels).Set(static_cast<double>(stats.last_success_ms) / 1000.0);
                    duration.Add(labels).Set(stats.last_duration_seconds);
                    size.Add(labels).Set(static_cast<double>(stats.last_size_bytes));
                }
                if (stats.last_failure_ms > 0) {
                    failure.Add(labels).Set(static_cast<double>(stats.last_failure_ms) / 1000.0);
                }
                failures.Add(labels).Increment(static_cast<double>(stats.failures));
            }
        });
}

std::string CapabilityMetrics::text(const topology::Fleet& fleet, int64_t stalled_hours) {
    auto registry = std::make_shared<prometheus::Registry>();
    CapabilityMetrics metrics(fleet, registry, stalled_hours);
    metrics.refresh();
    return prometheus::TextSerializer().Serialize(registry->Collect());
}

}  // namespace chfleet::monitoring
