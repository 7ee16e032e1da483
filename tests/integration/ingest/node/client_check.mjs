// Checks that an unmodified official ClickHouse client (@clickhouse/client, the Node.js one) can use
// `chfleet ingest serve` as if it were a ClickHouse server, writing and reading by the same names through one
// URL: ping; an INSERT of 100 events of two companies into the logical table teei.events (JSONEachRow); a
// SELECT count() FROM teei.events through the same URL that must count exactly those 100 rows; a single-company
// GROUP BY (read on one replica of that company's shard); what clients send on connect (EXISTS, DESCRIBE,
// SHOW TABLES) by the logical name; an INSERT into the seed's regional table events_eu_distributed of the EU
// company's rows (taken) and of the US company's rows (refused: residency). Prints one JSON line; exits 1 on any
// error or a wrong answer.
//
// Usage: node client_check.mjs --url http://127.0.0.1:PORT --user app --password-env VAR
//                              --companies us-company-1,eu-company-1 [--wait-seconds 10]
// The password is read from the environment variable VAR, never from the command line. The companies must be
// in the fleet's company -> region mapping, the first in us-east-1 and the second in eu-central-1. Every run
// writes rows of its own user_id, so the counts are exact however often the check runs against the same fleet.
// The count is polled for up to --wait-seconds (default 10) until it matches: a read may go to a replica that
// has not fetched the new part yet (sync mode acknowledges once one replica per shard holds the rows), and in
// async mode rows reach the fleet after the INSERT is acknowledged. `waited_ms` in the result says how long
// that took.
//
// What @clickhouse/client 1.22.0 sends (recorded against a plain ClickHouse 18.16 server, which answers all of
// it), HTTP/1.1 keep-alive, credentials always as `Authorization: Basic base64(user:password)`:
//   ping():   GET /ping                                          (no body; expects 200)
//   insert(): POST /?query_id=<uuid>&query=INSERT+INTO+teei.events+FORMAT+JSONEachRow
//             body: the rows, one JSON object a line, `Transfer-Encoding: chunked` (no Content-Length)
//   query():  POST /?query_id=<uuid>   body: "<sql> \nFORMAT JSONEachRow" (the SQL is in the body, not the URL),
//             chunked; it reads the answer as the format named and UInt64 as JSON strings
// With createClient({database: 'teei'}) the URL also has database=teei and the INSERT names the bare table;
// clickhouse_settings become URL parameters (e.g. &insert_distributed_sync=1). Compression is off here on
// purpose and is off by default in this version: compression.response=true adds enable_http_compression=1 and
// `Accept-Encoding: gzip`, compression.request=true gzips the body with `Content-Encoding: gzip`. An error is any
// non-2xx status (or an X-ClickHouse-Exception-Code header); the body's "Code: N. ..." text becomes the message.
import { createClient } from '@clickhouse/client';
import { randomUUID } from 'node:crypto';

const ROWS = 100;

function parseArgs(argv) {
    const options = { url: '', user: 'default', passwordEnv: '', companies: [], waitSeconds: 10 };
    for (let i = 0; i < argv.length; i++) {
        const value = () => {
            if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
            return argv[++i];
        };
        switch (argv[i]) {
            case '--url': options.url = value(); break;
            case '--user': options.user = value(); break;
            case '--password-env': options.passwordEnv = value(); break;
            case '--companies': options.companies = value().split(',').filter((c) => c.length > 0); break;
            case '--wait-seconds': options.waitSeconds = Number(value()); break;
            default: throw new Error(`unknown argument ${argv[i]}`);
        }
    }
    if (!options.url) throw new Error('--url is required');
    if (options.companies.length !== 2) throw new Error('--companies needs exactly two company ids, comma-separated');
    if (!Number.isFinite(options.waitSeconds) || options.waitSeconds < 0) throw new Error('--wait-seconds must be >= 0');
    return options;
}

