// Percentiles of plain samples (nearest-rank on a sorted copy).

function rankOf(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function percentile(samples, p) {
  if (samples.length === 0) return undefined;
  return rankOf(Float64Array.from(samples).sort(), p);
}

export const median = (samples) => percentile(samples, 50);

/** p50/p99/min/max of samples, in the samples' unit (sorts once; fine for large arrays). */
export function summarize(samples) {
  if (samples.length === 0) return { n: 0 };
  const sorted = Float64Array.from(samples).sort();
  return { p50: rankOf(sorted, 50), p99: rankOf(sorted, 99), min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}
