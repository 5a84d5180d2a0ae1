// Scenario (e): the floor of any Node.js proxy on this machine — node:http in, undici Pool.dispatch out to
// the same runner, no auth, no routing, no recording. It shows how much of (c) a Node process can reach
// at all, so (b) can be read as a share of what its runtime allows.
//   node bench/gateway/node-floor.mjs --target http://127.0.0.1:RUNNER_PORT --port PORT
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values: opt } = parseArgs({ options: { target: { type: 'string' }, port: { type: 'string' } } });
if (!opt.target || !opt.port) {
  process.stderr.write('usage: node-floor.mjs --target http://127.0.0.1:P --port P\n');
  process.exit(2);
}
const pool = new Pool(opt.target, { connections: 64 });

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const out = [];
    let status = 502;
    let type = 'application/octet-stream';
    pool.dispatch(
      {
        path: req.url,
        method: req.method,
        headers: ['content-type', req.headers['content-type'] ?? ''],
        body,
      },
      {
        onConnect() {},
        onError() {
          res.writeHead(502).end();
        },
        onHeaders(code, raw) {
          status = code;
          for (let i = 0; i < raw.length; i += 2) {
            if (raw[i].toString().toLowerCase() === 'content-type') type = raw[i + 1].toString();
          }
          return true;
        },
        onData(chunk) {
          out.push(chunk);
          return true;
        },
        onComplete() {
          const b = out.length === 1 ? out[0] : Buffer.concat(out);
          res.writeHead(status, { 'content-type': type, 'content-length': b.length });
          res.end(b);
        },
      },
    );
  });
}).listen(Number(opt.port), '127.0.0.1');
