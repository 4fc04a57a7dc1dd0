// hello: the example service. Node's standard library only, so the image needs nothing but nodejs.
// It loads node:http with import(), which works whether Node reads this file as CommonJS (in the
// image, where /app has no package.json) or as an ES module (in this repository).

async function main() {
  const { createServer } = await import('node:http');
  const greeting = process.env.GREETING ?? 'hello from herd';
  const port = Number(process.env.PORT ?? '8080');

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      reply(response, 405, 'method not allowed', { allow: 'GET, HEAD' });
    } else if (path === '/') {
      reply(response, 200, greeting);
    } else if (path === '/healthz') {
      reply(response, 200, 'ok');
    } else {
      reply(response, 404, 'not found');
    }
  });

  server.listen(port, '0.0.0.0', () => {
    console.log(JSON.stringify({ msg: 'listening', port, pid: process.pid }));
  });

  // A stop sends SIGTERM: finish the requests in flight, then exit, so a rollout drains cleanly.
  const shutDown = (signal) => {
    console.log(JSON.stringify({ msg: 'stopping', signal }));
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // A keep-alive client that never goes idle must not hold the instance forever.
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', shutDown);
  process.once('SIGINT', shutDown);
}

function reply(response, status, text, headers = {}) {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  response.end(`${text}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
