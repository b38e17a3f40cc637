// A guest asked to look at its flags once its deadline has passed stops
// itself. That may happen before the host's own timer fires (another call
// arriving asks the computing guest to yield); the call must still be
// reported as timed out, not as a crash.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readArtifact } from "@wfn/runtime";
import { prepareComponent } from "../../runtime/dist/artifact/prepare.js";
import { SandboxInstance, type ComponentGlue } from "../../runtime/dist/sandbox/instance.js";
import { interruptMemory, requestInterrupt } from "../../runtime/dist/sandbox/interrupt.js";
import { CACHE_DIR, HOSTILE_BUILD } from "../helpers/paths.js";

describe("a guest that stops itself past its deadline", () => {
  it("reports that its invocation timed out", async () => {
    const prepared = await prepareComponent(await readArtifact(join(HOSTILE_BUILD, "spin")), CACHE_DIR);
    const glue = (await import(prepared.glueUrl)) as ComponentGlue;
    const modules = new Map(prepared.modules);
    const images = new Map(prepared.images.map(([name, image]) => [modules.get(name)!, image]));
    const flags = interruptMemory();
    const supply = { memories: new Map(prepared.interrupts.map(([name, limits]) => [modules.get(name)!, limits])), flags };
    expect(supply.memories.size).toBeGreaterThan(0);
    const instance = SandboxInstance.create(glue, modules, images, { functionName: "spin", env: {}, logLimitBytes: 1 << 16, allowedOutboundHosts: [], maxOutboundRequestBytes: 1, maxOutboundResponseBytes: 1 }, { interrupt: supply });
    // Already past its deadline, and asked to look: its first check stops it (spin never returns on its own).
    requestInterrupt(new Int32Array(flags.buffer));
    const result = await instance.call(
      { tag: "http", val: { method: "GET", url: "http://localhost/spin", headers: [], body: new Uint8Array(0), route: undefined, remoteAddress: undefined } },
      { requestId: "00000000-0000-4000-8000-000000000001", functionName: "spin", functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:spin", memoryLimitMb: 128, deadlineMs: BigInt(Date.now() - 1), clientContext: undefined },
    );
    expect(result).toMatchObject({ status: "trap", timedOut: true });
    expect(instance.trapped).toBe(true);
  });
});
