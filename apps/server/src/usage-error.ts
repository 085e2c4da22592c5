// A command line the CLI cannot run as given: reported with the command's usage and exit code 2,
// without a stack trace (nothing went wrong inside logscope).

export class UsageError extends Error {
  override name = 'UsageError';
  /** `usage`: the text of the command that refused the line; the top-level usage when absent. */
  constructor(message: string, readonly usage?: string) {
    super(message);
  }
}

/** Node's parseArgs errors (unknown option, missing or ambiguous value, unexpected argument). */
export function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && /^ERR_PARSE_ARGS_/.test((error as { code?: string }).code ?? '');
}

/**
 * How the CLI prints an error that ended a command: an operator's error (a plain Error or a
 * LogError: a missing state file, a refused connection, a node's answer) as its message; anything
 * else (a TypeError, a failed invariant) is a bug, printed with its stack.
 */
export function describeFatal(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const operatorError = Object.getPrototypeOf(error) === Error.prototype || error.name === 'LogError';
  return operatorError ? error.message : (error.stack ?? error.message);
}
