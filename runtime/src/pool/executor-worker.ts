// The executor: a worker thread that holds sandboxed instances and runs
// their calls, one at a time. It never decides policy; the scheduler does.
//
// It never returns to its event loop: it sleeps on the doorbell of the
// memory it shares with the host, reads control messages synchronously, and
// writes each call's result straight into that memory. Everything here is
// synchronous (glue modules are loaded with require()).
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parentPort, receiveMessageOnPort, workerData, type Transferable } from "node:worker_threads";
import { OutboundChannel } from "../outbound/client.js";
import { HostCallClient } from "./host-calls.js";
import type { ComponentGlue, CallResult } from "../sandbox/instance.js";
import { SandboxInstance } from "../sandbox/instance.js";
import { Overflow, readCall, Reader, Writer, writeResult } from "./codec.js";
import type { MemoryImage } from "../util/wasm-binary.js";
import { CHANNEL, ownsBuffer, type ChannelInit, type ExecutorInit, type FromExecutor, type ToExecutor } from "./protocol.js";

interface LoadedComponent {
  glueUrl: string;
  glue: ComponentGlue | undefined;
  modules: ReadonlyMap<string, WebAssembly.Module>;
  images: ReadonlyMap<WebAssembly.Module, MemoryImage>;
}

const require = createRequire(import.meta.url);
const init = workerData as ExecutorInit & { channel: ChannelInit };
const header = new Int32Array(init.channel.shared, 0, CHANNEL.HEADER_BYTES / 4);
const data = new Uint8Array(init.channel.shared, CHANNEL.HEADER_BYTES, CHANNEL.DATA_BYTES);
const outbound = init.outbound === undefined ? undefined : new OutboundChannel(init.outbound.port, init.outbound.signal);
const hostCalls = init.hostCalls === undefined ? undefined : new HostCallClient(init.hostCalls.port, init.hostCalls.signal);
const components = new Map<string, LoadedComponent>();
const instances = new Map<number, SandboxInstance>();

function reply(message: FromExecutor): void {
  parentPort!.postMessage(message);
}

function create(message: Extract<ToExecutor, { op: "create" }>): void {
  const started = performance.now();
  try {
    const component = components.get(message.component);
    if (component === undefined) throw new Error(`component ${message.component} is not loaded in this executor`);
    component.glue ??= require(fileURLToPath(component.glueUrl)) as ComponentGlue;
    const { settings } = message;
    instances.set(
      message.instance,
      SandboxInstance.create(component.glue, component.modules, component.images, {
        functionName: settings.functionName,
        env: settings.env,
        logLimitBytes: settings.logLimitBytes,
        allowedOutboundHosts: settings.allowedOutboundHosts,
        maxOutboundRequestBytes: settings.maxOutboundRequestBytes,
        maxOutboundResponseBytes: settings.maxOutboundResponseBytes,
        ...(outbound === undefined ? {} : { outbound }),
        ...(hostCalls === undefined ? {} : { sendMessage: (queue: string, body: string, attributes: Array<[string, string]>) => hostCalls.sendMessage(queue, body, attributes) }),
      }),
    );
    reply({ op: "created", id: message.id, initMs: performance.now() - started });
  } catch (error) {
    reply({ op: "failed", id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
}

function run(call: { instance: number; event: Parameters<SandboxInstance["call"]>[0]; context: Parameters<SandboxInstance["call"]>[1] }): void {
  const instance = instances.get(call.instance);
  let result: CallResult;
  if (instance === undefined) {
    result = { status: "trap", message: `instance ${call.instance} does not exist`, outOfMemory: false, logs: [], durationMs: 0, memoryBytes: 0 };
  } else {
    result = instance.call(call.event, call.context);
    if (instance.trapped) instances.delete(call.instance);
  }
  deliver(result);
}

/** Writes a result into shared memory (or posts it when too large) and wakes the host. */
function deliver(result: CallResult): void {
  let kind = 1;
  try {
    const writer = new Writer(data);
    writeResult(writer, result);
    Atomics.store(header, CHANNEL.RESULT_LENGTH, writer.offset);
  } catch (error) {
    if (!(error instanceof Overflow)) throw error;
    kind = 2;
    const transfer: Transferable[] = [];
    if (result.status === "ok") {
      const body = result.outcome.tag === "http" ? result.outcome.val.body : result.outcome.val;
      if (ownsBuffer(body)) transfer.push(body.buffer as ArrayBuffer);
    }
    init.channel.results.postMessage(result, transfer);
  }
  Atomics.store(header, CHANNEL.RESULT_KIND, kind);
  Atomics.add(header, CHANNEL.RESULT_SEQ, 1);
  if (Atomics.load(header, CHANNEL.HOST_WAITING) === 1) Atomics.notify(header, CHANNEL.RESULT_SEQ);
}

function handle(message: ToExecutor): void {
  switch (message.op) {
    case "load": {
      const modules = new Map(message.component.modules);
      const images = new Map(message.component.images.map(([name, image]) => [modules.get(name)!, image]));
      components.set(message.component.key, { glueUrl: message.component.glueUrl, glue: undefined, modules, images });
      break;
    }
    case "unload":
      components.delete(message.component);
      break;
    case "create":
      create(message);
      break;
    case "call-large":
      run(message);
      break;
    case "destroy":
      instances.delete(message.instance);
      break;
  }
}

/**
 * How long the executor polls the doorbell before it sleeps. Waking a
 * sleeping thread (a futex wake, through the hypervisor on a virtual
 * machine) costs the host a few hundred microseconds, more than a warm call;
 * under steady traffic the next call arrives within this window.
 */
const SPIN_MS = 0.5;

for (;;) {
  const rung = Atomics.load(header, CHANNEL.DOORBELL);
  for (let message = receiveMessageOnPort(init.channel.control); message !== undefined; message = receiveMessageOnPort(init.channel.control)) {
    handle(message.message as ToExecutor);
  }
  if (Atomics.load(header, CHANNEL.CALL) === 1) {
    Atomics.store(header, CHANNEL.CALL, 0);
    run(readCall(new Reader(data.subarray(0, Atomics.load(header, CHANNEL.REQUEST_LENGTH)))));
  }
  const spinUntil = performance.now() + SPIN_MS;
  while (Atomics.load(header, CHANNEL.DOORBELL) === rung && performance.now() < spinUntil);
  if (Atomics.load(header, CHANNEL.DOORBELL) !== rung) continue;
  Atomics.store(header, CHANNEL.EXECUTOR_SLEEPING, 1);
  Atomics.wait(header, CHANNEL.DOORBELL, rung);
  Atomics.store(header, CHANNEL.EXECUTOR_SLEEPING, 0);
}
