/**
 * The bridge beside a bare express 5 handler (bench/speed.ts), on SQLite at each size and on PostgreSQL.
 * Usage: npm run bench [-- --sizes 1000,100000,1000000 --postgres 100000 --postgres-url postgres://…
 *                         --requests 2000 --list-requests 200 --concurrency 16]
 * `--postgres 0` leaves PostgreSQL out; by default it runs at 100,000 users if the server answers.
 */
import pg from "pg";
import { runSpeed, speedTable, targetVerdicts } from "./speed";

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const sizes = (text: string) =>
  text
    .split(",")
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n >= 100);

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const url = arg("postgres-url") ?? process.env.SCIM_BRIDGE_BENCH_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const pgSizes = sizes(arg("postgres") ?? "100000");
  const postgres = pgSizes.length > 0 && (await reachable(url)) ? { url, sizes: pgSizes } : undefined;
  if (pgSizes.length > 0 && !postgres) console.log(`PostgreSQL at ${url.replace(/\/\/[^@]*@/, "//…@")} does not answer: left out`);
  const options = {
    sqliteSizes: sizes(arg("sizes") ?? "1000,100000"),
    postgres,
    requests: Number(arg("requests") ?? 2000),
    listRequests: Number(arg("list-requests") ?? 200),
    concurrency: Number(arg("concurrency") ?? 16),
  };
  const { rows, peaks } = await runSpeed(options);
  console.log(`\nconcurrency ${options.concurrency}, Node ${process.version}; share = the row's req/s over the bare handler's in the same round\n`);
  console.log(speedTable(rows));
  console.log("\nTargets:");
  for (const line of targetVerdicts(rows, peaks)) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
