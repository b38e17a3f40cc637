// The `wfn` command: parses the command line and runs one command.
import { didYouMean, packageVersion } from "@wfn/runtime";
import { buildCommand, buildHelp } from "./commands/build.js";
import { devCommand, devHelp } from "./commands/dev.js";
import { initCommand, initHelp } from "./commands/init.js";
import { invokeCommand, invokeHelp } from "./commands/invoke.js";
import {
  aliasCommand,
  aliasHelp,
  configCommand,
  configHelp,
  deployCommand,
  deployHelp,
  logsCommand,
  logsHelp,
  lsCommand,
  lsHelp,
  rmCommand,
  rmHelp,
  rollbackCommand,
  rollbackHelp,
  trafficCommand,
  trafficHelp,
  versionsCommand,
  versionsHelp,
} from "./commands/manage.js";
import {
  deadLettersCommand,
  deadLettersHelp,
  failuresCommand,
  failuresHelp,
  queuesCommand,
  queuesHelp,
  redriveCommand,
  redriveHelp,
  schedulesCommand,
  schedulesHelp,
  sendCommand,
  sendHelp,
} from "./commands/ops.js";
import { serveCommand, serveHelp } from "./commands/serve.js";
import { testCommand, testHelp } from "./commands/test.js";
import { completionScript, optionsOf, SHELLS, type Shell } from "./reference.js";
import { out, reportError } from "./ui.js";
import { UsageError } from "./errors.js";

export const HELP = `wfn — WebAssembly edge functions on your own Node.js hosts

Usage: wfn <command> [options]

Commands:
  init <dir>        create a new project
  build [dir]       bundle and componentize the project's functions
  serve [dir...]    serve built functions over HTTP (builds stale ones first)
  dev [dir]         serve, and rebuild functions when their sources change
  invoke <name>     invoke one function locally and print its result
  test [dir]        run the project's tests (vitest, with @wfn/cli/testing)

Operating a running host (--host, --key; default $WFN_HOST or http://127.0.0.1:8787):
  deploy [dir]      build what is stale and ship it to the host
  ls                list functions: state, versions, aliases, instances
  versions <name>   list a function's versions
  alias ...         set, rm or ls aliases (with canaries)
  traffic <name> <q>  choose what serves a function's routes and triggers
  rollback <name>   move its traffic back to the previous version
  config get|set    show or change a function's configuration
  logs [name]       print recent log lines (-f to follow)
  rm <name>         remove a function
  queues            list queues: waiting, in flight, dead-lettered
  send <queue>      send a message to a queue
  dead-letters <q>  list a queue's dead-lettered messages
  redrive <queue>   move a queue's dead letters back to it
  schedules         list schedules with their next and last firing
  failures [name]   list asynchronous invocations that failed for good

  completion <shell>  print a completion script for bash, zsh or fish

Options:
  -h, --help        show help (also: wfn <command> --help)
  -v, --version     show the version

Docs: README.md and docs/ in the wfn repository.`;

interface Command {
  run(args: string[]): Promise<number>;
  help: string;
}

const completionHelp = `Usage: wfn completion bash|zsh|fish

Prints a script that completes wfn's commands and their options:
  eval "$(wfn completion bash)"      # in ~/.bashrc
  eval "$(wfn completion zsh)"       # in ~/.zshrc
  wfn completion fish > ~/.config/fish/completions/wfn.fish`;

/** Every command of the CLI with its help (docs/cli.md is made from it). */
export const COMMANDS: Record<string, Command> = {
  init: { run: initCommand, help: initHelp },
  build: { run: buildCommand, help: buildHelp },
  serve: { run: serveCommand, help: serveHelp },
  dev: { run: devCommand, help: devHelp },
  invoke: { run: invokeCommand, help: invokeHelp },
  test: { run: testCommand, help: testHelp },
  deploy: { run: deployCommand, help: deployHelp },
  ls: { run: lsCommand, help: lsHelp },
  versions: { run: versionsCommand, help: versionsHelp },
  alias: { run: aliasCommand, help: aliasHelp },
  traffic: { run: trafficCommand, help: trafficHelp },
  rollback: { run: rollbackCommand, help: rollbackHelp },
  config: { run: configCommand, help: configHelp },
  logs: { run: logsCommand, help: logsHelp },
  rm: { run: rmCommand, help: rmHelp },
  queues: { run: queuesCommand, help: queuesHelp },
  send: { run: sendCommand, help: sendHelp },
  "dead-letters": { run: deadLettersCommand, help: deadLettersHelp },
  redrive: { run: redriveCommand, help: redriveHelp },
  schedules: { run: schedulesCommand, help: schedulesHelp },
  failures: { run: failuresCommand, help: failuresHelp },
  completion: { run: completionCommand, help: completionHelp },
};

async function completionCommand(args: string[]): Promise<number> {
  const shell = args[0];
  if (shell === undefined || !(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`which shell? usage: wfn completion ${SHELLS.join("|")}${shell === undefined ? "" : didYouMean(shell, SHELLS)}`);
  }
  process.stdout.write(completionScript(shell as Shell, COMMANDS));
  return 0;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    out(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "-v" || name === "--version") {
    out(`wfn ${packageVersion("@wfn/cli")} (node ${process.versions.node})`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    return reportError(new UsageError(`unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))} (run \`wfn --help\` for the list)`));
  }
  // What follows `--` is for another program (wfn test passes it to vitest).
  const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (own.includes("-h") || own.includes("--help")) {
    out(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      return reportError(new UsageError(`${optionProblem(error.message, command.help)} (see \`wfn ${name} --help\`)`));
    }
    return reportError(error);
  }
}

/**
 * Node's parseArgs message for a bad option, shorter, with the option of the
 * command's help that was likely meant ("unknown option --tpyecheck; did you
 * mean --typecheck?").
 */
function optionProblem(message: string, help: string): string {
  const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  if (unknown === undefined) return message;
  return `unknown option ${unknown}${didYouMean(unknown, optionsOf(help), (name) => name)}`;
}
