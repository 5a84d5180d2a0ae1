/**
 * The app the sandbox tests run: an HTTP server on $PORT whose `POST /sh` runs a shell command inside the
 * sandbox and answers its output, so a test can look around from the runner's point of view.
 */
export const PROBE_APP = `
const http = require('node:http');
const { execFile } = require('node:child_process');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/health') return res.end('ok');
    execFile('/bin/sh', ['-c', body], { timeout: 20000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      res.end(JSON.stringify({ code: err ? (err.code ?? 1) : 0, signal: err?.signal ?? null, stdout, stderr }));
    });
  });
}).listen(+process.env.PORT, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** What `POST /sh` answers: the command's exit code or signal and its output. */
export interface Shell {
  code: number | string;
  signal: string | null;
  stdout: string;
  stderr: string;
}
