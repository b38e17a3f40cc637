// The errors wfn reports to its user as they are — a sentence, the lines
// under it and the exit code — rather than as a crash with a stack.

/** How the lines of an error may be styled (ui.ts passes the terminal's). */
export interface ErrorStyle {
  bold(text: string): string;
}

/** An error the CLI reports as it is: `error: <headline>`, its detail lines indented, then exits with {@link exitCode}. */
export class CliError extends Error {
  override name = "CliError";
  /** The process's exit code: 2 for a mistake in how the command was used, 1 for anything else. */
  readonly exitCode: number = 1;

  /** The sentence after `error: `. */
  headline(): string {
    return this.message;
  }

  /** Lines printed under the headline. */
  details(_style: ErrorStyle): string[] {
    return [];
  }
}

/** A mistake in how the command was used. */
export class UsageError extends CliError {
  override name = "UsageError";
  override readonly exitCode = 2;
}
