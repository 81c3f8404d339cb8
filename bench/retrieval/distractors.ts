import { parseRunbook, type Runbook } from '@vigil/memory';

/**
 * Generated runbooks that are NOT the answer to any labelled alert, to grow the library to 1k and
 * 10k documents: other failures (some close neighbours of the starter ones — replication lag,
 * deadlocks, MySQL connections, JVM pauses, inode exhaustion), written per service or generic,
 * with the generic operations prose every runbook shares. Deterministic for a given count.
 */

interface Topic {
  slug: string;
  title: string;
  alerts: string[];
  symptoms: string[];
  tags: string[];
  diagnosis: string[];
  fix: string[];
}

const topics: Topic[] = [
  {
    slug: 'pg-replication-lag',
    title: 'Postgres replica lagging behind the primary',
    alerts: ['PostgresqlReplicationLag', 'PostgresReplicaLagHigh'],
    symptoms: ['replication lag', 'stale reads', 'replay lag'],
    tags: ['postgres', 'replication'],
    diagnosis: [
      'Compare pg_last_wal_replay_lsn on the replica with the primary.',
      'Heavy writes or a slow replica disk make replay fall behind.',
    ],
    fix: [
      'Route reads back to the primary until the replica catches up.',
      'Cancel long queries on the replica that conflict with recovery.',
    ],
  },
  {
    slug: 'pg-deadlocks',
    title: 'Postgres deadlocks detected',
    alerts: ['PostgresqlDeadlocks', 'PostgresDeadlocksIncreasing'],
    symptoms: ['deadlock detected', 'transaction aborted', 'serialization failure'],
    tags: ['postgres', 'transactions'],
    diagnosis: ['The log names both statements of each deadlock.', 'Two code paths update the same rows in a different order.'],
    fix: ['Make the code paths take rows in one order.', 'Retry aborted transactions in the client.'],
  },
  {
    slug: 'mysql-connections',
    title: 'MySQL max_connections reached',
    alerts: ['MysqlTooManyConnections', 'MySQLConnectionsHigh'],
    symptoms: ['too many connections', 'mysql error 1040'],
    tags: ['mysql', 'connections'],
    diagnosis: ['SHOW PROCESSLIST grouped by user and host shows which client holds the threads.'],
    fix: ['Kill sleeping threads of the leaking client.', 'Lower the client pool size.'],
  },
  {
    slug: 'kafka-consumer-lag',
    title: 'Kafka consumer group lagging',
    alerts: ['KafkaConsumerLagHigh', 'KafkaConsumergroupLag'],
    symptoms: ['consumer lag', 'messages delayed', 'rebalancing'],
    tags: ['kafka', 'queue'],
    diagnosis: [
      'Check the lag per partition and whether consumers keep rebalancing.',
      'A slow downstream call makes every consumer fall behind.',
    ],
    fix: ['Scale the consumer group up to the partition count.', 'Pause the producer that floods the topic.'],
  },
  {
    slug: 'dns-failures',
    title: 'DNS resolution failures',
    alerts: ['CoreDNSErrorsHigh', 'DNSLookupFailures'],
    symptoms: ['nxdomain', 'servfail', 'name resolution timeout'],
    tags: ['dns', 'network'],
    diagnosis: ['Query the resolver directly from an affected pod.', 'CoreDNS pods throttled on CPU answer slowly.'],
    fix: ['Scale CoreDNS.', 'Enable node-local DNS cache.'],
  },
  {
    slug: 'jvm-gc-pauses',
    title: 'Long JVM garbage-collection pauses',
    alerts: ['JvmGcPauseHigh', 'JVMOldGenFull'],
    symptoms: ['gc pause', 'stop the world', 'old generation full'],
    tags: ['jvm', 'java'],
    diagnosis: ['Read the GC log for full collections.', 'An undersized heap or a cache without bounds fills the old generation.'],
    fix: ['Raise the heap size one step.', 'Bound the in-process cache.'],
  },
  {
    slug: 'inode-exhaustion',
    title: 'Filesystem out of inodes',
    alerts: ['NodeFilesystemFilesFillingUp', 'InodesAlmostExhausted'],
    symptoms: ['no inodes', 'cannot create file', 'many small files'],
    tags: ['filesystem', 'node'],
    diagnosis: ['df -i shows inode use per mount.', 'A spool directory of millions of small files uses them all.'],
    fix: ['Remove the spool files of a known, finished job.', 'Move the spool to its own volume.'],
  },
  {
    slug: 'node-not-ready',
    title: 'Kubernetes node NotReady',
    alerts: ['KubeNodeNotReady', 'KubeletDown'],
    symptoms: ['node notready', 'kubelet stopped posting status', 'pods evicted'],
    tags: ['kubernetes', 'node'],
    diagnosis: ['Check the kubelet and container runtime on the node.', 'A full root disk or a stuck runtime stops the kubelet.'],
    fix: ['Cordon and drain the node.', 'Replace the node through the autoscaling group.'],
  },
  {
    slug: 'http-5xx',
    title: 'Elevated HTTP 5xx error rate',
    alerts: ['HighErrorRate', 'Http5xxRateHigh'],
    symptoms: ['500 errors', 'bad gateway', 'error budget burn'],
    tags: ['http', 'errors'],
    diagnosis: ['Split the errors by route and upstream.', 'One failing upstream often explains most of them.'],
    fix: ['Roll back the last release if errors started with it.', 'Fail over to the healthy region.'],
  },
  {
    slug: 'queue-backlog',
    title: 'Job queue backlog growing',
    alerts: ['SidekiqQueueLatencyHigh', 'QueueBacklogGrowing'],
    symptoms: ['jobs waiting', 'queue depth', 'workers saturated'],
    tags: ['queue', 'workers'],
    diagnosis: ['Compare the enqueue rate with the processing rate.', 'One poison job retried in a loop starves the workers.'],
    fix: ['Move the poison job to a dead queue.', 'Add workers for the backlog.'],
  },
  {
    slug: 'cpu-throttling',
    title: 'Containers throttled on CPU',
    alerts: ['CPUThrottlingHigh', 'ContainerCpuUsageHigh'],
    symptoms: ['cpu throttling', 'cfs quota', 'slow responses'],
    tags: ['kubernetes', 'cpu'],
    diagnosis: ['container_cpu_cfs_throttled_periods_total rises while usage sits at the limit.'],
    fix: ['Raise the CPU limit or remove it for latency-sensitive services.', 'Scale out horizontally.'],
  },
  {
    slug: 'elasticsearch-red',
    title: 'Elasticsearch cluster status red',
    alerts: ['ElasticsearchClusterRed', 'ElasticsearchUnassignedShards'],
    symptoms: ['unassigned shards', 'cluster red', 'search failures'],
    tags: ['elasticsearch', 'search'],
    diagnosis: ['The allocation explain API says why shards stay unassigned.', 'A lost data node or the disk watermark blocks allocation.'],
    fix: ['Bring the data node back or add one.', 'Retry failed allocations.'],
  },
  {
    slug: 'rabbitmq-memory-alarm',
    title: 'RabbitMQ memory alarm blocks publishers',
    alerts: ['RabbitmqMemoryHigh', 'RabbitMQMemoryAlarm'],
    symptoms: ['publishers blocked', 'memory alarm', 'queues growing'],
    tags: ['rabbitmq', 'queue'],
    diagnosis: ['rabbitmqctl status shows the memory alarm and the largest queues.'],
    fix: ['Drain or purge the runaway queue with its owner.', 'Add consumers.'],
  },
  {
    slug: 'etcd-leader-changes',
    title: 'etcd leader changes too often',
    alerts: ['EtcdHighNumberOfLeaderChanges', 'EtcdNoLeader'],
    symptoms: ['leader election', 'etcd slow fsync', 'apiserver errors'],
    tags: ['etcd', 'kubernetes'],
    diagnosis: ['Slow fsync on the etcd disk delays heartbeats.'],
    fix: ['Move etcd to faster disks.', 'Defragment etcd.'],
  },
  {
    slug: 'ingress-upstream-timeouts',
    title: 'Ingress upstream timeouts',
    alerts: ['NginxIngressUpstreamTimeouts', 'IngressHigh504'],
    symptoms: ['504 gateway timeout', 'upstream timed out', 'slow backend'],
    tags: ['ingress', 'nginx'],
    diagnosis: ['The ingress log names the upstream that times out.', 'The backend is slow or its endpoints are not ready.'],
    fix: ['Scale the backend.', 'Raise the proxy timeout only for long-running routes.'],
  },
  {
    slug: 'cron-job-failed',
    title: 'Scheduled job failed',
    alerts: ['KubeJobFailed', 'CronJobMissedSchedule'],
    symptoms: ['job failed', 'backoff limit exceeded', 'missed schedule'],
    tags: ['kubernetes', 'jobs'],
    diagnosis: ['Read the logs of the last failed pod of the job.'],
    fix: ['Re-run the job once the cause is fixed.', 'Suspend the cron job if it keeps failing.'],
  },
  {
    slug: 'clock-skew',
    title: 'Clock skew between nodes',
    alerts: ['NodeClockSkewDetected', 'NodeClockNotSynchronising'],
    symptoms: ['ntp', 'clock drift', 'token not yet valid'],
    tags: ['time', 'node'],
    diagnosis: ['timedatectl and chronyc tracking show the offset.'],
    fix: ['Restart chrony and check that the NTP servers are reachable.'],
  },
  {
    slug: 'memcached-evictions',
    title: 'Memcached evictions',
    alerts: ['MemcachedEvictionsHigh'],
    symptoms: ['evictions', 'slab', 'cache hit ratio falls'],
    tags: ['memcached', 'cache'],
    diagnosis: ['stats slabs shows which slab class evicts.'],
    fix: ['Add memcached memory or nodes.'],
  },
  {
    slug: 'api-rate-limited',
    title: 'Third-party API rate limiting our calls',
    alerts: ['UpstreamRateLimited', 'Http429RateHigh'],
    symptoms: ['429 too many requests', 'retry after', 'quota exceeded'],
    tags: ['http', 'vendor'],
    diagnosis: ['Count calls per minute against the vendor quota.'],
    fix: ['Back off and batch the calls.', 'Ask the vendor for a higher quota.'],
  },
  {
    slug: 'load-balancer-unhealthy',
    title: 'Load balancer targets unhealthy',
    alerts: ['AWSALBUnhealthyHosts', 'TargetGroupUnhealthy'],
    symptoms: ['unhealthy targets', 'health check failed', '503 service unavailable'],
    tags: ['aws', 'loadbalancer'],
    diagnosis: ['Compare the load balancer health check path with the service health endpoint.'],
    fix: ['Fix the health check path or port.', 'Replace the failing instances.'],
  },
  {
    slug: 's3-errors',
    title: 'Object storage request errors',
    alerts: ['S3ErrorRateHigh', 'ObjectStorage5xx'],
    symptoms: ['slow down', 'access denied', 'request timeout'],
    tags: ['aws', 's3', 'storage'],
    diagnosis: ['Split errors by bucket and operation.'],
    fix: ['Spread keys over prefixes.', 'Fix the bucket policy.'],
  },
  {
    slug: 'feature-flag-outage',
    title: 'Feature flag service unreachable',
    alerts: ['FeatureFlagsStale', 'LaunchDarklyStreamDown'],
    symptoms: ['flags stale', 'default variations served'],
    tags: ['flags'],
    diagnosis: ['Check the SDK stream connection status.'],
    fix: ['Serve cached flags and page the platform team.'],
  },
  {
    slug: 'payment-provider-errors',
    title: 'Payment provider declines and errors',
    alerts: ['StripeErrorRateHigh', 'PaymentProviderDegraded'],
    symptoms: ['card declined', 'provider timeout', 'checkout failures'],
    tags: ['payments', 'vendor'],
    diagnosis: ['Check the provider status page and error codes.'],
    fix: ['Fail over to the secondary provider.'],
  },
  {
    slug: 'slow-queries',
    title: 'Slow queries after a plan change',
    alerts: ['PostgresSlowQueries', 'MySQLSlowQueries'],
    symptoms: ['sequential scan', 'missing index', 'query plan regression'],
    tags: ['database', 'queries'],
    diagnosis: [
      'EXPLAIN ANALYZE the slowest statement from pg_stat_statements.',
      'Stale statistics make the planner pick a sequential scan.',
    ],
    fix: ['ANALYZE the table.', 'Add the missing index concurrently.'],
  },
  {
    slug: 'thread-pool-saturation',
    title: 'Application thread pool saturated',
    alerts: ['TomcatThreadsBusy', 'ThreadPoolQueueFull'],
    symptoms: ['threads busy', 'requests rejected', 'queue full'],
    tags: ['jvm', 'threads'],
    diagnosis: ['A thread dump shows what every busy thread waits on.'],
    fix: ['Add timeouts to the slow downstream call.', 'Scale out.'],
  },
  {
    slug: 'vpn-tunnel-down',
    title: 'Site-to-site VPN tunnel down',
    alerts: ['VPNTunnelDown'],
    symptoms: ['tunnel down', 'ipsec', 'partner unreachable'],
    tags: ['network', 'vpn'],
    diagnosis: ['Check phase 1 and phase 2 status on both ends.'],
    fix: ['Re-establish the tunnel; call the partner if their side is down.'],
  },
  {
    slug: 'hpa-maxed',
    title: 'Autoscaler at maximum replicas',
    alerts: ['KubeHpaMaxedOut', 'KubeHpaReplicasMismatch'],
    symptoms: ['max replicas', 'cannot scale', 'pending pods'],
    tags: ['kubernetes', 'autoscaling'],
    diagnosis: ['Check whether load grew or each replica became slower.'],
    fix: ['Raise maxReplicas if the cluster has room.', 'Add nodes.'],
  },
  {
    slug: 'backup-failed',
    title: 'Database backup failed',
    alerts: ['BackupFailed', 'PgBackRestBackupMissing'],
    symptoms: ['backup missing', 'archive failed', 'restore point old'],
    tags: ['backup', 'database'],
    diagnosis: ['Read the backup tool log for the failing step.'],
    fix: ['Re-run the backup; escalate if two runs fail.'],
  },
];

