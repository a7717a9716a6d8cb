/**
 * In-process consumer-group coordination: members of a group split the partitions of the topics
 * they subscribe to, and the group rebalances whenever a member joins or leaves. A partition that
 * changes owner is read by the new owner from the group's committed offset, so its uncommitted
 * records are delivered again (at least once, as in Kafka).
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface GroupMember {
  readonly topics: readonly string[];
  /** Receives the member's whole assignment after every rebalance of its group. */
  assign(partitions: TopicPartition[]): void;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, GroupMember[]>();

  constructor(private readonly partitionsOf: (topic: string) => number) {}

  join(group: string, member: GroupMember): void {
    const members = this.groups.get(group) ?? [];
    members.push(member);
    this.groups.set(group, members);
    this.rebalance(group);
  }

  leave(group: string, member: GroupMember): void {
    const members = this.groups.get(group);
    if (!members) return;
    const at = members.indexOf(member);
    if (at < 0) return;
    members.splice(at, 1);
    if (members.length === 0) this.groups.delete(group);
    else this.rebalance(group);
  }

  memberCount(group: string): number {
    return this.groups.get(group)?.length ?? 0;
  }

  /** Partitions of each subscribed topic dealt round-robin to its subscribers, in join order. */
  private rebalance(group: string): void {
    const members = this.groups.get(group) ?? [];
    const assignments = members.map((): TopicPartition[] => []);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const subscribers = members.map((m, i) => (m.topics.includes(topic) ? i : -1)).filter((i) => i >= 0);
      const count = this.partitionsOf(topic);
      for (let p = 0; p < count; p++) assignments[subscribers[p % subscribers.length]!]!.push({ topic, partition: p });
    }
    members.forEach((m, i) => m.assign(assignments[i]!));
  }
}
