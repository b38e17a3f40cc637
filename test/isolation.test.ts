// What a function can see of its surroundings: its own env, nothing of the host's.
import { beforeAll, expect, it } from "vitest";
import { APP_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

let app: TestHost;

beforeAll(async () => {
  process.env.WFN_TEST_HOST_SECRET = "must-not-leak";
  app = await startHost({ dir: APP_BUILD });
});

it("gives each function exactly its configured env", async () => {
  const a = (await (await app.get("/env/a")).json()) as { env: Record<string, string> };
  const b = (await (await app.get("/env/b")).json()) as { env: Record<string, string> };
  expect(a.env).toEqual({ NAME: "a", ONLY_A: "secret-a" });
  expect(b.env).toEqual({ NAME: "b" });
});

it("shows the guest nothing of the host's environment", async () => {
  const text = await (await app.get("/env/a")).text();
  expect(process.env.WFN_TEST_HOST_SECRET).toBe("must-not-leak");
  expect(text).not.toContain("must-not-leak");
  expect(text).not.toContain(process.env.HOME ?? "/root");
  expect(text).not.toContain("PATH");
});