/** Operations prose every runbook shares: realistic overlap with every query. */
const shared = [
  'Check the service dashboard for error rate, latency and traffic before acting.',
  'If the problem started right after a deploy, consider rolling the release back.',
  'Page the owning team when customers are affected for more than ten minutes.',
  'Write what you saw and did in the incident channel.',
  'Compare with the same hour last week to rule out a traffic pattern.',
  'Requests may time out while the dependency recovers; clients retry.',
  'Look at the logs of the affected pods for the first error.',
  'Confirm the alert is not a monitoring artefact: check the raw metric.',
];

const teams = ['payments', 'growth', 'platform', 'data', 'identity', 'search', 'logistics', 'mobile', 'ads', 'risk'];
const systems = ['ledger', 'catalog', 'pricing', 'wallet', 'fraud', 'invoice', 'notify', 'profile', 'media', 'geo', 'quote', 'tax'];
const roles = ['api', 'worker', 'gateway', 'db', 'cache', 'consumer', 'scheduler', 'frontend'];

/** A small deterministic PRNG (mulberry32): the same count always gives the same library. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
const some = <T>(rnd: () => number, items: readonly T[], n: number): T[] =>
  [...items].sort(() => rnd() - 0.5).slice(0, Math.min(n, items.length));

const yamlList = (items: readonly string[]): string => `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;

/**
 * `count` distractor runbooks. About 70% name one generated service (`<team>-<system>-<role>`,
 * never a service of the labelled set), the rest are generic (no service), like a real library.
 */
