/**
 * Feeds the live hub from the log: a tail (streams' `openTail`: a consumer group of this instance's
 * own, so every console instance sees every record and none takes records from another) of the traces
 * and verdicts topics, decoded and published. It starts `replayWindowMs` in the past so that, after a
 * restart, clients that reconnect can catch up on what they missed. A record that does not decode is
 * skipped (the topologies dead-letter it; the live view only shows).
 *
 * @example
 *   const feed = await startLiveFeed({ log, serde, hub, name: 'console' });
 *   await feed.close();
 */
import { openTail, TOPICS, type Log, type Serde, type TopicDef } from '@metronis/streams';
import type { LiveHub } from './hub.js';

export interface LiveFeedOptions {
  log: Log;
  serde: Serde;
  hub: LiveHub;
  /** Names this instance's tail (its group id is made unique from it). */
  name?: string;
  /** How far back the tail starts. Default 10 minutes. */
  replayWindowMs?: number;
  logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  clock?: () => number;
  /** The topics read; default the Metronis traces and verdicts topics (tests use their own). */
  topics?: { traces: TopicDef<'Trace'>; verdicts: TopicDef<'Verdict'> };
}

export async function startLiveFeed(options: LiveFeedOptions): Promise<{ close(): Promise<void> }> {
  const { hub, logger } = options;
  const topics = options.topics ?? { traces: TOPICS.traces, verdicts: TOPICS.verdicts };
  const traces = await options.serde.forTopic(topics.traces);
  const verdicts = await options.serde.forTopic(topics.verdicts);
  const from = (options.clock ?? Date.now)() - (options.replayWindowMs ?? 600_000);
  const tail = await openTail(options.log, { name: options.name ?? 'console', topics: [topics.traces.name, topics.verdicts.name], from: { timestamp: from }, logger });
  let undecodable = 0;
  const running = (async () => {
    for await (const batch of tail.batches()) {
      for (const record of batch) {
        try {
          if (record.topic === topics.traces.name) hub.publishTrace(await traces.decode(record.value), record.timestamp);
          else hub.publishVerdict(await verdicts.decode(record.value), record.timestamp);
        } catch (error) {
          if (undecodable++ % 1000 === 0) logger?.warn({ err: (error as Error).message, topic: record.topic, partition: record.partition, offset: String(record.offset), skipped: undecodable }, 'live feed: skipped a record that does not decode');
        }
      }
    }
  })().catch((error: unknown) => logger?.error({ err: error }, 'live feed stopped'));
  return {
    async close() {
      await tail.close();
      await running;
    },
  };
}
