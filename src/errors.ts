/**
 * The project's error type for user mistakes and invalid input: a missing
 * file, a wrong format, a nonsense option. The command line prints its
 * message as one line and exits non-zero, without a stack trace.
 */
export class DdnError extends Error {
  override name = 'DdnError';
}
