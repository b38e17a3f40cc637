// wfn outside the checkout, as a new user gets it: `npm install -g ./cli`
// puts `wfn` on PATH (a prefix in a temp folder here), `wfn init` makes a
// project elsewhere, `npm install` there links wfn and its SDK, and the
// project's npm scripts, editor types, wfn.json schema and `npx --no wfn`
// work from there. Real npm, real processes, real HTTP.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_DIR, ROOT } from "./helpers/paths.js";

interface Ran {
  code: number | null;
  output: string;
}

/** npm as the suite was started with (`npm test` sets npm_execpath), else the one on PATH. */
const npm = (args: string[]): [string, string[]] => {
  const cli = process.env.npm_execpath;
  return cli !== undefined && cli.endsWith(".js") ? [process.execPath, [cli, ...args]] : ["npm", args];
};

let temp: string;
let globalPrefix: string;
let project: string;
/** PATH with this Node first and nothing of wfn's: what a user's shell has before installing it. */
let basePath: string;

function run(command: string, args: string[], options: { cwd: string; path: string; timeoutMs?: number }): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, PATH: options.path, WFN_CACHE_DIR: CACHE_DIR, NO_COLOR: "1", npm_config_update_notifier: "false" },
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      fail(new Error(`${command} ${args.join(" ")} did not finish in ${options.timeoutMs ?? 120_000} ms:\n${output}`));
    }, options.timeoutMs ?? 120_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

const withGlobal = () => `${join(globalPrefix, "bin")}${delimiter}${basePath}`;

beforeAll(async () => {
  temp = await realpath(await mkdtemp(join(tmpdir(), "wfn-install-")));
  globalPrefix = join(temp, "global");
  basePath = [dirname(process.execPath), ...(process.env.PATH ?? "").split(delimiter).filter((dir) => !existsSync(join(dir, "wfn")))].join(delimiter);
});

afterAll(async () => {
  await rm(temp, { recursive: true, force: true });
});