export function distractorRunbooks(count: number, seed = 7): Runbook[] {
  const rnd = random(seed);
  const out: Runbook[] = [];
  for (let i = 0; i < count; i++) {
    const topic = topics[i % topics.length] as Topic;
    const generic = rnd() < 0.3;
    const service = `${pick(rnd, teams)}-${pick(rnd, systems)}-${pick(rnd, roles)}`;
    const variant = generic ? pick(rnd, ['in production', 'in staging', 'during peak traffic', 'after a migration']) : `on ${service}`;
    const source = [
      '---',
      `id: gen-${topic.slug}-${i}`,
      `title: ${JSON.stringify(`${topic.title} ${variant}`)}`,
      `services: ${generic ? '[]' : yamlList([service])}`,
      `alerts: ${yamlList(some(rnd, topic.alerts, 2))}`,
      `symptoms: ${yamlList(some(rnd, topic.symptoms, 3))}`,
      `tags: ${yamlList([...topic.tags, pick(rnd, teams)])}`,
      `risk: ${pick(rnd, ['LOW', 'MEDIUM', 'HIGH'])}`,
      '---',
      '',
      `# ${topic.title}`,
      '',
      '## Symptoms',
      '',
      `${some(rnd, topic.symptoms, 3).join('; ')}. ${pick(rnd, shared)}`,
      '',
      '## Diagnosis',
      '',
      `${some(rnd, topic.diagnosis, 2).join(' ')} ${some(rnd, shared, 2).join(' ')}`,
      '',
      '## Fix',
      '',
      `${some(rnd, topic.fix, 2).join(' ')} ${pick(rnd, shared)}`,
      '',
    ].join('\n');
    const parsed = parseRunbook(`gen-${i}.md`, source);
    if (!parsed.ok) throw new Error(`distractor ${i} does not parse: ${parsed.problems.join('; ')}`);
    out.push(parsed.runbook);
  }
  return out;
}
