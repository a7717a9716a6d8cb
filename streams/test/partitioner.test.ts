import { describe, expect, it } from 'vitest';
import { murmur2, partitionFor } from '../src/partitioner.js';

describe('partitioner', () => {
  // Reference values from Kafka's own org.apache.kafka.common.utils.UtilsTest#testMurmur2.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%s) matches Kafka', (input, expected) => {
    expect(murmur2(new TextEncoder().encode(input))).toBe(expected);
  });

  it('keeps one key on one partition and spreads keys', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(partitionFor(`trace-${i}`, 6));
    expect(seen.size).toBe(6);
    expect(partitionFor('trace-1', 6)).toBe(partitionFor('trace-1', 6));
  });
});
