/**
 * Rules at the core that a one-line mistake could bend without any other test noticing: the outbox's
 * backoff honours the vendor's Retry-After, the circuit counts only failures in a row, `truncate` applies
 * both its limits, `template` trims what missing values leave, and projections leave no empty entries.
 */
import { circuitAfter, closedCircuit, type CircuitState } from "../src/provisioning/circuit";
import { backoffMs, settlementOf, type RetryPolicy } from "../src/provisioning/outbox";
import { VendorRefusal } from "../src/provisioning/refusal";
import { applyTransform } from "../src/mapping/transforms";
import { projectionOf, renderResource } from "../src/scim/render";
import type { WorkItem } from "../src/store/types";
import { ENTERPRISE, user } from "./helpers/bridge";

describe("the outbox's backoff", () => {
  const policy: RetryPolicy = { firstDelayMs: 1_000, maxDelayMs: 600_000, deprovisionMaxDelayMs: 120_000, horizonMs: 86_400_000 };
  const item: WorkItem = {
    target: "t",
    scimId: "u1",
    state: "pending",
    generation: 1,
    deprovision: false,
    resendStatus: false,
    attempts: 0,
    nextAt: 0,
    createIntent: false,
    firstAt: 0,
    horizonAt: 86_400_000,
    passwordPending: false,
  };

  it("waits at least what the vendor's Retry-After asks, and never past the cap", () => {
    for (const random of [() => 0, () => 0.5, () => 0.999]) {
      expect(backoffMs(1, 1_000, 600_000, 30, random)).toBe(30_000);
      expect(backoffMs(1, 1_000, 20_000, 30, random)).toBe(20_000);
    }
    expect(backoffMs(3, 1_000, 600_000, undefined, () => 0.5)).toBe(4_000);
  });

  it("a throttled run is rescheduled after the Retry-After the refusal carries", () => {
    const throttled = new VendorRefusal("throttled", "Slow down.", "Throttling", "req-1", 45);
    const settled = settlementOf(item, { kind: "retry", refusal: throttled, attempted: true }, policy, 0);
    expect(settled).toMatchObject({ state: "pending" });
    expect((settled as { retryInMs: number }).retryInMs).toBeGreaterThanOrEqual(45_000);
  });
});

describe("the circuit", () => {
  const config = { failures: 3, openMs: 1_000, maxOpenMs: 8_000, probeMs: 500, probeEveryMs: 2_000 };

  it("opens only after failures in a row: a success or a refusal between them starts the count again", () => {
    for (const between of ["success", "refused", "throttled"] as const) {
      let state: CircuitState = closedCircuit();
      state = circuitAfter(state, config, 0, "failed", false);
      state = circuitAfter(state, config, 0, "failed", false);
      state = circuitAfter(state, config, 0, between, false);
      expect(state).toEqual(closedCircuit());
      state = circuitAfter(state, config, 0, "failed", false);
      state = circuitAfter(state, config, 0, "failed", false);
      expect(state.openUntil).toBe(0);
      state = circuitAfter(state, config, 0, "failed", false);
      expect(state.openUntil).toBe(1_000);
    }
  });
});

describe("transforms", () => {
  const ctx = { lookup: (path: string) => ({ "name.givenName": "Ada", "name.familyName": undefined })[path] };

  it("truncate applies both limits: characters first, then bytes", () => {
    expect(applyTransform("abcdef", { truncate: { chars: 3, bytes: 10 } }, ctx)).toBe("abc");
    expect(applyTransform("中文字符", { truncate: { chars: 3, bytes: 7 } }, ctx)).toBe("中文");
    expect(applyTransform("中文字符", { truncate: { chars: 2, bytes: 100 } }, ctx)).toBe("中文");
  });

  it("template trims the spaces that a missing value leaves at either end", () => {
    expect(applyTransform("x", { template: "{{ name.givenName }} {{ name.familyName }}" }, ctx)).toBe("Ada");
    expect(applyTransform("x", { template: "{{ name.familyName }} {{ name.givenName }}" }, ctx)).toBe("Ada");
  });
});

describe("projections leave no empty entries", () => {
  const view = {
    ...user("ada@example.com", {
      emails: [
        { value: "ada@example.com", type: "work", primary: true },
        { value: "ada@home.example", type: "home" },
      ],
      [ENTERPRISE]: { department: "Mathematics" },
    }),
    id: "u1",
    meta: { resourceType: "User", created: "2026-01-01T00:00:00Z", lastModified: "2026-01-01T00:00:00Z", version: 'W/"1"' },
  };
  const render = (attributes?: string, excluded?: string) => renderResource("User", view, "https://b/Users/u1", projectionOf("User", attributes, excluded));

  it("attributes with a value filter keep only the entries it matches", () => {
    expect(render('emails[type eq "work"].value').emails).toEqual([{ value: "ada@example.com" }]);
  });

  it("excludedAttributes that empty an entry drop it, and an emptied list goes", () => {
    expect(render(undefined, 'emails[type eq "home"]').emails).toEqual([{ value: "ada@example.com", type: "work", primary: true }]);
    const bare = render(undefined, "emails.value,emails.type,emails.primary,emails.display");
    expect(bare).not.toHaveProperty("emails");
  });
});
