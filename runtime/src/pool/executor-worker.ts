// The executor: a worker thread that holds sandboxed instances and runs
// their calls — many at once. A call runs until its guest waits on the host
// (a timer, an outbound request, a queue send); its instance is then
// suspended (JSPI) and the thread goes on with other calls, returning to
// the suspended one when what it waits for arrives. It never decides policy;
// the scheduler does.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parentPort, workerData, type Transferable } from "node:worker_threads";
import type { ComponentGlue, CallResult } from "../sandbox/instance.js";
import { SandboxInstance } from "../sandbox/instance.js";
import { prepareMemories, recordComputingIn, type InterruptSupply } from "../sandbox/interrupt.js";
import { mayHoldPositions, StackMapper } from "../util/source-map.js";
import type { MemoryImage } from "../util/wasm-binary.js";
import { closeTransport, routeOutbound } from "../outbound/transport.js";
import { FrontEnd } from "./executor-http.js";
import { ownsBuffer, type FromExecutor, type HostCallRequest, type ToExecutor } from "./protocol.js";

interface LoadedComponent {
  glueUrl: string;
  glue: ComponentGlue | undefined;
  modules: ReadonlyMap<string, WebAssembly.Module>;
  images: ReadonlyMap<WebAssembly.Module, MemoryImage>;
  interrupt: InterruptSupply;
  /** Rewrites positions in the function's bundle to its sources, when the component carries a source map. */
  mapStacks: ((text: string) => string) | undefined;
}

const require = createRequire(import.meta.url);
const port = parentPort!;
/** This executor's interrupt memory: the host sets it when a call here passed its deadline. */
const { flags, index, outboundRoutes } = workerData as { flags: WebAssembly.Memory; index: number; outboundRoutes: Record<string, string> };
routeOutbound(outboundRoutes);

// Where this thread records whether a guest computes, for the host to read.
recordComputingIn(flags);
const components = new Map<string, LoadedComponent>();
const instances = new Map<number, SandboxInstance>();
/** Guests' calls to the host waiting for its reply. */
const hostCalls = new Map<number, { resolve: (value: unknown) => void; reject: (error: string) => void }>();
let nextHostCall = 1;
/** Requests this executor serves itself, when it accepts HTTP connections (./executor-http.ts). */
const frontEnd = new FrontEnd({ instances, reply: (message) => reply(message), flags: new Int32Array(flags.buffer), index });

function reply(message: FromExecutor, transfer: Transferable[] = []): void {
  port.postMessage(message, transfer);
}

function hostCall(instance: number, request: HostCallRequest): Promise<unknown> {
  const id = nextHostCall++;
  return new Promise((resolve, reject) => {
    hostCalls.set(id, { resolve, reject });
    reply({ op: "host-call", id, instance, request });
  });
}

async function create(message: Extract<ToExecutor, { op: "create" }>): Promise<void> {
  const started = performance.now();
  try {
    const component = components.get(message.component);
    if (component === undefined) throw new Error(`component ${message.component} is not loaded in this executor`);
    component.glue ??= require(fileURLToPath(component.glueUrl)) as ComponentGlue;
    // Written a piece per turn: the calls running here go on meanwhile.
    const memories = await prepareMemories(component.interrupt, component.images);
    const { settings } = message;
    instances.set(
      message.instance,
      SandboxInstance.create(
        component.glue,
        component.modules,
        component.images,
        // The version's settings as the host made them, and this executor's way to the host.
        { ...settings, hostCall: (capability, op, args) => hostCall(message.instance, { capability, op, args }) },
        { interrupt: component.interrupt, memories, id: message.instance, mapStacks: component.mapStacks },
      ),
    );
    reply({ op: "created", id: message.id, initMs: performance.now() - started });
  } catch (error) {
    reply({ op: "failed", id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
}

async function run(message: Extract<ToExecutor, { op: "call" }>): Promise<void> {
  const instance = instances.get(message.instance);
  let result: CallResult;
  if (instance === undefined) {
    result = { status: "trap", message: `instance ${message.instance} does not exist`, outOfMemory: false, logs: [], durationMs: 0, memoryBytes: 0 };
  } else {
    result = await instance.call(message.event, message.context);
    if (instance.trapped) instances.delete(message.instance);
  }
  const transfer: Transferable[] = [];
  if (result.status === "ok") {
    const body = result.outcome.tag === "http" ? result.outcome.val.body : result.outcome.val;
    if (ownsBuffer(body)) transfer.push(body.buffer as ArrayBuffer);
  }
  reply({ op: "result", id: message.id, result }, transfer);
}

port.on("message", (message: ToExecutor) => {
  switch (message.op) {
    case "load": {
      const modules = new Map(message.component.modules);
      const images = new Map(message.component.images.map(([name, image]) => [modules.get(name)!, image]));
      const memories = new Map(message.component.interrupts.map(([name, limits]) => [modules.get(name)!, limits]));
      const { sourceMap } = message.component;
      let stacks: StackMapper | undefined;
      // Parsed when a guest first prints a position in its bundle.
      const mapStacks = sourceMap === undefined ? undefined : (text: string) => (mayHoldPositions(text) ? (stacks ??= new StackMapper(sourceMap)).map(text) : text);
      components.set(message.component.key, { glueUrl: message.component.glueUrl, glue: undefined, modules, images, interrupt: { memories, flags }, mapStacks });
      break;
    }
    case "unload":
      components.delete(message.component);
      break;
    case "create":
      void create(message);
      break;
    case "call":
      void run(message);
      break;
    case "abandon":
      frontEnd.forget(message.instance);
      instances.get(message.instance)?.abandon();
      instances.delete(message.instance);
      reply({ op: "abandoned", instance: message.instance });
      break;
    case "destroy":
      frontEnd.forget(message.instance);
      instances.delete(message.instance);
      break;
    case "lend":
      frontEnd.lend(message.instance, message.pool, message.idleTimeoutMs, message.running, message.queue);
      break;
    case "recall":
      frontEnd.recall(message.instance);
      break;
    case "routing":
      frontEnd.route(message.snapshot);
      break;
    case "listen":
      frontEnd.listen(message.settings).then(
        (port) => reply({ op: "listening", id: message.id, port }),
        (error: NodeJS.ErrnoException) => reply({ op: "listen-failed", id: message.id, code: error.code, message: error.message }),
      );
      break;
    case "unlisten":
      frontEnd.unlisten();
      break;
    case "quiesce":
      void frontEnd.quiesce(message.waitMs).then(() => reply({ op: "quiet", id: message.id }));
      break;
    case "host-reply": {
      const waiting = hostCalls.get(message.id);
      hostCalls.delete(message.id);
      if (waiting === undefined) break;
      if ("error" in message) waiting.reject(message.error);
      else waiting.resolve(message.value);
      break;
    }
  }
});

port.on("close", () => void closeTransport());
