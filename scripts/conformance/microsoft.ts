/**
 * Microsoft's "SCIM Tests" Postman collection, run with newman against a fresh store-only target whose
 * PATCH answers 204 (what the collection asserts). The collection stays in ../shared/compliance; a temporary
 * copy only renames /serviceConfiguration (Microsoft's own endpoint) to /ServiceProviderConfig and turns the
 * literal ${__UUID} placeholders into Postman's {{$guid}}. No assertion is changed.
 */
import { readFileSync } from "node:fs";
import newman from "newman";

export interface SuiteFailure {
  request: string;
  assertion: string;
  message: string;
}

export interface SuiteResult {
  assertions: number;
  failures: SuiteFailure[];
  requests: number;
}

type CollectionItem = { name: string; item?: CollectionItem[]; request?: unknown };

function rewrite(text: string): string {
  return text.replace(/serviceConfiguration/g, "ServiceProviderConfig").replace(/\$\{__UUID\}/g, "{{$guid}}");
}

export async function runMicrosoftSuite(collectionPath: string, base: URL, token: string): Promise<SuiteResult> {
  const collection = JSON.parse(rewrite(readFileSync(collectionPath, "utf8"))) as { item: CollectionItem[] };
  const folders = collection.item.map((i) => i.name).filter((name) => name !== "Get Token");
  // Requests at the top level (outside any folder) are run too, after the folders, as in the collection.
  const topLevel = collection.item.filter((i) => !i.item).map((i) => i.name);
  const summary = await new Promise<newman.NewmanRunSummary>((resolve, reject) =>
    newman.run(
      {
        collection: collection as never,
        folder: [...folders.filter((f) => !topLevel.includes(f)), ...topLevel],
        envVar: [
          { key: "Protocol", value: base.protocol.replace(":", "") },
          { key: "Server", value: base.hostname },
          { key: "Port", value: `:${base.port}` },
          { key: "Api", value: base.pathname.replace(/^\//, "") },
          { key: "token", value: token },
        ],
        reporters: ["cli"],
        reporter: { cli: { noSummary: false, noBanner: true } },
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    ),
  );
  const failures = summary.run.failures.map((f) => ({
    request: (f.source as { name?: string } | undefined)?.name ?? "?",
    assertion: (f.error as { test?: string }).test ?? f.error.name,
    message: f.error.message,
  }));
  return { assertions: summary.run.stats.assertions.total ?? 0, failures, requests: summary.run.stats.requests.total ?? 0 };
}
