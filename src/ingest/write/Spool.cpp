#include "ingest/write/Spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "clickhouse/CityHash.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "common/Log.h"

namespace chfleet::ingest {
namespace {

constexpr uint32_t kMagic = 0x53464843;  // "CHFS"
constexpr size_t kHeaderBytes = 4 + 4 + 8;

void putU32(std::string& out, uint32_t value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

void putU64(std::string& out, uint64_t value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

void putString(std::string& out, std::string_view value) {
    putU32(out, static_cast<uint32_t>(value.size()));
    out.append(value);
}

/// Reads the payload fields back; any overrun marks the payload invalid.
class PayloadReader {
  public:
    explicit PayloadReader(std::string_view data) : data_(data) {}
    bool ok() const { return ok_; }

    uint32_t u32() { return fixed<uint32_t>(); }
    uint64_t u64() { return fixed<uint64_t>(); }
    std::string string() {
        uint32_t size = u32();
        if (!ok_ || data_.size() - pos_ < size) {
            ok_ = false;
            return {};
        }
        std::string value(data_.substr(pos_, size));
        pos_ += size;
        return value;
    }

  private:
    template <typename T>
    T fixed() {
        T value{};
        if (!ok_ || data_.size() - pos_ < sizeof(T)) {
            ok_ = false;
            return value;
        }
        std::memcpy(&value, data_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

    std::string_view data_;
    size_t pos_ = 0;
    bool ok_ = true;
};

std::string encode(const SpoolRecord& record) {
    std::string payload;
    putString(payload, record.table);
    putString(payload, record.columns);
    putU32(payload, static_cast<uint32_t>(record.slices.size()));
    for (const auto& slice : record.slices) {
        putString(payload, slice.region);
        putU32(payload, static_cast<uint32_t>(slice.shard));
        putString(payload, slice.id);
        putU64(payload, slice.row_count);
        putString(payload, slice.rows);
    }
    std::string out;
    out.reserve(kHeaderBytes + payload.size());
    putU32(out, kMagic);
    putU32(out, static_cast<uint32_t>(payload.size()));
    putU64(out, clickhouse::cityHash64(payload));
    out += payload;
    return out;
}

std::optional<SpoolRecord> decode(std::string_view payload) {
    PayloadReader reader(payload);
    SpoolRecord record;
    record.table = reader.string();
    record.columns = reader.string();
    uint32_t count = reader.u32();
    for (uint32_t i = 0; reader.ok() && i < count; ++i) {
        SpooledSlice slice;
        slice.region = reader.string();
        slice.shard = static_cast<int>(reader.u32());
        slice.id = reader.string();
        slice.row_count = reader.u64();
        slice.rows = reader.string();
        record.slices.push_back(std::move(slice));
    }
    if (!reader.ok()) {
        return std::nullopt;
    }
    return record;
}

void writeAll(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Exception(ErrorCode::IoError, "cannot write the spool segment {}: {}", path,
                            std::strerror(errno));
        }
        data.remove_prefix(static_cast<size_t>(written));
    }
}

void syncFolder(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

}  // namespace

Spool::Spool(std::string dir, size_t segment_bytes) : dir_(std::move(dir)), segment_bytes_(segment_bytes) {}

Spool::~Spool() {
    stop();
}

std::string Spool::segmentPath(uint64_t number) const {
    return fmt::format("{}/segment-{:012}.spool", dir_, number);
}

void Spool::recover(const std::function<void(uint64_t, SpoolRecord&&)>& on_record) {
    files::makeDirectories(dir_, 0700);
    std::vector<uint64_t> numbers;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
        std::string name = entry.path().filename().string();
        if (name.starts_with("segment-") && name.ends_with(".spool")) {
            numbers.push_back(std::stoull(name.substr(8, name.size() - 8 - 6)));
        }
    }
    std::sort(numbers.begin(), numbers.end());
    auto log = log::get("ingest");
    for (uint64_t number : numbers) {
        std::string path = segmentPath(number);
        std::string data = files::read(path);
        size_t pos = 0;
        size_t records = 0;
        while (pos < data.size()) {
            uint32_t magic = 0;
            uint32_t length = 0;
            uint64_t checksum = 0;
            bool whole = data.size() - pos >= kHeaderBytes;
            if (whole) {
                std::memcpy(&magic, data.data() + pos, 4);
                std::memcpy(&length, data.data() + pos + 4, 4);
                std::memcpy(&checksum, data.data() + pos + 8, 8);
                whole = magic == kMagic && data.size() - pos - kHeaderBytes >= length;
            }
            std::string_view payload =
                whole ? std::string_view(data).substr(pos + kHeaderBytes, length) : std::string_view();
            std::optional<SpoolRecord> record;
            if (whole && clickhouse::cityHash64(payload) == checksum) {
                record = decode(payload);
            }
            if (!record) {
                // Only the record being written when the process died can be incomplete; it was never
                // acknowledged. Its bytes are kept aside rather than deleted.
                files::writeAtomically(path + ".torn", data.substr(pos), 0600);
                if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
                    throw Exception(ErrorCode::IoError, "cannot cut the torn record off {}: {}", path,
                                    std::strerror(errno));
                }
                log->warn(
                    "spool segment {}: an incomplete record at byte {} (never acknowledged) was cut "
                    "off and kept in {}.torn",
                    path, pos, path);
                break;
            }
            pos += kHeaderBytes + length;
            {
                std::lock_guard lock(mutex_);
                auto& segment = segments_[number];
                segment.outstanding += record->slices.size();
                segment.bytes = pos;
                segment.sealed = true;
            }
            ++records;
            on_record(number, std::move(*record));
        }
        log->info("spool segment {}: {} record(s) to replay", path, records);
        std::lock_guard lock(mutex_);
        segments_[number].sealed = true;
        dropIfDone(number);
    }
    std::lock_guard lock(mutex_);
    openSegment(numbers.empty() ? 1 : numbers.back() + 1);
    writer_ = std::thread([this] { writerLoop(); });
}

void Spool::openSegment(uint64_t number) {
    std::string path = segmentPath(number);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw Exception(ErrorCode::IoError, "cannot create the spool segment {}: {}", path,
                        std::strerror(errno));
    }
    syncFolder(dir_);
    if (fd_ >= 0) {
        ::close(fd_);
        segments_[current_].sealed = true;
        dropIfDone(current_);
    }
    fd_ = fd;
    current_ = number;
    segments_[number];
}

uint64_t Spool::append(const SpoolRecord& record) {
    Pending pending;
    pending.bytes = encode(record);
    pending.slices = record.slices.size();
    auto done = pending.done.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            throw Exception(ErrorCode::Interrupted, "the ingest server is stopping");
        }
        queue_.push_back(&pending);
    }
    queued_.notify_one();
    return done.get();
}

