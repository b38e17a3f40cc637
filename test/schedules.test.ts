// Schedules with real time: rate(1 second) and 6-field cron fixtures, on
// embedded hosts with real stores (in memory, or on disk across restarts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readArtifact, type Artifact, type LogRecord, type ScheduleStatus } from "@wfn/runtime";
import { eventually } from "./helpers/collector.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { SCHEDULES_BUILD } from "./helpers/paths.js";

interface Tick {
  id: string;
  name: string;
  expression: string;
  time: string;
  fn: string;
}

const ticks = (logs: LogRecord[], fn: string): Tick[] =>
  logs.filter((r) => r.source === "guest" && r.function === fn && r.message.startsWith("tick ")).map((r) => JSON.parse(r.message.slice(5)) as Tick);

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "wfn-schedules-"));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe("schedules", () => {
  let app: TestHost;

  beforeAll(async () => {
    app = await startHost({ dir: SCHEDULES_BUILD });
  });

  it("fires rate(1 second) every second, at whole seconds, with the scheduled event", async () => {
    const found = await eventually(() => (ticks(app.logs, "ticker").length >= 3 ? ticks(app.logs, "ticker") : undefined), 10_000, "three ticks");
    for (const tick of found) {
      expect(tick).toMatchObject({ name: "ticker", expression: "rate(1 second)", fn: "ticker" });
      expect(tick.time).toMatch(/\.000Z$/);
    }
    const times = found.map((tick) => Date.parse(tick.time));
    expect(new Set(times).size).toBe(times.length);
    expect(new Set(found.map((tick) => tick.id)).size).toBe(found.length);
    // Every second, unless the machine is so busy that a firing was still running at the next (then it is skipped).
    for (let i = 1; i < times.length; i++) {
      expect(times[i]! - times[i - 1]!, `ticks at ${found.map((t) => t.time).join(", ")}`).toBeGreaterThanOrEqual(1000);
      expect((times[i]! - times[i - 1]!) % 1000).toBe(0);
    }
  });

  it("skips a firing while the previous one still runs", async () => {
    await eventually(() => (ticks(app.logs, "slow-ticker").length >= 2 ? true : undefined), 15_000, "two slow ticks");
    const times = ticks(app.logs, "slow-ticker").map((tick) => Date.parse(tick.time));
    // Each run takes 2.5 s, so with no overlap, consecutive firings are at least 3 s apart.
    const shown = `slow ticks at ${ticks(app.logs, "slow-ticker").map((t) => t.time).join(", ")}; host log: ${app.logs.filter((r) => r.function === "slow-ticker" && r.source === "host").map((r) => r.message).join(" | ")}`;
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, shown).toBeGreaterThanOrEqual(3000);
    expect(app.logs.some((r) => r.source === "host" && r.function === "slow-ticker" && /skipped, the previous one still runs/.test(r.message)), shown).toBe(true);
  });

  it("gives a Lambda-style handler an EventBridge Scheduled Event", async () => {
    const event = await eventually(() => {
      const line = app.logs.find((r) => r.source === "guest" && r.function === "lambda-ticker" && r.message.startsWith("event "));
      return line === undefined ? undefined : (JSON.parse(line.message.slice(6)) as Record<string, unknown>);
    }, 10_000, "a Lambda-style firing");
    expect(event).toEqual({
      version: "0",
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "000000000000",
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      region: "us-east-1",
      resources: ["arn:aws:events:us-east-1:000000000000:rule/lambda-ticker"],
      detail: {},
    });
    // */2 in the seconds field: even seconds only.
    expect(new Date(event.time as string).getUTCSeconds() % 2).toBe(0);
  });

  it("lists schedules with their next and last firing", async () => {
    await eventually(() => (ticks(app.logs, "ticker").length >= 1 ? true : undefined), 5000, "a first tick");
    const response = await app.get("/_wfn/schedules");
    expect(response.status).toBe(200);
    const { schedules } = (await response.json()) as { schedules: ScheduleStatus[] };
    expect(schedules.map((s) => s.function)).toEqual(["lambda-ticker", "slow-ticker", "ticker"]);
    const ticker = schedules.find((s) => s.function === "ticker")!;
    expect(ticker.expression).toBe("rate(1 second)");
    expect(Date.parse(ticker.next!)).toBeGreaterThan(Date.now() - 1000);
    expect(Date.parse(ticker.last!)).toBeLessThanOrEqual(Date.now());
    expect(schedules.find((s) => s.function === "lambda-ticker")!.timezone).toBe("Europe/Paris");
  });

  it("stops firing a function that is removed", async () => {
    expect(await app.host.undeploy("ticker")).toBe(true);
    try {
      const before = ticks(app.logs, "ticker").length;
      await new Promise((resolve) => setTimeout(resolve, 2200));
      // At most one firing that was already accepted may still run.
      expect(ticks(app.logs, "ticker").length - before).toBeLessThanOrEqual(1);
      const { schedules } = (await (await app.get("/_wfn/schedules")).json()) as { schedules: ScheduleStatus[] };
      expect(schedules.map((s) => s.function)).not.toContain("ticker");
    } finally {
      // The other tests of this file find the ticker deployed and fired, whatever their order.
      await app.host.deploy(join(SCHEDULES_BUILD, "ticker"));
      const redeployed = ticks(app.logs, "ticker").length;
      await eventually(() => (ticks(app.logs, "ticker").length > redeployed ? true : undefined), 5000, "the redeployed ticker to fire");
    }
  });
});

