// wasi:cli/environment and exit — a function sees its configured env and
// nothing of the host's.

/** Thrown when a guest calls wasi:cli/exit; the call fails and the instance is retired. */
export class GuestExit extends Error {
  override name = "GuestExit";
}

export function environmentImports(env: Readonly<Record<string, string>>) {
  const entries = Object.entries(env);
  return {
    "wasi:cli/environment": {
      getEnvironment: () => entries,
      getArguments: (): string[] => [],
      initialCwd: () => undefined,
    },
    "wasi:cli/exit": {
      exit: (status: { tag: "ok" | "err" }) => {
        throw new GuestExit(`the function called exit() with status ${status.tag === "ok" ? 0 : 1}`);
      },
    },
  };
}
