#include "topology/ConfigRenderer.h"

#include <cctype>
#include <filesystem>

#include "common/Digest.h"
#include "common/Exception.h"
#include "common/Files.h"
#include "topology/NetworkSection.h"

namespace chfleet::topology {

namespace {

constexpr std::string_view kDdlQueuePath = "/clickhouse/task_queue/ddl";
constexpr std::string_view kGeneratedNotice =
    "Written by chfleet config render from the fleet file. Do not edit: change the fleet file and render "
    "again.";

bool isXmlName(std::string_view name) {
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
        return false;
    }
    for (char c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
            return false;
        }
    }
    return true;
}

/// Writes indented XML one element at a time; every text value goes through xmlEscape.
class XmlWriter {
  public:
    XmlWriter() { out_ = "<?xml version=\"1.0\"?>\n"; }

    void comment(std::string_view text) { out_ += fmt::format("<!-- {} -->\n", text); }

    /// Opens <name attributes>; `name` must be a valid XML name (`what` says what it is, for the error).
    void open(std::string_view name, std::string_view what, std::string_view attributes = {}) {
        checkName(name, what);
        indent();
        out_ += fmt::format("<{}{}{}>\n", name, attributes.empty() ? "" : " ", attributes);
        open_.emplace_back(name);
    }

    void close() {
        std::string name = std::move(open_.back());
        open_.pop_back();
        indent();
        out_ += fmt::format("</{}>\n", name);
    }

    void element(std::string_view name, std::string_view value, std::string_view what) {
        checkName(name, what);
        indent();
        out_ += fmt::format("<{0}>{1}</{0}>\n", name, xmlEscape(value, what));
    }

    /// <name attributes/>
    void empty(std::string_view name, std::string_view attributes) {
        checkName(name, name);
        indent();
        out_ += fmt::format("<{} {}/>\n", name, attributes);
    }

    void element(std::string_view name, long long value) { element(name, std::to_string(value), name); }

    std::string finish() {
        while (!open_.empty()) {
            close();
        }
        return std::move(out_);
    }

  private:
    static void checkName(std::string_view name, std::string_view what) {
        if (!isXmlName(name)) {
            throw Exception(
                ErrorCode::InvalidConfig,
                "{} '{}' cannot be written into a ClickHouse config: it must be an XML element name "
                "(letters, digits, '_', '-', '.', starting with a letter or '_')",
                what, name);
        }
    }

    void indent() { out_.append(open_.size() * 4, ' '); }

    std::string out_;
    std::vector<std::string> open_;
};

const Site& siteOf(const Fleet& fleet, const Node& node) {
    const Site* site = fleet.site(node.site);
    if (site == nullptr || site->region(node.region) == nullptr) {
        throw Exception(ErrorCode::InvalidConfig,
                        "node {} names site '{}' region '{}', which the fleet does not have", node.name,
                        node.site, node.region);
    }
    return *site;
}

void writeShard(XmlWriter& xml, const Fleet& fleet, const Region& region, int shard,
                const std::string& password) {
    xml.open("shard", "shard");
    xml.element("weight", region.weight(shard));
    xml.element("internal_replication", "true", "internal_replication");
    for (int replica = 1; replica <= region.replicas; ++replica) {
        const Node* node = region.node(shard, replica);
        if (node == nullptr) {
            throw Exception(ErrorCode::InvalidConfig, "region {} has no node for shard {} replica {}",
                            region.name, shard, replica);
        }
        xml.open("replica", "replica");
        xml.element("host", node->host, "host of node " + node->name);
        xml.element("port", node->tcp_port);
        xml.element("user", fleet.credentials.user, "fleet user");
        if (!password.empty()) {
            xml.element("password", password, "the fleet password");
        }
        xml.close();
    }
    xml.close();
}

}  // namespace

std::string xmlEscape(std::string_view text, std::string_view what) {
    std::string result;
    result.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                result += "&amp;";
                break;
            case '<':
                result += "&lt;";
                break;
            case '>':
                result += "&gt;";
                break;
            case '"':
                result += "&quot;";
                break;
            case '\'':
                result += "&apos;";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                    throw Exception(ErrorCode::InvalidConfig,
                                    "{} contains a control character, which an XML config cannot hold", what);
                }
                result += c;
        }
    }
    return result;
}

