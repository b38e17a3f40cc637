// Deployment uploads a host cannot be hurt by: large ones stream in while
// every function keeps answering and the host's memory stays flat; bad
// ones (duplicate parts, bad queue names, dead-letter cycles, too many
// queues) are refused with a reason; nothing they leave on disk survives.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { Agent, get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, readArtifact, silentSink, type Artifact } from "@wfn/runtime";
import { startWfn, type CliProcess } from "../helpers/cli.js";
import { eventually } from "../helpers/collector.js";
import { startHost, type TestHost } from "../helpers/host.js";
import { CACHE_DIR, HELLO_BUILD, ROOT } from "../helpers/paths.js";
import { body, multipart, peakGrowth, rss, streamRequest } from "../helpers/streaming.js";

const MB = 1000 * 1000;
const MiB = 1024 * 1024;
const KEY = "uploads-admin-key-0123456789";
const auth = { authorization: `Bearer ${KEY}` };
const temp: string[] = [];
let hello: Artifact;

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

/** Every file under `dir` (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** A manifest for `name` declaring a component of `size` bytes whose hash no such component has. */
function bogusManifest(name: string, size: number): string {
  return JSON.stringify({ ...hello.manifest, name, component: { ...hello.manifest.component, size, sha256: "0".repeat(64) } });
}

beforeAll(async () => {
  hello = await readArtifact(join(HELLO_BUILD, "hello"));
});
afterAll(async () => {
  for (const dir of temp) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== "linux")("two 200 MB uploads streaming in", () => {
  let server: CliProcess;
  let url: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await tempDir("wfn-uploads-data-");
    // A real `wfn serve` in its own process: its event loop and memory are the host's alone.
    server = startWfn(["serve", join(ROOT, "examples", "hello"), "--no-build", "--port", "0", "--data-dir", dataDir, "--admin-key", KEY, "--executors", "1"]);
    url = (await server.waitFor(/serving \d+ functions? on (http:\/\/\S+)/, 120_000))[1]!;
  });
  afterAll(() => server?.stop());

  it("leave a healthy function answering every request, and the host's memory bounded", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const call = () =>
      new Promise<number | string>((resolve) => {
        httpGet(`${url}/`, { agent }, (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode ?? 0));
        }).on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
    for (let i = 0; i < 5; i++) expect(await call()).toBe(200);
    const upload = (name: string) =>
      streamRequest(
        `${url}/_wfn/deployments`,
        multipart("wfn-boundary-" + name, [
          [`${name}/manifest.json`, bogusManifest(name, 200 * MB)],
          [`${name}/component.wasm`, body(200 * MB, { filler: 0x42 })],
        ]),
        { headers: { ...auth, "content-type": `multipart/form-data; boundary=wfn-boundary-${name}` } },
      );
    const pid = server.child.pid!;
    const { result, growth } = await peakGrowth(
      () => rss(pid),
      async () => {
        let uploading = true;
        const uploads = Promise.all([upload("big-a"), upload("big-b")]).finally(() => (uploading = false));
        const answers: Array<number | string> = [];
        while (uploading || answers.length < 50) {
          answers.push(await call());
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return { uploads: await uploads, answers };
      },
      // 400 MB arrive; what the host may hold at once is a small part of it.
      { everyMs: 50, limit: 160 * MiB },
    );
    agent.destroy();
    for (const [index, answer] of result.uploads.entries()) {
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).errorMessage).toMatch(new RegExp(`^upload big-${"ab"[index]}: component hash [0-9a-f]{12}… does not match the manifest`));
    }
    expect(result.answers.length).toBeGreaterThanOrEqual(50);
    expect(result.answers.filter((answer) => answer !== 200)).toEqual([]);
    expect(growth).toBeLessThan(160 * MiB);
    expect(await filesUnder(join(dataDir, "uploads"))).toEqual([]);
  });
});

