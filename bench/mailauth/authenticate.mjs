// The peer side of bench/bench_vs_mailauth.py: mailauth's authenticate() over a corpus, DNS answered
// from the same in-memory snapshot deskguard uses. Start-up (imports, reading the corpus) is excluded
// from the figures: only the loop over messages is timed, round by round.
//
//   node authenticate.mjs CORPUS.json ROUNDS > results.json   (bench_vs_mailauth.py runs ROUNDS=1 per
//   round, alternating with deskguard's rounds, so that both see the machine in the same state)
import { readFileSync } from 'node:fs';
import { authenticate } from 'mailauth';

const [corpusPath, roundsArg] = process.argv.slice(2);
const corpus = JSON.parse(readFileSync(corpusPath, 'utf8'));
const rounds = Number(roundsArg || 3);
const zone = Object.fromEntries(
  Object.entries(corpus.dns).map(([name, records]) => [name.toLowerCase().replace(/\.$/, ''), records])
);

function notFound(code, name) {
  const err = new Error(`${code} ${name}`);
  err.code = code;
  return err;
}

async function resolver(name, rrtype) {
  const entry = zone[String(name).toLowerCase().replace(/\.$/, '')];
  if (!entry) throw notFound('ENOTFOUND', name);
  const records = entry[rrtype];
  if (!records || !records.length) throw notFound('ENODATA', name);
  if (rrtype === 'TXT') return records.map((r) => [r]);
  if (rrtype === 'MX') {
    return records.map((r) => {
      const [priority, exchange] = r.split(/\s+/);
      return { priority: Number(priority), exchange: exchange.replace(/\.$/, '') };
    });
  }
  return records;
}

const messages = corpus.messages.map((m) => ({ ...m, raw: Buffer.from(m.raw_b64, 'base64') }));

async function one(m) {
  return authenticate(m.raw, {
    ip: m.ip,
    helo: m.helo,
    sender: m.sender,
    mta: corpus.mta,
    resolver,
    disableBimi: true,
    rejectRsaSha1: true,
  });
}

// warm-up (not timed): the JIT and module caches, one pass over every message, as deskguard's
for (const m of messages) await one(m);

const timings = [];
let last = [];
for (let round = 0; round < rounds; round++) {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  const out = [];
  for (const m of messages) out.push(await one(m));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  timings.push({ cpu_ms: (cpu.user + cpu.system) / 1000, wall_ms: wallMs });
  last = out;
}

const results = last.map((r) => ({
  dkim: (r.dkim?.results || []).map((d) => ({
    domain: (d.signingDomain || '').toLowerCase(),
    selector: d.selector || null,
    result: d.status?.result,
  })),
  spf: r.spf?.status?.result ?? null,
  dmarc: r.dmarc ? r.dmarc.status?.result : null,
  arc: r.arc?.status?.result ?? null,
}));
process.stdout.write(JSON.stringify({ timings, results }));
