/**
 * A bridge for a conformance run: a fresh SQLite file, a port the OS picks, store-only targets and targets
 * that provision into a sandbox vendor (started in-process, as the demo start does).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFrom } from "../../src/config/load";
import { hashToken, mintToken } from "../../src/http/auth";
import { createLogger } from "../../src/log";
import { startBridge, type RunningBridge } from "../../src/main";
import { startDemoVendors } from "../../src/sandbox/demo";

export interface ConformanceTarget {
  name: string;
  patchResponse?: "resource" | "no-content";
  /** A sandbox vendor (a mapping name, e.g. tencent-cic) this target provisions into; none: store-only. */
  vendor?: string;
}

export interface ConformanceBridge {
  bridge: RunningBridge;
  tokens: Record<string, string>;
  close(): Promise<void>;
}

export async function startConformanceBridge(targets: ConformanceTarget[]): Promise<ConformanceBridge> {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-conformance-"));
  const vendors = targets.some((t) => t.vendor) ? await startDemoVendors() : undefined;
  // The sandboxes' made-up credentials, as the environment variables the vendor configs name.
  if (vendors) Object.assign(process.env, vendors.env);
  const tokens: Record<string, string> = {};
  for (const t of targets) tokens[t.name] = mintToken().token;
  const config = configFrom({
    server: { port: 0, host: "127.0.0.1" },
    store: { kind: "sqlite", path: join(dir, "bridge.db") },
    log: { level: "warn" },
    targets: targets.map((t) => ({
      name: t.name,
      tokens: [{ sha256: hashToken(tokens[t.name]!) }],
      patchResponse: t.patchResponse ?? "resource",
      ...(t.vendor ? { vendor: vendorOf(vendors!.vendors, t.vendor) } : {}),
    })),
  });
  // Request lines would drown the suites' own output; warnings and errors still show.
  const bridge = await startBridge(config, { log: createLogger("warn", process.stderr) });
  return {
    bridge,
    tokens,
    async close() {
      await bridge.close();
      await vendors?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function vendorOf(vendors: Record<string, Record<string, unknown>>, name: string): Record<string, unknown> {
  const vendor = vendors[name];
  if (!vendor) throw new Error(`no sandbox vendor '${name}' (there are: ${Object.keys(vendors).join(", ")})`);
  return vendor;
}