describe("schedules across hosts and restarts", () => {
  let ticker: Artifact;

  beforeAll(async () => {
    ticker = await readArtifact(join(SCHEDULES_BUILD, "ticker"));
  });

  it("never runs a firing twice across a restart, and refuses a second host on the same store", async () => {
    const first = await startHost({ functions: [ticker], dataDir });
    await expect(startHost({ functions: [ticker], dataDir })).rejects.toThrow(/is in use by another wfn host; give each host its own --data-dir/);
    await new Promise((resolve) => setTimeout(resolve, 2200));
    await first.server.close();
    const second = await startHost({ functions: [ticker], dataDir });
    await new Promise((resolve) => setTimeout(resolve, 2200));
    await second.server.close();
    const all = [...ticks(first.logs, "ticker"), ...ticks(second.logs, "ticker")];
    expect(all.length).toBeGreaterThanOrEqual(2);
    const times = all.map((tick) => tick.time);
    expect(new Set(times).size).toBe(times.length);
  });

  it("does not replay missed firings by default, and replays the last one with catchUp", async () => {
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const plain = await startHost({ functions: [ticker], dataDir });
    await eventually(() => (ticks(plain.logs, "ticker").length >= 1 ? true : undefined), 5000, "a tick");
    await plain.server.close();
    // Every firing came after the restart: none of the missed ones was run.
    const restartedAt = Date.parse(ticks(plain.logs, "ticker")[0]!.time);
    expect(restartedAt).toBeGreaterThan(stoppedAt + 2000);
    expect(plain.logs.some((r) => /caught up/.test(r.message))).toBe(false);

    await new Promise((resolve) => setTimeout(resolve, 2500));
    const config = { ...ticker.manifest.config, schedule: { ...ticker.manifest.config.schedule!, catchUp: true } };
    const restartingAt = Date.now();
    const catching = await startHost({ functions: [{ ...ticker, manifest: { ...ticker.manifest, config } }], dataDir });
    const caught = await eventually(() => catching.logs.find((r) => r.source === "host" && /caught up the firing due/.test(r.message)), 5000, "the caught-up firing");
    const due = Date.parse(/caught up the firing due (\S+)/.exec(caught.message)![1]!);
    // The last firing missed while the host was down (a whole second just before the restart), run once.
    expect(due).toBeLessThanOrEqual(caught.time);
    expect(due).toBeGreaterThan(restartingAt - 2000);
    await eventually(() => (ticks(catching.logs, "ticker").some((tick) => Date.parse(tick.time) === due) ? true : undefined), 5000, "the caught-up firing to run");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await catching.server.close();
    expect(ticks(catching.logs, "ticker").filter((tick) => Date.parse(tick.time) === due)).toHaveLength(1);
  });
});
