#include "topology/Fleet.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/Exception.h"
#include "common/Log.h"

namespace chfleet::topology {

bool Node::operator==(const Node& other) const {
    return name == other.name && site == other.site && region == other.region && shard == other.shard &&
           replica == other.replica && host == other.host && http_port == other.http_port &&
           tcp_port == other.tcp_port && interserver_port == other.interserver_port;
}

const Node* Region::node(int shard, int replica) const {
    for (const auto& node : nodes) {
        if (node.shard == shard && node.replica == replica) {
            return &node;
        }
    }
    return nullptr;
}

const Region* Site::region(const std::string& region_name) const {
    for (const auto& region : regions) {
        if (region.name == region_name) {
            return &region;
        }
    }
    return nullptr;
}

std::vector<const Node*> Site::nodes() const {
    std::vector<const Node*> result;
    for (const auto& region : regions) {
        for (const auto& node : region.nodes) {
            result.push_back(&node);
        }
    }
    return result;
}

namespace {

/// The first line of a password file (one trailing newline dropped).
std::string readSecretFile(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw Exception(ErrorCode::InvalidConfig,
                        "cannot read the fleet password file {}: {}; create it (mode 0600) with the password "
                        "on its first line",
                        file, std::strerror(errno));
    }
    std::ostringstream content;
    content << in.rdbuf();
    std::string secret = content.str();
    if (!secret.empty() && secret.back() == '\n') {
        secret.pop_back();
        if (!secret.empty() && secret.back() == '\r') {
            secret.pop_back();
        }
    }
    if (secret.empty()) {
        throw Exception(ErrorCode::InvalidConfig,
                        "the fleet password file {} is empty; write the password into it (or remove "
                        "password_file for a user without a password)",
                        file);
    }
    struct stat status {};
    if (::stat(file.c_str(), &status) == 0 && (status.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        log::get("topology")->warn("password file {} is accessible to group or others; chmod 600 it", file);
    }
    return secret;
}

/// The systemd credential named `name` ($CREDENTIALS_DIRECTORY/<name>, from LoadCredential=), "" if none.
std::string systemdCredential(const std::string& name) {
    const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
    if (directory == nullptr || *directory == '\0' || name.find('/') != std::string::npos) {
        return {};
    }
    std::string path = std::string(directory) + "/" + name;
    struct stat status {};
    return ::stat(path.c_str(), &status) == 0 ? path : std::string();
}

}  // namespace

std::string SecretRef::resolve() const {
    if (!env.empty()) {
        const char* value = std::getenv(env.c_str());
        if (value == nullptr) {
            // Under systemd the secret comes as a credential of the same name (LoadCredential=NAME:FILE):
            // systemd reads the root-only file and hands it to the service, DynamicUser or not.
            std::string credential = systemdCredential(env);
            if (!credential.empty()) {
                return readSecretFile(credential);
            }
            throw Exception(
                ErrorCode::InvalidConfig,
                "the fleet password is read from environment variable {}, which is not set; export it "
                "(or point credentials.password_file at a file holding the password; under systemd, "
                "LoadCredential={}:/etc/chfleet/password)",
                env, env);
        }
        if (*value == '\0') {
            throw Exception(
                ErrorCode::InvalidConfig,
                "the fleet password is read from environment variable {}, which is empty; set it to the "
                "password (or remove password_env for a user without a password)",
                env);
        }
        return value;
    }
    if (!file.empty()) {
        return readSecretFile(file);
    }
    return {};
}

std::string SecretRef::describe() const {
    if (!env.empty()) {
        return "env " + env;
    }
    if (!file.empty()) {
        return "file " + file;
    }
    return "none";
}

const Column* Table::column(const std::string& column_name) const {
    for (const auto& column : columns) {
        if (column.name == column_name) {
            return &column;
        }
    }
    return nullptr;
}

bool ExtensionSet::operator==(const ExtensionSet& other) const {
    if (items_.size() != other.items_.size()) {
        return false;
    }
    for (const auto& [key, value] : items_) {
        auto it = other.items_.find(key);
        if (it == other.items_.end() || !value->equals(*it->second)) {
            return false;
        }
    }
    return true;
}

const Table* Schema::table(const std::string& table_name) const {
    for (const auto& table : tables) {
        if (table.name == table_name) {
            return &table;
        }
    }
    return nullptr;
}

const Site* Fleet::site(const std::string& site_name) const {
    for (const auto& site : sites) {
        if (site.name == site_name) {
            return &site;
        }
    }
    return nullptr;
}

const Node* Fleet::node(const std::string& node_name) const {
    for (const auto& site : sites) {
        for (const auto& region : site.regions) {
            for (const auto& node : region.nodes) {
                if (node.name == node_name) {
                    return &node;
                }
            }
        }
    }
    return nullptr;
}

std::vector<const Node*> Fleet::nodes() const {
    std::vector<const Node*> result;
    for (const auto& site : sites) {
        auto site_nodes = site.nodes();
        result.insert(result.end(), site_nodes.begin(), site_nodes.end());
    }
    return result;
}

std::vector<uint16_t> Fleet::ports() const {
    std::vector<uint16_t> result;
    for (const auto& site : sites) {
        for (const auto& keeper : site.keepers) {
            result.push_back(keeper.port);
        }
        for (const auto* node : site.nodes()) {
            result.push_back(node->http_port);
            result.push_back(node->tcp_port);
            result.push_back(node->interserver_port);
        }
    }
    return result;
}

bool Fleet::operator==(const Fleet& other) const {
    return name == other.name && credentials == other.credentials && sites == other.sites &&
           schema == other.schema && sections == other.sections;
}

std::string FleetProblem::text() const {
    if (path.empty()) {
        return fmt::format("{}:{}: {}", file, line, message);
    }
    return fmt::format("{}:{}: {}: {}", file, line, path, message);
}

std::string FleetCheck::describeProblems() const {
    std::string result;
    for (const auto& problem : problems) {
        if (!result.empty()) {
            result += '\n';
        }
        result += problem.text();
    }
    return result;
}

}  // namespace chfleet::topology
