// A function in C (examples/c-hello): `wfn build` compiles it with clang and
// wasi-libc into a wasi:http/proxy component (cli/src/build/c.ts, the SDK's
// sdk/c/wfn_http.c), which the host serves like any function.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWfn, wfn } from "./helpers/cli.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { C_HELLO_BUILD, WASI_HTTP } from "./helpers/paths.js";

let app: TestHost;
const temp: string[] = [];

beforeAll(async () => {
  app = await startHost({ dir: [C_HELLO_BUILD] });
});

afterAll(async () => {
  await Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function project(files: Record<string, string>, config: Record<string, unknown> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wfn-c-"));
  temp.push(dir);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  await writeFile(join(dir, "wfn.json"), JSON.stringify({ functions: { cfn: { entry: "src/main.c", routes: ["/*"], ...config } } }));
  return dir;
}

const HANDLER = `#include "wfn_http.h"\nvoid wfn_handle(wfn_request *request, wfn_response *response) { wfn_response_printf(response, "%s", wfn_request_path(request)); }\n`;

describe("examples/c-hello", () => {
  it("answers on its routes with what the C code wrote, and its printf goes to the invocation's log", async () => {
    const response = await app.get("/c/hi?x=1");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe("hello from C: GET /c/hi?x=1\n");
    const id = response.headers.get("x-wfn-request-id")!;
    expect(app.logs.filter((record) => record.requestId === id && record.source === "guest").map((record) => record.message)).toEqual(["GET /c/hi?x=1"]);
  });

  it("reads the request's body and headers, and cuts a body past the size it asked for", async () => {
    const echoed = await app.get("/c/echo", { method: "POST", body: '{"a":1}', headers: { "content-type": "application/json" } });
    expect(echoed.headers.get("content-type")).toBe("application/json");
    expect(echoed.headers.get("x-body-bytes")).toBe("7");
    expect(await echoed.text()).toBe('{"a":1}');
    const big = await app.get("/c/echo", { method: "POST", body: "y".repeat(100_000) });
    expect(big.headers.get("x-body-bytes")).toBe("more than 65536");
    expect((await big.text()).length).toBe(65536);
  });

  it("answers many requests on one instance (its build keeps isolation \"instance\")", async () => {
    const manifest = JSON.parse(await readFile(join(C_HELLO_BUILD, "c-hello", "manifest.json"), "utf8")) as { world: string; engine: { version: string }; config: { isolation: string } };
    expect(manifest).toMatchObject({ world: "wasi:http/proxy@0.2", engine: { version: expect.stringMatching(/^C, clang \d/) }, config: { isolation: "instance" } });
    for (let i = 0; i < 40; i++) {
      const body = `request ${i} `.repeat(i * 50);
      const response = await app.get(`/c/echo/${i}`, { method: "POST", body });
      expect(await response.text()).toBe(body);
    }
  });

  it("is reached by the Invoke API as a POST / with the payload as a JSON body", async () => {
    const response = await app.get("/2015-03-31/functions/c-hello/invocations", { method: "POST", body: JSON.stringify({ hello: "C" }) });
    expect(await response.json()).toMatchObject({ statusCode: 200, body: '{"hello":"C"}' });
  });
});

describe("wfn build with a C entry", () => {
  it("records the project's headers the entry includes, so that changing one makes the build stale", async () => {
    const dir = await project({
      "src/main.c": `#include "greeting.h"\n${HANDLER.replace('"%s", wfn_request_path(request)', '"%s", GREETING')}`,
      "src/greeting.h": `#define GREETING "hi"\n`,
    });
    const built = await wfn(["build", dir]);
    expect(built.code, built.stderr).toBe(0);
    const info = JSON.parse(await readFile(join(dir, ".wfn", "build", "cfn", "build-info.json"), "utf8")) as { inputs: Record<string, string> };
    expect(Object.keys(info.inputs).sort()).toEqual(["src/greeting.h", "src/main.c"]);
  });

  it("shows clang's errors with the file, line and column, and no stack", async () => {
    const dir = await project({ "src/main.c": `#include "wfn_http.h"\nvoid wfn_handle(wfn_request *request, wfn_response *response) { int x = ; }\n` });
    const built = await wfn(["build", dir]);
    expect(built.code).not.toBe(0);
    expect(built.stderr).toMatch(/src\/main\.c:2:\d+: expected expression/);
    expect(built.stderr).not.toMatch(/\n\s+at /);
  });

  it("says so when the entry defines no wfn_handle", async () => {
    const built = await wfn(["build", await project({ "src/main.c": "int unused(void) { return 1; }\n" })]);
    expect(built.code).not.toBe(0);
    expect(built.stderr).toContain("defines no `void wfn_handle(wfn_request *request, wfn_response *response)`");
  });

  it("refuses a trigger a wasi:http component has no handler for", async () => {
    const built = await wfn(["build", await project({ "src/main.c": HANDLER }, { schedule: "rate(1 minute)" })]);
    expect(built.code).not.toBe(0);
    expect(built.stderr).toContain("functions.cfn: a wasi:http/proxy component serves HTTP requests and invokes only; remove its schedule trigger");
  });

  it("names what to install when clang is missing; wfn serve of several projects serves the others", async () => {
    const env = { WFN_CLANG: "/nonexistent/clang" };
    const cDir = await project({ "src/main.c": HANDLER });
    const built = await wfn(["build", cDir], { env });
    expect(built.code).not.toBe(0);
    expect(built.stderr).toContain('building a C function needs clang ("/nonexistent/clang" was not found)');
    expect(built.stderr).toContain("apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32");

    const other = await mkdtemp(join(tmpdir(), "wfn-c-other-"));
    temp.push(other);
    await mkdir(join(other, "gen"));
    await cp(join(WASI_HTTP, "gen", "hello-wat.wasm"), join(other, "gen", "hello.wasm"));
    await writeFile(join(other, "wfn.json"), JSON.stringify({ functions: { wat: { entry: "gen/hello.wasm", routes: ["/wat/*"] } } }));
    const server = startWfn(["serve", cDir, other, "--port", "0", "--data-dir", join(other, "data"), "--executors", "1"], { env });
    try {
      const [, url] = await server.waitFor(/serving \d+ functions? on (http:\/\/\S+)/, 60_000);
      expect(server.output()).toMatch(/warning: not serving .*: building a C function needs clang/);
      expect(await (await fetch(`${url}/wat/x`)).text()).toBe("wat saw /wat/x");
    } finally {
      await server.stop();
    }
    // Alone, the project is an error: nothing would be served.
    const alone = await wfn(["serve", cDir, "--port", "0"], { env });
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toContain("needs clang");
  });
});
