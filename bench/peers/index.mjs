// The systems measured side by side: how to start each one on a given port
// so that GET / answers {"hello":"world"}. Starting, readiness and stopping
// are the same for all of them (start.mjs).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageDir } from "../lib/packages.mjs";
import { EXAMPLE_HELLO, HELLO_APP, HELLO_QJS_APP, WFN_CLI } from "../lib/paths.mjs";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const node = process.execPath;
const isHelloWorld = (body) => JSON.parse(body).hello === "world";

/** The workerd binary that npm installed (an optional dependency of `workerd`, per platform). */
function workerdBinary() {
  const platform = { linux: "linux", darwin: "darwin", win32: "windows" }[process.platform];
  const arch = { x64: "64", arm64: "arm64" }[process.arch];
  const name = `@cloudflare/workerd-${platform}-${arch}`;
  const binary = join(packageDir(name), "bin", process.platform === "win32" ? "workerd.exe" : "workerd");
  if (!existsSync(binary)) throw new Error(`${name} has no binary at ${binary}`);
  return binary;
}

/**
 * Each peer: `id`, `label`, `wfn` (one of ours), `command(port, built)` →
 * [executable, args], optional `env` (added to its environment), optional `check(body)` of the GET / answer. `built` is
 * what prepare.mjs produced (the jco component's path).
 */
export const PEERS = [
  {
    id: "wfn",
    label: "wfn serve (bench/apps/hello)",
    wfn: true,
    command: (port) => [node, [WFN_CLI, "serve", HELLO_APP, "--port", String(port)]],
    check: isHelloWorld,
  },
  {
    // The same host with the main thread accepting every connection (the default off Linux; see runtime/src/pool/README.md).
    id: "wfn-accept-main",
    label: "wfn serve (bench/apps/hello, WFN_ACCEPT_IN=main)",
    wfn: true,
    command: (port) => [node, [WFN_CLI, "serve", HELLO_APP, "--port", String(port)]],
    env: { WFN_ACCEPT_IN: "main" },
    check: isHelloWorld,
  },
  {
    // One executor thread: on a 2-core machine, main thread + executors + the load generator fit the cores.
    id: "wfn-1-executor",
    label: "wfn serve (bench/apps/hello, --executors 1)",
    wfn: true,
    command: (port) => [node, [WFN_CLI, "serve", HELLO_APP, "--port", String(port), "--executors", "1"]],
    check: isHelloWorld,
  },
  {
    // The same hello on QuickJS (bench/apps/hello-qjs re-exports bench/apps/hello's source).
    id: "wfn-quickjs",
    label: "wfn serve (bench/apps/hello-qjs, QuickJS)",
    wfn: true,
    command: (port) => [node, [WFN_CLI, "serve", HELLO_QJS_APP, "--port", String(port)]],
    check: isHelloWorld,
  },
  {
    id: "wfn-example",
    label: "wfn serve (examples/hello)",
    wfn: true,
    command: (port) => [node, [WFN_CLI, "serve", EXAMPLE_HELLO, "--port", String(port)]],
    check: isHelloWorld,
  },
  {
    id: "node-http",
    label: "node:http",
    command: (port) => [node, [here("./servers/node-http.mjs"), String(port)]],
    check: isHelloWorld,
  },
  {
    id: "hono-node",
    label: "Hono on @hono/node-server",
    command: (port) => [node, [here("./servers/hono.mjs"), String(port)]],
    check: isHelloWorld,
  },
  {
    id: "workerd",
    label: "Cloudflare workerd",
    command: (port) => [workerdBinary(), ["serve", here("./workerd/config.capnp"), "--socket-addr", `http=127.0.0.1:${port}`]],
    check: isHelloWorld,
  },
  {
    id: "jco-serve",
    label: "jco serve (componentize-js wasi:http)",
    command: (port, built) => {
      if (built.jcoComponent === undefined) throw new Error(`its component was not built: ${built.jcoError ?? "unknown reason"}`);
      return [node, [join(packageDir("@bytecodealliance/jco"), "dist", "jco.js"), "serve", built.jcoComponent, "--port", String(port), "--host", "127.0.0.1"]];
    },
    check: isHelloWorld,
  },
];

