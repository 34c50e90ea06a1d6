/** A one-line progress bar for a terminal: bytes, percentage, rate and ETA. No-op off a terminal. */
import { formatBytes, type TextSink } from './output';

export interface ProgressBar {
  update(bytes: number): void;
  /** draws the final state and ends the line */
  done(): void;
}

export interface ProgressOptions {
  label: string;
  /** expected bytes, if known */
  total?: number;
  stream: TextSink;
  isTTY: boolean;
  width?: number;
  /** minimum time between redraws (default 100 ms) */
  intervalMs?: number;
  now?: () => number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function createProgressBar(opts: ProgressOptions): ProgressBar {
  if (!opts.isTTY) return { update: () => {}, done: () => {} };
  const now = opts.now ?? Date.now;
  const started = now();
  const width = opts.width ?? 24;
  const interval = opts.intervalMs ?? 100;
  let last = -Infinity;
  let bytes = 0;
  let finished = false;

  const render = () => {
    const elapsed = Math.max((now() - started) / 1000, 1e-3);
    const rate = bytes / elapsed;
    const parts = [opts.label];
    if (opts.total !== undefined && opts.total > 0) {
      const frac = Math.min(1, bytes / opts.total);
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`, `${Math.floor(frac * 100)}%`);
      parts.push(`${formatBytes(bytes)}/${formatBytes(opts.total)}`);
      parts.push(`${formatBytes(rate)}/s`, `ETA ${rate > 0 ? formatDuration((opts.total - bytes) / rate) : '--'}`);
    } else {
      parts.push(formatBytes(bytes), `${formatBytes(rate)}/s`);
    }
    opts.stream.write(`\r\x1b[2K${parts.join('  ')}`);
  };

  return {
    update(n: number) {
      if (finished) return;
      bytes = n;
      const t = now();
      if (t - last >= interval) {
        last = t;
        render();
      }
    },
    done() {
      if (finished) return;
      finished = true;
      render();
      opts.stream.write('\n');
    },
  };
}
