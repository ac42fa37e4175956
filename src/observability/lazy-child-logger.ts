import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString, Logger } from 'pino';

type LogArgs = [obj: unknown, msg?: string, ...args: unknown[]];

/**
 * A request's logger that becomes a pino child only when something is logged
 * through it. Fastify makes a child logger for every request, and pino's
 * child() serialises the bindings and applies redaction: under callgrind that
 * was 11,000 of the 234,000 instructions a small GET costs, for a logger that
 * most requests never write to (access lines go through it only at level info).
 * Below the configured level a call returns without building the child.
 */
export class LazyChildLogger {
  private real: Logger | null = null;

  constructor(
    private readonly parent: Logger,
    private readonly childBindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): LevelWithSilentOrString {
    return this.real?.level ?? this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.logger().level = level;
  }

  fatal(...args: LogArgs): void {
    this.write('fatal', args);
  }

  error(...args: LogArgs): void {
    this.write('error', args);
  }

  warn(...args: LogArgs): void {
    this.write('warn', args);
  }

  info(...args: LogArgs): void {
    this.write('info', args);
  }

  debug(...args: LogArgs): void {
    this.write('debug', args);
  }

  trace(...args: LogArgs): void {
    this.write('trace', args);
  }

  silent(): void {}

  isLevelEnabled(level: LevelWithSilentOrString): boolean {
    return (this.real ?? this.parent).isLevelEnabled(level);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger().child(bindings, options);
  }

  bindings(): Bindings {
    return this.logger().bindings();
  }

  private write(level: Level, args: LogArgs): void {
    if (!this.isLevelEnabled(level)) return;
    (this.logger()[level] as (...a: LogArgs) => void)(...args);
  }

  private logger(): Logger {
    return (this.real ??= this.parent.child(this.childBindings, this.options));
  }
}

/**
 * Fastify's childLoggerFactory: lazy children, except where a route sets its own
 * level, which only a real child applies.
 */
export function lazyChildLoggerFactory(logger: Logger, bindings: Bindings, options: ChildLoggerOptions): Logger | LazyChildLogger {
  return options.level === undefined ? new LazyChildLogger(logger, bindings, options) : logger.child(bindings, options);
}
