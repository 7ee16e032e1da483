#include "backup/S3Repository.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include "clickhouse/HttpConnection.h"
#include "common/Exception.h"

namespace chfleet::backup {

namespace {

struct CurlDeleter {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct HeaderListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

/// A key's path segments percent-encoded, slashes kept.
std::string encodeKey(const std::string& key) {
    std::string out;
    size_t start = 0;
    while (true) {
        auto slash = key.find('/', start);
        out += clickhouse::urlEncode(
            key.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) {
            return out;
        }
        out += '/';
        start = slash + 1;
    }
}

/// The text of every <tag>…</tag> in `xml`, in order (S3's answers are flat enough for this).
std::vector<std::string> elements(const std::string& xml, const std::string& tag) {
    std::vector<std::string> out;
    std::string open = "<" + tag + ">";
    std::string close = "</" + tag + ">";
    size_t at = 0;
    while ((at = xml.find(open, at)) != std::string::npos) {
        auto end = xml.find(close, at);
        if (end == std::string::npos) {
            break;
        }
        std::string text = xml.substr(at + open.size(), end - at - open.size());
        std::string decoded;
        for (size_t i = 0; i < text.size(); ++i) {
            if (text.compare(i, 5, "&amp;") == 0) {
                decoded += '&';
                i += 4;
            } else if (text.compare(i, 4, "&lt;") == 0) {
                decoded += '<';
                i += 3;
            } else if (text.compare(i, 4, "&gt;") == 0) {
                decoded += '>';
                i += 3;
            } else {
                decoded += text[i];
            }
        }
        out.push_back(std::move(decoded));
        at = end + close.size();
    }
    return out;
}

struct ReadSource {
    std::string_view body;
    std::FILE* file = nullptr;
    uint64_t remaining = 0;
};

size_t readBody(char* buffer, size_t size, size_t count, void* user) {
    auto* source = static_cast<ReadSource*>(user);
    size_t want = std::min<uint64_t>(size * count, source->remaining);
    if (want == 0) {
        return 0;
    }
    size_t got = 0;
    if (source->file != nullptr) {
        got = std::fread(buffer, 1, want, source->file);
        if (got == 0) {
            return CURL_READFUNC_ABORT;
        }
    } else {
        got = want;
        std::memcpy(buffer, source->body.data(), got);
        source->body.remove_prefix(got);
    }
    source->remaining -= got;
    return got;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
    std::string_view line(data, size * count);
    constexpr std::string_view kEtag = "etag:";
    if (line.size() > kEtag.size()) {
        std::string lower(line.substr(0, kEtag.size()));
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (lower == kEtag) {
            auto value = line.substr(kEtag.size());
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
                value.remove_prefix(1);
            }
            while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
                value.remove_suffix(1);
            }
            *static_cast<std::string*>(user) = std::string(value);
        }
    }
    return size * count;
}

size_t writeString(char* data, size_t size, size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

struct Sink {
    std::FILE* file = nullptr;
    std::string* error_body = nullptr;
    CURL* curl = nullptr;
};

size_t writeSink(char* data, size_t size, size_t count, void* user) {
    auto* sink = static_cast<Sink*>(user);
    long status = 0;
    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 300) {
        sink->error_body->append(data, size * count);
        return size * count;
    }
    return std::fwrite(data, 1, size * count, sink->file);
}

}  // namespace

S3Repository::S3Repository(RepositorySpec spec, std::string access_key, std::string secret_key)
    : spec_(std::move(spec)), user_password_(std::move(access_key) + ":" + std::move(secret_key)) {
    clickhouse::initCurlOnce();
    while (spec_.endpoint.ends_with('/')) {
        spec_.endpoint.pop_back();
    }
}

std::string S3Repository::describe() const {
    return fmt::format("s3://{}/{} ({})", spec_.bucket, spec_.prefix, spec_.endpoint);
}

