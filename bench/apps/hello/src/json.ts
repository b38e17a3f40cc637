// A CPU-heavy guest on either engine: a JSON round trip of a document of
// about 100 KB (made once, at initialisation), and a regular expression over
// its text — parsing, allocation and the regex engine, the work of a
// function that transforms payloads.
import { defineFunction } from "@wfn/sdk";

const items = Array.from({ length: 900 }, (_, i) => ({
  id: i,
  name: `item-${i}`,
  email: `user${i}@example.com`,
  tags: ["alpha", "beta", "gamma"].slice(0, (i % 3) + 1),
  price: Math.round(i * 13.37) / 100,
  active: i % 2 === 0,
}));
const text = JSON.stringify({ items });

export default defineFunction({
  invoke() {
    const document = JSON.parse(text) as { items: Array<{ price: number; active: boolean }> };
    let total = 0;
    for (const item of document.items) if (item.active) total += item.price;
    const emails = text.match(/[a-z0-9]+@example\.com/g)?.length ?? 0;
    return { bytes: JSON.stringify(document).length, total: Math.round(total * 100) / 100, emails };
  },
});
