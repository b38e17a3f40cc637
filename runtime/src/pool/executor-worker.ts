// The executor: a worker thread that holds sandboxed instances and runs
// their calls, one at a time. It never decides policy; the scheduler does.
import { parentPort, workerData, type Transferable } from "node:worker_threads";
import { OutboundChannel } from "../outbound/client.js";
import type { ComponentGlue } from "../sandbox/instance.js";
import { SandboxInstance } from "../sandbox/instance.js";
import { ownsBuffer, type ExecutorInit, type FromExecutor, type ToExecutor } from "./protocol.js";

interface LoadedComponent {
  glue: Promise<ComponentGlue>;
  modules: ReadonlyMap<string, WebAssembly.Module>;
}

const port = parentPort!;
const init = (workerData ?? {}) as ExecutorInit;
const outbound = init.outbound === undefined ? undefined : new OutboundChannel(init.outbound.port, init.outbound.signal);
const components = new Map<string, LoadedComponent>();
const instances = new Map<number, SandboxInstance>();

function reply(message: FromExecutor, transfer: Transferable[] = []): void {
  port.postMessage(message, transfer);
}

async function create(message: Extract<ToExecutor, { op: "create" }>): Promise<void> {
  const started = performance.now();
  try {
    const component = components.get(message.component);
    if (component === undefined) throw new Error(`component ${message.component} is not loaded in this executor`);
    const glue = await component.glue;
    const { settings } = message;
    instances.set(
      message.instance,
      SandboxInstance.create(glue, component.modules, {
        functionName: settings.functionName,
        env: settings.env,
        logLimitBytes: settings.logLimitBytes,
        allowedOutboundHosts: settings.allowedOutboundHosts,
        maxOutboundResponseBytes: settings.maxOutboundResponseBytes,
        ...(outbound === undefined ? {} : { outbound }),
      }),
    );
    reply({ op: "created", id: message.id, initMs: performance.now() - started });
  } catch (error) {
    reply({ op: "failed", id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
}

function call(message: Extract<ToExecutor, { op: "call" }>): void {
  const instance = instances.get(message.instance);
  if (instance === undefined) {
    reply({ op: "failed", id: message.id, message: `instance ${message.instance} does not exist` });
    return;
  }
  const result = instance.call(message.event, message.context);
  if (instance.trapped) instances.delete(message.instance);
  const transfer: Transferable[] = [];
  if (result.status === "ok") {
    const body = result.outcome.tag === "http" ? result.outcome.val.body : result.outcome.val;
    if (ownsBuffer(body)) transfer.push(body.buffer as ArrayBuffer);
  }
  reply({ op: "result", id: message.id, result }, transfer);
}

port.on("message", (message: ToExecutor) => {
  switch (message.op) {
    case "load":
      components.set(message.component.key, {
        glue: import(message.component.glueUrl) as Promise<ComponentGlue>,
        modules: new Map(message.component.modules),
      });
      break;
    case "unload":
      components.delete(message.component);
      break;
    case "create":
      void create(message);
      break;
    case "call":
      call(message);
      break;
    case "destroy":
      instances.delete(message.instance);
      break;
  }
});
