// The real PDS (@atproto/pds) and a PLC directory (@did-plc/server), on 127.0.0.1 only,
// for pds-wizard's tests and its --demo. PDS_LAB_ENV (JSON) overrides the PDS's
// environment (the admin password comes that way, never on the command line);
// PDS_LAB_ACCOUNTS (JSON list of handles) are created once it runs. Prints
// {"pds": PORT, "plc": PORT, "accounts": {HANDLE: DID}} once both answer, then runs until
// stdin closes. With PDS_LAB_ENV_FILE, that pds.env is read at each start as the PDS's own
// install reads it, and SIGHUP restarts the PDS (same port, same data) the way
// `systemctl restart pds` does: a file the PDS refuses leaves it down until the next
// SIGHUP (SIGUSR2 stops it until the next SIGHUP). The PDS runs in a process of its own (see runPds); the PLC directory stays here.
// usage: node pds_lab.js DATA_DIR
const events = require('node:events');
const net = require('node:net');
const { PDS, envToCfg, envToSecrets, readEnv } = require('@atproto/pds');
const { PlcServer, Database } = require('@did-plc/server');

const [dataDir] = process.argv.slice(2);

// The version the PDS reports at /xrpc/_health (PDS_VERSION, as the Docker image sets it):
// the package's own, read beside it on NODE_PATH.
function packageVersion() {
  for (const dir of (process.env.NODE_PATH || '').split(':').filter(Boolean)) {
    try {
      return JSON.parse(require('node:fs').readFileSync(dir + '/@atproto/pds/package.json', 'utf8')).version;
    } catch (_) {}
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// pds.env as the official install hands it to the PDS (docker compose's env_file): KEY=VALUE
// lines, a pair of quotes around a value removed. The lab keeps its own ports and data.
// PDS_LAB_ENV_KEYS (comma-separated), when set, names the only keys taken from the file.
function readEnvFile(path) {
  const out = {};
  const own = ['PDS_PORT', 'PDS_DATA_DIRECTORY', 'PDS_BLOBSTORE_DISK_LOCATION', 'PDS_DID_PLC_URL'];
  const only = (process.env.PDS_LAB_ENV_KEYS || '').split(',').filter(Boolean);
  for (const line of require('node:fs').readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m || own.includes(m[1]) || (only.length && !only.includes(m[1]))) continue;
    let v = m[2];
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

// The PDS itself runs in a child process of its own, started with exactly the environment
// it reads (the lab's, then pds.env's), as the official install's container is: what it
// runs with can be read from /proc/PID/environ, and a restart is a new process.
async function runPds() {
  const env = readEnv();
  const pds = await PDS.create(envToCfg(env), envToSecrets(env));
  // The route the official installer adds for Caddy's on-demand TLS: yes for the PDS's own
  // name and for handles it hosts, no for anything else.
  pds.app.get('/tls-check', async (req, res) => {
    const domain = req.query.domain;
    if (typeof domain !== 'string' || !domain) return res.status(400).json({ error: 'InvalidRequest' });
    if (domain === pds.ctx.cfg.service.hostname) return res.json({ success: true });
    const hosted = pds.ctx.cfg.identity.serviceHandleDomains.some((d) => domain.endsWith(d));
    if (!hosted) return res.status(400).json({ error: 'InvalidRequest' });
    const account = await pds.ctx.accountManager.getAccount(domain);
    if (!account) return res.status(404).json({ error: 'NotFound' });
    return res.json({ success: true });
  });
  await pds.ctx.sequencer.start();
  // Loopback unless PDS_LAB_LISTEN says otherwise: a test in a network namespace of its own
  // listens on every address, as the PDS itself does.
  pds.server = pds.app.listen(Number(process.env.PDS_PORT), process.env.PDS_LAB_LISTEN || '127.0.0.1');
  await events.once(pds.server, 'listening');
  const stop = async () => {
    pds.server.closeAllConnections();
    await new Promise((r) => pds.server.close(r));
    await pds.destroy().catch((e) => console.error('destroy:', e));
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  return pds;
}

if (process.env.PDS_LAB_CHILD) {
  // The lab going away (even killed) closes the channel: the PDS goes with it.
  process.on('disconnect', () => process.exit(0));
  runPds().then(
    () => process.send({ ready: true }),
    (e) => { process.send({ error: String(e && e.message) }); process.exit(1); },
  );
  return;
}

// Start the PDS's process with `base` and, when set, pds.env's values; resolves to the
// child once it listens, rejects with the PDS's reason otherwise.
function startPds(base) {
  const env = { ...base, PDS_LAB_CHILD: '1' };
  if (base.PDS_LAB_ENV_FILE) Object.assign(env, readEnvFile(base.PDS_LAB_ENV_FILE));
  const child = require('node:child_process').fork(__filename, [dataDir], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m.ready ? resolve(child) : reject(new Error(m.error))));
    child.once('exit', (code) => reject(new Error(`the PDS exited (${code})`)));
  });
}

function stopPds(child) {
  if (!child || child.exitCode !== null) return Promise.resolve();
  // As docker stop and systemd do: SIGTERM, then SIGKILL when it has not ended in time (a
  // PDS with a relay subscribed to its firehose waits for that connection to close).
  return new Promise((r) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => { clearTimeout(kill); r(); });
    child.kill('SIGTERM');
  });
}