std::string S3Repository::urlFor(const std::string& key, const std::string& query) const {
    std::string url = spec_.endpoint + "/" + clickhouse::urlEncode(spec_.bucket);
    if (!key.empty()) {
        url += "/" + encodeKey(spec_.prefix.empty() ? key : spec_.prefix + "/" + key);
    }
    return query.empty() ? url : url + "?" + query;
}

S3Repository::Response S3Repository::request(const std::string& method, const std::string& key,
                                             const std::string& query, std::string_view body, std::FILE* file,
                                             uint64_t offset, uint64_t length, std::FILE* sink) {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) {
        throw Exception(ErrorCode::Failed, "libcurl could not make a handle");
    }
    Response response;
    std::string url = urlFor(key, query);
    std::string sigv4 = "aws:amz:" + spec_.region + ":s3";
    curl_slist* raw = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    std::unique_ptr<curl_slist, HeaderListDeleter> headers(curl_slist_append(raw, "Expect:"));
    char error_buffer[CURL_ERROR_SIZE] = {0};
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(handle, CURLOPT_USERPWD, user_password_.c_str());
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 120L);
    ReadSource source{body, file, file != nullptr ? length : body.size()};
    if (file != nullptr && std::fseek(file, static_cast<long>(offset), SEEK_SET) != 0) {
        throw Exception(ErrorCode::IoError, "cannot seek in the file for {}", key);
    }
    if (method == "PUT") {
        curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(handle, CURLOPT_READFUNCTION, readBody);
        curl_easy_setopt(handle, CURLOPT_READDATA, &source);
        curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(source.remaining));
    } else if (method == "POST") {
        curl_easy_setopt(handle, CURLOPT_POST, 1L);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else if (method == "HEAD") {
        curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    } else if (method != "GET") {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    Sink file_sink{sink, &response.body, handle};
    if (sink != nullptr) {
        curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, writeSink);
        curl_easy_setopt(handle, CURLOPT_WRITEDATA, &file_sink);
    } else {
        curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, writeString);
        curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);
    }
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response.etag);
    CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK) {
        throw Exception(clickhouse::errorCodeForCurl(code), "{} {} on {}: {}", method, key, describe(),
                        error_buffer[0] != 0 ? error_buffer : curl_easy_strerror(code));
    }
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
    curl_off_t content_length = -1;
    curl_easy_getinfo(handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &content_length);
    response.length = content_length;
    return response;
}

void S3Repository::fail(const std::string& what, const std::string& key, const Response& response) const {
    auto message = elements(response.body, "Message");
    auto code = elements(response.body, "Code");
    throw Exception(ErrorCode::IoError, "{} {} on {}: HTTP {}{}{}", what, key, describe(), response.status,
                    code.empty() ? "" : " " + code.front(), message.empty() ? "" : ": " + message.front());
}

bool S3Repository::exists(const std::string& key) {
    auto response = request("HEAD", key, "", {});
    if (response.status == 404) {
        return false;
    }
    if (response.status >= 300) {
        fail("HEAD", key, response);
    }
    return true;
}

std::optional<uint64_t> S3Repository::sizeOf(const std::string& key) {
    auto response = request("HEAD", key, "", {});
    if (response.status == 404) {
        return std::nullopt;
    }
    if (response.status >= 300 || response.length < 0) {
        fail("HEAD", key, response);
    }
    return static_cast<uint64_t>(response.length);
}

void S3Repository::putText(const std::string& key, std::string_view content) {
    auto response = request("PUT", key, "", content);
    if (response.status >= 300) {
        fail("PUT", key, response);
    }
}

void S3Repository::putFile(const std::string& key, const std::string& local_path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(local_path.c_str(), "rb"), std::fclose);
    struct stat info {};
    if (!file || ::fstat(fileno(file.get()), &info) != 0) {
        throw Exception(ErrorCode::IoError, "cannot read {}", local_path);
    }
    auto size = static_cast<uint64_t>(info.st_size);
    if (size > kMultipartThreshold) {
        putMultipart(key, file.get(), size);
        return;
    }
    auto response = request("PUT", key, "", {}, file.get(), 0, size);
    if (response.status >= 300) {
        fail("PUT", key, response);
    }
}

