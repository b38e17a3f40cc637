// The guest's import declarations (sdk/src/guest/wit/) are what jco
// generates from sdk/wit/ now: a changed WIT without `npm run wit:types`
// fails here. (test/types/abi-matches-wit.ts checks sdk/src/abi.ts against them.)
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, without declarations
import { OUT_DIR, generate } from "../../sdk/scripts/wit-types.mjs";

describe("sdk/src/guest/wit", () => {
  it("is generated from sdk/wit as it is now", async () => {
    const files = (await generate()) as Record<string, string>;
    expect(Object.keys(files).sort()).toContain("interfaces/wfn-function-kv.d.ts");
    for (const [name, text] of Object.entries(files)) expect(await readFile(join(OUT_DIR as string, name), "utf8"), name).toBe(text);
  });
});
