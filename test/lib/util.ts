/** Small helpers shared by the integration tests. */

/** Deterministic PRNG so a failing run can be replayed with the same seed. */
export { seededRandom as prng } from '@tern/common';

/** Prints a measured figure, tagged so it is easy to find in the test output. */
export function measure(name: string, text: string): void {
  console.log(`MEASURE ${name}: ${text}`);
}

export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

/** Runs `count` workers over the tasks 0..tasks-1 (each task once); resolves when all are done. */
export async function runConcurrently(tasks: number, count: number, run: (task: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    // Bounded: each pass takes a new task index; at most `tasks` passes over all workers.
    while (next < tasks) {
      const task = next++;
      await run(task);
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, tasks) }, worker));
}

/** Timestamps when a promise settles (performance.now()). */
export function timed<T>(promise: Promise<T>): Promise<{ value: T; at: number }> {
  return promise.then((value) => ({ value, at: performance.now() }));
}
