// wfn invoke <name> [--data JSON | --file F] [--dir D] — run one function
// once, locally, and print what it returned.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createHost, didYouMean, invocationPayload, lambdaErrorPayload, readArtifact, textSink, type InvocationResult, type LogSink } from "@wfn/runtime";
import { DEFAULT_OUT_DIR } from "../build/build.js";
import { loadProject } from "../project/project.js";
import { out } from "../ui.js";
import { UsageError } from "../errors.js";
import { buildStale } from "./serve.js";

export const invokeHelp = `Usage: wfn invoke <name> [options]

Invokes one function of the project once, locally, with a JSON payload, and
prints its result on stdout (logs go to stderr). A function without an
\`invoke\` handler gets the payload as a POST / request to its \`fetch\`
handler, and the HTTP response is printed.

Options:
  --data <json>     the payload (default: null)
  --file <path>     read the payload from a JSON file
  --dir <dir>       the project (default: .)
  --no-build        do not rebuild stale functions first
  --json            print one JSON object: status ("ok", "error", "failed"),
                    result (the payload, or the HTTP response: statusCode,
                    header pairs, body as text or base64), error, requestId,
                    durationMs, coldStart, initMs and the invocation's log
  -h, --help        show this help

Exit status: 0 on success, 1 if the function failed.`;

export async function invokeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    allowNegative: true,
    options: { data: { type: "string" }, file: { type: "string" }, dir: { type: "string", default: "." }, build: { type: "boolean", default: true }, json: { type: "boolean", default: false } },
  });
  const name = positionals[0];
  if (name === undefined) throw new UsageError("which function? usage: wfn invoke <name> [--data JSON]");
  if (values.data !== undefined && values.file !== undefined) throw new UsageError("give the payload with --data or --file, not both");
  const payload = await readPayload(values.data, values.file);

  const project = await loadProject(values.dir);
  if (!project.functions.has(name)) {
    throw new UsageError(`no function "${name}" in ${project.file}${didYouMean(name, project.functions.keys())} (it has: ${[...project.functions.keys()].join(", ")})`);
  }
  if (values.build) await buildStale(project);
  const artifact = await readArtifact(join(project.dir, DEFAULT_OUT_DIR, name));
  const host = await createHost({ functions: [artifact], executors: 1, log: quietSink(textSink(process.stderr)) });
  try {
    const result = await host.invoke(name, payload);
    if (values.json) out(JSON.stringify(describeResult(result), null, 2));
    else printResult(result);
    return result.status === "ok" ? 0 : 1;
  } finally {
    await host.close();
  }
}

async function readPayload(data: string | undefined, file: string | undefined): Promise<unknown> {
  const [text, where] = data !== undefined ? [data, "--data"] : file !== undefined ? [await readFile(file, "utf8"), file] : ["null", ""];
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The function's own log lines and the host's warnings; not the host's chatter. */
function quietSink(sink: LogSink): LogSink {
  return (record) => {
    if (record.source === "guest" || record.level === "warn" || record.level === "error") sink(record);
  };
}

/** An invocation as `wfn invoke --json` prints it. */
function describeResult(result: InvocationResult): Record<string, unknown> {
  const facts = {
    status: result.status,
    functionName: result.functionName,
    functionVersion: result.functionVersion,
    requestId: result.requestId,
    durationMs: Math.round(result.durationMs * 1000) / 1000,
    coldStart: result.coldStart,
    initMs: result.initMs ?? null,
    log: result.log,
  };
  if (result.status !== "ok") return { ...facts, error: lambdaErrorPayload(result) };
  const { outcome } = result;
  if (outcome.tag === "payload") {
    const text = new TextDecoder().decode(outcome.val);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // not JSON: the text as it is
    }
    return { ...facts, result: value };
  }
  const { status, headers, body } = outcome.val;
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    text = undefined;
  }
  const encoded = text === undefined ? { body: Buffer.from(body).toString("base64"), isBase64Encoded: true } : { body: text, isBase64Encoded: false };
  // Headers as [name, value] pairs: a name may repeat (set-cookie).
  return { ...facts, result: { statusCode: status, headers, ...encoded } };
}

function printResult(result: InvocationResult): void {
  switch (result.status) {
    case "ok": {
      const { outcome } = result;
      if (outcome.tag === "payload") {
        const text = new TextDecoder().decode(outcome.val);
        try {
          out(JSON.stringify(JSON.parse(text), null, 2));
        } catch {
          out(text);
        }
        return;
      }
      const response = outcome.val;
      out(`HTTP ${response.status}`);
      for (const [header, value] of response.headers) out(`${header}: ${value}`);
      out("");
      const text = new TextDecoder("utf-8", { fatal: true });
      try {
        out(text.decode(response.body));
      } catch {
        out(`<${response.body.byteLength} bytes of binary data>`);
      }
      return;
    }
    case "error":
    case "failed":
      out(JSON.stringify(JSON.parse(new TextDecoder().decode(invocationPayload(result))), null, 2));
      return;
  }
}