function quote(s) {
    return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function sqlDateTime(date) {
    return date.toISOString().slice(0, 19).replace('T', ' ');
}

async function countRows(client, companies, userId) {
    const rs = await client.query({
        query: `SELECT count() AS c FROM teei.events WHERE company_id IN (${companies.map(quote).join(', ')})` +
            ` AND user_id = ${quote(userId)}`,
        format: 'JSONEachRow',
    });
    const rows = await rs.json();
    if (rows.length !== 1) throw new Error(`the count query returned ${rows.length} rows, expected 1`);
    return Number(rows[0].c);  // UInt64 arrives as a string in JSON
}

async function main() {
    const options = parseArgs(process.argv.slice(2));
    let password = '';
    if (options.passwordEnv) {
        if (process.env[options.passwordEnv] === undefined) throw new Error(`environment variable ${options.passwordEnv} is not set`);
        password = process.env[options.passwordEnv];
    }
    const client = createClient({
        url: options.url,
        username: options.user,
        password,
        compression: { request: false, response: false },
        request_timeout: 60000,
    });
    const result = { ok: false, url: options.url, companies: options.companies };
    try {
        const ping = await client.ping();
        if (!ping.success) throw ping.error;
        result.ping = true;

        const userId = `client-check-${randomUUID()}`;
        const now = new Date();
        const rows = [];
        for (let i = 0; i < ROWS; i++) {
            rows.push({
                event_id: randomUUID(),
                company_id: options.companies[i % 2],
                user_id: userId,
                event_type: ['page_view', 'donation', 'volunteer_hour'][i % 3],
                timestamp: sqlDateTime(new Date(now.getTime() - i * 1000)),
                payload: JSON.stringify({ check: 'client_check.mjs', i }),
            });
        }
        const insert = await client.insert({ table: 'teei.events', values: rows, format: 'JSONEachRow' });
        result.inserted = ROWS;
        result.insert_query_id = insert.query_id;

        const insertedAt = Date.now();
        const deadline = insertedAt + options.waitSeconds * 1000;
        let count = await countRows(client, options.companies, userId);
        while (count < ROWS && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            count = await countRows(client, options.companies, userId);
        }
        result.count = count;
        result.waited_ms = Date.now() - insertedAt;
        if (count !== ROWS) throw new Error(`the forwarded SELECT counted ${count} rows of this run, expected ${ROWS}`);

        const [usCompany, euCompany] = options.companies;
        const perType = await (await client.query({
            query: `SELECT event_type, count() AS c FROM teei.events WHERE company_id = ${quote(euCompany)}` +
                ` AND user_id = ${quote(userId)} GROUP BY event_type ORDER BY event_type`,
            format: 'JSONEachRow',
        })).json();
        const euRows = perType.reduce((sum, row) => sum + Number(row.c), 0);
        if (euRows !== ROWS / 2) throw new Error(`the single-company GROUP BY counted ${euRows} rows, expected ${ROWS / 2}`);
        result.single_company_rows = euRows;

        const exists = await (await client.query({ query: 'EXISTS TABLE teei.events', format: 'JSONEachRow' })).json();
        if (exists.length !== 1 || Number(exists[0].result) !== 1) throw new Error(`EXISTS answered ${JSON.stringify(exists)}`);
        const described = await (await client.query({ query: 'DESCRIBE TABLE teei.events', format: 'JSONEachRow' })).json();
        if (!described.some((column) => column.name === 'company_id')) throw new Error(`DESCRIBE answered ${JSON.stringify(described)}`);
        const tables = await (await client.query({ query: 'SHOW TABLES FROM teei', format: 'JSONEachRow' })).json();
        if (!tables.some((table) => table.name === 'events')) throw new Error('SHOW TABLES does not list events');
        result.connect_statements = true;

        const regionalRows = rows.filter((row) => row.company_id === euCompany)
            .map((row) => ({ ...row, event_id: randomUUID(), user_id: `${userId}-regional` }));
        await client.insert({ table: 'teei.events_eu_distributed', values: regionalRows, format: 'JSONEachRow' });
        const regional = await countRows(client, [euCompany], `${userId}-regional`);
        if (regional !== regionalRows.length) throw new Error(`events_eu_distributed took ${regional} rows, expected ${regionalRows.length}`);
        let refusal = '';
        try {
            await client.insert({
                table: 'teei.events_eu_distributed',
                values: rows.filter((row) => row.company_id === usCompany).map((row) => ({ ...row, user_id: `${userId}-wrong` })),
                format: 'JSONEachRow',
            });
        } catch (error) {
            refusal = String(error && error.message ? error.message : error);
        }
        if (!refusal.includes('residency')) throw new Error(`a US company's rows into events_eu_distributed were not refused for residency: '${refusal}'`);
        if ((await countRows(client, [usCompany], `${userId}-wrong`)) !== 0) throw new Error('refused rows were written');
        result.regional_refused = refusal.slice(0, 120);
        result.ok = true;
    } finally {
        await client.close();
    }
    return result;
}

main().then(
    (result) => {
        console.log(JSON.stringify(result));
    },
    (error) => {
        console.log(JSON.stringify({ ok: false, error: String(error && error.message ? error.message : error) }));
        process.exitCode = 1;
    },
);
