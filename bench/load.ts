/** A small closed-loop load generator over undici: N requests at concurrency C, latency percentiles. */
import { Pool } from "undici";

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<number, number>;
}

export interface RequestSpec {
  method: "GET" | "PATCH" | "POST";
  path: string;
  body?: string;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export async function load(origin: string, token: string, total: number, concurrency: number, next: (i: number) => RequestSpec): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let issued = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (issued < total) {
      const spec = next(issued++);
      const t0 = performance.now();
      const res = await pool.request({
        method: spec.method,
        path: spec.path,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
        body: spec.body,
      });
      await res.body.dump();
      latencies.push(performance.now() - t0);
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { requests: total, seconds, rps: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses };
}
