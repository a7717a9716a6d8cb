/**
 * The Tier 1 bench's realistic traces (tier1.ts): chat answers, JSON answers with a schema, RAG
 * answers with context, of 200 to 4,000 characters, a few with PII or a secret, from a seeded
 * generator, so that every run and every tool (the bench, a before/after comparison) sees the same set.
 */
import { makeTrace, type Trace } from '@metronis/schemas';

function prng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}
let random = prng(20_260_101);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const SENTENCES = [
  'The deployment pipeline runs the unit tests first, then builds the container image and pushes it to the registry.',
  'If the build fails, the pipeline stops and posts the failing step to the team channel.',
  'You can roll back a release by redeploying the previous image tag from the release history page.',
  'Our refund policy allows returns within thirty days of delivery, provided the item is unused.',
  'Refunds are issued to the original payment method and usually appear within five business days.',
  'The quarterly report shows revenue growing by twelve percent, mostly from the enterprise plan.',
  'Customer churn fell slightly after the onboarding flow was simplified in the spring.',
  'To reset your password, open the account settings, choose security, and follow the link we email you.',
  'The API rate limit is one thousand requests per minute per key; bursts above it receive a 429 answer.',
  'Each request should carry an idempotency key so that a retry does not create a duplicate order.',
  'The database keeps seven days of point-in-time backups, and snapshots are copied to a second region nightly.',
  'Latency at the 99th percentile stayed under two hundred milliseconds during the load test.',
  'The model was fine-tuned on support conversations and evaluated on a held-out set of recent tickets.',
  'Please note that the warranty does not cover damage caused by water or by unauthorized repairs.',
  'The migration adds a nullable column first, backfills it in batches, and only then makes it required.',
  'In summary, the change is safe to ship behind a feature flag and can be enabled per customer.',
];
const QUESTIONS = [
  'How do I roll back a bad release?',
  'What is your refund policy for damaged items?',
  'Summarize the quarterly results for the board.',
  'How should we migrate the orders table without downtime?',
  'What are the API rate limits and how do retries work?',
];
const EXTRAS = [
  '',
  '',
  '',
  ' You can reach the account manager at jordan.smith@example-corp.io for a quote.',
  ' The card ending in the number 4556 7375 8143 3924 was charged on Tuesday.',
  ' For the staging cluster use the token ghp_8aK2mZq9XvR4tLp0WnB7cYd3Hs6Jf1Ue5Gi2.',
];

function prose(minChars: number): string {
  let text = '';
  while (text.length < minChars) text += (text ? ' ' : '') + pick(SENTENCES);
  return text;
}

function chatTrace(size: number): Trace {
  return makeTrace({
    input: { text: null, messages: [{ role: 'system', content: 'You are a helpful support assistant.' }, { role: 'user', content: pick(QUESTIONS) }] },
    output: { content: prose(size) + pick(EXTRAS), finish_reason: 'stop' },
  });
}

function jsonTrace(size: number): Trace {
  const items: object[] = [];
  let text = '';
  while (text.length < size) {
    items.push({ sku: `SKU-${Math.floor(random() * 1e6)}`, name: pick(['widget', 'gadget', 'sprocket', 'flange']), qty: 1 + Math.floor(random() * 9), note: pick(SENTENCES) });
    text = JSON.stringify({ order_id: `ORD-${Math.floor(random() * 1e7)}`, status: 'shipped', items }, null, 2);
  }
  const truncated = random() < 0.15;
  return makeTrace({
    input: { text: 'Return the order as JSON.', messages: [] },
    output: { content: truncated ? text.slice(0, Math.floor(text.length * 0.8)) : text, finish_reason: truncated ? 'length' : 'stop' },
    expected_format: 'json',
    json_schema_json: JSON.stringify({
      type: 'object',
      required: ['order_id', 'status', 'items'],
      properties: { order_id: { type: 'string' }, status: { enum: ['pending', 'shipped', 'delivered'] }, items: { type: 'array', items: { type: 'object', required: ['sku', 'qty'] } } },
    }),
  });
}

function ragTrace(size: number): Trace {
  const docs = Array.from({ length: 3 }, (_, i) => ({ id: `doc-${i}`, content: prose(400), source: `kb://articles/${i}`, score: 0.9 - i * 0.1 }));
  const answer = `${docs[0]!.content.slice(0, 160)} ${prose(Math.max(0, size - 160))}`;
  return makeTrace({
    input: { text: pick(QUESTIONS), messages: [] },
    output: { content: answer, finish_reason: 'stop' },
    context: docs,
    reference: random() < 0.5 ? docs[0]!.content.slice(0, 200) : null,
  });
}

const SIZES = [200, 500, 1000, 2000, 3000, 4000];

/** The bench's 72 traces: the same ones on every call (the generator is re-seeded). */
export function benchTraces(): Trace[] {
  random = prng(20_260_101);
  const traces: Trace[] = [];
  for (const size of SIZES) for (const make of [chatTrace, jsonTrace, ragTrace]) for (let i = 0; i < 4; i++) traces.push(make(size));
  return traces;
}
