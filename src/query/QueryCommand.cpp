// `chfleet query`: one statement on one node (or on every node), for operators and tests.
#include <iostream>
#include <iterator>
#include <sstream>

#include "clickhouse/Connection.h"
#include "common/Command.h"
#include "common/Exception.h"
#include "topology/Fleet.h"
#include "topology/NodeConnection.h"

namespace chfleet {

int queryMain(const std::vector<std::string>& args) {
    CLI::App app{
        "Runs one SQL statement on one node of the fleet with the fleet's credentials and prints the "
        "server's answer\n"
        "as it comes (TabSeparated unless the statement says FORMAT ...). The SQL '-' reads it from standard "
        "input.\n"
        "With --all the statement runs on every node (of --site, --region) and each answer line is prefixed "
        "with\n"
        "node, site, region, shard and replica, tab-separated.\n\n"
        "Examples:\n"
        "  chfleet query -f .sandbox/fleet.yaml clickhouse-us-0 \"SELECT count() FROM teei.events_local\"\n"
        "  chfleet query -f .sandbox/fleet.yaml --all --site primary \"SELECT count() FROM "
        "teei.events_local\"\n"
        "  chfleet query -f .sandbox/fleet.yaml clickhouse-eu-0 -S insert_distributed_sync=1 \"INSERT INTO "
        "...\"",
        "chfleet query"};
    addCommonOptions(app);
    std::string file, sql, site, region;
    std::vector<std::string> settings_text;
    bool all = false;
    addFleetFileOption(app, file);
    app.add_flag("--all", all, "run on every node instead of one");
    app.add_option("--site", site, "with --all: only this site's nodes");
    app.add_option("--region", region, "with --all: only this region's nodes");
    app.add_option("-S,--setting", settings_text,
                   "a ClickHouse setting for this query, NAME=VALUE (repeatable)")
        ->allow_extra_args(false);
    std::string first, second;
    app.add_option("node", first, "node name (with --all: the SQL)")->required();
    app.add_option("sql", second, "the statement; '-' reads standard input");
    return runCommand(app, args, [&]() -> int {
        if (all != second.empty()) {
            throw Exception(ErrorCode::BadArguments,
                            all ? "with --all give only the SQL"
                                : "give the node name and the SQL (or --all and the SQL)");
        }
        sql = all ? first : second;
        if (sql == "-") {
            sql.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        }
        clickhouse::Settings settings;
        for (const auto& text : settings_text) {
            auto eq = text.find('=');
            if (eq == std::string::npos || eq == 0) {
                throw Exception(ErrorCode::BadArguments, "--setting wants NAME=VALUE, got '{}'", text);
            }
            settings.emplace_back(text.substr(0, eq), text.substr(eq + 1));
        }
        auto fleet = topology::loadFleet(file);
        if (!all) {
            const auto* node = fleet.node(first);
            if (node == nullptr) {
                throw Exception(ErrorCode::BadArguments, "no node named '{}' in {}", first, file);
            }
            std::cout << topology::connectTo(fleet, *node)->execute(sql, {}, settings) << std::flush;
            return 0;
        }
        size_t failures = 0, unreached = 0, selected = 0;
        for (const auto* node : fleet.nodes()) {
            if ((!site.empty() && node->site != site) || (!region.empty() && node->region != region)) {
                continue;
            }
            ++selected;
            std::string prefix = fmt::format("{}\t{}\t{}\t{}\t{}\t", node->name, node->site, node->region,
                                             node->shard, node->replica);
            try {
                std::istringstream answer(topology::connectTo(fleet, *node)->execute(sql, {}, settings));
                for (std::string line; std::getline(answer, line);) {
                    std::cout << prefix << line << "\n";
                }
            } catch (const Exception& e) {
                std::cout << prefix << "ERROR: " << e.what() << "\n";
                ++failures;
                unreached +=
                    e.code() == ErrorCode::ConnectionFailed || e.code() == ErrorCode::Timeout ? 1 : 0;
            }
        }
        std::cout << std::flush;
        return serversExitCode(failures, selected - unreached);
    });
}

}  // namespace chfleet
