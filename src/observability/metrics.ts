import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TallyCounter, TallyHistogram } from './tally.js';

/**
 * The callfs_* families of the monitoring reference, in one registry per
 * server (so several servers can live in one test process).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new TallyCounter({
    name: 'callfs_http_requests_total',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'path', 'status_code'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new TallyHistogram({
    name: 'callfs_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method and route pattern.',
    labelNames: ['method', 'path'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly backendOps = new TallyCounter({
    name: 'callfs_backend_ops_total',
    help: 'Backend operations by backend type and operation.',
    labelNames: ['backend_type', 'operation'] as const,
    registers: [this.registry],
  });
  readonly backendDuration = new TallyHistogram({
    name: 'callfs_backend_op_duration_seconds',
    help: 'Backend operation duration in seconds.',
    labelNames: ['backend_type', 'operation'] as const,
    registers: [this.registry],
  });
  readonly dbQueries = new TallyCounter({
    name: 'callfs_metadata_db_queries_total',
    help: 'Metadata store queries by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly dbDuration = new TallyHistogram({
    name: 'callfs_metadata_db_query_duration_seconds',
    help: 'Metadata store query duration in seconds.',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly linkGenerations = new TallyCounter({
    name: 'callfs_single_use_link_generations_total',
    help: 'Single-use links generated, by status (success, rate_limited, denied).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly linkConsumptions = new TallyCounter({
    name: 'callfs_single_use_link_consumptions_total',
    help: 'Single-use link download attempts by status (success, expired, invalid, not_found, rate_limited).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly lockOps = new TallyCounter({
    name: 'callfs_lock_operations_total',
    help: 'Mutation lock operations by operation (acquire, release) and status (success, failure).',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });
  readonly lockDuration = new TallyHistogram({
    name: 'callfs_lock_operation_duration_seconds',
    help: 'Mutation lock operation duration in seconds.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly activeLocks = new Gauge({
    name: 'callfs_active_locks',
    help: 'Mutation locks this node holds right now.',
    registers: [this.registry],
  });
  readonly cacheOps = new TallyCounter({
    name: 'callfs_cache_operations_total',
    help: 'Metadata cache operations (hit, miss, eviction, update).',
    labelNames: ['operation', 'cache_type'] as const,
    registers: [this.registry],
  });
  readonly cacheSize = new Gauge({
    name: 'callfs_cache_size',
    help: 'Entries in the cache.',
    labelNames: ['cache_type'] as const,
    registers: [this.registry],
  });
  readonly crossServerOps = new TallyCounter({
    name: 'callfs_cross_server_operations_total',
    help: 'Cross-server operations (conflict_detected, proxy_success, proxy_failure).',
    labelNames: ['operation', 'source_instance', 'target_instance'] as const,
    registers: [this.registry],
  });
  readonly crossServerDuration = new TallyHistogram({
    name: 'callfs_cross_server_operation_duration_seconds',
    help: 'Cross-server operation duration in seconds.',
    labelNames: ['operation', 'target_instance'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
