// A Hono app running inside a wfn function: Hono's router and middleware
// work unchanged, because a wfn function speaks web-standard Request/Response.
import { defineFunction, type Context } from "@wfn/sdk";
import { Hono } from "hono";

type Env = { Bindings: { ctx: Context } };

const users = new Map([
  ["1", { id: "1", name: "Ada" }],
  ["2", { id: "2", name: "Grace" }],
]);

const app = new Hono<Env>().basePath("/api");

app.use("*", async (c, next) => {
  await next();
  c.res.headers.set("x-app", c.env.ctx.env.APP_NAME ?? "hono-app");
});

app.get("/", (c) => c.json({ app: c.env.ctx.env.APP_NAME, routes: ["GET /api/users", "GET /api/users/:id", "POST /api/echo", "GET /api/slow?ms="] }));

app.get("/users", (c) => c.json([...users.values()]));

app.get("/users/:id", (c) => {
  const user = users.get(c.req.param("id"));
  return user ? c.json(user) : c.json({ error: "no such user" }, 404);
});

app.post("/echo", async (c) => {
  const body = await c.req.json().catch(() => null);
  if (body === null) return c.json({ error: "send a JSON body" }, 400);
  return c.json({ youSent: body, requestId: c.env.ctx.requestId });
});

app.get("/slow", async (c) => {
  const ms = Math.min(Number(c.req.query("ms") ?? "100"), 2000);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return c.json({ sleptMs: ms });
});

app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

export default defineFunction({
  fetch: (request, ctx) => app.fetch(request, { ctx }),
});