describe("wfn outside the checkout", { shuffle: false }, () => {
  it("goes on PATH with npm install -g ./cli, from the checkout and without a registry", async () => {
    const [command, args] = npm(["install", "-g", "./cli", "--prefix", globalPrefix, "--offline", "--no-audit", "--no-fund"]);
    const install = await run(command, args, { cwd: ROOT, path: basePath });
    expect(install.code, install.output).toBe(0);
    const version = await run("wfn", ["--version"], { cwd: temp, path: withGlobal() });
    expect(version.output).toMatch(/^wfn \d+\.\d+\.\d+/);
  });

  it("makes a project anywhere whose package.json brings this wfn and its SDK", async () => {
    const init = await run("wfn", ["init", "my-app"], { cwd: temp, path: withGlobal() });
    expect(init.code, init.output).toBe(0);
    expect(init.output).toContain("npm install");
    project = join(temp, "my-app");
    const manifest = JSON.parse(await readFile(join(project, "package.json"), "utf8"));
    expect(manifest.devDependencies).toEqual({ "@wfn/cli": `file:${await realpath(join(ROOT, "cli"))}`, "@wfn/sdk": `file:${await realpath(join(ROOT, "sdk"))}` });
    const [command, args] = npm(["install", "--offline", "--no-audit", "--no-fund"]);
    const install = await run(command, args, { cwd: project, path: basePath });
    expect(install.code, install.output).toBe(0);
  });

  it("resolves the wfn.json schema an editor reads, and the SDK's types: ctx is typed, a wrong use fails", async () => {
    const config = JSON.parse(await readFile(join(project, "wfn.json"), "utf8"));
    const schema = resolve(project, config.$schema);
    expect(await readFile(schema, "utf8")).toBe(await readFile(join(ROOT, "runtime", "schema", "wfn.schema.json"), "utf8"));
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const clean = await run(process.execPath, [tsc, "-p", "."], { cwd: project, path: basePath });
    expect(clean.code, clean.output).toBe(0);
    await writeFile(join(project, "src", "wrong.ts"), 'import { defineFunction } from "@wfn/sdk";\nexport default defineFunction({ fetch(_request, ctx) { const id: number = ctx.requestId; return new Response(String(id)); } });\n');
    const wrong = await run(process.execPath, [tsc, "-p", "."], { cwd: project, path: basePath });
    await rm(join(project, "src", "wrong.ts"));
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/wrong\.ts\(2,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it("builds and serves through its npm scripts, with no wfn on PATH", async () => {
    const [command, args] = npm(["run", "build"]);
    const build = await run(command, args, { cwd: project, path: basePath });
    expect(build.code, build.output).toBe(0);
    expect(build.output).toMatch(/hello\s+component [\d.]+ MB/);

    const [serveCommand, serveArgs] = npm(["run", "serve", "--", "--port", "0", "--no-build"]);
    const serve = spawn(serveCommand, serveArgs, { cwd: project, env: { ...process.env, PATH: basePath, WFN_CACHE_DIR: CACHE_DIR, NO_COLOR: "1" }, detached: true });
    try {
      let output = "";
      const url = await new Promise<string>((found, fail) => {
        const timer = setTimeout(() => fail(new Error(`npm run serve did not start:\n${output}`)), 60_000);
        const onData = (chunk: Buffer) => {
          output += chunk;
          const match = /serving 1 function on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match !== null) {
            clearTimeout(timer);
            found(match[1]!);
          }
        };
        serve.stdout.on("data", onData);
        serve.stderr.on("data", onData);
      });
      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ hello: "world", greeting: "Hello from wfn" });
    } finally {
      const closed = new Promise((done) => serve.once("close", done));
      process.kill(-serve.pid!, "SIGINT");
      await closed;
    }
  });

  it("tests its functions in vitest with npm test (wfn test and @wfn/cli/testing), and fails when a function is wrong", async () => {
    // Beside the scaffolded test: invoke() and logs() of the harness.
    await writeFile(
      join(project, "test", "harness.test.ts"),
      [
        'import { afterAll, beforeAll, expect, it } from "vitest";',
        'import { loadFunctions, type TestFunctions } from "@wfn/cli/testing";',
        "let fns: TestFunctions;",
        'beforeAll(async () => { fns = await loadFunctions(new URL("..", import.meta.url)); });',
        "afterAll(() => fns?.close());",
        'it("invokes and keeps the log", async () => {',
        '  const result = await fns.invoke("hello", { ping: 1 });',
        '  expect(result.status).toBe("ok");',
        '  expect(fns.logs("hello")).toContain("handled");',
        "});",
        "",
      ].join("\n"),
    );
    const source = join(project, "src", "index.ts");
    const original = await readFile(source, "utf8");
    await writeFile(source, original.replace("async fetch(request, ctx) {", 'async fetch(request, ctx) {\n    console.log("handled");'));
    const [command, args] = npm(["test"]);
    const passing = await run(command, args, { cwd: project, path: basePath });
    expect(passing.code, passing.output).toBe(0);
    expect(passing.output).toMatch(/Tests\s+2 passed/);
    await writeFile(source, original.replace('hello: "world"', 'hello: "there"'));
    const failing = await run(command, args, { cwd: project, path: basePath });
    expect(failing.code).not.toBe(0);
    expect(failing.output).toContain("answers GET / with its greeting");
    await writeFile(source, original);
    // Two runs of npm test, each building and componentizing the function: 50 s on a quiet 2-core machine.
  }, 240_000);

  it("runs a project's tests with wfn test from PATH too, before any npm install", async () => {
    const init = await run("wfn", ["init", "untouched"], { cwd: temp, path: withGlobal() });
    expect(init.code, init.output).toBe(0);
    const tested = await run("wfn", ["test", "untouched"], { cwd: temp, path: withGlobal() });
    expect(tested.code, tested.output).toBe(0);
    expect(tested.output).toMatch(/Tests\s+1 passed/);
  });

  it("runs the project's own wfn with npx --no, and npx --no never downloads a package named wfn elsewhere", async () => {
    const [command] = npm([]);
    const npx = command === process.execPath ? [process.execPath, [join(dirname(process.env.npm_execpath!), "npx-cli.js")]] as const : ["npx", []] as const;
    const inside = await run(npx[0], [...npx[1], "--no", "wfn", "help"], { cwd: project, path: basePath });
    expect(inside.code, inside.output).toBe(0);
    expect(inside.output).toContain("Usage: wfn <command>");
    const elsewhere = join(temp, "elsewhere");
    await mkdir(elsewhere);
    const outside = await run(npx[0], [...npx[1], "--no", "wfn", "help"], { cwd: elsewhere, path: basePath });
    expect(outside.code).not.toBe(0);
    expect(outside.output).not.toContain("Usage: wfn <command>");
  });
});
