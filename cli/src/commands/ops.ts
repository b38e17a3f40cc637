// Commands that operate a running host through its /_wfn/ routes: queues
// (list, send, dead letters, redrive), schedules, and failed asynchronous
// invocations.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { AsyncFailure, QueueStats, ScheduleStatus, StoredMessage } from "@wfn/runtime";
import { connect, remoteHelp, remoteOptions } from "../remote/client.js";
import { preview, print, table } from "../remote/format.js";
import { dim, integerOption, out, say } from "../ui.js";
import { UsageError } from "../errors.js";

export const queuesHelp = `Usage: wfn queues [options]

Lists the queues of a running host: messages waiting (visible), being
processed or delayed (in flight), dead-lettered, and which functions consume
each.

Options:
${remoteHelp}`;

export async function queuesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: remoteOptions });
  const answer = await (await connect(values)).get<{ queues: QueueStats[] }>("/_wfn/queues");
  if (values.json) return print(answer);
  table(
    ["QUEUE", "VISIBLE", "IN FLIGHT", "DEAD-LETTERED", "DEAD-LETTER QUEUE", "CONSUMERS"],
    answer.queues.map((q) => [q.name, String(q.visible), String(q.inFlight), String(q.deadLettered), q.deadLetterQueue ?? "-", q.consumers.join(", ") || "-"]),
    'no queues (declare them under "queues" in wfn.json)',
  );
  return 0;
}

export const sendHelp = `Usage: wfn send <queue> [body] [options]

Sends one message to a queue of a running host and prints its id. Without a
body argument, the body is read from --file, or from standard input.

Options:
  --attr <key=value>  a message attribute (repeatable)
  --delay <seconds>   keep the message invisible this long first (0-900)
  --file <path>       read the body from a file
${remoteHelp}`;

export async function sendCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...remoteOptions, attr: { type: "string", multiple: true }, delay: { type: "string" }, file: { type: "string" } },
  });
  const [queue, inline, extra] = positionals;
  if (queue === undefined) throw new UsageError("which queue? usage: wfn send <queue> [body]");
  if (extra !== undefined) throw new UsageError("give the body as one argument (quote it), with --file, or on standard input");
  if (inline !== undefined && values.file !== undefined) throw new UsageError("give the body as an argument or with --file, not both");
  const attributes: Record<string, string> = {};
  for (const pair of values.attr ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--attr takes key=value, got "${pair}"`);
    attributes[pair.slice(0, at)] = pair.slice(at + 1);
  }
  let delaySeconds: number | undefined;
  if (values.delay !== undefined) {
    delaySeconds = Number(values.delay);
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 900) throw new UsageError(`--delay must be a whole number of seconds from 0 to 900, got "${values.delay}"`);
  }
  const body = inline ?? (values.file !== undefined ? await readBodyFile(values.file) : await readStdin());
  const answer = await (await connect(values)).post<{ messageId: string }>(`/_wfn/queues/${encodeURIComponent(queue)}/messages`, {
    body,
    attributes,
    ...(delaySeconds === undefined ? {} : { delaySeconds }),
  });
  if (values.json) return print(answer);
  out(answer.messageId);
  return 0;
}

export const deadLettersHelp = `Usage: wfn dead-letters <queue> [options]

Lists the messages of a queue that moved to its dead-letter queue after
\`maxReceiveCount\` failed deliveries, oldest first.

Options:
  --limit <n>       at most this many (default: 100)
${remoteHelp}`;

export async function deadLettersCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...remoteOptions, limit: { type: "string", default: "100" } } });
  const queue = positionals[0];
  if (queue === undefined) throw new UsageError("which queue? usage: wfn dead-letters <queue>");
  const limit = integerOption(values.limit, "--limit", 1, 10_000);
  const answer = await (await connect(values)).get<{ messages: StoredMessage[] }>(`/_wfn/queues/${encodeURIComponent(queue)}/dead-letters?limit=${limit}`);
  if (values.json) return print(answer);
  table(
    ["MESSAGE ID", "SENT", "BODY"],
    answer.messages.map((m) => [m.id, new Date(m.sentAt).toISOString(), preview(m.body)]),
    `no dead letters for queue ${queue}`,
  );
  return 0;
}

export const redriveHelp = `Usage: wfn redrive <queue> [options]

Moves every message in a queue's dead-letter queue back to the queue, with
its receive count reset, so its consumers get it again.

Options:
${remoteHelp}`;

export async function redriveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: remoteOptions });
  const queue = positionals[0];
  if (queue === undefined) throw new UsageError("which queue? usage: wfn redrive <queue>");
  const answer = await (await connect(values)).post<{ moved: number }>(`/_wfn/queues/${encodeURIComponent(queue)}/redrive`);
  if (values.json) return print(answer);
  out(`moved ${answer.moved} message${answer.moved === 1 ? "" : "s"} back to ${queue}`);
  return 0;
}

export const schedulesHelp = `Usage: wfn schedules [options]

Lists the schedules of a running host: each function's expression, its next
and last firing, and whether a firing is running now.

Options:
${remoteHelp}`;

export async function schedulesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: remoteOptions });
  const answer = await (await connect(values)).get<{ schedules: ScheduleStatus[] }>("/_wfn/schedules");
  if (values.json) return print(answer);
  table(
    ["FUNCTION", "SCHEDULE", "NEXT", "LAST", "RUNNING"],
    answer.schedules.map((s) => [s.function, s.expression + (s.timezone ? ` (${s.timezone})` : ""), s.next ?? "-", s.last ?? "-", s.running ? "yes" : "no"]),
    'no schedules (give a function a "schedule" in wfn.json)',
  );
  return 0;
}

export const failuresHelp = `Usage: wfn failures [function] [options]

Lists asynchronous invocations (Event invocations, schedule firings, storage
notifications) that failed for good and went to the dead-letter store, newest
first, with how many are still pending.

Options:
  --limit <n>       at most this many (default: 100)
${remoteHelp}`;

export async function failuresCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...remoteOptions, limit: { type: "string", default: "100" } } });
  const limit = integerOption(values.limit, "--limit", 1, 10_000);
  const query = new URLSearchParams({ limit: String(limit), ...(positionals[0] === undefined ? {} : { function: positionals[0] }) });
  const answer = await (await connect(values)).get<{ pending: number; failures: AsyncFailure[] }>(`/_wfn/async?${query}`);
  if (values.json) return print(answer);
  say(dim(`${answer.pending} asynchronous invocation${answer.pending === 1 ? "" : "s"} pending`));
  table(
    ["REQUEST ID", "FUNCTION", "FAILED", "CONDITION", "ERROR"],
    answer.failures.map((f) => {
      const record = f.record as { requestContext?: { condition?: string }; responsePayload?: { errorType?: string; errorMessage?: string } };
      const error = record.responsePayload === undefined ? "-" : `${record.responsePayload.errorType ?? ""}: ${record.responsePayload.errorMessage ?? ""}`;
      return [f.id, f.function, new Date(f.failedAt).toISOString(), record.requestContext?.condition ?? "-", preview(error)];
    }),
    "no failed asynchronous invocations",
  );
  return 0;
}

async function readBodyFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("give the message body as an argument, with --file, or on standard input");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
