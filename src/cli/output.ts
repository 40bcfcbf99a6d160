/** How commands talk to the user: stderr for progress and notes, stdout for results. */

export interface Output {
  /** A human-readable line on stdout, suppressed under --json. */
  result(line: string): void;
  /** A note on stderr (backend, warnings, where files went). */
  note(line: string): void;
  /** The one JSON object of a --json run, on stdout; nothing without --json. */
  json(value: unknown): void;
}

export function makeOutput(json: boolean): Output {
  return {
    result: (line) => {
      if (!json) process.stdout.write(`${line}\n`);
    },
    note: (line) => process.stderr.write(`${line}\n`),
    json: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value)}\n`);
    },
  };
}
