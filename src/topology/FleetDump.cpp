// The resolved fleet file: the fleet as YAML with every node and keeper written out (dumpFleet, Fleet.h).
#include <yaml-cpp/yaml.h>

#include "topology/Fleet.h"
#include "topology/FleetSection.h"

namespace chfleet::topology {

std::string dumpFleet(const Fleet& fleet) {
    YAML::Emitter out;
    out << YAML::Comment(
        "Resolved fleet file written by chfleet: every node and keeper is listed explicitly.");
    out << YAML::BeginMap;
    out << YAML::Key << "fleet" << YAML::Value << fleet.name;
    out << YAML::Key << "credentials" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "user" << YAML::Value << fleet.credentials.user;
    if (!fleet.credentials.password.env.empty()) {
        out << YAML::Key << "password_env" << YAML::Value << fleet.credentials.password.env;
    }
    if (!fleet.credentials.password.file.empty()) {
        out << YAML::Key << "password_file" << YAML::Value << fleet.credentials.password.file;
    }
    out << YAML::EndMap;
    out << YAML::Key << "sites" << YAML::Value << YAML::BeginSeq;
    for (const auto& site : fleet.sites) {
        out << YAML::BeginMap;
        out << YAML::Key << "name" << YAML::Value << site.name;
        out << YAML::Key << "global_cluster" << YAML::Value << site.global_cluster;
        if (site.keeper_session_timeout_ms != Site::kDefaultKeeperSessionTimeoutMs) {
            out << YAML::Key << "keeper_session_timeout_ms" << YAML::Value << site.keeper_session_timeout_ms;
        }
        out << YAML::Key << "keepers" << YAML::Value << YAML::BeginSeq;
        for (const auto& keeper : site.keepers) {
            out << YAML::Flow << YAML::BeginMap << YAML::Key << "host" << YAML::Value << keeper.host
                << YAML::Key << "port" << YAML::Value << keeper.port << YAML::EndMap;
        }
        out << YAML::EndSeq;
        out << YAML::Key << "regions" << YAML::Value << YAML::BeginSeq;
        for (const auto& region : site.regions) {
            out << YAML::BeginMap;
            out << YAML::Key << "name" << YAML::Value << region.name;
            out << YAML::Key << "alias" << YAML::Value << region.alias;
            out << YAML::Key << "cluster" << YAML::Value << region.cluster;
            out << YAML::Key << "shards" << YAML::Value << region.shards;
            out << YAML::Key << "replicas" << YAML::Value << region.replicas;
            if (!region.weights.empty()) {
                out << YAML::Key << "weights" << YAML::Value << YAML::Flow << region.weights;
            }
            out << YAML::Key << "nodes" << YAML::Value << YAML::BeginSeq;
            for (const auto& node : region.nodes) {
                out << YAML::Flow << YAML::BeginMap;
                out << YAML::Key << "name" << YAML::Value << node.name;
                out << YAML::Key << "host" << YAML::Value << node.host;
                out << YAML::Key << "http_port" << YAML::Value << node.http_port;
                out << YAML::Key << "tcp_port" << YAML::Value << node.tcp_port;
                out << YAML::Key << "interserver_port" << YAML::Value << node.interserver_port;
                out << YAML::Key << "shard" << YAML::Value << node.shard;
                out << YAML::Key << "replica" << YAML::Value << node.replica;
                out << YAML::EndMap;
            }
            out << YAML::EndSeq;
            out << YAML::EndMap;
        }
        out << YAML::EndSeq;
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    for (const auto& section : fleetSections()) {
        section.dump(fleet, out);
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace chfleet::topology
