import cliProgress from 'cli-progress';

/*
 * The live progress line of `tern bench` on stderr, about once a second: cli-progress redraws it in place on a
 * terminal and prints one line per second when stderr is a file or a pipe. The text comes from `render`, called at
 * each redraw, so it always shows the current counters.
 */

export interface ProgressLineOptions {
  /** Where to draw. @defaultValue process.stderr */
  stream?: NodeJS.WritableStream;
  /** Builds the line; `fraction` is the share of the bound reached so far (null when unbounded). */
  render: () => { text: string; fraction: number | null };
}

const BAR_WIDTH = 20;

export class ProgressLine {
  private readonly bar: cliProgress.SingleBar;
  private running = false;

  constructor(private readonly options: ProgressLineOptions) {
    this.bar = new cliProgress.SingleBar({
      stream: options.stream ?? process.stderr,
      fps: 1,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      // The bench handles SIGINT itself (stops, prints the summary); the bar must not register its own handlers.
      gracefulExit: false,
      hideCursor: null,
      linewrap: null,
      format: () => this.line(),
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.bar.start(1, 0);
  }

  /** Draws the last line and moves to the next one. Idempotent. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.bar.stop();
  }

  private line(): string {
    const { text, fraction } = this.options.render();
    if (fraction === null) return text;
    const clamped = Math.min(1, Math.max(0, fraction));
    const done = Math.round(clamped * BAR_WIDTH);
    return `[${'='.repeat(done)}${'-'.repeat(BAR_WIDTH - done)}] ${(clamped * 100).toFixed(0).padStart(3)}%  ${text}`;
  }
}