describe("an upload", () => {
  let app: TestHost;
  let dataDir: string;
  const uploadDir = () => join(dataDir, "uploads");

  beforeAll(async () => {
    dataDir = await tempDir("wfn-uploads-");
    app = await startHost({ functions: [hello], adminKeys: [KEY], dataDir, maxUploadBytes: 32 * MiB, queues: { jobs: {} } });
  });

  const upload = async (parts: Array<[string, string | Uint8Array]>) => {
    const form = new FormData();
    for (const [name, value] of parts) form.append(name, new Blob([value as BlobPart]), name);
    const response = await app.get("/_wfn/deployments", { method: "POST", body: form, headers: auth });
    return { status: response.status, message: ((await response.json()) as { errorMessage?: string }).errorMessage };
  };
  const manifest = () => JSON.stringify(hello.manifest);
  const appFile = (queues: unknown) => JSON.stringify({ version: 1, queues });

  it("with a part twice is refused with 400", async () => {
    const before = app.host.function("hello")?.latestVersion;
    const cases: Array<Array<[string, string | Uint8Array]>> = [
      [["hello/manifest.json", manifest()], ["hello/manifest.json", manifest()], ["hello/component.wasm", hello.component]],
      [["hello/manifest.json", manifest()], ["hello/component.wasm", hello.component], ["hello/component.wasm", hello.component]],
      [["app.json", appFile({})], ["app.json", appFile({})], ["hello/manifest.json", manifest()], ["hello/component.wasm", hello.component]],
    ];
    for (const parts of cases) {
      const duplicated = parts.find(([name], index) => parts.findIndex(([other]) => other === name) !== index)![0];
      expect(await upload(parts)).toEqual({ status: 400, message: `the upload has more than one "${duplicated}" part` });
    }
    expect(app.host.function("hello")?.latestVersion).toBe(before);
  });

  it("declares queues under the names wfn.json allows, with no dead-letter cycle, and no more than the host's limit", async () => {
    const fn: Array<[string, string | Uint8Array]> = [["hello/manifest.json", manifest()], ["hello/component.wasm", hello.component]];
    expect(await upload([["app.json", appFile({ "../../etc": {} })], ...fn])).toEqual({ status: 400, message: 'app.json: queues "../../etc" is not a valid name (must match ^[A-Za-z0-9_-]{1,80}$)' });
    expect(await upload([["app.json", appFile({ a: { deadLetterQueue: "b" }, b: { deadLetterQueue: "c" }, c: { deadLetterQueue: "a" } })], ...fn])).toEqual({
      status: 400,
      message:
        "queues.a.deadLetterQueue: dead-letter queues form a cycle (a → b → c → a): a message that keeps failing would move between them for ever; end the chain at a queue whose dead-letter queue is not one of these",
    });
    const many = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`q${i}`, {}]));
    expect(await upload([["app.json", appFile(many)], ...fn])).toEqual({ status: 400, message: "queues: 1202 queues (dead-letter queues included) are more than this host's limit of 1000" });
    expect((await app.host.queues.stats()).map((q) => q.name)).toEqual(["jobs", "jobs-dlq"]);
  });

  it("removes its temporary files whether it is refused, abandoned or deployed", async () => {
    const flipped = Uint8Array.from(hello.component);
    flipped[flipped.length >> 1]! ^= 0xff;
    expect(await upload([["hello/manifest.json", manifest()], ["hello/component.wasm", flipped]])).toMatchObject({ status: 400, message: expect.stringMatching(/does not match the manifest/) });
    expect(await filesUnder(uploadDir())).toEqual([]);
    expect(await upload([["hello/component.wasm", hello.component], ["hello/component.wasm", hello.component], ["hello/manifest.json", manifest()]])).toMatchObject({ status: 400 });
    expect(await filesUnder(uploadDir())).toEqual([]);

    // Over the limit, without a declared length: refused once 32 MiB have arrived.
    const stream = (parts: Parameters<typeof multipart>[1]) => streamRequest(app.url + "/_wfn/deployments", multipart("b", parts), { headers: { ...auth, "content-type": "multipart/form-data; boundary=b" } });
    const oversized = await stream([["hello/component.wasm", body(40 * MiB)], ["hello/manifest.json", manifest()]]);
    expect(oversized.status).toBe(413);
    expect(JSON.parse(oversized.body).errorMessage).toBe("the upload is larger than this host's limit of 33554432 bytes");
    expect(oversized.sent).toBeLessThan(40 * MiB);
    expect(await filesUnder(uploadDir())).toEqual([]);
    // Behind its manifest, a component is refused as soon as it passes the size the manifest declares.
    const longer = await stream([["hello/manifest.json", manifest()], ["hello/component.wasm", body(30 * MiB)]]);
    expect(longer.status).toBe(400);
    expect(JSON.parse(longer.body).errorMessage).toBe(`upload hello: the component is larger than the ${hello.component.byteLength} bytes its manifest says; rebuild it with \`wfn build\``);
    expect(await filesUnder(uploadDir())).toEqual([]);

    // Abandoned half-way, while its component is being written beside the store.
    let resume = () => {};
    const paused = new Promise<void>((resolve) => (resume = resolve));
    async function* halfThenWait(): AsyncGenerator<Uint8Array> {
      yield hello.component.subarray(0, 4 * MiB);
      await paused;
    }
    const abandon = new AbortController();
    const abandoned = streamRequest(app.url + "/_wfn/deployments", multipart("b", [["hello/manifest.json", manifest()], ["hello/component.wasm", halfThenWait()]]), {
      headers: { ...auth, "content-type": "multipart/form-data; boundary=b" },
      signal: abandon.signal,
    }).catch((error: Error) => error.message);
    const [written] = await eventually(async () => ((await filesUnder(uploadDir())).length > 0 ? filesUnder(uploadDir()) : undefined), 10_000, "the component's temporary file");
    expect(written).toMatch(/\/uploads\/wfn-upload-[^/]+\/hello\.wasm$/);
    abandon.abort();
    resume();
    expect(await abandoned).toBe("aborted by the client");
    await eventually(async () => ((await filesUnder(uploadDir())).length === 0 ? true : undefined), 10_000, "the temporary files to go");

    // A configuration no other test deploys, so that this upload makes a version whatever ran before.
    const greeting = `uploaded-${Date.now()}`;
    const before = app.host.function("hello")!.latestVersion!;
    const changed = JSON.stringify({ ...hello.manifest, config: { ...hello.manifest.config, env: { GREETING: greeting } } });
    expect((await upload([["hello/manifest.json", changed], ["hello/component.wasm", hello.component], ["description", "streamed"]])).status).toBe(200);
    expect(app.host.versions("hello").at(-1)).toMatchObject({ version: before + 1, description: "streamed" });
    expect(await (await app.get("/")).text()).toContain(greeting);
    expect(await filesUnder(uploadDir())).toEqual([]);
  });

  it("and a configuration update take a queue by the short name wfn.json allows", async () => {
    const response = await app.get("/_wfn/functions/hello/configuration", { method: "PATCH", body: JSON.stringify({ queue: "jobs" }), headers: auth });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(app.host.function("hello")?.config?.queue).toEqual({ name: "jobs", batchSize: 10, maxBatchingWindowMs: 0 });
    expect((await app.host.queues.stats()).find((q) => q.name === "jobs")?.consumers).toEqual(["hello"]);
  });
});

