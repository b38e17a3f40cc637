// Run with `npm test` (wfn test): the functions are built (cached) and served
// on an in-process host for these tests.
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadFunctions, type TestFunctions } from "@wfn/cli/testing";

let fns: TestFunctions;
beforeAll(async () => {
  fns = await loadFunctions(new URL("..", import.meta.url));
});
afterAll(() => fns?.close());

it("answers GET / with its greeting", async () => {
  const response = await fns.fetch("/?name=test");
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ hello: "world", greeting: "Hello from wfn", query: { name: "test" } });
});
