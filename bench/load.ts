/** A small closed-loop load generator over undici: N requests at concurrency C, latency percentiles. */
import { Pool } from "undici";

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<number, number>;
  /** Every request's latency in ms, sorted. */
  latencies: number[];
}

export interface RequestSpec {
  method: "GET" | "PATCH" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: string;
}

/** Called with each answer's status and body (read only when given). */
export type OnAnswer = (status: number, body: string) => void;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** N requests (or, with `until`, as many as are sent before it says stop); a request that fails counts as status 0. */
export async function load(
  origin: string,
  token: string,
  total: number,
  concurrency: number,
  next: (i: number) => RequestSpec,
  onAnswer?: OnAnswer,
  until?: () => boolean,
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let issued = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (until ? !until() : issued < total) {
      const spec = next(issued++);
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await pool.request({
          method: spec.method,
          path: spec.path,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
          body: spec.body,
        });
        status = res.statusCode;
        if (onAnswer) onAnswer(res.statusCode, await res.body.text());
        else await res.body.dump();
      } catch {
        status = 0;
      }
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return resultOf(latencies, seconds, statuses);
}

function resultOf(sortedLatencies: number[], seconds: number, statuses: Record<number, number>): LoadResult {
  const n = sortedLatencies.length;
  return {
    requests: n,
    seconds,
    rps: n / seconds,
    p50: percentile(sortedLatencies, 50),
    p99: percentile(sortedLatencies, 99),
    statuses,
    latencies: sortedLatencies,
  };
}

/** Several runs of one scenario as one: requests over the summed time, percentiles over every latency. */
export function merged(parts: LoadResult[]): LoadResult {
  const statuses: Record<number, number> = {};
  for (const part of parts) for (const [status, n] of Object.entries(part.statuses)) statuses[Number(status)] = (statuses[Number(status)] ?? 0) + n;
  const latencies = parts.flatMap((p) => p.latencies).sort((a, b) => a - b);
  return resultOf(
    latencies,
    parts.reduce((sum, p) => sum + p.seconds, 0),
    statuses,
  );
}
