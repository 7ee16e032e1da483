#include "ingest/write/Ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"

namespace chfleet::ingest {
namespace {

constexpr size_t kCompactAboveBytes = 64 << 20;

std::string beginLine(const std::string& batch_id, const std::vector<std::string>& slices) {
    std::string line = "B " + batch_id;
    for (const auto& slice : slices) {
        line += " " + slice;
    }
    return line + "\n";
}

}  // namespace

Ledger::Ledger(size_t window) : window_(window) {}

Ledger::~Ledger() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::vector<Ledger::PendingBatch> Ledger::attach(const std::string& path) {
    std::lock_guard lock(mutex_);
    path_ = path;
    std::map<std::string, std::vector<std::string>> begun;
    std::vector<std::string> begun_order;
    std::string text = std::filesystem::exists(path) ? files::read(path) : std::string();
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            break;  // a torn last line: the batch it began was never sent
        }
        std::istringstream line(text.substr(start, end - start));
        start = end + 1;
        std::string kind;
        std::string id;
        line >> kind >> id;
        if (kind == "K") {
            remember(id);
        } else if (kind == "B") {
            std::vector<std::string> slices;
            for (std::string slice; line >> slice;) {
                slices.push_back(slice);
            }
            begun_order.push_back(id);
            begun[id] = std::move(slices);
        } else if (kind == "C") {
            auto it = begun.find(id);
            if (it != begun.end()) {
                for (const auto& slice : it->second) {
                    remember(slice);
                }
                begun.erase(it);
            }
        }
    }
    std::vector<PendingBatch> pending;
    for (const auto& id : begun_order) {
        auto it = begun.find(id);
        if (it != begun.end()) {
            pending.push_back({id, it->second});
        }
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        throw Exception(ErrorCode::IoError, "cannot open the ingest ledger {}: {}", path,
                        std::strerror(errno));
    }
    compact();
    // The batches still pending stay begun in the new file until they are confirmed.
    for (const auto& batch : pending) {
        std::string line = "B " + batch.batch_id;
        for (const auto& slice : batch.slice_ids) {
            line += " " + slice;
        }
        appendLine(line + "\n");
    }
    return pending;
}

Ledger::Claim Ledger::claim(const std::string& slice_id) {
    std::lock_guard lock(mutex_);
    if (committed_.count(slice_id) != 0) {
        return Claim::Committed;
    }
    if (!in_flight_.insert(slice_id).second) {
        return Claim::InFlight;
    }
    return Claim::Claimed;
}

void Ledger::release(const std::string& slice_id) {
    std::lock_guard lock(mutex_);
    in_flight_.erase(slice_id);
}

bool Ledger::isCommitted(const std::string& slice_id) const {
    std::lock_guard lock(mutex_);
    return committed_.count(slice_id) != 0;
}

void Ledger::begin(const std::string& batch_id, const std::vector<std::string>& slice_ids) {
    std::lock_guard lock(mutex_);
    if (fd_ < 0) {
        return;
    }
    std::string line = "B " + batch_id;
    for (const auto& slice : slice_ids) {
        if (!slice.empty()) {
            line += " " + slice;
        }
    }
    appendLine(line + "\n");
}

void Ledger::commit(const std::string& batch_id, const std::vector<std::string>& slice_ids) {
    std::lock_guard lock(mutex_);
    for (const auto& slice : slice_ids) {
        if (!slice.empty()) {
            in_flight_.erase(slice);
            remember(slice);
        }
    }
    if (fd_ >= 0) {
        begun_.erase(batch_id);
        appendLine("C " + batch_id + "\n");
        if (file_bytes_ > kCompactAboveBytes) {
            compact();
        }
    }
}

void Ledger::remember(const std::string& slice_id) {
    if (!committed_.insert(slice_id).second) {
        return;
    }
    order_.push_back(slice_id);
    while (order_.size() > window_) {
        committed_.erase(order_.front());
        order_.pop_front();
    }
}

void Ledger::appendLine(const std::string& line) {
    // One write(2) per line: a killed process leaves whole lines behind (the kernel keeps them) or a torn
    // last line, which attach() ignores.
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        log::get("ingest")->error("cannot append to the ingest ledger {}: {}", path_, std::strerror(errno));
        return;
    }
    file_bytes_ += line.size();
}

void Ledger::compact() {
    // The committed ids still remembered and the batches not yet confirmed, written to a new file that
    // replaces the old one atomically.
    std::string text;
    for (const auto& slice : order_) {
        text += "K " + slice + "\n";
    }
    for (const auto& [batch_id, slices] : begun_) {
        text += beginLine(batch_id, slices);
    }
    files::writeAtomically(path_, text);
    ::close(fd_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) {
        throw Exception(ErrorCode::IoError, "cannot reopen the ingest ledger {}: {}", path_,
                        std::strerror(errno));
    }
    file_bytes_ = text.size();
}

}  // namespace chfleet::ingest
