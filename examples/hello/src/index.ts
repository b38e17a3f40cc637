// The hello example: answers with JSON describing the request it received.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  async fetch(request, ctx) {
    const url = new URL(request.url);
    return Response.json({
      hello: "world",
      greeting: ctx.env.GREETING,
      method: request.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      userAgent: request.headers.get("user-agent"),
      id: ctx.requestId,
      function: `${ctx.functionName}@${ctx.functionVersion}`,
      remainingTimeMs: ctx.remainingTimeMs(),
    });
  },
});
