#!/usr/bin/env node
import { createServer } from 'node:net';

/**
 * `node echo-server.js PORT...`: a TCP service on every given port (all addresses, v4 and v6)
 * that answers each line with `PORT:line`. Stands in for a protected service in the lab.
 */
const ports = process.argv.slice(2).map(Number);
let ready = 0;
for (const port of ports) {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', (d) => socket.write(`${port}:${d}`));
  });
  server.listen({ port, host: '::', ipv6Only: false }, () => {
    if (++ready === ports.length) process.stdout.write('ready\n');
  });
}
