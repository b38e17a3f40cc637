// Scaling rules: throttling, reclaiming, recycling, the host-wide cap, shutdown.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readArtifact, serve, createHost } from "@wfn/runtime";
import { APP_BUILD, CACHE_DIR, HOSTILE_BUILD, ROOT } from "./helpers/paths.js";
import { eventually } from "./helpers/collector.js";
import { startHost } from "./helpers/host.js";

const count = (fnName: string, host: { functions(): Array<{ name: string; instances: { total: number } }> }) =>
  host.functions().find((fn) => fn.name === fnName)!.instances.total;

describe("throttling", () => {
  it("queues beyond maxConcurrency, then answers 429 TooManyRequestsException when the queue is full or the wait too long", async () => {
    const app = await startHost({ functions: [await readArtifact(join(HOSTILE_BUILD, "sleepy"))], maxQueueLength: 1, maxQueueWaitMs: 300 });
    // An instance warm first: in a fresh process, creating the first one can outlast the 300 ms wait on its own.
    await eventually(async () => ((await app.get("/sleepy?ms=0")).status === 200 ? true : undefined), 10_000, "a warm instance");
    const responses = await Promise.all(Array.from({ length: 6 }, () => app.get("/sleepy?ms=800")));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    const throttled = responses.find((r) => r.status === 429)!;
    expect(throttled.headers.get("retry-after")).toBe("1");
    expect(await throttled.json()).toMatchObject({ errorType: "TooManyRequestsException", errorMessage: "Rate Exceeded." });
  });

  it("lets a queued invocation run as soon as an instance frees up", async () => {
    const app = await startHost({ functions: [await readArtifact(join(HOSTILE_BUILD, "sleepy"))], maxQueueLength: 10, maxQueueWaitMs: 5000 });
    const responses = await Promise.all(Array.from({ length: 5 }, () => app.get("/sleepy?ms=200")));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(count("sleepy", app.host)).toBeLessThanOrEqual(2);
  });
});

describe("scaling up", () => {
  it("starts a few instances at a time for a burst, and the calls take whichever instance is free first", async () => {
    const app = await startHost({ functions: [await readArtifact(join(APP_BUILD, "env-a"))] });
    // Watch every turn of the event loop how many instances are starting while 10 calls arrive at once.
    let most = 0;
    let watching = true;
    const watch = (): void => {
      most = Math.max(most, app.host.functions().find((fn) => fn.name === "env-a")!.instances.starting);
      if (watching) setImmediate(watch);
    };
    watch();
    const responses = await Promise.all(Array.from({ length: 10 }, () => app.get("/env/a")));
    watching = false;
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    // One new instance per waiting call would be 10 at once (env-a may have 10); two executors start two each.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(4);
    expect(count("env-a", app.host)).toBeLessThan(10);
  });
});

describe("scaling up while every call waits", () => {
  it("goes on starting instances when the executors look busy creating them: 40 suspended calls get 40", async () => {
    const app = await startHost({ functions: [await readArtifact(join(HOSTILE_BUILD, "sleepy"))], maxQueueWaitMs: 20_000 });
    await app.host.updateConfiguration("sleepy", { maxConcurrency: 40, timeoutMs: 20_000 });
    // Each call waits 9 s on a timer: nothing finishes meanwhile to make the pool look again.
    const calls = Array.from({ length: 40 }, () => app.get("/sleepy?ms=9000"));
    const busy = () => app.host.functions().find((fn) => fn.name === "sleepy")!.instances.busy;
    await expect.poll(busy, { interval: 50, timeout: 7000 }).toBe(40);
    expect((await Promise.all(calls)).map((r) => r.status)).toEqual(Array(40).fill(200));
  }, 30_000);
});

describe("reclaiming and recycling", () => {
  it("reclaims idle instances above minInstances after the idle timeout", async () => {
    const app = await startHost({ functions: [await readArtifact(join(APP_BUILD, "echo"))], idleTimeoutMs: 1000 });
    await Promise.all([app.get("/echo/wait?ms=100"), app.get("/echo/wait?ms=100")]);
    expect(count("echo", app.host)).toBe(2);
    await expect.poll(() => count("echo", app.host), { timeout: 6000, interval: 200 }).toBe(0);
  });

  it("keeps minInstances warm through the idle timeout", async () => {
    const app = await startHost({ functions: [await readArtifact(join(APP_BUILD, "warm"))], idleTimeoutMs: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(count("warm", app.host)).toBe(2);
  });

  it("replaces an instance after maxInvocationsPerInstance", async () => {
    const app = await startHost({ functions: [await readArtifact(join(APP_BUILD, "echo"))], maxInvocationsPerInstance: 3 });
    const calls: number[] = [];
    for (let i = 0; i < 7; i++) calls.push(((await (await app.get("/echo/count")).json()) as { calls: number }).calls);
    expect(calls).toEqual([1, 2, 3, 1, 2, 3, 1]);
  });
});

describe("the host-wide instance cap", () => {
  it("evicts the least recently used idle instance of another function", async () => {
    const functions = await Promise.all(["env-a", "env-b", "echo"].map((name) => readArtifact(join(APP_BUILD, name))));
    const app = await startHost({ functions, maxInstances: 2 });
    await app.get("/env/a");
    await app.get("/env/b");
    expect([count("env-a", app.host), count("env-b", app.host)]).toEqual([1, 1]);
    expect((await app.get("/echo/count")).status).toBe(200);
    expect([count("env-a", app.host), count("env-b", app.host), count("echo", app.host)]).toEqual([0, 1, 1]);
  });
});

describe("shutdown", () => {
  it("finishes in-flight invocations, then refuses new ones", async () => {
    const host = await createHost({ functions: [await readArtifact(join(HOSTILE_BUILD, "sleepy"))], cacheDir: CACHE_DIR, log: () => {} });
    const server = await serve(host, { port: 0 });
    const inFlight = fetch(`${server.url}/sleepy?ms=600`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const closed = server.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ slept: 600 });
    await closed;
    await expect(host.invoke("sleepy", {})).rejects.toMatchObject({ code: "WFN_SHUTTING_DOWN" });
    // Readiness says so (a load balancer stops sending), liveness does not.
    const ready = await host.fetch(new Request("http://127.0.0.1/_wfn/ready"));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "stopping" });
    expect((await host.fetch(new Request("http://127.0.0.1/_wfn/health"))).status).toBe(200);
  });

  it("leaves nothing running: a process that used a host exits on its own", async () => {
    const script = `
      import { createHost } from "@wfn/runtime";
      const host = await createHost({ dir: ${JSON.stringify(HOSTILE_BUILD)}, cacheDir: ${JSON.stringify(CACHE_DIR)}, log: () => {} });
      await host.invoke("good", {});
      await host.invoke("spin", {});
      await host.invoke("fetcher", {});
      await host.close();
      console.log("closed");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exit = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve(-1);
      }, 20_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    expect(output).toContain("closed");
    expect(exit).toBe(0);
  });
});
