#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "topology/Fleet.h"

namespace chfleet::topology {

/// Renders what a clickhouse-server of the fleet needs to know about the fleet, as two files merged into its
/// own configuration: config.d/chfleet.xml (remote_servers, macros, zookeeper, distributed_ddl, the node's
/// ports) and users.d/chfleet.xml (the fleet user). The root element is <yandex>: ClickHouse 18.16 requires a
/// config.d file's root to match its main config's (<yandex> in 18.16), and current versions treat <yandex>
/// and <clickhouse> as the same root, so one file serves both. Clusters, <zookeeper> and <macros> carry
/// replace="replace" so that whatever the main config says about them is replaced, not merged into.
///
/// Every value is XML-escaped; names that become element names (clusters, the user) must be valid XML names,
/// otherwise Exception(InvalidConfig) is thrown. The rendered config.d file holds the fleet password in clear
/// (remote_servers needs it to connect); users.d holds only its SHA-256.

/// config.d/chfleet.xml of `node`: the clusters of its site (one per region), those of the other sites (for
/// sync), its site's global cluster, its macros (site, region, cluster, shard, replica), its site's keepers
/// and the distributed DDL queue.
std::string renderServerConfig(const Fleet& fleet, const Node& node, const std::string& password);

/// users.d/chfleet.xml: the fleet user with the password's SHA-256, the networks of clientNetworks()
/// (loopback, the fleet's servers, network.allow), profile and quota "default". With an empty password the
/// user has none.
std::string renderUsersConfig(const Fleet& fleet, const std::string& password);

/// The files written for one node, relative to the output directory.
std::string serverConfigPath(const Node& node);  ///< <node>/config.d/chfleet.xml
std::string usersConfigPath(const Node& node);   ///< <node>/users.d/chfleet.xml

/// Writes both files of `node` under `out_dir` (creating directories) with mode 0600, each atomically (a
/// temporary file renamed over the old one). Returns the paths written. Throws Exception(IoError).
std::vector<std::string> writeNodeConfig(const Fleet& fleet, const Node& node, const std::string& out_dir,
                                         const std::string& password);

/// How a server takes a change of its rendered files.
enum class ConfigChange {
    None,     ///< both files are as rendered before
    New,      ///< no file was there before: install, then start or restart the server
    Reload,   ///< only what a running server re-reads changed (remote_servers, users.d): it applies within
              ///< seconds
    Restart,  ///< a setting read only at start-up changed (listen_host, ports, interserver host, macros,
              ///< zookeeper, distributed_ddl): the server must be restarted
};

/// "unchanged", "new", "reload" or "restart".
std::string_view configChangeName(ConfigChange change);

/// What applying `new_server_config` over `old_server_config` (config.d/chfleet.xml texts; old empty when
/// absent) takes; `users_changed` says whether users.d changed. `restart_settings` receives the start-up
/// settings that differ. The conservative answer: zookeeper and macros are re-read live by current
/// versions but not by all, so a change to them is reported as needing a restart.
ConfigChange classifyConfigChange(const std::string& old_server_config, const std::string& new_server_config,
                                  bool users_changed, std::vector<std::string>& restart_settings);

/// writeNodeConfig for every node of the fleet.
void renderFleet(const Fleet& fleet, const std::string& out_dir, const std::string& password);

/// `text` with &, <, >, " and ' replaced by entities. Throws Exception(InvalidConfig) on control characters
/// XML cannot hold; `what` names the value in that message (never the value itself).
std::string xmlEscape(std::string_view text, std::string_view what);

}  // namespace chfleet::topology
