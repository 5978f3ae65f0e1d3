#!/usr/bin/env node
// The mock upstream (support.mjs's startUpstream) in a process of its own, so that its
// event loop is not the load generator's. Driven over IPC by bench/lib/processes.mjs:
// sends { port } once listening, answers { id, inFlight } to every message, after applying
// its `streaming` profile when it has one. Exits when its parent goes away.
import { startUpstream } from '../support.mjs';

const upstream = await startUpstream({ keepAliveTimeout: 120_000 });
process.on('message', ({ id, streaming }) => {
  if (streaming) upstream.setStreaming(streaming);
  process.send({ id, inFlight: upstream.inFlight() });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.send({ port: upstream.port });
