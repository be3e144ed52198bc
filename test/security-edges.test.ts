/**
 * The smaller holes: failed authentication is limited per address (the right token always passes), SCIM
 * answers are never cached, escaped filter values match, and shutdown stops intake at once while work in
 * flight finishes.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { configFrom } from "../src/config/load";
import request from "supertest";
import { createApp } from "../src/http/app";
import { clientKeyOf, hashToken } from "../src/http/auth";
import { Drain } from "../src/http/drain";
import { createLogger } from "../src/log";
import { startBridge } from "../src/main";
import type { Provisioner } from "../src/provisioning/provisioner";
import { sqliteStores } from "../src/store/open";
import { startTestBridge, user, type TestBridge } from "./helpers/bridge";

describe("requests", () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await startTestBridge([{ name: "acme" }]);
  });
  afterAll(() => bridge.close());

  it("failed authentication is limited per address; the right token is never locked out", async () => {
    const wrong = () => bridge.raw().get("/scim/v2/Users").set("Authorization", "Bearer not-a-token");
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await wrong()).status);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual(Array(10).fill(429));
    const limited = await wrong();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(limited.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    await bridge.as("acme").get("/Users").expect(200);
    expect((await bridge.raw().get("/scim/v2/Users")).status).toBe(429); // no token at all counts as a failure too
    await bridge.as("acme").get("/Users").expect(200);
  });

  it("counts an IPv6 client by its /64, so rotating addresses inside it gives no fresh budget", () => {
    expect(clientKeyOf("2001:db8:1:2::1")).toBe(clientKeyOf("2001:0db8:0001:0002:ffff:1:2:3"));
    expect(clientKeyOf("2001:db8:1:2::1")).not.toBe(clientKeyOf("2001:db8:1:3::1"));
    expect(clientKeyOf("::ffff:10.1.2.3")).toBe("10.1.2.3");
  });

  it("SCIM answers, errors included, are never cached", async () => {
    expect((await bridge.as("acme").get("/Users").expect(200)).headers["cache-control"]).toBe("no-store");
    expect((await bridge.as("acme").get("/Users/nope").expect(404)).headers["cache-control"]).toBe("no-store");
    expect((await bridge.as("acme").post("/Users", user("cache@example.com")).expect(201)).headers["cache-control"]).toBe("no-store");
  });

  it("filter values with JSON escapes (\\\\, \\u0041) match what was stored", async () => {
    const created = (
      await bridge
        .as("acme")
        .post("/Users", user("CORP\\alice", { emails: [{ value: "alice@corp.example", primary: true }] }))
        .expect(201)
    ).body;
    expect(created.userName).toBe("CORP\\alice");
    const byBackslash = await bridge
      .as("acme")
      .get(`/Users?filter=${encodeURIComponent('userName eq "CORP\\\\alice"')}`)
      .expect(200);
    expect(byBackslash.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.id]);
    const byUnicode = await bridge
      .as("acme")
      .get(`/Users?filter=${encodeURIComponent('userName eq "\\u0043ORP\\\\alice"')}`)
      .expect(200);
    expect(byUnicode.body.totalResults).toBe(1);
    const search = await bridge
      .as("acme")
      .post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: 'userName sw "corp\\\\a"' })
      .expect(200);
    expect(search.body.totalResults).toBe(1);
  });
});

describe("shutdown", () => {
  it("a request that reaches a draining bridge is answered 503 with Connection: close", async () => {
    const drain = new Drain();
    const config = configFrom({ targets: [{ name: "acme", tokens: [{ sha256: hashToken("t") }] }] });
    const store = sqliteStores(":memory:");
    await store.admin.migrate();
    const app = createApp({ config, stores: store, log: createLogger("error"), drain });
    try {
      await request(app).get("/scim/v2/Users").set("Authorization", "Bearer t").expect(200);
      expect(await drain.start(1_000)).toBe(0);
      const res = await request(app).get("/scim/v2/Users").set("Authorization", "Bearer t").expect(503);
      expect(res.headers.connection).toBe("close");
      expect(res.headers["retry-after"]).toBe("5");
      await request(app).get("/readyz").expect(503);
    } finally {
      await store.admin.close();
    }
  });

  it("closes idle kept-alive connections at once, finishes the request in flight, then closes every socket", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const slow: Provisioner = {
      async apply(change) {
        if (change.op === "create") {
          entered();
          await held;
        }
      },
    };
    const token = "shutdown-token";
    const config = configFrom({ server: { port: 0 }, targets: [{ name: "acme", tokens: [{ sha256: hashToken(token) }] }] });
    const store = sqliteStores(":memory:");
    await store.admin.migrate();
    const running = await startBridge(config, { stores: store, log: createLogger("error"), provisioners: new Map([["acme", slow]]) });
    const port = (running.server.address() as AddressInfo).port;
    const send = (agent: http.Agent, method: string, path: string, body?: unknown) =>
      new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
        const req = http.request(
          { port, host: "127.0.0.1", method, path, agent, headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" } },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: text }));
          },
        );
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    const kept = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const other = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await send(kept, "GET", "/scim/v2/Users")).connection).toBe("keep-alive");
      // A group create waits on the provisioner (users go through the outbox, which has its own shutdown test).
      const inFlight = send(other, "POST", "/scim/v2/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Leaving" });
      await inside;
      const started = performance.now();
      const closing = running.close();
      // The idle kept-alive connection is closed at once, and no new one is accepted.
      await expect(send(kept, "GET", "/scim/v2/Users")).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|ECONNREFUSED/) });
      release();
      const finished = await inFlight;
      expect(finished.status).toBe(201);
      expect(finished.connection).toBe("close");
      await closing;
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(running.server.listening).toBe(false);
    } finally {
      release();
      kept.destroy();
      other.destroy();
      await store.admin.close();
    }
  });
});
