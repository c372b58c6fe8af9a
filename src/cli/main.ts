#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { SluiceError } from '../errors.js';
import { SLUICE_VERSION } from '../util/version.js';

export interface CliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const USAGE = `sluice ${SLUICE_VERSION}: a Kubernetes Gateway API gateway

Usage:
  sluice run --config PATH [--admin HOST:PORT]   serve the Gateway API objects in PATH (file or directory)
  sluice check --config PATH [-o table|yaml]     load and translate without serving; print status
  sluice echo --listen HOST:PORT [--name NAME] [--namespace NS] [--tls-cert F --tls-key F]
                                                 an echo backend for demos, tests and benchmarks
  sluice version

Run 'sluice COMMAND --help' for the options of a command.
`;

/** Dispatch to a subcommand; returns the process exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await (await import('./run.js')).runServe(rest, io);
      case 'check':
        return await (await import('./check.js')).runCheck(rest, io);
      case 'echo':
        return await (await import('./echo.js')).runEcho(rest, io);
      case 'version':
      case '--version':
        io.stdout.write(`${SLUICE_VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.stderr.write(`sluice: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof SluiceError) {
      io.stderr.write(`sluice ${command}: ${err.message} (${err.code})\n`);
      return 2;
    }
    throw err;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      // `run` and `echo` keep serving until a signal; they resolve only when done.
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`sluice: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
