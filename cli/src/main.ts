#!/usr/bin/env node
import './runtime-defaults';
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, ListenError, loadConfig, printConfig, redact } from '@berth/config';
import { StorageDriverFailure } from '@berth/storage-driver';
import { ProbeFailure } from './failures';
import { isServiceName, type ServiceName, serviceNames } from './service-names';

const usage = `berth: a container image registry, a drop-in replacement for Docker's registry:2

Usage:
  berth serve CONFIG                    run the registry, every service in one process
  berth serve --service NAME CONFIG     run one service (gateway, upload, manifest or health) in
                                        this process; the services talk over Redis (redis.addr)
  berth probe --service NAME CONFIG     exit 0 if this host's instance of NAME serves (a container
                                        health check): the gateway answers GET /v2/; the others
                                        are announced in Redis, upload's listener answers
  berth config check [--service NAME] CONFIG
                                        validate CONFIG (with REGISTRY_* overrides) as berth serve
                                        [--service NAME] would, without starting anything; exit
  berth config print CONFIG             print the effective configuration, secrets masked
  berth garbage-collect [-d|--dry-run] [-m|--delete-untagged] [-q|--quiet] CONFIG
                                        remove the blobs no manifest references, as the
                                        reference's garbage-collect does (run it with the
                                        registry stopped or read-only); with --delete-untagged
                                        also manifests no tag, live index or live subject keeps;
                                        then left-over uploads and orphaned segments; prints the
                                        bytes freed
  berth storage-use [--json] CONFIG     per repository the bytes its manifests reference, and the
                                        registry's total with each blob counted once
  berth --help                          this text

CONFIG is the reference registry's config.yml (version 0.1). Every key can be overridden
by an environment variable: REGISTRY_STORAGE_SWIFT_PASSWORD sets storage.swift.password.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      service: { type: 'string' },
      'dry-run': { type: 'boolean', short: 'd' },
      'delete-untagged': { type: 'boolean', short: 'm' },
      quiet: { type: 'boolean', short: 'q' },
      json: { type: 'boolean' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    console.log(usage);
    return values.help || command === 'help' ? 0 : 2;
  }
  switch (command) {
    case 'serve': {
      const file = single(rest, 'berth serve [--service NAME] CONFIG');
      const { serve } = await import('./serve');
      await serve(loadConfig(file), file, serviceOf(values.service));
      return 0;
    }
    case 'probe': {
      const service = values.service;
      if (service === undefined || !isServiceName(service)) {
        throw new UsageError(`usage: berth probe --service NAME CONFIG, NAME one of ${serviceNames.join(', ')}`);
      }
      const { probe } = await import('./probe');
      console.log(await probe(loadConfig(single(rest, 'berth probe --service NAME CONFIG')), service));
      return 0;
    }
    case 'config': {
      const [action, ...files] = rest;
      const file = single(files, 'berth config check [--service NAME]|print CONFIG');
      const config = loadConfig(file);
      if (action === 'check') {
        const { servable } = await import('./servable');
        servable(config, file, serviceOf(values.service));
        console.log(`${file}: ok`);
      } else if (action === 'print') process.stdout.write(printConfig(config));
      else throw new UsageError(`unknown config action "${action ?? ''}": use check or print`);
      return 0;
    }
    case 'garbage-collect': {
      const file = single(rest, 'berth garbage-collect [--dry-run] [--delete-untagged] [--quiet] CONFIG');
      const { garbageCollect } = await import('./garbage-collect');
      return garbageCollect(loadConfig(file), {
        dryRun: values['dry-run'] === true,
        deleteUntagged: values['delete-untagged'] === true,
        quiet: values.quiet === true,
      });
    }
    case 'storage-use': {
      const file = single(rest, 'berth storage-use [--json] CONFIG');
      const { storageUse } = await import('./garbage-collect');
      return storageUse(loadConfig(file), values.json === true);
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

function serviceOf(service: string | undefined): ServiceName | undefined {
  if (service !== undefined && !isServiceName(service)) throw new UsageError(`unknown service "${service}": use ${serviceNames.join(', ')}`);
  return service;
}

function single(args: string[], form: string): string {
  if (args.length !== 1 || args[0] === undefined) throw new UsageError(`usage: ${form}`);
  return args[0];
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    // Errors in what the operator asked for are for people: one clear message, no stack.
    if (error instanceof ConfigError || error instanceof UsageError || error instanceof StorageDriverFailure) {
      printFailure(error.message);
      process.exitCode = 2;
    } else if (error instanceof ProbeFailure || error instanceof ListenError) {
      // Not serving is the probe's answer, not a fault of berth; a port that cannot be bound is
      // no fault of the file (exit 1, as the reference): one line either way.
      printFailure(error.message);
      process.exitCode = 1;
    } else {
      // The stack, never the inspected object: a client's error can carry the command it sent
      // (ioredis: `AUTH <password>`).
      printFailure(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
    }
    // What a failed start had opened already (Redis connections, timers) must not keep a
    // process that serves nothing alive.
    process.exit();
  },
);

/** The last words of a failed command, through the logger's redaction: a URL or a backend's message may quote a secret. */
function printFailure(text: string): void {
  console.error(`berth: ${String(redact(text))}`);
}
