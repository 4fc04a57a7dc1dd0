/**
 * Draws build progress: a bar per counted phase on a terminal, one line per step everywhere.
 * Writes to stderr so stdout stays for results that scripts read.
 */
import type { BuildProgress, PhaseProgress } from '../builder/index.js';

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): BuildProgress {
  const interactive = stream.isTTY === true;
  return {
    step(message) {
      stream.write(`• ${message}\n`);
    },
    warn(message) {
      // On a terminal a phase's bar may be on the line: clear it, the next advance redraws it.
      stream.write(`${interactive ? '\r\x1b[2K' : ''}! ${message}\n`);
    },
    phase(label, total): PhaseProgress {
      const started = Date.now();
      let count = 0;
      const draw = (detail: string) => {
        if (!interactive) return;
        const width = 28;
        const filled = total === 0 ? width : Math.round((count / total) * width);
        const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
        stream.write(
          `\r\x1b[2K${label.padEnd(9)} ${bar} ${count}/${total} ${detail}`.slice(
            0,
            (stream.columns ?? 100) + 8,
          ),
        );
      };
      draw('');
      return {
        advance(detail = '') {
          count += 1;
          draw(detail);
        },
        done() {
          const seconds = ((Date.now() - started) / 1000).toFixed(1);
          if (interactive) stream.write('\r\x1b[2K');
          stream.write(`• ${label}: ${count}/${total} packages in ${seconds} s\n`);
        },
      };
    },
  };
}