void Spool::writerLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
        queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
            return;
        }
        std::vector<Pending*> batch;
        batch.swap(queue_);
        uint64_t segment = current_;
        int fd = fd_;
        std::string path = segmentPath(segment);
        lock.unlock();
        // Group commit: everything queued is written, then one fdatasync covers all of it.
        std::exception_ptr failure;
        size_t bytes = 0;
        try {
            for (Pending* pending : batch) {
                writeAll(fd, pending->bytes, path);
                bytes += pending->bytes.size();
            }
            if (::fdatasync(fd) != 0) {
                throw Exception(ErrorCode::IoError, "cannot sync the spool segment {}: {}", path,
                                std::strerror(errno));
            }
        } catch (const Exception&) {
            failure = std::current_exception();
        }
        lock.lock();
        auto& state = segments_[segment];
        for (Pending* pending : batch) {
            if (failure) {
                pending->done.set_exception(failure);
            } else {
                state.outstanding += pending->slices;
                pending->done.set_value(segment);
            }
        }
        state.bytes += bytes;
        if (state.bytes >= segment_bytes_) {
            try {
                openSegment(current_ + 1);
            } catch (const Exception& error) {
                log::get("ingest")->error("{}; going on with the current segment", error.what());
            }
        }
    }
}

void Spool::release(uint64_t segment) {
    std::lock_guard lock(mutex_);
    auto it = segments_.find(segment);
    if (it != segments_.end() && it->second.outstanding > 0) {
        --it->second.outstanding;
        dropIfDone(segment);
    }
}

void Spool::dropIfDone(uint64_t number) {
    auto it = segments_.find(number);
    if (it == segments_.end() || !it->second.sealed || it->second.outstanding > 0) {
        return;
    }
    std::error_code error;
    std::filesystem::remove(segmentPath(number), error);
    if (error) {
        log::get("ingest")->error("cannot delete the drained spool segment {}: {}", segmentPath(number),
                                  error.message());
    }
    segments_.erase(it);
}

size_t Spool::outstandingSlices() const {
    std::lock_guard lock(mutex_);
    size_t total = 0;
    for (const auto& [number, segment] : segments_) {
        total += segment.outstanding;
    }
    return total;
}

size_t Spool::bytesOnDisk() const {
    std::lock_guard lock(mutex_);
    size_t total = 0;
    for (const auto& [number, segment] : segments_) {
        total += segment.bytes;
    }
    return total;
}

void Spool::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    queued_.notify_all();
    if (writer_.joinable()) {
        writer_.join();
    }
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

}  // namespace chfleet::ingest
