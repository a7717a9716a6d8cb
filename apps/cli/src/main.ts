#!/usr/bin/env node
/**
 * `metronis`: the composition root. Each subcommand parses its environment once, opens what it needs
 * and hands explicit resources to the libraries below.
 *
 *   metronis dev                                   all of Metronis in one process, embedded (npm start)
 *   metronis gateway                               HTTP ingest on Kafka
 *   metronis worker --topology <name>              one topology's consumer groups
 *   metronis console                               the read API
 *   metronis migrate                               Postgres, ClickHouse, topics, schemas, default org
 *   metronis replay --topology <name> --from <t>   re-run a topology over history
 */
import { parseArgs } from 'node:util';
import { consoleCommand } from './commands/console.js';
import { dev } from './commands/dev.js';
import { gateway } from './commands/gateway.js';
import { migrate } from './commands/migrate.js';
import { parseFrom, replay } from './commands/replay.js';
import { worker } from './commands/worker.js';
import { DEFAULT_ORG_ID } from './bootstrap.js';
import { AdminUsageError, runAdmin } from './commands/admin.js';
import { runAlerts } from './commands/alerts.js';
import { adminEnvSchema, ConfigError, consoleEnvSchema, devEnvSchema, gatewayEnvSchema, migrateEnvSchema, parseEnv, replayEnvSchema, workerEnvSchema } from './env.js';
import { createLogger } from './logger.js';
import { DataDirInUseError, openAdminStore, openEmbeddedLog, openKafkaLog } from './runtime.js';
import { createLifecycle } from './shutdown.js';
import { describeTopologies, isTopologyName, TOPOLOGY_NAMES } from './topologies.js';

const USAGE = `Usage: metronis <command> [options]

Commands:
  dev                                      run all of Metronis in one process on embedded engines
  gateway                                  run the HTTP ingest gateway (Kafka)
  worker --topology <name>                 run a topology's consumers (${TOPOLOGY_NAMES.join(', ')})
  console                                  run the read API
  migrate                                  migrate Postgres and ClickHouse, create topics, register schemas
  replay --topology <name> --from <time>   move a topology's consumer groups to 'earliest' or a time
  org create --name <name> [--id <id>] [--retention-days <n>]
                                           create an organization (Postgres, or the embedded data folder)
  key create --org <id> --name <name> [--scopes ingest,read,admin] [--expires-at <time>]
                                           create an API key and print it once
  key list --org <id> | key revoke --org <id> --id <key id>
  alerts rule list|apply|delete --org <id> [--file rule.json] [--id <rule id>]
  alerts silence list|create|expire --org <id> [--file silence.json] [--id <silence id>]
  alerts channel list --org <id>           alert rules and silences (Postgres, or the embedded data folder)
  user link --org <id> --url <console address>
                                           print a one-time console sign-in link for the org's first admin

Configuration comes from the environment; see the README's configuration table.`;

class UsageError extends Error {}

function topologyOption(value: string | undefined) {
  if (value === undefined) throw new UsageError('--topology is required');
  if (!isTopologyName(value)) throw new UsageError(`unknown topology '${value}'; known: ${TOPOLOGY_NAMES.join(', ')}`);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      topology: { type: 'string' },
      from: { type: 'string' },
      name: { type: 'string' },
      id: { type: 'string' },
      org: { type: 'string' },
      scopes: { type: 'string' },
      'expires-at': { type: 'string' },
      'retention-days': { type: 'string' },
      file: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  const env = process.env;

  switch (command) {
    case 'dev': {
      const config = parseEnv(devEnvSchema, env);
      const logger = createLogger(config.METRONIS_LOG_LEVEL, 'metronis-dev');
      const lifecycle = createLifecycle(logger);
      try {
        await dev(config, logger, lifecycle);
      } catch (error) {
        await lifecycle.close();
        throw error;
      }
      await lifecycle.closed;
      return 0;
    }
    case 'gateway':
    case 'console':
    case 'worker': {
      const topology = command === 'worker' ? topologyOption(values.topology) : undefined;
      const schema = command === 'gateway' ? gatewayEnvSchema : command === 'console' ? consoleEnvSchema : workerEnvSchema;
      const config = parseEnv(schema, env);
      const logger = createLogger(config.METRONIS_LOG_LEVEL, `metronis-${command}${topology === undefined ? '' : `-${topology}`}`);
      const lifecycle = createLifecycle(logger);
      try {
        if (command === 'gateway') await gateway(parseEnv(gatewayEnvSchema, env), logger, lifecycle);
        else if (command === 'console') await consoleCommand(parseEnv(consoleEnvSchema, env), logger, lifecycle);
        else await worker(topology!, parseEnv(workerEnvSchema, env), logger, lifecycle);
      } catch (error) {
        await lifecycle.close();
        throw error;
      }
      await lifecycle.closed;
      return 0;
    }
    case 'org':
    case 'key':
    case 'user': {
      const config = parseEnv(adminEnvSchema, env);
      const store = await openAdminStore(config);
      try {
        const result = await runAdmin(store, command, positionals[1], values);
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } catch (error) {
        if (error instanceof AdminUsageError) throw new UsageError(error.message);
        throw error;
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'alerts': {
      const config = parseEnv(adminEnvSchema, env);
      const store = await openAdminStore(config);
      try {
        const result = await runAlerts(store, positionals[1], positionals[2], values);
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } catch (error) {
        if (error instanceof AdminUsageError) throw new UsageError(error.message);
        throw error;
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'migrate': {
      const config = parseEnv(migrateEnvSchema, env);
      await migrate(config, createLogger(config.METRONIS_LOG_LEVEL, 'metronis-migrate'));
      return 0;
    }
    case 'replay': {
      const topology = topologyOption(values.topology);
      if (values.from === undefined) throw new UsageError("--from is required: 'earliest', an ISO 8601 time or epoch milliseconds");
      let from: ReturnType<typeof parseFrom>;
      try {
        from = parseFrom(values.from);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const config = parseEnv(replayEnvSchema, env);
      const logger = createLogger(config.METRONIS_LOG_LEVEL, 'metronis-replay');
      const log =
        config.KAFKA_BROKERS !== undefined
          ? await openKafkaLog(config.KAFKA_BROKERS, 'metronis-replay')
          : await openEmbeddedLog(config.METRONIS_DATA_DIR);
      try {
        const descriptors = describeTopologies(topology);
        // Audited before the offsets move, so a replay that fails half way is on record too.
        // The embedded log opened above holds the data folder's lock already.
        const store = await openAdminStore(config, { dataDirLocked: config.KAFKA_BROKERS === undefined });
        try {
          const details = { from: from === 'earliest' ? from : from.toISOString(), groups: descriptors.map((d) => d.groupId) };
          await store.forOrg(DEFAULT_ORG_ID).audit('replay.started', topology, details, { keyId: 'cli' });
        } finally {
          await store.close();
        }
        await replay(log, descriptors, from, logger);
      } finally {
        await log.close();
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof DataDirInUseError) {
      process.stderr.write(`metronis: ${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`metronis: ${error.message}\n${error instanceof UsageError ? `\n${USAGE}\n` : ''}`);
      process.exit(2);
    }
    process.stderr.write(`metronis: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
