// The npm compatibility matrix of docs/node-modules.md: every package of
// test/fixtures/compat/src/checks.js, used by a function built with our own
// `wfn build` for each engine and called over HTTP, must give what the same
// check gives in Node.js — or, where the matrix says a package does not work
// on an engine, fail the way it says.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";

const COMPAT = join(ROOT, "test", "fixtures", "compat");
type Checks = Record<string, () => Promise<unknown>>;
const { checks } = (await import(join(COMPAT, "src", "checks.js"))) as { checks: Checks };

/** What the matrix documents as not working, per engine: the error must match. */
const KNOWN: Record<string, Record<string, RegExp>> = {
  // SpiderMonkey is built without ICU here: no Intl, no String.prototype.normalize.
  starlingmonkey: { slugify: /normalize is not a function/, luxon: /Intl is not defined/ },
  // QuickJS has neither Intl nor Web Crypto's subtle.
  quickjs: { jose: /importKey/, luxon: /Intl is not defined/ },
};

const ENGINES: Array<[string, string]> = [
  ["starlingmonkey", "/compat"],
  ["quickjs", "/compat-quickjs"],
];

let host: TestHost;
const inNode = new Map<string, unknown>();

beforeAll(async () => {
  // The guest's clock runs in UTC; so must Node's, for the date packages to agree.
  process.env.TZ = "UTC";
  for (const [name, check] of Object.entries(checks)) inNode.set(name, await check());
  // One executor: the two components are large (55 and 41 MB), and the checks are called one at a time.
  host = await startHost({ dir: [join(COMPAT, ".wfn", "build")], executors: 1 });
});

describe.each(ENGINES)("npm packages on %s", (engine, prefix) => {
  it.each(Object.keys(checks))("%s", async (name) => {
    const response = await host.get(`${prefix}/${encodeURIComponent(name)}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { value?: unknown; error?: string };
    const known = KNOWN[engine]?.[name];
    if (known !== undefined) {
      expect(body.error).toMatch(known);
      return;
    }
    expect(body.error).toBeUndefined();
    expect(body.value).toEqual(inNode.get(name));
  });
});

describe("docs/node-modules.md", () => {
  it("lists every package checked here, at the version installed, with the engines' results as tested", async () => {
    const doc = await readFile(join(ROOT, "docs", "node-modules.md"), "utf8");
    const rows = [...doc.matchAll(/^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|/gm)].filter(([, , version]) => /^\s*\d/.test(version!));
    const documented = new Map(rows.map(([, name, version, starlingmonkey, quickjs]) => [name!, { version: version!.trim(), starlingmonkey: starlingmonkey!.trim(), quickjs: quickjs!.trim() }]));
    expect([...documented.keys()].sort()).toEqual(Object.keys(checks).sort());
    for (const [name, row] of documented) {
      const installed = JSON.parse(await readFile(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string };
      expect(row.version, name).toBe(installed.version);
      for (const [engine] of ENGINES) {
        const cell = row[engine as "starlingmonkey" | "quickjs"];
        expect(cell.startsWith("no"), `${name} on ${engine}: "${cell}"`).toBe(KNOWN[engine]?.[name] !== undefined);
      }
    }
  });
});