describe("a host starting on its data directory", () => {
  it("removes what uploads left there when their host stopped mid-way, and only that", async () => {
    const dataDir = await tempDir("wfn-uploads-restart-");
    const left = join(dataDir, "uploads", "wfn-upload-crashed");
    const recent = join(dataDir, "uploads", "wfn-upload-in-progress");
    const other = join(dataDir, "uploads", "not-an-upload");
    for (const dir of [left, recent, other]) await mkdir(dir, { recursive: true });
    await writeFile(join(left, "hello.wasm"), "partial");
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(left, twoHoursAgo, twoHoursAgo);
    await utimes(other, twoHoursAgo, twoHoursAgo);
    const host = await createHost({ cacheDir: CACHE_DIR, executors: 1, log: silentSink, dataDir });
    await host.close();
    expect((await readdir(join(dataDir, "uploads"))).sort()).toEqual(["not-an-upload", "wfn-upload-in-progress"]);
  });
});

describe("queues from build folders and host options", () => {
  it("are held to the host's queue limit and the dead-letter rules", async () => {
    const many = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`q${i}`, {}]));
    const start = (options: Parameters<typeof createHost>[0]) => createHost({ cacheDir: CACHE_DIR, executors: 1, log: silentSink, ...options });
    await expect(start({ queues: many })).rejects.toMatchObject({
      code: "WFN_INVALID_CONFIG",
      message: "the host's queues: queues: 1002 queues (dead-letter queues included) are more than this host's limit of 1000",
    });
    await expect(start({ queues: { a: {}, b: {} }, maxQueues: 3 })).rejects.toMatchObject({ message: /4 queues \(dead-letter queues included\) are more than this host's limit of 3/ });
    await expect(start({ queues: { "../x": {} } })).rejects.toMatchObject({ message: /"\.\.\/x" is not a valid queue name/ });
    await expect(start({ queues: { a: { deadLetterQueue: "b" }, b: { deadLetterQueue: "a" } } })).rejects.toMatchObject({ message: /dead-letter queues form a cycle \(a → b → a\)/ });

    const build = await tempDir("wfn-uploads-build-");
    await cp(join(HELLO_BUILD, "hello"), join(build, "hello"), { recursive: true });
    await writeFile(join(build, "app.json"), JSON.stringify({ version: 1, queues: many }));
    await expect(start({ dir: build })).rejects.toMatchObject({ message: /1002 queues \(dead-letter queues included\) are more than this host's limit of 1000/ });
    // Within the limit the same folder serves.
    await writeFile(join(build, "app.json"), await readFile(join(HELLO_BUILD, "app.json"), "utf8"));
    const host = await start({ dir: build });
    expect(host.function("hello")?.state).toBe("Active");
    await host.close();
  });
});
