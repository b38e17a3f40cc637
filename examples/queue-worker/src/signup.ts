// POST /signup {"email": "..."}: validates the address, queues a welcome
// email, and answers 202 at once; the mailer function sends it later.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  async fetch(request, ctx) {
    let email: unknown;
    try {
      ({ email } = (await request.json()) as { email?: unknown });
    } catch {
      return Response.json({ error: 'send JSON like {"email": "ada@example.com"}' }, { status: 400 });
    }
    if (typeof email !== "string" || !/^[^@\s]+@[^@\s]+$/.test(email)) {
      return Response.json({ error: "email must be an address like ada@example.com" }, { status: 400 });
    }
    const messageId = await ctx.sendMessage("emails", JSON.stringify({ to: email, template: "welcome" }), { source: "signup" });
    return Response.json({ queued: true, messageId }, { status: 202 });
  },
});
