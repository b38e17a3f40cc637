// A report built every minute by a schedule, and on demand at GET /report.
// Each scheduled report is put on the `reports` queue for whoever reads it
// (`wfn queues` shows them piling up; a consumer function could mail them).
import { defineFunction, type Context } from "@wfn/sdk";

function buildReport(ctx: Context, period: Date) {
  const start = new Date(period.getTime() - 60_000);
  return {
    team: ctx.env.TEAM ?? "everyone",
    period: { from: start.toISOString(), to: period.toISOString() },
    // A real report would query something here, through fetch() to a host
    // listed in allowedOutboundHosts.
    generatedBy: `${ctx.functionName} (request ${ctx.requestId})`,
  };
}

export default defineFunction({
  async scheduled(event, ctx) {
    const report = buildReport(ctx, event.scheduledTime);
    const id = await ctx.sendMessage("reports", JSON.stringify(report), { schedule: event.expression });
    console.log(`report for ${report.period.from} .. ${report.period.to} queued as ${id}`);
  },

  async fetch(_request, ctx) {
    return Response.json(buildReport(ctx, new Date()));
  },
});
