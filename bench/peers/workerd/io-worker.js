// The I/O-bound workerd peer: the same handler as bench/apps/io's `io`.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/healthy") return Response.json({ healthy: true });
    const upstream = url.searchParams.get("upstream");
    if (upstream === null) return new Response("?upstream=<url> is required", { status: 400 });
    const answer = await fetch(upstream);
    return new Response(await answer.text(), { status: answer.status, headers: { "content-type": "application/json" } });
  },
};
