// An I/O-bound function: it waits on an upstream (?upstream=<url>) and
// answers with what it said. Most real edge functions look like this.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  async fetch(request) {
    const upstream = new URL(request.url).searchParams.get("upstream");
    if (upstream === null) return new Response("?upstream=<url> is required", { status: 400 });
    const answer = await fetch(upstream);
    return new Response(await answer.text(), { status: answer.status, headers: { "content-type": "application/json" } });
  },
});
