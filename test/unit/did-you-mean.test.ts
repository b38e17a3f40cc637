// "Did you mean" for mistyped commands, options and wfn.json fields.
import { describe, expect, it } from "vitest";
import { closestName, didYouMean } from "../../runtime/src/util/did-you-mean.js";
import { validateProjectDocument } from "../../runtime/src/config/schema.js";

describe("closestName", () => {
  it("finds a name a typo, a swap, a missing letter or another case away", () => {
    const commands = ["init", "build", "dev", "serve", "invoke", "deploy", "logs"];
    expect(closestName("biuld", commands)).toBe("build");
    expect(closestName("serv", commands)).toBe("serve");
    expect(closestName("delpoy", commands)).toBe("deploy");
    expect(closestName("timeoutMS", ["timeoutMs", "memoryMB"])).toBe("timeoutMs");
  });

  it("suggests nothing for a word unlike every name", () => {
    expect(closestName("zzz", ["init", "build"])).toBeUndefined();
    expect(closestName("deploymentz-of-things", ["deploy"])).toBeUndefined();
    expect(didYouMean("zzz", ["init"])).toBe("");
  });
});

describe("wfn.json fields", () => {
  it("names the field that was meant", () => {
    const problems = validateProjectDocument({ functions: { fn: { entry: "x.ts", rotes: ["/"], timeoutMS: 100, zzz: 1 } } });
    expect(problems.map((problem) => problem.message).sort()).toEqual(['unknown field "rotes"; did you mean "routes"?', 'unknown field "timeoutMS"; did you mean "timeoutMs"?', 'unknown field "zzz"']);
  });
});
