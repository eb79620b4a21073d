import type { PoolClient } from '../../db/pool.ts';
import { run } from '../../db/pool.ts';
import {
  insertIdentifiers,
  linkOrganizations,
  lockIdentityKeys,
  reserveLeadIds,
  selectLeadIdsByKeys,
} from '../../db/sql/identity.ts';
import { insertLeads } from '../../db/sql/leads.ts';
import { clusterByIdentity, emailDomain, type IdentityKey, isFreeMailDomain } from '../../engine/identity.ts';
import type { StoredEvent } from '../../engine/lead-processor.ts';

export interface Identified {
  /** Lead id per event id. */
  leadOf: Map<string, number>;
  /** Leads created by this batch. */
  created: Set<number>;
}

const keyId = (key: IdentityKey) => `${key.kind}\u0000${key.value}`;

/**
 * Find-or-create for a batch, inside the caller's transaction: events sharing any identifier
 * belong to one person; a person known by any identifier (email first) keeps their lead; everyone
 * else gets one new lead. New identifiers are attached, and leads with a company email domain are
 * linked to that organization.
 */
export async function identifyLeads(tx: PoolClient, events: readonly StoredEvent[]): Promise<Identified> {
  const clusters = clusterByIdentity(events);
  const allKeys = [...new Map(clusters.flatMap((c) => c.keys).map((k) => [keyId(k), k])).values()];
  const known = new Map<string, number>();
  const lookUp = async (keys: IdentityKey[]) => {
    for (const row of await run(tx, selectLeadIdsByKeys(keys))) {
      known.set(`${row.kind}\u0000${row.value}`, row.lead_id);
    }
  };
  // Known identifiers never change owner, so only unknown ones need the lock that makes
  // find-or-create safe: events of known leads (most of them) take no identity lock at all.
  await lookUp(allKeys);
  const unknown = allKeys.filter((key) => !known.has(keyId(key)));
  if (unknown.length > 0) {
    await run(tx, lockIdentityKeys(unknown));
    await lookUp(unknown);
  }

  const leadOfCluster: (number | null)[] = clusters.map((cluster) => {
    for (const key of cluster.keys) {
      const leadId = known.get(keyId(key));
      if (leadId !== undefined) return leadId;
    }
    return null;
  });
  const newClusters = leadOfCluster.flatMap((leadId, i) => (leadId === null ? [i] : []));
  const created = new Set<number>();
  if (newClusters.length > 0) {
    const ids = (await run(tx, reserveLeadIds(newClusters.length))).map((row) => row.id);
    const rows = newClusters.map((clusterIndex, n) => {
      const id = ids[n]!;
      leadOfCluster[clusterIndex] = id;
      created.add(id);
      const email = clusters[clusterIndex]!.keys.find((key) => key.kind === 'email')?.value ?? null;
      return { id, email };
    });
    await run(tx, insertLeads(rows));
  }

  const identifiers: { kind: string; value: string; leadId: number }[] = [];
  const organizations: { leadId: number; domain: string }[] = [];
  const leadOf = new Map<string, number>();
  clusters.forEach((cluster, i) => {
    const leadId = leadOfCluster[i]!;
    for (const event of cluster.events) leadOf.set(event.id, leadId);
    for (const key of cluster.keys) {
      // A key already owned by another lead stays with it: merging two leads is a human decision.
      if (!known.has(keyId(key))) identifiers.push({ kind: key.kind, value: key.value, leadId });
      if (key.kind === 'email') {
        const domain = emailDomain(key.value);
        if (domain !== null && !isFreeMailDomain(domain)) organizations.push({ leadId, domain });
      }
    }
  });
  if (identifiers.length > 0) await run(tx, insertIdentifiers(identifiers));
  if (organizations.length > 0) await run(tx, linkOrganizations(organizations));
  return { leadOf, created };
}
