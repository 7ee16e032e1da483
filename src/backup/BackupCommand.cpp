// chfleet backup create/list/verify/delete/cleanup/restore: the command line of backup/BackupEngine.h.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "backup/BackupEngine.h"
#include "backup/Progress.h"
#include "common/Command.h"
#include "common/Exception.h"
#include "topology/Fleet.h"

namespace chfleet {

namespace {

std::string isoTime(int64_t ms) {
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(seconds));
}

std::string humanBytes(uint64_t bytes) {
    if (bytes < (1u << 20)) {
        return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
    }
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / 1048576.0);
}

}  // namespace

int backupMain(const std::vector<std::string>& args) {
    CLI::App app{
        "Back up a site of the fleet and restore it: one healthy replica per shard of every region, frozen\n"
        "together (ALTER TABLE ... FREEZE), every file stored once by its SHA-256 in the region's own "
        "repository\n"
        "(a folder or an S3-compatible bucket; the backup: section of the fleet file, or --repo), a "
        "manifest\n"
        "per region written last. Restores go through staging tables and REPLACE PARTITION, checked file by\n"
        "file and row by row before anything becomes visible. chfleet must run where the servers' data is\n"
        "(FREEZE writes on the server's disk): see docs/backup.md.\n\n"
        "Examples:\n"
        "  chfleet backup create -f fleet.yaml nightly-2026-12-03\n"
        "  chfleet backup create -f fleet.yaml --table events --consistent --repo s3://backups/teei\n"
        "  chfleet backup create -f fleet.yaml nightly --node clickhouse-us-0 --node clickhouse-eu-0  # on "
        "each host\n"
        "  chfleet backup create -f fleet.yaml nightly --finish\n"
        "  chfleet backup list -f fleet.yaml --json\n"
        "  chfleet backup verify -f fleet.yaml nightly-2026-12-03\n"
        "  chfleet backup verify -f fleet.yaml nightly-2026-12-03 --restore-test\n"
        "  chfleet backup restore -f fleet.yaml nightly-2026-12-03 --table events --partition 202612 --rm\n"
        "  chfleet backup restore -f fleet.yaml nightly-2026-12-03 --to-site dr --dry-run\n"
        "  chfleet backup restore -f fleet.yaml nightly-2026-12-03 --region us-east-1 --to-region "
        "eu-central-1 \\\n"
        "      --allow-cross-region --table events --rm\n"
        "  chfleet backup cleanup -f fleet.yaml --keep-days 30 --keep 3\n\n"
        "S3 credentials: access_key_env/secret_key_env in the fleet file, default AWS_ACCESS_KEY_ID and\n"
        "AWS_SECRET_ACCESS_KEY; with --repo s3://..., AWS_ENDPOINT_URL and AWS_REGION too.\n\n"
        "Exit codes: 0 done; 1 failed (verify found a bad object, restore refused, a step failed); 2 bad\n"
        "arguments (unknown backup, table or partition, invalid name); 4 invalid fleet file or no "
        "repository;\n"
        "5 a server or repository could not be reached. Reference: docs/backup.md.",
        "chfleet backup"};
    addCommonOptions(app);
    app.require_subcommand(1);
    std::string file;
    std::string repo;
    bool json = false;
    bool dry_run = false;
    std::string name;
    auto common = [&](CLI::App* command) {
        addFleetFileOption(*command, file);
        command->add_option("--repo", repo,
                            "the repository for every region instead of the fleet file's: a folder or "
                            "s3://bucket/prefix");
    };

    backup::CreateOptions create_options;
    auto* create = app.add_subcommand("create", "back up a site: every table, or those given with --table");
    common(create);
    create->add_option("name", name, "the backup's name (default: the time, e.g. 2026-12-03T070000Z)");
    create->add_option("--site", create_options.site, "the site to back up (default: the first one)");
    create->add_option("--table", create_options.tables, "a table of the fleet file (repeatable)");
    create->add_flag("--consistent", create_options.consistent,
                     "before freezing: stop merges and wait until each chosen replica has every part of its "
                     "shard (SYSTEM SYNC REPLICA); then freeze all shards at once");
    create->add_option("--node", create_options.nodes,
                       "per host (repeatable): back up only the shards of these nodes, frozen on them; run "
                       "the same command on each host with its own nodes and one backup name: the manifest "
                       "is written by the run that brings the last shard");
    bool finish = false;
    create->add_flag("--finish", finish,
                     "write the manifests of a per-host backup whose shards are all stored (exit 1 naming "
                     "the shards still missing)");
    create->add_flag("--json", json, "machine-readable output (no progress lines)");

    auto* list = app.add_subcommand("list", "the backups: name, time, size, base, shards, complete or not");
    common(list);
    list->add_flag("--json", json, "machine-readable output");

    bool restore_test = false;
    auto* verify = app.add_subcommand(
        "verify", "re-hash every object of a backup against its manifest, or restore it (--restore-test)");
    common(verify);
    verify->add_option("name", name, "the backup")->required();
    verify->add_flag("--restore-test", restore_test,
                     "restore the whole backup into a scratch fleet (one local server per region, on free "
                     "loopback ports, removed afterwards) and compare rows and checksums per table and "
                     "partition with the manifest; exit 1 naming the first difference");
    verify->add_flag("--json", json, "machine-readable output");

    auto* remove =
        app.add_subcommand("delete", "delete a backup; files that another backup still needs are kept");
    common(remove);
    remove->add_option("name", name, "the backup")->required();
    remove->add_flag("--dry-run", dry_run, "say what would be deleted; delete nothing");
    remove->add_flag("--json", json, "machine-readable output");

    int keep_days = -1;
    int keep = 1;
    auto* cleanup = app.add_subcommand(
        "cleanup", "delete backups older than --keep-days (the fleet file's backup.keep_days, default 30)");
    common(cleanup);
    cleanup->add_option("--keep-days", keep_days, "age limit in days")->check(CLI::Range(0, 36500));
    cleanup->add_option("--keep", keep, "always keep this many newest complete backups (default 1)")
        ->check(CLI::Range(0, 100000));
    cleanup->add_flag("--dry-run", dry_run, "say what would be deleted; delete nothing");
    cleanup->add_flag("--json", json, "machine-readable output");

    backup::RestoreOptions restore_options;
    auto* restore = app.add_subcommand(
        "restore", "restore a backup, one table or one partition, into its site or another (--to-site)");
    common(restore);
    restore->add_option("name", name, "the backup")->required();
    restore->add_option("--table", restore_options.table, "only this table of the fleet file");
    restore->add_option("--partition", restore_options.partition, "only this partition ID (e.g. 202612)");
    restore->add_option("--to-site", restore_options.to_site, "restore into this site (same regions)");
    restore->add_option("--region", restore_options.region, "only this region's part of the backup");
    restore->add_option("--to-region", restore_options.to_region,
                        "restore into this region instead of the one of the same name (needs "
                        "--allow-cross-region, and --region when the backup holds several)");
    restore->add_flag("--allow-cross-region", restore_options.allow_cross_region,
                      "allow --to-region to differ from the backup's region: only rows of companies the "
                      "target region's mapping assigns to it are restored, the others are left out (and "
                      "counted) before anything becomes visible");
    restore->add_flag("--rm", restore_options.replace,
                      "replace partitions that hold rows (and, for a whole table, drop partitions the backup "
                      "lacks); without it a restore into non-empty partitions is refused");
    restore->add_flag("--dry-run", restore_options.dry_run, "print the plan; change nothing");
    restore->add_flag("--json", json, "machine-readable output");

    return runCommand(app, args, [&]() -> int {
        auto fleet = topology::loadFleet(file);
        std::optional<backup::RepositorySpec> spec;
        if (!repo.empty()) {
            spec = backup::parseRepositoryArgument(repo);
        }
        backup::BackupEngine engine(fleet, spec);
        if (create->parsed()) {
            if (finish && name.empty()) {
                throw Exception(ErrorCode::BadArguments, "--finish needs the backup's name");
            }
            if (name.empty()) {
                name = fmt::format("{:%Y-%m-%dT%H%M%SZ}", fmt::gmtime(std::time(nullptr)));
            }
            if (finish) {
                auto waiting = engine.finish(name, create_options.site);
                if (json) {
                    std::cout << nlohmann::json{{"name", name},
                                                {"complete", waiting.empty()},
                                                {"waiting", waiting}}
                                     .dump(2)
                              << "\n";
                } else {
                    std::cout << fmt::format("backup {}: {}\n", name,
                                             waiting.empty()
                                                 ? std::string("complete")
                                                 : fmt::format("not complete; {}", fmt::join(waiting, "; ")));
                }
                return waiting.empty() ? 0 : 1;
            }
            create_options.progress = backup::progressWanted(json);
            auto report = engine.create(name, create_options);
            if (json) {
                std::cout << nlohmann::json{{"name", report.name},
                                            {"site", report.site},
                                            {"regions", report.regions},
                                            {"shards", report.shards},
                                            {"parts", report.parts},
                                            {"files", report.files},
                                            {"size_bytes", report.size_bytes},
                                            {"uploaded_bytes", report.uploaded_bytes},
                                            {"complete", report.waiting.empty()},
                                            {"waiting", report.waiting},
                                            {"seconds", report.seconds}}
                                 .dump(2)
                          << "\n";
            } else {
                std::cout << fmt::format(
                    "backup {}: site {}, {} shards, {} parts, {} ({} stored by this run), "
                    "{:.1f} s\n",
                    report.name, report.site, report.shards, report.parts, humanBytes(report.size_bytes),
                    humanBytes(report.uploaded_bytes), report.seconds);
                for (const auto& line : report.waiting) {
                    std::cout << "waiting for other hosts: " << line << "\n";
                }
            }
            return 0;
        }
        if (list->parsed()) {
            auto listings = engine.list();
            if (json) {
                auto out = nlohmann::json::array();
                for (const auto& item : listings) {
                    out.push_back({{"name", item.name},
                                   {"time", isoTime(item.started_ms)},
                                   {"size_bytes", item.size_bytes},
                                   {"base", item.base},
                                   {"shards", item.shards},
                                   {"regions", item.regions},
                                   {"state", item.complete ? "complete" : "incomplete"}});
                }
                std::cout << out.dump(2) << "\n";
            } else {
                std::cout << fmt::format("{:<32} {:<21} {:>12} {:<24} {:>6} {}\n", "NAME", "TIME", "SIZE",
                                         "BASE", "SHARDS", "STATE");
                for (const auto& item : listings) {
                    std::cout << fmt::format("{:<32} {:<21} {:>12} {:<24} {:>6} {}\n", item.name,
                                             isoTime(item.started_ms), humanBytes(item.size_bytes),
                                             item.base.empty() ? "-" : item.base, item.shards,
                                             item.complete ? "complete" : "incomplete");
                }
            }
            return 0;
        }
        if (verify->parsed() && restore_test) {
            auto report = engine.restoreTest(name, backup::progressWanted(json));
            if (json) {
                auto differences = nlohmann::json::array();
                for (const auto& difference : report.differences) {
                    nlohmann::json item{{"region", difference.region},
                                        {"table", difference.table},
                                        {"partition", difference.partition},
                                        {"expected_rows", difference.expected_rows},
                                        {"restored_rows", difference.restored_rows},
                                        {"restored_checksum", difference.restored_checksum},
                                        {"problem", difference.describe()}};
                    if (difference.expected_checksum) {
                        item["expected_checksum"] = *difference.expected_checksum;
                    }
                    differences.push_back(item);
                }
                std::cout << nlohmann::json{{"name", name},
                                            {"regions", report.regions},
                                            {"tables", report.tables},
                                            {"partitions", report.partitions},
                                            {"rows", report.rows},
                                            {"checksums_compared", report.checksums},
                                            {"ok", report.differences.empty()},
                                            {"differences", differences},
                                            {"seconds", report.seconds}}
                                 .dump(2)
                          << "\n";
            } else {
                for (const auto& difference : report.differences) {
                    std::cout << "DIFFERENT " << difference.describe() << "\n";
                }
                std::cout << fmt::format(
                    "restore test {}: {} tables, {} partitions, {} rows restored in a scratch fleet; {}{}, "
                    "{:.1f} s\n",
                    name, report.tables, report.partitions, report.rows,
                    report.checksums ? "row counts and checksums"
                                     : "row counts (the backup has no checksums)",
                    report.differences.empty()
                        ? " match the backup"
                        : fmt::format(" differ, first: {}", report.differences.front().describe()),
                    report.seconds);
            }
            return report.differences.empty() ? 0 : 1;
        }
        if (verify->parsed()) {
            auto report = engine.verify(name);
            if (json) {
                auto problems = nlohmann::json::array();
                for (const auto& problem : report.problems) {
                    problems.push_back({{"region", problem.region},
                                        {"where", problem.where},
                                        {"object", problem.object},
                                        {"problem", problem.problem}});
                }
                std::cout << nlohmann::json{{"name", name},
                                            {"objects", report.objects},
                                            {"bytes", report.bytes},
                                            {"ok", report.problems.empty()},
                                            {"problems", problems}}
                                 .dump(2)
                          << "\n";
            } else {
                for (const auto& problem : report.problems) {
                    std::cout << fmt::format("BAD {} ({} {}): {}\n", problem.object, problem.region,
                                             problem.where, problem.problem);
                }
                std::cout << fmt::format(
                    "verify {}: {} objects, {}, {}\n", name, report.objects, humanBytes(report.bytes),
                    report.problems.empty() ? std::string("all match the manifest")
                                            : fmt::format("{} do not match", report.problems.size()));
            }
            return report.problems.empty() ? 0 : 1;
        }
        if (remove->parsed() || cleanup->parsed()) {
            int days = keep_days >= 0 ? keep_days : backup::backupConfig(fleet).keep_days;
            auto report =
                remove->parsed() ? engine.remove(name, dry_run) : engine.cleanup(days, keep, dry_run);
            if (json) {
                std::cout << nlohmann::json{{"deleted", report.backups},
                                            {"blobs_removed", report.blobs_removed},
                                            {"bytes_freed", report.bytes_freed},
                                            {"dry_run", dry_run},
                                            {"blobs_kept_for_running_backup",
                                             report.blobs_kept_for_running_backup}}
                                 .dump(2)
                          << "\n";
            } else {
                std::cout << fmt::format(
                    "{}{} backups deleted{}; {} files no backup needs any more removed ({})\n",
                    dry_run ? "dry run: " : "", report.backups.size(),
                    report.backups.empty() ? ""
                                           : " (" + fmt::format("{}", fmt::join(report.backups, ", ")) + ")",
                    report.blobs_removed, humanBytes(report.bytes_freed));
            }
            return 0;
        }
        restore_options.progress = backup::progressWanted(json);
        auto report = engine.restore(name, restore_options);
        if (json) {
            std::cout << nlohmann::json{{"name", name},
                                        {"plan", report.plan},
                                        {"parts", report.parts},
                                        {"rows", report.rows},
                                        {"rows_erased", report.rows_erased},
                                        {"rows_left_out", report.rows_left_out},
                                        {"bytes", report.bytes},
                                        {"partitions_replaced", report.partitions_replaced},
                                        {"dry_run", restore_options.dry_run},
                                        {"seconds", report.seconds}}
                             .dump(2)
                      << "\n";
        } else {
            for (const auto& line : report.plan) {
                std::cout << (restore_options.dry_run ? "would restore " : "") << line << "\n";
            }
            std::cout << fmt::format("restore {}{}: {} parts, {} rows, {} partitions{}, {:.1f} s\n",
                                     restore_options.dry_run ? "(dry run) " : "", name, report.parts,
                                     report.rows, report.partitions_replaced,
                                     restore_options.allow_cross_region
                                         ? fmt::format(", {} rows of companies not mapped to {} left out",
                                                       report.rows_left_out, restore_options.to_region)
                                         : "",
                                     report.seconds);
        }
        return 0;
    });
}

}  // namespace chfleet
