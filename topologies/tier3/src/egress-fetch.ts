/**
 * The provider clients' fetch under the deployment's egress policy (stores' egress.ts): a `base_url`
 * an org admin set is checked as text, and every connection resolves its host through the policy,
 * so a name that resolves inside the deployment's network (DNS rebinding included) is refused
 * before anything is sent. A refusal is a failed connection to the SDKs, which the judge treats as
 * transient (the trace stays "judge pending" until an admin points the judge elsewhere), as it does
 * a wrong key.
 */
import type { EgressPolicy } from '@metronis/stores';
import { Agent, fetch as undiciFetch } from 'undici';

export function egressFetch(egress: Pick<EgressPolicy, 'checkUrl' | 'lookup'>): typeof fetch {
  const dispatcher = new Agent({ connect: { lookup: egress.lookup } });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const refused = egress.checkUrl(url);
    if (refused !== null) throw Object.assign(new Error(`egress refused: ${refused}`), { code: 'EGRESS_REFUSED' });
    return undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]);
  }) as unknown as typeof fetch;
}
