// Crash safety: a real `wfn serve` process accepts queue messages and
// asynchronous invocations, is killed with SIGKILL while processing them,
// and is started again on the same data directory. Every accepted piece of
// work must be processed at least once (reported to a loopback collector),
// duplicates bounded by what was in flight, dead letters exactly the poison
// messages.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueStats } from "@wfn/runtime";
import { startWfn, type CliProcess } from "./helpers/cli.js";
import { eventually, startCollector, type Collector } from "./helpers/collector.js";
import { TRIGGERS } from "./helpers/paths.js";

const MESSAGES = 200;
const POISON = 3;
const INVOCATIONS = 50;
/** What can be in flight at once: the consumer's batches (4 × 5 messages) and the asynchronous runner's slots (16). */
const IN_FLIGHT_BOUND = 4 * 5 + 16;
const ADMIN_KEY = "crash-test-admin-key-0123456789";
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

let dataDir: string;
let collector: Collector;
const running = new Set<CliProcess>();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "wfn-crash-"));
  // Each report takes a little while, so the host is killed mid-processing.
  collector = await startCollector({ delayMs: 25 });
});
afterAll(async () => {
  await Promise.all([...running].map((p) => p.stop()));
  await rm(dataDir, { recursive: true, force: true });
});

async function serve(): Promise<{ process: CliProcess; url: string }> {
  const process = startWfn(["serve", TRIGGERS, "--port", "0", "--data-dir", dataDir, "--executors", "2", "--admin-key", ADMIN_KEY]);
  running.add(process);
  const [, url] = await process.waitFor(/serving \d+ functions on (http:\/\/\S+)/, 120_000);
  return { process, url: url! };
}

describe("a host killed mid-processing", () => {
  it("loses nothing it accepted: every message and invocation is processed after a restart", async () => {
    const first = await serve();
    const expected = new Set<string>();
    const poison = new Set<string>();

    // Accept the work: messages in batches over HTTP, then Event invocations through the Invoke API.
    for (let start = 0; start < MESSAGES; start += 50) {
      const messages = Array.from({ length: 50 }, (_, i) => {
        const id = `m-${start + i}`;
        const isPoison = start + i < POISON;
        (isPoison ? poison : expected).add(id);
        return { body: JSON.stringify({ id, collector: collector.url, ...(isPoison ? { mode: "retry" } : {}) }) };
      });
      const response = await fetch(`${first.url}/_wfn/queues/work/messages`, { method: "POST", headers: admin, body: JSON.stringify({ messages }) });
      expect(response.status).toBe(201);
    }
    for (let i = 0; i < INVOCATIONS; i++) {
      const id = `a-${i}`;
      expected.add(id);
      const response = await fetch(`${first.url}/2015-03-31/functions/job/invocations`, {
        method: "POST",
        headers: { "x-amz-invocation-type": "Event" },
        body: JSON.stringify({ id, collector: collector.url }),
      });
      expect(response.status).toBe(202);
    }

    // Kill it while it works.
    await collector.until((reports) => new Set(reports.map((r) => r.id)).size >= 40, 60_000);
    first.process.child.kill("SIGKILL");
    await first.process.stop();
    running.delete(first.process);
    const seenBeforeKill = new Set(collector.reports.map((r) => r.id as string));
    expect(seenBeforeKill.size).toBeLessThan(expected.size);

    // Start again on the same data directory: the rest is processed.
    const restartedAt = Date.now();
    const second = await serve();
    await collector.until((reports) => {
      const seen = new Set(reports.map((r) => r.id as string));
      return [...expected].every((id) => seen.has(id));
    }, 90_000);
    const recoveredMs = Date.now() - restartedAt;

    const reports = collector.reports.filter((r) => expected.has(r.id as string));
    const processed = new Set(reports.map((r) => r.id as string));
    const duplicates = reports.length - processed.size;
    const lost = [...expected].filter((id) => !processed.has(id));
    expect(lost).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(IN_FLIGHT_BOUND);

    // The poison messages end in the dead-letter queue, and nothing else does; nothing is left pending.
    const deadLetters = await eventually(
      async () => {
        const answer = (await (await fetch(`${second.url}/_wfn/queues/work/dead-letters`, { headers: admin })).json()) as { messages: Array<{ body: string }> };
        return answer.messages.length >= POISON ? answer.messages : undefined;
      },
      30_000,
      "the poison messages to be dead-lettered",
    );
    expect(deadLetters.map((m) => (JSON.parse(m.body) as { id: string }).id).sort()).toEqual([...poison].sort());
    await eventually(async () => {
      const { queues } = (await (await fetch(`${second.url}/_wfn/queues`, { headers: admin })).json()) as { queues: QueueStats[] };
      const work = queues.find((q) => q.name === "work")!;
      const { pending } = (await (await fetch(`${second.url}/_wfn/async`, { headers: admin })).json()) as { pending: number };
      return work.visible === 0 && work.inFlight === 0 && pending === 0 ? true : undefined;
    }, 20_000, "the queue and the asynchronous invocations to drain");

    console.log(
      `crash test: accepted ${expected.size} (+${POISON} poison), processed before the kill ${[...seenBeforeKill].filter((id) => expected.has(id)).length}, ` +
        `processed ${processed.size}, duplicates ${duplicates}, lost ${lost.length}, dead-lettered ${deadLetters.length}; recovered in ${recoveredMs} ms`,
    );
    expect(await second.process.stop()).toBe(0);
    running.delete(second.process);
  });
});
