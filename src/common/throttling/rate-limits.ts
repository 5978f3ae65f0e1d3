import { SetMetadata } from '@nestjs/common';

/** Seed 001's per-route limits (requests per minute); RATE_LIMITS overrides any of them. */
export const DEFAULT_RATE_LIMITS = {
  default: 120,
  login: 5,
  register: 5,
  refresh: 30,
  'health.detailed': 10,
  version: 30,
  'profile.read': 60,
  'profile.update': 20,
  'profile.apiKeys': 5,
  'profile.tokens': 20,
  'profile.password': 5,
  admin: 60,
  'models.list': 60,
  'models.status': 30,
  'models.load': 3,
  'threads.list': 100,
  'threads.create': 10,
  'threads.read': 60,
  'threads.delete': 5,
  'threads.rename': 20,
  'messages.list': 100,
  'messages.send': 20,
  'messages.summarize': 5,
  /** Seed 003: /api/llm/* (LLM_RATE_LIMIT_PER_MINUTE). */
  llm: 60,
  /** The /v1 gateway, per personal token. */
  gateway: 120,
  usage: 60,
} as const;

export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS;

export const RATE_LIMIT = 'parley:rate-limit';
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** Names the limit a route (or controller) gets; unnamed routes get `default`. */
export const RateLimit = (name: RateLimitName) => SetMetadata(RATE_LIMIT, name);
