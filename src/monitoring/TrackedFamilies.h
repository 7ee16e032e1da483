#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chfleet::monitoring {

/// Registers metric families in a registry and remembers, in `removers`, how to remove each again: the
/// families of one refresh are replaced as a whole by the next (FleetMetrics, CapabilityMetrics).
class TrackedFamilies {
  public:
    TrackedFamilies(prometheus::Registry& registry, std::vector<std::function<void()>>& removers)
        : registry_(registry), removers_(removers) {}

    prometheus::Family<prometheus::Gauge>& gauge(std::string_view name, const std::string& help) {
        return track(prometheus::BuildGauge().Name(std::string(name)).Help(help).Register(registry_));
    }
    prometheus::Family<prometheus::Counter>& counter(std::string_view name, const std::string& help) {
        return track(prometheus::BuildCounter().Name(std::string(name)).Help(help).Register(registry_));
    }
    prometheus::Family<prometheus::Histogram>& histogram(std::string_view name, const std::string& help) {
        return track(prometheus::BuildHistogram().Name(std::string(name)).Help(help).Register(registry_));
    }

  private:
    template <class T>
    prometheus::Family<T>& track(prometheus::Family<T>& family) {
        removers_.push_back([registry = &registry_, family = &family] { registry->Remove(*family); });
        return family;
    }
    prometheus::Registry& registry_;
    std::vector<std::function<void()>>& removers_;
};

}  // namespace chfleet::monitoring
