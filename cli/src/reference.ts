// What the command table says, in other forms: docs/cli.md (every command's
// --help, generated so it cannot drift from the CLI) and shell completion
// scripts for bash, zsh and fish.

/** A command as the reference needs it: its --help text. */
export interface DocumentedCommand {
  help: string;
}

/** The long options a command's help lists (a line of its own, after the indent), `--no-x` ones also as `--x`. */
export function optionsOf(help: string): string[] {
  const options = new Set<string>();
  const listed = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)];
  // A help that names its options in prose ("the same as `wfn serve` (--port, --host...)").
  const named = listed.length > 0 ? listed : [...help.matchAll(/(--[a-z][a-z0-9-]+)/g)];
  for (const [, option] of named) {
    options.add(option!);
    if (option!.startsWith("--no-")) options.add(`--${option!.slice(5)}`);
  }
  return [...options].sort();
}

/** docs/cli.md: the overview, then each command's help as `wfn <command> --help` prints it. */
export function cliReference(overview: string, commands: Record<string, DocumentedCommand>): string {
  const names = Object.keys(commands);
  const parts = [
    "# The `wfn` command",
    "",
    "<!-- Generated from the CLI's own help texts by `npm run docs:cli`; test/unit/cli-docs.test.ts fails when it is stale. -->",
    "",
    "Every command's `--help`, as it prints it. Commands: " + names.map((name) => `[\`${name}\`](#wfn-${name})`).join(", ") + ".",
    "",
    "```text",
    overview,
    "```",
  ];
  for (const name of names) parts.push("", `## wfn ${name}`, "", "```text", commands[name]!.help, "```");
  return `${parts.join("\n")}\n`;
}

/** The shells `wfn completion` writes a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** A completion script for `shell`: commands first, then the options of the command typed. */
export function completionScript(shell: Shell, commands: Record<string, DocumentedCommand>): string {
  const names = Object.keys(commands);
  if (shell === "fish") {
    const lines = ["# wfn completion fish | source   (or save it as ~/.config/fish/completions/wfn.fish)", `complete -c wfn -f`];
    for (const name of names) lines.push(`complete -c wfn -n "__fish_use_subcommand" -a ${name}`);
    for (const name of names) {
      for (const option of optionsOf(commands[name]!.help)) lines.push(`complete -c wfn -n "__fish_seen_subcommand_from ${name}" -l ${option.slice(2)}`);
    }
    return `${lines.join("\n")}\n`;
  }
  const cases = names.map((name) => `    ${name}) options="${optionsOf(commands[name]!.help).join(" ")}" ;;`).join("\n");
  const bash = [
    "_wfn() {",
    '  local word="${COMP_WORDS[COMP_CWORD]}" options=""',
    "  if [ \"$COMP_CWORD\" -eq 1 ]; then",
    `    COMPREPLY=($(compgen -W "${names.join(" ")} --help --version" -- "$word"))`,
    "    return",
    "  fi",
    '  case "${COMP_WORDS[1]}" in',
    cases,
    "  esac",
    '  if [[ "$word" == -* ]]; then',
    '    COMPREPLY=($(compgen -W "$options --help" -- "$word"))',
    "  else",
    '    COMPREPLY=($(compgen -f -- "$word"))',
    "  fi",
    "}",
    "complete -F _wfn wfn",
  ];
  if (shell === "zsh") return `# eval "$(wfn completion zsh)"   (in ~/.zshrc)\nautoload -U +X bashcompinit && bashcompinit\n${bash.join("\n")}\n`;
  return `# eval "$(wfn completion bash)"   (in ~/.bashrc)\n${bash.join("\n")}\n`;
}