(async () => {
  // Fixed ports when asked (a private network namespace, where the PDS is "the service"
  // on its usual port); free ones otherwise.
  const plcPort = Number(process.env.PDS_LAB_PLC_PORT) || await freePort();
  const pdsPort = Number(process.env.PDS_LAB_PORT) || await freePort();
  // PDS_LAB_PLC_URL: another lab's PLC directory (two machines on one directory, as on
  // the network), none of our own.
  const plcUrl = process.env.PDS_LAB_PLC_URL || 'http://localhost:' + plcPort;
  if (!process.env.PDS_LAB_PLC_URL) {
    const plc = PlcServer.create({ db: Database.mock(), port: plcPort });
    // start() would listen on every interface; loopback only, unless PDS_LAB_PLC_LISTEN
    // says otherwise (inside a test's network namespace).
    plc.server = plc.app.listen(plcPort, process.env.PDS_LAB_PLC_LISTEN || '127.0.0.1');
    await events.once(plc.server, 'listening');
  }

  Object.assign(process.env, {
    PDS_HOSTNAME: 'localhost',
    PDS_PORT: String(pdsPort),
    PDS_DATA_DIRECTORY: dataDir,
    PDS_BLOBSTORE_DISK_LOCATION: dataDir + '/blocks',
    PDS_JWT_SECRET: 'ab'.repeat(16),
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: '11'.repeat(32),
    PDS_DID_PLC_URL: plcUrl,
    // As the installer writes it: accounts below are made with invite codes, as pdsadmin does.
    PDS_INVITE_REQUIRED: 'true',
    PDS_SERVICE_HANDLE_DOMAINS: '.test',
    PDS_DEV_MODE: 'true',
    // The PDS's own log only when the caller asked for it (its logger reads this at load).
    LOG_ENABLED: process.env.LOG_ENABLED || 'false',
    ...(packageVersion() ? { PDS_VERSION: packageVersion() } : {}),
  }, JSON.parse(process.env.PDS_LAB_ENV || '{}'));
  const base = { ...process.env };
  let pds = await startPds(base);
  process.on('exit', () => pds && pds.kill('SIGKILL'));
  // One restart at a time, in order.
  let restarts = Promise.resolve();
  process.on('SIGHUP', () => {
    restarts = restarts.then(async () => {
      await stopPds(pds);
      pds = null;
      try {
        pds = await startPds(base);
        console.error('pds_lab: restarted');
      } catch (e) {
        console.error('pds_lab: the PDS did not start:', e && e.message);
      }
    });
  });
  // SIGUSR2 stops the PDS and leaves it down (the lab and its PLC directory stay) until
  // the next SIGHUP: `systemctl stop pds`, for a restore onto its data directory.
  process.on('SIGUSR2', () => {
    restarts = restarts.then(async () => {
      await stopPds(pds);
      pds = null;
      console.error('pds_lab: stopped');
    });
  });
  const accounts = {};
  const admin = 'Basic ' + Buffer.from('admin:' + process.env.PDS_ADMIN_PASSWORD).toString('base64');
  for (const handle of JSON.parse(process.env.PDS_LAB_ACCOUNTS || '[]')) {
    const invite = await fetch(`http://127.0.0.1:${pdsPort}/xrpc/com.atproto.server.createInviteCode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: admin },
      body: JSON.stringify({ useCount: 1 }),
    }).then((r) => r.json());
    if (!invite.code) throw new Error(`createInviteCode: ${JSON.stringify(invite)}`);
    const res = await fetch(`http://127.0.0.1:${pdsPort}/xrpc/com.atproto.server.createAccount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle, email: handle.replace(/\./g, '-') + '@example.com', password: 'demo-' + handle, inviteCode: invite.code }),
    });
    const body = await res.json();
    if (!body.did) throw new Error(`createAccount ${handle}: ${JSON.stringify(body)}`);
    accounts[handle] = body.did;
  }
  process.stdout.write(JSON.stringify({ pds: pdsPort, plc: plcPort, accounts }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
})().catch((e) => { console.error(e); process.exit(1); });
