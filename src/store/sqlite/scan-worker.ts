/**
 * A filter scan off the event loop: a worker thread with its own read-only connection to the SQLite file
 * (WAL lets it read while the bridge writes) evaluates a translated filter over a target in chunks, and
 * answers the total and the matches the page needs. The code is plain JavaScript, evaluated as the worker's
 * source, so the same file serves the built bridge and the tests.
 */
import { Worker } from "node:worker_threads";

/** One scan: how many rows of (target, kind) meet `where`, and the seqs of the page [from, from + count) in insertion order or by a column. */
export interface ScanJob {
  where: string;
  params: unknown[];
  target: string;
  kind: string;
  sort?: { column: string; descending: boolean };
  from: number;
  count: number;
  deadline: number;
}

export type ScanAnswer = { total: number; page: number[] } | { timedOut: true } | { error: string };

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.function("scim_lower", { deterministic: true }, (t) => (typeof t === "string" ? t.toLowerCase() : t));
const bound = db.prepare("SELECT seq FROM resources WHERE target = ? AND kind = ? AND seq > ? ORDER BY seq LIMIT 1 OFFSET ?");
parentPort.on("message", ({ id, job }) => {
  try {
    const matching = db.prepare("SELECT seq FROM resources WHERE target = ? AND kind = ? AND seq > ? AND seq <= ? AND (" + job.where + ")");
    const page = [];
    let total = 0;
    for (let after = 0; ; ) {
      const upTo = bound.get(job.target, job.kind, after, 19999);
      for (const row of matching.iterate(job.target, job.kind, after, upTo ? upTo.seq : Number.MAX_SAFE_INTEGER, ...job.params)) {
        if (!job.sort && total >= job.from && total < job.from + job.count) page.push(row.seq);
        total++;
      }
      if (Date.now() >= job.deadline) return parentPort.postMessage({ id, answer: { timedOut: true } });
      if (!upTo) break;
      after = upTo.seq;
    }
    if (job.sort && total > job.from) {
      // SQLite keeps only the rows up to the page's end while it orders (absent values last, either way).
      const direction = job.sort.descending ? "DESC" : "ASC";
      const ordered = db.prepare("SELECT seq FROM resources WHERE target = ? AND kind = ? AND (" + job.where + ") ORDER BY (" + job.sort.column + " IS NULL), " + job.sort.column + " " + direction + ", seq LIMIT ? OFFSET ?");
      for (const row of ordered.iterate(job.target, job.kind, ...job.params, job.count, job.from)) page.push(row.seq);
    }
    parentPort.postMessage({ id, answer: { total, page } });
  } catch (error) {
    parentPort.postMessage({ id, answer: { error: String(error && error.message) } });
  }
});
`;

/** The worker of one store, started on first use; its jobs run one after another. */
export class ScanWorker {
  private worker?: Worker;
  private next = 0;
  private readonly waiting = new Map<number, (answer: ScanAnswer) => void>();

  constructor(private readonly path: string) {}

  run(job: ScanJob): Promise<ScanAnswer> {
    const worker = this.started();
    const id = this.next++;
    worker.ref(); // a job pending keeps the process up; an idle worker does not
    return new Promise((resolve) => {
      this.waiting.set(id, (answer) => {
        if (this.waiting.size === 1) worker.unref();
        resolve(answer);
      });
      worker.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    // A small heap: the worker holds a page of seqs, never documents (SQLite's own memory is outside it).
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: this.path, driver: require.resolve("better-sqlite3") },
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    worker.on("message", ({ id, answer }: { id: number; answer: ScanAnswer }) => {
      this.waiting.get(id)?.(answer);
      this.waiting.delete(id);
    });
    worker.on("error", (error) => this.fail(String(error.message)));
    worker.on("exit", () => {
      this.fail("the scan worker stopped");
      this.worker = undefined;
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private fail(reason: string): void {
    for (const resolve of this.waiting.values()) resolve({ error: reason });
    this.waiting.clear();
  }
}
