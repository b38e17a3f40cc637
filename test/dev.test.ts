// `wfn dev`: rebuild on change, swap without dropping requests, keep serving on a broken build.
import { mkdtemp, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startWfn, type CliProcess } from "./helpers/cli.js";
import { eventually } from "./helpers/collector.js";

let dir: string;
let dev: CliProcess | undefined;

const source = (version: string) => `import { defineFunction } from "@wfn/sdk";
export default defineFunction({
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/slow") await new Promise((resolve) => setTimeout(resolve, 1500));
    return Response.json({ version: ${JSON.stringify(version)}, path: url.pathname });
  },
});
`;

afterAll(async () => {
  await dev?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("rebuilds a changed function, swaps it in without dropping in-flight requests, and survives a broken build", async () => {
  dir = await mkdtemp(join(tmpdir(), "wfn-dev-"));
  await mkdir(join(dir, "src"));
  await writeFile(join(dir, "src", "index.ts"), source("v1"));
  await writeFile(join(dir, "wfn.json"), JSON.stringify({ functions: { app: { entry: "src/index.ts", routes: ["/*"] }, other: { entry: "src/other.ts", routes: ["/other"] } } }));
  await writeFile(join(dir, "src", "other.ts"), 'import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({ fetch: () => new Response("other") });\n');

  dev = startWfn(["dev", dir, "--port", "0"]);
  const [, url] = await dev.waitFor(/serving 2 functions on (http:\/\/127\.0\.0\.1:\d+)/, 120_000);
  await dev.waitFor(/watching/);
  expect(await (await fetch(`${url}/`)).json()).toEqual({ version: "v1", path: "/" });

  // A slow request in flight while the new version is swapped in finishes on the old one.
  const inFlight = fetch(`${url}/slow`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await writeFile(join(dir, "src", "index.ts"), source("v2"));
  await dev.waitFor(/reloaded app in [\d.]+ m?s \(sha256 [0-9a-f]{12}\)/, 90_000);
  expect(await (await inFlight).json()).toEqual({ version: "v1", path: "/slow" });
  expect(await (await fetch(`${url}/`)).json()).toEqual({ version: "v2", path: "/" });
  // Only the changed function was rebuilt.
  expect(dev.output()).not.toMatch(/reloaded other/);

  // Saves the way many editors make them (a temporary file renamed over the source), several in a row.
  for (const version of ["v3", "v4"]) {
    const mark = dev.output().length;
    await writeFile(join(dir, "src", ".index.ts.tmp"), source(version));
    await rename(join(dir, "src", ".index.ts.tmp"), join(dir, "src", "index.ts"));
    await eventually(() => (/reloaded app/.test(dev!.output().slice(mark)) ? true : undefined), 90_000, `reloaded app with ${version}`);
    expect(await (await fetch(`${url}/`)).json()).toEqual({ version, path: "/" });
  }

  // A broken build is reported and the previous version keeps serving.
  const before = dev.output().length;
  await writeFile(join(dir, "src", "index.ts"), "export default defineFunction({ fetch( ");
  await dev.waitFor(/previous version keeps serving/, 60_000);
  expect(dev.output().slice(before)).toMatch(/src\/index\.ts:\d+:\d+/);
  expect(await (await fetch(`${url}/`)).json()).toEqual({ version: "v4", path: "/" });
  expect(await (await fetch(`${url}/other`)).text()).toBe("other");

  expect(await dev.stop()).toBe(0);
  dev = undefined;
}, 240_000);
