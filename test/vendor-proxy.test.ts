/**
 * Outbound vendor calls in a locked-down network: through the proxy HTTPS_PROXY / HTTP_PROXY names
 * (a CONNECT proxy here, on a port the OS picks), around it for hosts NO_PROXY names, and a host that
 * cannot be reached is reported with what to check. `targets check` also says which write permissions
 * its read-only call could not prove, and checks settings as `serve` does.
 */
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { targetsCheck } from "../src/cli/targets";
import { configFrom } from "../src/config/load";
import { hashToken } from "../src/http/auth";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { ENV, VENDORS } from "./helpers/vendors";

const PROXY_VARIABLES = ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"];
const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
let sandbox: VendorSandbox;
let url: string;
let proxy: Server;
let proxyUrl: string;
const tunnels: string[] = [];
const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]));

function withProxyEnv(values: Record<string, string>): void {
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
}

const config = (vendor: Record<string, unknown>) => configFrom({ targets: [{ name: "cic", tokens: [{ sha256: hashToken("t") }], vendor }] });

beforeAll(async () => {
  sandbox = cic.sandbox();
  url = await sandbox.listen();
  // A CONNECT proxy: records where each tunnel goes, then pipes the bytes.
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req, client, head) => {
    tunnels.push(req.url!);
    const [host, port] = req.url!.split(":");
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  withProxyEnv(Object.fromEntries(Object.entries(saved).filter((e): e is [string, string] => e[1] !== undefined)));
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await sandbox.close();
});

describe("vendor calls and proxies", () => {
  it("go through the proxy HTTP_PROXY / HTTPS_PROXY names", async () => {
    withProxyEnv({ HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl });
    tunnels.length = 0;
    const result = await targetsCheck(config(cic.vendor(url)), undefined, ENV);
    expect(result.out[0]).toMatch(/^ok +cic: tencent-cic ListUsers answered/);
    expect(tunnels).toEqual([new URL(url).host]);
  });

  it("go around it for hosts NO_PROXY names", async () => {
    withProxyEnv({ HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, NO_PROXY: "127.0.0.1,localhost" });
    tunnels.length = 0;
    const result = await targetsCheck(config(cic.vendor(url)), undefined, ENV);
    expect(result.code).toBe(0);
    expect(tunnels).toEqual([]);
  });

  it("name DNS or the proxy as the likely cause when the host cannot be reached", async () => {
    withProxyEnv({});
    const result = await targetsCheck(config({ ...cic.vendor(url), connectTo: "https://vendor.invalid" }), undefined, ENV);
    expect(result.code).toBe(1);
    expect(result.out[0]).toMatch(/^failed +cic: cannot reach organization\.tencentcloudapi\.com at https:\/\/vendor\.invalid \((ENOTFOUND|EAI_AGAIN)/);
    expect(result.out[0]).toContain(
      "check DNS and the route from this network; where the internet is reached through a proxy, set HTTPS_PROXY (and NO_PROXY for internal hosts)",
    );
  });

  it("say which write permissions the read-only call did not prove", async () => {
    withProxyEnv({});
    const result = await targetsCheck(config(cic.vendor(url)), undefined, ENV);
    expect(result.out[1]).toMatch(/^ +not proven \(write calls, made only when needed\): create \(CreateUser\), .*disable \(UpdateUserStatus\)/);
  });

  it("check the target's settings as serve does", async () => {
    withProxyEnv({});
    const result = await targetsCheck(config({ ...cic.vendor(url), settings: {} }), undefined, ENV);
    expect(result.code).toBe(1);
    expect(result.out[0]).toMatch(/^failed +cic: targets\.cic\.vendor\.settings: \S*mappings\/tencent-cic\.yaml needs CIC_ZONE_ID/);
  });
});
