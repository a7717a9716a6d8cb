/**
 * Outputs produced outside a consumer (the sweeper's): each value encoded with its topic's serde and
 * sent in one acknowledged batch, keyed as the runner keys them (by trace id).
 */
import type { LogProducer, Output, Serde } from '@metronis/streams';

export function outputEmitter(producer: Pick<LogProducer, 'send'>, serde: Serde): (outputs: Output[]) => Promise<void> {
  return async function emit(outputs) {
    if (outputs.length === 0) return;
    const records = await Promise.all(
      outputs.map(async (output) => {
        const topic = await serde.forTopic(output.topic);
        // `Output` pairs each topic with its own record type; the union is checked where it is built.
        const encode = topic.encode as (value: unknown) => Buffer;
        const keyOf = topic.topic.keyOf as (value: unknown) => string;
        return { topic: topic.topic.name, key: keyOf(output.value), value: encode(output.value) };
      }),
    );
    await producer.send(records);
  };
}
