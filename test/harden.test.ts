/** The net under the input checks: once sealed, nothing can add a property every object would inherit. */
import { sealSharedPrototypes } from "../src/http/harden";
import { startTestBridge, user } from "./helpers/bridge";

it("sealed prototypes refuse new properties, and the bridge works as before", async () => {
  sealSharedPrototypes();
  expect(() => {
    "use strict";
    (Object.prototype as Record<string, unknown>).expectedVersion = 1;
  }).toThrow(TypeError);
  expect(({} as Record<string, unknown>).expectedVersion).toBeUndefined();
  const bridge = await startTestBridge();
  try {
    const id = (await bridge.as("acme").post("/Users", user("sealed@example.com")).expect(201)).body.id;
    await bridge.as("acme").delete(`/Users/${id}`).expect(204);
  } finally {
    await bridge.close();
  }
});
