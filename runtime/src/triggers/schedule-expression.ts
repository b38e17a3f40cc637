// Schedule expressions: EventBridge's `rate(5 minutes)` and
// `cron(0 12 * * ? *)`, plain 5-field cron, and 6-field cron with seconds.
// Cron evaluation is croner's; this module only translates EventBridge's
// dialect into it.
import { Cron } from "croner";

/** A parsed schedule: when its next firing is due after a given time. */
export interface Schedule {
  expression: string;
  /** The next due time strictly after `after` (epoch ms), or undefined if none. */
  next(after: number): number | undefined;
  /** The latest due time at or before `at`, if it can be known. */
  previous(at: number): number | undefined;
}

const RATE_UNITS: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * Parses a schedule expression.
 *
 * @returns the schedule, or a sentence saying what is wrong with the expression.
 */
export function parseSchedule(expression: string, timezone?: string): Schedule | string {
  const text = expression.trim();
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: timezone });
    } catch {
      return `"${timezone}" is not a time zone: use an IANA name such as "Europe/Paris" or "UTC"`;
    }
  }
  const rate = /^rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)$/i.exec(text);
  if (rate !== null) {
    const every = Number(rate[1]) * RATE_UNITS[rate[2]!.toLowerCase()]!;
    if (every <= 0) return `"${expression}": the rate must be at least 1`;
    // Rates are aligned to the epoch, so every host agrees on the due times.
    return {
      expression,
      next: (after) => (Math.floor(after / every) + 1) * every,
      previous: (at) => Math.floor(at / every) * every,
    };
  }
  if (/^rate\(/i.test(text)) return `"${expression}" is not a rate: use rate(<n> seconds|minutes|hours|days)`;
  let pattern: string | string[];
  const eventBridge = /^cron\((.*)\)$/i.exec(text);
  if (eventBridge !== null) {
    pattern = fromEventBridge(eventBridge[1]!.trim());
    if (pattern.startsWith("!")) return `"${expression}": ${pattern.slice(1)}`;
  } else {
    pattern = text;
  }
  const fields = pattern.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `"${expression}" is not a schedule: use rate(5 minutes), cron(0 12 * * ? *), a 5-field cron ("*/5 * * * *") or a 6-field cron with seconds`;
  }
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, ...(timezone === undefined ? {} : { timezone }) });
  } catch (error) {
    return `"${expression}": ${(error as Error).message}`;
  }
  return {
    expression,
    next: (after) => cron.nextRun(new Date(after))?.getTime(),
    previous: (at) => cron.previousRuns(1, new Date(at + 1))[0]?.getTime(),
  };
}

/**
 * EventBridge cron is `Minutes Hours Day-of-month Month Day-of-week Year`, with
 * day-of-week 1–7 meaning SUN–SAT. croner takes `Seconds Minutes Hours
 * Day-of-month Month Day-of-week` with 0–6 meaning SUN–SAT.
 */
function fromEventBridge(body: string): string {
  const parts = body.split(/\s+/);
  if (parts.length !== 6) return "!an EventBridge cron has 6 fields: minutes hours day-of-month month day-of-week year";
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = parts as [string, string, string, string, string, string];
  if (year !== "*" && year !== "?") return "!only * is supported in the year field";
  const weekday = dayOfWeek.replace(/\d+/g, (n, offset: number, whole: string) => {
    // The number after "#" is the week's occurrence, not a day.
    if (whole[offset - 1] === "#") return n;
    const day = Number(n);
    return day >= 1 && day <= 7 ? String(day - 1) : n;
  });
  return `0 ${minutes} ${hours} ${dayOfMonth} ${month} ${weekday}`;
}
