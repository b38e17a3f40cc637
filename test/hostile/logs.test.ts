// What a function logs reaches the host's terminal as text: it can neither
// pose as one of the host's own lines nor send the terminal escape sequences.
import { describe, expect, it } from "vitest";
import { textSink, type LogRecord } from "@wfn/runtime";
import { eventually } from "../helpers/collector.js";
import { startHost } from "../helpers/host.js";
import { QUEUE_WORKER_BUILD } from "../helpers/paths.js";

describe("a function's log lines on the host's text output", () => {
  it("show carriage returns and escape sequences from a message as \\u escapes", async () => {
    let text = "";
    const sink = textSink({ write: (chunk: string) => (text += chunk) });
    const app = await startHost({ dir: QUEUE_WORKER_BUILD });
    // startHost collects records; tee them into a real text sink.
    const forward = (record: LogRecord) => sink(record);
    // The mailer example logs the address it was given, as any function logs its input.
    const to = "ada@example.com\r2026-12-01T00:00:00.000Z INFO  wfn all is well\u001b[2J\u001b]0;owned\u0007\u202e";
    await app.host.queues.send("emails", JSON.stringify({ to, template: "welcome" }));
    const record = await eventually(() => app.logs.find((r) => r.source === "guest" && r.message.includes("all is well")), 15_000, "the mailer's line");
    forward(record);
    await new Promise((resolve) => setImmediate(resolve));
    expect(text).toContain("ada@example.com\\u000d2026-12-01T00:00:00.000Z INFO  wfn all is well\\u001b[2J\\u001b]0;owned\\u0007\\u202e");
    expect(text).not.toMatch(/[\r\u001b\u0007\u202e]/);
    expect(text.split("\n").filter((line) => line !== "")).toHaveLength(1);
  });
});