std::string renderServerConfig(const Fleet& fleet, const Node& node, const std::string& password) {
    const Site& site = siteOf(fleet, node);
    const Region& region = *site.region(node.region);
    XmlWriter xml;
    xml.comment(kGeneratedNotice);
    xml.open("yandex", "root");

    // The stock main configs list up to two loopback listen_hosts (::1 and 127.0.0.1); config.d elements
    // merge into the main config's one by one, so two "remove" entries take those out (a remove that matches
    // nothing is ignored) and the node then listens on its fleet address alone.
    xml.empty("listen_host", "remove=\"remove\"");
    xml.empty("listen_host", "remove=\"remove\"");
    xml.element("listen_host", listenHost(fleet, node), "listen_host of node " + node.name);
    xml.element("http_port", node.http_port);
    xml.element("tcp_port", node.tcp_port);
    xml.element("interserver_http_port", node.interserver_port);
    xml.element("interserver_http_host", node.host, "host of node " + node.name);

    xml.open("remote_servers", "remote_servers");
    // The regions of the node's own site first, then those of every other site: `chfleet sync` reads the
    // other site through cluster('<its region cluster>', ...), so credentials stay here instead of inside
    // remote().
    std::vector<const Site*> sites{&site};
    for (const auto& other : fleet.sites) {
        if (&other != &site) {
            sites.push_back(&other);
        }
    }
    for (const auto* cluster_site : sites) {
        for (const auto& cluster_region : cluster_site->regions) {
            xml.open(cluster_region.cluster, "cluster name", "replace=\"replace\"");
            for (int shard = 1; shard <= cluster_region.shards; ++shard) {
                writeShard(xml, fleet, cluster_region, shard, password);
            }
            xml.close();
        }
    }
    xml.open(site.global_cluster, "global cluster name", "replace=\"replace\"");
    for (const auto& cluster_region : site.regions) {
        for (int shard = 1; shard <= cluster_region.shards; ++shard) {
            writeShard(xml, fleet, cluster_region, shard, password);
        }
    }
    xml.close();
    xml.close();

    xml.open("macros", "macros", "replace=\"replace\"");
    xml.element("site", site.name, "site name");
    xml.element("region", region.name, "region name");
    xml.element("cluster", region.cluster, "cluster name");
    xml.element("shard", node.shard);
    xml.element("replica", node.name, "node name");
    xml.close();

    xml.open("zookeeper", "zookeeper", "replace=\"replace\"");
    for (size_t i = 0; i < site.keepers.size(); ++i) {
        xml.open("node", "node", fmt::format("index=\"{}\"", i + 1));
        xml.element("host", site.keepers[i].host, "keeper host");
        xml.element("port", site.keepers[i].port);
        xml.close();
    }
    xml.element("session_timeout_ms", site.keeper_session_timeout_ms);
    xml.close();

    xml.open("distributed_ddl", "distributed_ddl");
    xml.element("path", kDdlQueuePath, "path");
    xml.close();
    return xml.finish();
}

std::string renderUsersConfig(const Fleet& fleet, const std::string& password) {
    XmlWriter xml;
    xml.comment(kGeneratedNotice);
    xml.open("yandex", "root");
    xml.open("users", "users");
    xml.open(fleet.credentials.user, "fleet user name", "replace=\"replace\"");
    if (password.empty()) {
        xml.element("password", "", "password");
    } else {
        xml.element("password_sha256_hex", sha256Hex(password), "password_sha256_hex");
    }
    xml.open("networks", "networks");
    for (const auto& network : clientNetworks(fleet)) {
        xml.element(network.element, network.value, "network of the fleet user");
    }
    xml.close();
    xml.element("profile", "default", "profile");
    xml.element("quota", "default", "quota");
    return xml.finish();
}

std::string_view configChangeName(ConfigChange change) {
    switch (change) {
        case ConfigChange::None:
            return "unchanged";
        case ConfigChange::New:
            return "new";
        case ConfigChange::Reload:
            return "reload";
        case ConfigChange::Restart:
            return "restart";
    }
    return "restart";
}

namespace {

/// Every occurrence of element `name` in `xml` (from "<name" to its end), concatenated: enough to tell
/// whether a setting differs between two files this renderer wrote.
std::string elementText(const std::string& xml, const std::string& name) {
    std::string result;
    size_t from = 0;
    while ((from = xml.find("<" + name, from)) != std::string::npos) {
        char next = from + name.size() + 1 < xml.size() ? xml[from + name.size() + 1] : '\0';
        if (next != '>' && next != ' ' && next != '/') {
            from += name.size() + 1;
            continue;
        }
        size_t self_closed = xml.find("/>", from);
        size_t opened = xml.find('>', from);
        size_t end = self_closed == opened - 1 ? opened + 1 : xml.find("</" + name + ">", from);
        end = end == std::string::npos ? xml.size() : end;
        result += xml.substr(from, end - from) + "\n";
        from = end;
    }
    return result;
}

}  // namespace

ConfigChange classifyConfigChange(const std::string& old_server_config, const std::string& new_server_config,
                                  bool users_changed, std::vector<std::string>& restart_settings) {
    if (old_server_config.empty()) {
        return ConfigChange::New;
    }
    static const char* const kStartupSettings[] = {
        "listen_host",           "http_port", "tcp_port",  "interserver_http_port",
        "interserver_http_host", "macros",    "zookeeper", "distributed_ddl"};
    for (const char* setting : kStartupSettings) {
        if (elementText(old_server_config, setting) != elementText(new_server_config, setting)) {
            restart_settings.emplace_back(setting);
        }
    }
    if (!restart_settings.empty()) {
        return ConfigChange::Restart;
    }
    return old_server_config != new_server_config || users_changed ? ConfigChange::Reload
                                                                   : ConfigChange::None;
}

std::string serverConfigPath(const Node& node) {
    return node.name + "/config.d/chfleet.xml";
}

std::string usersConfigPath(const Node& node) {
    return node.name + "/users.d/chfleet.xml";
}

std::vector<std::string> writeNodeConfig(const Fleet& fleet, const Node& node, const std::string& out_dir,
                                         const std::string& password) {
    std::vector<std::pair<std::filesystem::path, std::string>> files = {
        {std::filesystem::path(out_dir) / serverConfigPath(node), renderServerConfig(fleet, node, password)},
        {std::filesystem::path(out_dir) / usersConfigPath(node), renderUsersConfig(fleet, password)},
    };
    std::vector<std::string> written;
    for (const auto& [path, text] : files) {
        std::error_code error;
        std::filesystem::create_directories(path.parent_path(), error);
        if (error) {
            throw Exception(ErrorCode::IoError, "cannot create directory {}: {}", path.parent_path().string(),
                            error.message());
        }
        // Mode 0600 from the start: the file holds the fleet password. Atomic: a server reading its config
        // never sees half of it.
        files::writeAtomically(path.string(), text, 0600);
        written.push_back(path.string());
    }
    return written;
}

void renderFleet(const Fleet& fleet, const std::string& out_dir, const std::string& password) {
    for (const Node* node : fleet.nodes()) {
        writeNodeConfig(fleet, *node, out_dir, password);
    }
}

}  // namespace chfleet::topology
