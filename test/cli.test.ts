// The `wfn` command as a user runs it: a real process, real files, real HTTP.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFile, cp, mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWfn, wfn, type CliProcess } from "./helpers/cli.js";
import { staleFunctions } from "../cli/dist/build/build.js";
import { loadProject } from "../cli/dist/project/project.js";
import { HELLO_BUILD, ROOT, WFN } from "./helpers/paths.js";

const temp: string[] = [];
const running: CliProcess[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

/** A project with one function whose source is `source`. */
async function project(source: string, config: Record<string, unknown> = {}): Promise<string> {
  const dir = await tempDir("wfn-cli-");
  await mkdir(join(dir, "src"));
  await writeFile(join(dir, "src", "index.ts"), source);
  await writeFile(join(dir, "wfn.json"), JSON.stringify({ functions: { fn: { entry: "src/index.ts", routes: ["GET /"], ...config } } }));
  return dir;
}

afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()));
  await Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("wfn --help", () => {
  it("lists the commands", async () => {
    const { code, stdout } = await wfn(["--help"]);
    expect(code).toBe(0);
    for (const command of ["init", "build", "serve", "dev", "invoke"]) expect(stdout).toContain(command);
  });

  it("rejects an unknown command with a hint", async () => {
    const { code, stderr } = await wfn(["frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
  });

  it("rejects an unknown option naming it", async () => {
    const { code, stderr } = await wfn(["build", "--nope"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--nope/);
    expect(stderr).not.toContain("did you mean");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("says which command or option a typo meant", async () => {
    const command = await wfn(["biuld"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "biuld"; did you mean "build"?');
    const option = await wfn(["build", "--tpyecheck"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option --tpyecheck; did you mean --typecheck? (see `wfn build --help`)");
  });
});

describe("init → build → serve → curl, outside the repository", () => {
  it("works on day one with the sdk supplied by the CLI", async () => {
    const dir = join(await tempDir("wfn-init-"), "demo");
    const init = await wfn(["init", dir]);
    expect(init.code).toBe(0);
    for (const file of ["wfn.json", "src/index.ts", "package.json", "tsconfig.json", "README.md", ".gitignore"]) {
      await expect(readFile(join(dir, file), "utf8")).resolves.toBeTruthy();
    }

    const build = await wfn(["build", dir]);
    expect(build.stderr).toMatch(/hello\s+bundled [\d.]+ KB/);
    expect(build.stderr).toMatch(/hello\s+component [\d.]+ MB .*sha256 [0-9a-f]{12}/);
    expect(build.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(dir, ".wfn", "build", "hello", "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ name: "hello", world: "wfn:function/function@0.1.0", engine: { name: "starlingmonkey" } });

    const serve = startWfn(["serve", dir, "--port", "0"]);
    running.push(serve);
    const [, url] = await serve.waitFor(/serving 1 function on (http:\/\/127\.0\.0\.1:\d+)/);
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ hello: "world", greeting: "Hello from wfn", path: "/" });
    expect(await serve.stop()).toBe(0);
  });

  it("refuses to init into a folder that has files", async () => {
    const dir = await project("export default 1;");
    const { code, stderr } = await wfn(["init", dir]);
    expect(code).toBe(2);
    expect(stderr).toContain("is not empty");
  });
});

describe("build errors name the file and line", () => {
  it("reports a syntax error", async () => {
    const dir = await project('import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({\n  fetch() { return new Response("x") \n});\n');
    const { code, stderr } = await wfn(["build", dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/src\/index\.ts:\d+:\d+: /);
    expect(stderr).not.toMatch(/\n\s+at .*\(/);
  });

  it("reports a type error", async () => {
    const dir = await project('import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({\n  fetch(request) { const n: number = request.url; return new Response(String(n)); },\n});\n');
    const { code, stderr } = await wfn(["build", dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/src\/index\.ts:3:\d+: Type 'string' is not assignable to type 'number'\. \(TS2322\)/);
  });

  it("reports a missing default export", async () => {
    const dir = await project("export const handlerish = 1;\n");
    const { code, stderr } = await wfn(["build", dir, "--no-typecheck"]);
    expect(code).toBe(1);
    expect(stderr).toContain("src/index.ts: has no default export and no `handler` export");
  });

  it("explains that Node.js modules are not available in a function", async () => {
    const dir = await project('import { readFileSync } from "node:fs";\nexport default { fetch() { return new Response(String(readFileSync)); } };\n');
    const { code, stderr } = await wfn(["build", dir, "--no-typecheck"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/src\/index\.ts:1:\d+: "node:fs" is a Node.js module/);
  });

  it("explains it first when type checking, rather than advising @types/node", async () => {
    for (const specifier of ["node:fs", "fs"]) {
      const dir = await project(`import { readFileSync } from "${specifier}";\nexport default { fetch() { return new Response(String(readFileSync)); } };\n`);
      const { code, stderr } = await wfn(["build", dir]);
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`src/index\\.ts:1:\\d+: "${specifier}" is a Node\\.js module; wfn functions run in a WebAssembly sandbox`));
      expect(stderr).not.toContain("@types/node");
    }
  });

  it("points a TypeScript import of a bundled Node.js module at @types/node, and builds it without the check", async () => {
    const dir = await project(
      'import { createHash } from "node:crypto";\nimport { defineFunction } from "@wfn/sdk";\nexport default defineFunction({ fetch() { return new Response(createHash("md5").update("a").digest("hex")); } });\n',
    );
    const checked = await wfn(["build", dir]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/src\/index\.ts:1:\d+: "node:crypto" is bundled into the function .*npm install --save-dev @types\/node/);
    const unchecked = await wfn(["build", dir, "--no-typecheck"]);
    expect(unchecked.code, unchecked.stderr).toBe(0);
  });

  it("type-checks an unchanged Lambda handler: AWS Lambda's event types, process.env and Buffer come with wfn", async () => {
    // The one mistake is the last line's; everything a Lambda handler takes for granted type-checks.
    const dir = await project(
      [
        'import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";',
        "export const handler = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyResultV2> => {",
        '  const table = process.env.TABLE ?? "none";',
        '  const body = Buffer.from(event.rawPath).toString("base64");',
        "  return { statusCode: 200, body: JSON.stringify({ table, body, id: context.awsRequestId, wrong: event.rawPathh }) };",
        "};",
        "",
      ].join("\n"),
    );
    const { code, stderr } = await wfn(["build", dir]);
    expect(code).toBe(1);
    const problems = stderr.split("\n").filter((line) => line.includes("src/index.ts:"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/src\/index\.ts:5:\d+: Property 'rawPathh' does not exist on type 'APIGatewayProxyEventV2'/);
  });

  it("reports a default export that is not defineFunction() before componentizing", async () => {
    const dir = await project("export default { fetch() { return new Response('x'); } };\n");
    const { code, stderr } = await wfn(["build", dir]);
    expect(code).toBe(1);
    expect(stderr).toContain('function "fn" does not load');
    expect(stderr).toContain("src/index.ts: the module's top level threw: FunctionShapeError: the entry module must `export default defineFunction");
    expect(stderr).not.toContain("does not componentize");
  });

  it("stops on a top-level throw before componentizing, at the line of the source that threw", async () => {
    const source = 'import { defineFunction } from "@wfn/sdk";\n\nfunction setting(name: string): string {\n  throw new Error(`missing setting ${name}`);\n}\nconst url = setting("API_URL");\nexport default defineFunction({ fetch: () => new Response(url) });\n';
    const dir = await project(source);
    const { code, stderr } = await wfn(["build", dir]);
    expect(code).toBe(1);
    expect(stderr).toContain('function "fn" does not load');
    expect(stderr).toContain("src/index.ts:4:9: the module's top level threw: Error: missing setting API_URL");
    expect(stderr).toMatch(/at setting \(src\/index\.ts:4:9\)\n\s+at src\/index\.ts:6:13/);
    expect(stderr).not.toContain("does not componentize");
    expect(stderr).not.toMatch(/wizer|Symbol\(kExitCode\)|function\.js/);
  });

  it("reports a promise the top level leaves rejected, in words, without the CLI crashing", async () => {
    const dir = await project('import { defineFunction } from "@wfn/sdk";\nPromise.resolve().then(() => { throw new Error("later"); });\nexport default defineFunction({ fetch: () => new Response("x") });\n');
    const { code, stderr } = await wfn(["build", dir, "--no-typecheck"]);
    expect(code).toBe(1);
    expect(stderr).toContain("src/index.ts:2:38: the module's top level threw: Error: later");
    expect(stderr).not.toMatch(/Node\.js v\d|node:internal/);
  });

  it("leaves to the engine what only it can tell, and then names the source line too", async () => {
    // JSON.parse's own message differs between engines; the check in Node.js is skipped with --no-precheck.
    const dir = await project('import { defineFunction } from "@wfn/sdk";\nconst config = JSON.parse("{not json");\nexport default defineFunction({ fetch: () => Response.json(config) });\n');
    const { code, stderr } = await wfn(["build", dir, "--no-precheck"]);
    expect(code).toBe(1);
    expect(stderr).toContain('function "fn" does not componentize');
    expect(stderr).toContain("src/index.ts:2:21: the module's top level threw: SyntaxError: JSON.parse: expected property name");
    expect(stderr).not.toMatch(/wizer|Symbol\(kExitCode\)|Additionally, some promises|function\.js/);
  });
});

describe("invalid wfn.json is refused with the file and the field", () => {
  async function withConfig(text: string) {
    const dir = await tempDir("wfn-config-");
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src", "index.ts"), "export default 1;\n");
    await writeFile(join(dir, "wfn.json"), text);
    return wfn(["build", dir]);
  }

  it("names a JSON syntax error", async () => {
    const { code, stderr } = await withConfig('{ "functions": { ');
    expect(code).toBe(1);
    expect(stderr).toMatch(/wfn\.json: not valid JSON/);
  });

  it("names an unknown field (a typo)", async () => {
    const { code, stderr } = await withConfig(JSON.stringify({ functions: { hello: { entry: "src/index.ts", memmoryMB: 256 } } }));
    expect(code).toBe(1);
    expect(stderr).toContain('functions.hello: unknown field "memmoryMB"');
  });

  it("names a value of the wrong type or out of range", async () => {
    const { stderr } = await withConfig(JSON.stringify({ functions: { hello: { entry: "src/index.ts", memoryMB: "lots", timeoutMs: 0 } } }));
    expect(stderr).toContain("functions.hello.memoryMB: must be an integer");
    expect(stderr).toContain("functions.hello.timeoutMs: must be at least 1");
  });

  it("names a missing entry file, a bad route and a reserved path", async () => {
    const { stderr } = await withConfig(
      JSON.stringify({ functions: { hello: { entry: "src/missing.ts", routes: ["FETCH /x", "/_wfn/mine"] } } }),
    );
    expect(stderr).toContain('functions.hello.entry: file "src/missing.ts" does not exist');
    expect(stderr).toContain('functions.hello.routes[0]: unknown method "FETCH"');
    expect(stderr).toContain("functions.hello.routes[1]: the path \"/_wfn/mine\" is reserved");
  });

  it("names a bad schedule, an undeclared queue and a bad queue declaration", async () => {
    const { code, stderr } = await withConfig(
      JSON.stringify({
        queues: { jobs: { visibilityTimeoutSeconds: 5 }, "bad name!": {} },
        functions: {
          report: { entry: "src/index.ts", schedule: "cron(0 25 * * ? *)" },
          nightly: { entry: "src/index.ts", schedule: { expression: "rate(1 day)", timezone: "Mars/Olympus" } },
          worker: { entry: "src/index.ts", queue: "jbos" },
          slow: { entry: "src/index.ts", queue: "jobs", timeoutMs: 10_000 },
        },
      }),
    );
    expect(code).toBe(1);
    expect(stderr).toContain('queues: "bad name!" is not a valid name');
    const fixed = await withConfig(
      JSON.stringify({
        queues: { jobs: { visibilityTimeoutSeconds: 5 } },
        functions: {
          report: { entry: "src/index.ts", schedule: "cron(0 25 * * ? *)" },
          nightly: { entry: "src/index.ts", schedule: { expression: "rate(1 day)", timezone: "Mars/Olympus" } },
          worker: { entry: "src/index.ts", queue: "jbos" },
          slow: { entry: "src/index.ts", queue: "jobs", timeoutMs: 10_000 },
        },
      }),
    );
    expect(fixed.code).toBe(1);
    expect(fixed.stderr).toMatch(/functions\.report\.schedule: "cron\(0 25 \* \* \? \*\)": /);
    expect(fixed.stderr).toContain('functions.nightly.schedule: "Mars/Olympus" is not a time zone');
    expect(fixed.stderr).toContain('functions.worker.queue.name: queue "jbos" is not declared under "queues"');
    expect(fixed.stderr).toContain('functions.slow.queue.name: queue "jobs" has a visibility timeout of 5 s, less than this function\'s timeout (10000 ms)');
  });

  it("names an invalid function name", async () => {
    const { stderr } = await withConfig(JSON.stringify({ functions: { "no spaces": { entry: "src/index.ts" } } }));
    expect(stderr).toContain('"no spaces" is not a valid function name');
  });

  it("refuses --only naming a function the project does not have, before building anything", async () => {
    const dir = await project("export default 1;\n");
    const { code, stderr } = await wfn(["build", dir, "--only", "fn,fm"]);
    expect(code).toBe(2);
    expect(stderr).toContain(`no function "fm" in ${join(dir, "wfn.json")}; did you mean "fn"? (functions: fn)`);
    expect(stderr).not.toMatch(/unexpected|at .*\.js:\d+/);
    const empty = await wfn(["build", dir, "--only", ","]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("--only needs a function name");
  });

  it("says how to start when there is no wfn.json", async () => {
    const dir = await tempDir("wfn-empty-");
    const { code, stderr } = await wfn(["build", dir]);
    expect(code).toBe(1);
    expect(stderr).toContain("wfn.json: not found (create a project with `wfn init");
  });
});

describe("builds are reproducible", () => {
  it("gives the same component hash from a cold cache", async () => {
    const out = await tempDir("wfn-repro-out-");
    const cache = await tempDir("wfn-repro-cache-");
    const { code } = await wfn(["build", join(ROOT, "examples", "hello"), "--out", out], { env: { WFN_CACHE_DIR: cache } });
    expect(code).toBe(0);
    const fresh = JSON.parse(await readFile(join(out, "hello", "manifest.json"), "utf8"));
    const existing = JSON.parse(await readFile(join(HELLO_BUILD, "hello", "manifest.json"), "utf8"));
    expect(fresh.component.sha256).toBe(existing.component.sha256);
    expect(fresh.sourceSha256).toBe(existing.sourceSha256);
  });
});

describe("wfn invoke", () => {
  let fixture: string;
  beforeAll(() => {
    fixture = join(ROOT, "test", "fixtures", "app");
  });

  it("prints the function's JSON result", async () => {
    const { code, stdout } = await wfn(["invoke", "echo", "--dir", fixture, "--data", '{"a":1}', "--no-build"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ received: { a: 1 }, functionName: "echo" });
  });

  it("sends the payload to fetch() when there is no invoke handler, and prints the response", async () => {
    const { code, stdout } = await wfn(["invoke", "env-b", "--dir", fixture, "--no-build"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^HTTP 200\n/);
    expect(stdout).toMatch(/^content-type: application\/json$/m);
    expect(stdout).toContain('{"env":{"NAME":"b"}');
  });

  it("refuses a payload that is not JSON", async () => {
    const { code, stderr } = await wfn(["invoke", "echo", "--dir", fixture, "--data", "{nope"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--data is not valid JSON");
  });

  it("names the functions a project has when the name is wrong", async () => {
    const { code, stderr } = await wfn(["invoke", "ech", "--dir", fixture]);
    expect(code).toBe(2);
    expect(stderr).toContain('no function "ech"');
    expect(stderr).toContain('did you mean "echo"?');
    expect(stderr).toContain("echo, env-a, env-b, warm");
  });

  it("prints one JSON object with --json: the result, the facts of the invocation and its log", async () => {
    const payload = await wfn(["invoke", "echo", "--dir", fixture, "--data", '{"a":1}', "--no-build", "--json"]);
    expect(payload.code).toBe(0);
    const invoked = JSON.parse(payload.stdout);
    expect(invoked).toMatchObject({ status: "ok", functionName: "echo", functionVersion: "$LATEST", result: { received: { a: 1 } } });
    expect(invoked.log).toContain(`START RequestId: ${invoked.requestId}`);
    expect(typeof invoked.durationMs).toBe("number");
    const http = JSON.parse((await wfn(["invoke", "env-b", "--dir", fixture, "--no-build", "--json"])).stdout);
    expect(http.result).toMatchObject({ statusCode: 200, isBase64Encoded: false });
    expect(http.result.headers).toContainEqual(["content-type", "application/json"]);
    expect(JSON.parse(http.result.body)).toMatchObject({ env: { NAME: "b" } });
  });

  it("prints a function's error as Lambda's error object with --json, and exits 1", async () => {
    const { code, stdout } = await wfn(["invoke", "order-total", "--dir", join(ROOT, "examples", "lambda-json"), "--data", '{"items":[]}', "--no-build", "--json"]);
    expect(code).toBe(1);
    const invoked = JSON.parse(stdout);
    expect(invoked).toMatchObject({ status: "error", error: { errorType: "ValidationError", errorMessage: "an order needs at least one item" } });
    expect(invoked.error.trace.join("\n")).toMatch(/src\/handler\.ts:27:\d+/);
  });
});

describe("wfn build's progress", () => {
  it("shows the elapsed time of componentizing on a terminal, redrawn in place, and plain lines elsewhere", async () => {
    // A source no cache has seen, on the quicker engine: componentizing takes a second or so.
    const dir = await project(`import { defineFunction } from "@wfn/sdk";\n// ${randomUUID()}\nexport default defineFunction({ fetch: () => new Response("x") });\n`, { engine: "quickjs" });
    const command = [process.execPath, WFN, "build", dir, "--no-typecheck"].map((part) => `'${part}'`).join(" ");
    const tty = await new Promise<string>((resolve, reject) => {
      // script(1) runs the command on a pseudo-terminal.
      execFile("script", ["-qec", command, "/dev/null"], { env: { ...process.env, WFN_CACHE_DIR: join(dir, "cache"), NO_COLOR: "1" } }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
    expect(tty).toMatch(/componentizing\.\.\.\r\u001b\[2K {2}fn {2}bundled [\d.]+ KB in \d+ ms, componentizing\.\.\. \d+ ms/);
    expect(tty).toMatch(/fn {2}component [\d.]+ MB in [\d.]+ m?s/);
    const plain = await wfn(["build", dir, "--no-typecheck"]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toMatch(/\r|\u001b/);
  });
});

describe("wfn build --json", () => {
  it("prints what was built on stdout, progress on stderr", async () => {
    // A copy: the suite's other files serve examples/hello's own build meanwhile.
    const dir = await tempDir("wfn-json-");
    await cp(join(ROOT, "examples", "hello"), dir, { recursive: true, filter: (path) => !path.includes(".wfn") && !path.includes("node_modules") });
    const { code, stdout, stderr } = await wfn(["build", dir, "--json"]);
    expect(code).toBe(0);
    expect(stderr).toContain("wfn build");
    const [hello] = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(hello).toMatchObject({ name: "hello", world: "wfn:function/function@0.1.0", engine: { name: "starlingmonkey" }, component: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });
});

describe("wfn serve", () => {
  it("says clearly when the port is taken", async () => {
    const first = startWfn(["serve", join(ROOT, "examples", "hello"), "--port", "0", "--no-build"]);
    running.push(first);
    const [, port] = await first.waitFor(/on http:\/\/127\.0\.0\.1:(\d+)/);
    const second = await wfn(["serve", join(ROOT, "examples", "hello"), "--port", port!, "--no-build", "--data-dir", await tempDir("wfn-data-")]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    // A second host on the same data directory would run its queued work twice: refused.
    const third = await wfn(["serve", join(ROOT, "examples", "hello"), "--port", "0", "--no-build"]);
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(/error: the data directory \S+ is in use by another wfn host; give each host its own --data-dir/);
    expect(await first.stop()).toBe(0);
  });

  it("names a memory budget that is not a whole number of MiB", async () => {
    const { code, stderr } = await wfn(["serve", join(ROOT, "examples", "hello"), "--port", "0", "--no-build", "--max-prepared-mb", "lots"]);
    expect(code).toBe(2);
    expect(stderr).toContain('--max-prepared-mb must be a number from 0 to 1048576, got "lots"');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe("a build made with another SDK", () => {
  it("is stale once the SDK it bundled changed, so that serve and dev rebuild it", async () => {
    const dir = await project('import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({ fetch: () => new Response("ok") });\n');
    // The project's own copy of the SDK: the bundler takes it before the CLI's.
    const sdk = join(dir, "node_modules", "@wfn", "sdk");
    await mkdir(sdk, { recursive: true });
    for (const part of ["package.json", "dist", "wit"]) await cp(join(ROOT, "sdk", part), join(sdk, part), { recursive: true });
    expect((await wfn(["build", dir])).code).toBe(0);
    const loaded = await loadProject(dir);
    expect(await staleFunctions(loaded)).toEqual([]);
    await appendFile(join(sdk, "dist", "guest", "index.js"), "\n// an upgrade\n");
    expect(await staleFunctions(loaded)).toEqual(["fn"]);
  }, 60_000);
});
