/**
 * The egress policy: which addresses and names are refused by default, in the spellings URL parsers
 * and resolvers accept; the operator's allow-list (names, *.suffix, addresses, CIDRs) and its parse
 * errors; and the connect-time lookup, which checks the resolved addresses (a name that resolves to
 * loopback — DNS rebinding — is refused even though its text is fine).
 */
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { createEgressPolicy, parseEgressAllow, type Resolver } from '../src/egress.js';

/** A resolver answering from a table (a name missing from it does not resolve). */
function table(entries: Record<string, string[]>): Resolver {
  return (hostname, _options, callback) => {
    const addresses = entries[hostname];
    if (addresses === undefined) callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    else callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
}

function lookup(policy: ReturnType<typeof createEgressPolicy>, host: string, all = false): Promise<string | LookupAddress[]> {
  return new Promise((resolve, reject) => policy.lookup(host, { all }, (error, address) => (error ? reject(error) : resolve(address))));
}

describe('egress policy', () => {
  const policy = createEgressPolicy();

  it.each([
    ['http://127.0.0.1:8080/hook', /127\.0\.0\.1 is loopback/],
    ['http://2130706433/', /127\.0\.0\.1 is loopback/],
    ['http://0x7f.1/', /127\.0\.0\.1 is loopback/],
    ['http://127.1/', /127\.0\.0\.1 is loopback/],
    ['http://[::1]/', /::1 is loopback/],
    ['http://[::ffff:127.0.0.1]/', /embeds 127\.0\.0\.1/],
    ['http://[64:ff9b::a9fe:a9fe]/', /embeds 169\.254\.169\.254/],
    ['http://169.254.169.254/latest/meta-data/', /link-local \(cloud metadata\)/],
    ['http://10.1.2.3/', /is private/],
    ['http://172.20.0.1/', /is private/],
    ['http://192.168.1.1/', /is private/],
    ['http://100.64.0.1/', /carrier-grade NAT/],
    ['http://0.0.0.0/', /"this network"/],
    ['http://[fd00:ec2::254]/', /unique local/],
    ['http://[fe80::1]/', /link-local/],
    ['http://localhost:3000/', /own machine or metadata/],
    ['http://api.localhost/', /own machine or metadata/],
    ['http://metadata.google.internal/computeMetadata/v1/', /own machine or metadata/],
    ['ftp://example.com/', /scheme ftp: is not http/],
    ['not a url', /not a URL/],
  ])('refuses %s', (url, reason) => {
    const why = policy.checkUrl(url);
    expect(why).toMatch(reason);
  });

  it('names the setting that allows a refused destination', () => {
    expect(policy.checkUrl('http://10.0.0.1/')).toContain('METRONIS_EGRESS_ALLOW');
  });

  it.each(['https://events.pagerduty.com/v2/enqueue', 'https://hooks.slack.com/services/T/B/X', 'http://93.184.215.14/', 'https://[2606:4700::1111]/'])('lets %s through on its text', (url) => {
    expect(policy.checkUrl(url)).toBeNull();
  });

  it('allows listed names, *.suffix names, addresses and CIDRs, and nothing else', () => {
    const allowing = createEgressPolicy({ allow: ['127.0.0.1', 'hooks.corp.example', '*.svc.cluster.local', '10.20.0.0/16', '[::1]'] });
    expect(allowing.checkUrl('http://127.0.0.1:9000/')).toBeNull();
    expect(allowing.checkUrl('http://[::1]:9000/')).toBeNull();
    expect(allowing.checkUrl('http://10.20.3.4/')).toBeNull();
    expect(allowing.checkUrl('http://10.21.3.4/')).toMatch(/private/);
    expect(allowing.checkUrl('http://127.0.0.2/')).toMatch(/loopback/);
    expect(allowing.refuseAddress('10.9.9.9', 'hooks.corp.example')).toBeNull();
    expect(allowing.refuseAddress('10.9.9.9', 'alerts.svc.cluster.local')).toBeNull();
    expect(allowing.refuseAddress('10.9.9.9', 'svc.cluster.local.evil.example')).toMatch(/private/);
  });

  it('refuses an allow-list entry that is not a host, address or CIDR, naming it', () => {
    expect(parseEgressAllow(' 127.0.0.1 , ,10.0.0.0/8 ')).toEqual(['127.0.0.1', '10.0.0.0/8']);
    expect(parseEgressAllow(undefined)).toEqual([]);
    expect(() => parseEgressAllow('10.0.0.0/33')).toThrow("'10.0.0.0/33' is not a CIDR");
    expect(() => parseEgressAllow('http://x.example')).toThrow("'http://x.example' is not a host name");
    expect(() => parseEgressAllow('a/1/2')).toThrow("'a/1/2' is not a host name, address or CIDR");
  });
});

describe('egress lookup (at connect time)', () => {
  const resolver = table({ 'rebind.example': ['93.184.215.14', '127.0.0.1'], 'inside.example': ['10.0.0.7'], 'public.example': ['93.184.215.14'], 'v6.example': ['::ffff:169.254.169.254'] });

  it('refuses a name whose text is fine when any address it resolves to is refused (DNS rebinding)', async () => {
    const policy = createEgressPolicy({ resolver });
    expect(policy.checkUrl('http://rebind.example/')).toBeNull();
    await expect(lookup(policy, 'rebind.example')).rejects.toMatchObject({ code: 'EGRESS_REFUSED', message: expect.stringMatching(/127\.0\.0\.1 \(of rebind\.example\) is loopback/) });
    await expect(lookup(policy, 'inside.example', true)).rejects.toMatchObject({ code: 'EGRESS_REFUSED' });
    await expect(lookup(policy, 'v6.example')).rejects.toMatchObject({ message: expect.stringMatching(/embeds 169\.254\.169\.254/) });
    await expect(policy.resolve('localhost')).rejects.toMatchObject({ code: 'EGRESS_REFUSED' });
  });

  it('answers the addresses of an acceptable name (one, or all), and passes resolver errors on', async () => {
    const policy = createEgressPolicy({ resolver });
    expect(await lookup(policy, 'public.example')).toBe('93.184.215.14');
    expect(await lookup(policy, 'public.example', true)).toEqual([{ address: '93.184.215.14', family: 4 }]);
    expect(await policy.resolve('public.example')).toBe('93.184.215.14');
    await expect(lookup(policy, 'nowhere.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('lets an allowed name resolve inside the network', async () => {
    const policy = createEgressPolicy({ resolver, allow: ['inside.example'] });
    expect(await policy.resolve('inside.example')).toBe('10.0.0.7');
  });
});
