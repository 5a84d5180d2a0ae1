// The floor of any Node proxy on this machine: a bare node:http server that answers every GET by piping
// the answer of one URL (argv[2], a signed URL of s3rver) to the client, with no framework and no SDK.
// Prints its port.
import { createServer, get } from 'node:http';

const target = process.argv[2];
const server = createServer((_req, res) => {
  get(target, (up) => {
    res.writeHead(up.statusCode ?? 502, { 'content-length': up.headers['content-length'] });
    up.pipe(res);
  }).on('error', () => res.destroy());
});
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`),
);
process.on('SIGTERM', () => process.exit(0));
