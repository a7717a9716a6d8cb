/** How broker answers are classified: which ones an admin call waits out, and which it reports at once. */
import { MultipleErrors, NetworkError, ProtocolError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { isKafkaUnavailable, isRetriableProtocolError } from '../src/kafka/errors.js';

describe('isRetriableProtocolError', () => {
  it('is true for a moving or loading group coordinator, also when wrapped as the client wraps it', () => {
    expect(isRetriableProtocolError(new ProtocolError('NOT_COORDINATOR'))).toBe(true);
    expect(isRetriableProtocolError(new ProtocolError('COORDINATOR_LOAD_IN_PROGRESS'))).toBe(true);
    expect(isRetriableProtocolError(new MultipleErrors('Request failed', [new ProtocolError('NOT_COORDINATOR')]))).toBe(true);
  });

  it('is false for rebalances, final answers and network failures', () => {
    expect(isRetriableProtocolError(new ProtocolError('REBALANCE_IN_PROGRESS'))).toBe(false);
    expect(isRetriableProtocolError(new ProtocolError('TOPIC_ALREADY_EXISTS'))).toBe(false);
    expect(isRetriableProtocolError(new ProtocolError('GROUP_ID_NOT_FOUND'))).toBe(false);
    const down = new NetworkError('Connection refused');
    expect(isRetriableProtocolError(down)).toBe(false);
    expect(isKafkaUnavailable(down)).toBe(true);
    expect(isRetriableProtocolError(new Error('NOT_COORDINATOR'))).toBe(false);
  });
});
