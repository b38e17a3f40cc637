// Peer: Hono on @hono/node-server answering GET / with {"hello":"world"} —
// what wfn's own HTTP layer is built on, without the sandbox.
// Usage: node hono.mjs <port>
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.get("/", (c) => c.json({ hello: "world" }));
serve({ fetch: app.fetch, port: Number(process.argv[2]), hostname: "127.0.0.1" });
