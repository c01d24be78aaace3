import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { freePort, waitFor } from './ports.ts';

export const MAIN = fileURLToPath(new URL('../../service/src/main.ts', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | NodeJS.Signals>;
}

/** Runs `mail-worker <mode>` as a real process and waits until /readyz answers 200. */
export async function spawnService(t: Test, mode: string, env: Record<string, string>, main = MAIN): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [main, mode], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${mode} process to be ready (output so far: ${output})`, async () => {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output}`);
    return (await fetch(`${url}/readyz`)).ok;
  });
  return { child, url, output: () => output, exited };
}

export interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end without blocking this process's event loop
 * (servers the command talks to may live in this process).
 */
export function runToEnd(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(command, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A multipart/form-data body with one CSV file in the field `file`, as a browser sends it. */
export function multipartCsv(csv: string, boundary = 'mail-worker-test-boundary'): { body: string; contentType: string } {
  const body = [
    `--${boundary}`,
    'Content-Disposition: form-data; name="file"; filename="recipients.csv"',
    'Content-Type: text/csv',
    '',
    csv,
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
