/**
 * The key password: HERD_KEY_PASSWORD, else a prompt on the terminal with echo off. Never logged.
 */
import { CliError } from './errors.js';

export async function keyPassword(options: { confirm?: boolean } = {}): Promise<string> {
  const fromEnv = process.env.HERD_KEY_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CliError(
      'KEY_PASSWORD_MISSING',
      'no key password: set HERD_KEY_PASSWORD, or run herd on a terminal to be asked for it',
    );
  }
  const password = await prompt('key password: ');
  if (options.confirm && (await prompt('again: ')) !== password) {
    throw new CliError('KEY_PASSWORD_MISSING', 'the two passwords differ');
  }
  return password;
}

function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let typed = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(typed);
          return;
        }
        if (char === '\u0003') process.exit(130);
        typed = char === '\u007f' ? typed.slice(0, -1) : typed + char;
      }
    };
    stdin.on('data', onData);
  });
}
