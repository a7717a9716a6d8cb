/**
 * @metronis/sdk: send the traces of LLM calls to Metronis for evaluation, and read them back.
 * Fetch-based, ESM, typed; Node >= 20 and edge runtimes. See the README for the two-line setup.
 */
export { DEFAULT_BASE_URL, getClient, Metronis, setDefaultClient, type MetronisOptions, type SearchFilters, type SearchPage, type Stats, type TraceView } from './client.js';
export { currentContext, withContext, type TraceContext } from './context.js';
export { currentObservation, describeResult, observation, observe, type Observation, type ObserveOptions } from './observe.js';
export { wrapOpenAI, type WrapOptions } from './openai.js';
export { buildTrace, newTraceId, type ChatMessage, type PublicTrace, type TraceFields, type TraceInput, type TraceOutput } from './trace.js';
export { backoffMs, DEFAULT_RETRY_POLICY, MetronisError, NotAvailableError, retryAfterMs, type RetryPolicy } from './transport.js';
