// docs/cli.md is the CLI's own help, and the completion scripts know every command and option.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS, HELP } from "../../cli/src/main.js";
import { cliReference, completionScript, optionsOf } from "../../cli/src/reference.js";
import { ROOT } from "../helpers/paths.js";

describe("docs/cli.md", () => {
  it("is what the commands' --help say now (npm run docs:cli makes it again)", () => {
    expect(readFileSync(join(ROOT, "docs", "cli.md"), "utf8"), "docs/cli.md is stale: run npm run docs:cli").toBe(cliReference(HELP, COMMANDS));
  });

  it("has every command of the overview", () => {
    for (const [, name] of HELP.matchAll(/^ {2}([a-z][a-z-]*) /gm)) expect(Object.keys(COMMANDS), name).toContain(name);
  });
});

describe("wfn completion", () => {
  it("completes every command and each command's options in bash, zsh and fish", () => {
    const bash = completionScript("bash", COMMANDS);
    const fish = completionScript("fish", COMMANDS);
    expect(completionScript("zsh", COMMANDS)).toContain("bashcompinit");
    for (const name of Object.keys(COMMANDS)) {
      expect(bash).toMatch(new RegExp(`compgen -W "[^"]*\\b${name}\\b`));
      expect(fish).toContain(`-a ${name}\n`);
    }
    expect(optionsOf(COMMANDS.build!.help)).toEqual(expect.arrayContaining(["--out", "--only", "--no-typecheck", "--typecheck", "--no-precheck"]));
    expect(bash).toContain(`build) options="${optionsOf(COMMANDS.build!.help).join(" ")}"`);
    expect(fish).toContain('complete -c wfn -n "__fish_seen_subcommand_from serve" -l port');
  });
});
