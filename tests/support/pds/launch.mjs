// Starts an in-memory PLC and a Bluesky PDS (@atproto/dev-env) on 127.0.0.1 for crisisdesk's tests.
// Usage: node launch.mjs PLC_PORT PDS_PORT ; prints "READY <url>" when both answer.
import net from 'node:net';

// dev-env listens on every interface unless told otherwise: keep it on the loopback.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && args[0].port !== undefined && !args[0].host) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};

const [plcPort, pdsPort] = process.argv.slice(2).map(Number);
const { TestNetworkNoAppView } = await import('@atproto/dev-env');
const network = await TestNetworkNoAppView.create({
  plc: { port: plcPort },
  pds: { port: pdsPort, hostname: 'localhost' },
});
console.log(`READY ${network.pds.url}`);

const shutdown = async () => {
  try { await network.close(); } finally { process.exit(0); }
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
