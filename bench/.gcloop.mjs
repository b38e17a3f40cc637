import { join } from "node:path";
import { readArtifact } from "../runtime/dist/index.js";
import { prepareComponent } from "../runtime/dist/artifact/prepare.js";
import { SandboxInstance } from "../runtime/dist/sandbox/instance.js";
import { HELLO_BUILD, WFN_CACHE_DIR } from "./lib/paths.mjs";
const fn = process.argv[2] ?? "trivial";
const artifact = await readArtifact(join(HELLO_BUILD, fn));
const prepared = await prepareComponent(artifact, WFN_CACHE_DIR, { interrupt: false });
const glue = await import(prepared.glueUrl);
const modules = new Map(prepared.modules);
const images = new Map(prepared.images.map(([m, image]) => [modules.get(m), image]));
const caps = { functionName: fn, env: {}, logLimitBytes: 1 << 18, allowedOutboundHosts: [], maxOutboundRequestBytes: 1 << 20, maxOutboundResponseBytes: 1 << 20 };
const instance = SandboxInstance.create(glue, modules, images, caps, {});
const ctx = () => ({ requestId: "r", functionName: fn, functionVersion: "$LATEST", invokedFunctionArn: "a", memoryLimitMb: 128, deadlineMs: BigInt(Date.now() + Number(process.env.N ?? 60000)), clientContext: undefined });
const ev = () => ({ tag: "http", val: { method: "GET", url: "http://127.0.0.1/", headers: [["host", "127.0.0.1"], ["accept", "*/*"]], body: new Uint8Array(0), route: { key: "GET /", params: [] }, remoteAddress: "127.0.0.1" } });
for (let i = 1; i <= Number(process.env.N ?? 60000); i++) {
  const r = await instance.call(process.env.INVOKE ? { tag: "invoke", val: { payload: process.env.PAYLOAD ? JSON.stringify("x".repeat(Number(process.env.PAYLOAD))) : "null" } } : ev(), ctx());
  if (r.status !== "ok") { console.log("call", i, r.status, r.message ?? ""); break; }
  if (i % Number(process.env.EVERY ?? 10000) === 0) console.log(i, (r.memoryBytes / 1048576).toFixed(1), "MB");
}
