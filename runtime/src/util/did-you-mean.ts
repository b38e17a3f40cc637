// "Did you mean ...?" for a mistyped name: the closest of the names that
// exist, when it is close enough to be what was meant.

/** Edits (insert, delete, replace, swap two neighbours) between `a` and `b`. */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The name among `known` that `word` most likely meant (same letters in another case, or a few edits away), if any. */
export function closestName(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const name of known) {
    if (name === word) continue;
    const d = name.toLowerCase() === lower ? 0 : distance(lower, name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** `; did you mean "x"?` for a mistyped name, or nothing. */
export function didYouMean(word: string, known: Iterable<string>, quote = (name: string) => `"${name}"`): string {
  const name = closestName(word, known);
  return name === undefined ? "" : `; did you mean ${quote(name)}?`;
}