void S3Repository::putMultipart(const std::string& key, std::FILE* file, uint64_t size) {
    auto initiated = request("POST", key, "uploads=", {});
    if (initiated.status >= 300) {
        fail("starting the multipart upload of", key, initiated);
    }
    auto ids = elements(initiated.body, "UploadId");
    if (ids.empty()) {
        throw Exception(ErrorCode::BadResponse, "{}: no UploadId in the answer to a multipart upload of {}",
                        describe(), key);
    }
    std::string upload = "uploadId=" + clickhouse::urlEncode(ids.front());
    std::string completion = "<CompleteMultipartUpload>";
    try {
        int number = 1;
        for (uint64_t offset = 0; offset < size; offset += kPartSize, ++number) {
            uint64_t length = std::min(kPartSize, size - offset);
            auto part = request("PUT", key, "partNumber=" + std::to_string(number) + "&" + upload, {}, file,
                                offset, length);
            if (part.status >= 300) {
                fail(fmt::format("uploading part {} of", number), key, part);
            }
            completion +=
                fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", number, part.etag);
        }
        completion += "</CompleteMultipartUpload>";
        auto completed = request("POST", key, upload, completion);
        if (completed.status >= 300 || completed.body.find("<Error>") != std::string::npos) {
            fail("completing the multipart upload of", key, completed);
        }
    } catch (const Exception&) {
        request("DELETE", key, upload, {});
        throw;
    }
}

std::string S3Repository::getText(const std::string& key) {
    auto response = request("GET", key, "", {});
    if (response.status >= 300) {
        fail("GET", key, response);
    }
    return response.body;
}

void S3Repository::getFile(const std::string& key, const std::string& local_path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(local_path.c_str(), "wb"), std::fclose);
    if (!file) {
        throw Exception(ErrorCode::IoError, "cannot write {}", local_path);
    }
    auto response = request("GET", key, "", {}, nullptr, 0, 0, file.get());
    if (response.status >= 300) {
        fail("GET", key, response);
    }
    if (std::fflush(file.get()) != 0) {
        throw Exception(ErrorCode::IoError, "cannot write {}", local_path);
    }
}

std::vector<ObjectInfo> S3Repository::list(const std::string& prefix) {
    std::vector<ObjectInfo> out;
    std::string full_prefix = spec_.prefix.empty() ? prefix : spec_.prefix + "/" + prefix;
    // The bucket itself is listed: request() with no key addresses it.
    std::string token;
    while (true) {
        std::string query = "list-type=2&prefix=" + clickhouse::urlEncode(full_prefix);
        if (!token.empty()) {
            query += "&continuation-token=" + clickhouse::urlEncode(token);
        }
        auto response = request("GET", "", query, {});
        if (response.status >= 300) {
            fail("listing", prefix, response);
        }
        auto keys = elements(response.body, "Key");
        auto sizes = elements(response.body, "Size");
        for (size_t i = 0; i < keys.size(); ++i) {
            std::string key = keys[i];
            if (!spec_.prefix.empty()) {
                key = key.substr(spec_.prefix.size() + 1);
            }
            out.push_back({key, i < sizes.size() ? std::stoull(sizes[i]) : 0});
        }
        auto truncated = elements(response.body, "IsTruncated");
        auto next = elements(response.body, "NextContinuationToken");
        if (truncated.empty() || truncated.front() != "true" || next.empty()) {
            return out;
        }
        token = next.front();
    }
}

void S3Repository::remove(const std::string& key) {
    auto response = request("DELETE", key, "", {});
    if (response.status >= 300 && response.status != 404) {
        fail("DELETE", key, response);
    }
}

}  // namespace chfleet::backup
