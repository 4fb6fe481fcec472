// Connection settings for both pages.
//
// Defaults are CONNECTIVITY.md's "Admin Panel (Browser to VJ Server)" table. They can be
// overridden, in increasing priority, by the server's /config.json (so an operator can move the
// WebSocket port without editing the pages) and by query parameters (so a test can run the same
// schedule in milliseconds instead of minutes).

export const DEFAULTS = Object.freeze({
  wsPort: 8766,
  reconnectBaseMs: 2000,
  reconnectMultiplier: 1.5,
  reconnectMaxMs: 30000,
  maxAttempts: 10,
  pingMs: 5000,
  pongTimeoutMs: 20000,
  queueMax: 500,
  // Not in the table: a socket stuck in CONNECTING (e.g. the server process is frozen) would
  // otherwise stall the schedule forever. 10 s is the connect timeout the other MCAV clients use.
  connectTimeoutMs: 10000,
  // Queued messages sent per second after a reconnect (a burst of as many first). The browser node
  // refuses mutating commands beyond its rate limit (10/s by default), so sending a long queue at
  // once would get its tail refused. 8/s stays under that; when /config.json publishes the limit as
  // `commands_per_s`, 80 % of it is used instead.
  flushPerSecond: 8,
});

// query parameter / config.json key -> option name and the range we accept
const KEYS = {
  ws_port: ['wsPort', 1, 65535, true],
  reconnect_base_ms: ['reconnectBaseMs', 1, 3600000],
  reconnect_multiplier: ['reconnectMultiplier', 1, 100],
  reconnect_max_ms: ['reconnectMaxMs', 1, 3600000],
  max_attempts: ['maxAttempts', 0, 100000, true],
  ping_ms: ['pingMs', 10, 3600000],
  pong_timeout_ms: ['pongTimeoutMs', 10, 3600000],
  queue_max: ['queueMax', 0, 1000000, true],
  connect_timeout_ms: ['connectTimeoutMs', 10, 3600000],
  flush_per_s: ['flushPerSecond', 0.1, 100000],
};

/** Parse one override; returns [name, value] or a human-readable problem string. */
function parseOne(key, raw, source) {
  const [name, min, max, integer] = KEYS[key];
  const value = Number(raw);
  if (raw === '' || raw === null || !Number.isFinite(value) || (integer && !Number.isInteger(value))
      || value < min || value > max) {
    return `${source}: ${key}=${JSON.stringify(raw)} ignored (expected ${integer ? 'an integer' : 'a number'} `
      + `from ${min} to ${max})`;
  }
  return [name, value];
}

/** Apply a flat mapping of wire keys; unknown keys are not ours (config.json carries more) and skipped. */
function applyMapping(target, mapping, source, problems) {
  for (const [key, raw] of Object.entries(mapping)) {
    if (!(key in KEYS)) continue;
    const r = parseOne(key, raw, source);
    if (typeof r === 'string') problems.push(r);
    else target[r[0]] = r[1];
  }
}

/**
 * The server's /config.json, flattened: accepts the keys at the top level or grouped under
 * `client` / `browser` / `timing`, so the page does not break if the server groups them.
 */
async function fetchServerConfig(problems) {
  let res;
  try {
    res = await fetch('/config.json', { cache: 'no-store' });
  } catch {
    return {}; // pages opened from a plain file server: defaults apply
  }
  if (!res.ok) return {};
  try {
    const body = await res.json();
    const flat = {};
    for (const group of [body, body.client, body.browser, body.timing]) {
      if (group && typeof group === 'object') Object.assign(flat, group);
    }
    // 80 % of the server's command rate limit leaves room for the operator's own clicks.
    if (flat.flush_per_s === undefined && Number(flat.commands_per_s) > 0) {
      flat.flush_per_s = Number(flat.commands_per_s) * 0.8;
    }
    // The browser node's port may be published as `port` inside `browser`, or as `ws_port`.
    if (flat.ws_port === undefined && body.browser && body.browser.port !== undefined) {
      flat.ws_port = body.browser.port;
    }
    return flat;
  } catch {
    problems.push('/config.json is not valid JSON; using the defaults');
    return {};
  }
}

/**
 * Resolve the options for this page load.
 * @returns {Promise<{options: object, problems: string[], url: string, server: object}>}
 *   `server` is the flattened /config.json (e.g. `operator_auth`), {} when there is none.
 */
export async function loadConfig(search = window.location.search) {
  const problems = [];
  const options = { ...DEFAULTS };
  const server = await fetchServerConfig(problems);
  applyMapping(options, server, '/config.json', problems);
  applyMapping(options, Object.fromEntries(new URLSearchParams(search)), 'URL', problems);
  // ws_host exists for a page served from somewhere else than the VJ server (rare; e.g. a laptop
  // showing the preview of a LAN server). By default we talk to the host the page came from.
  const params = new URLSearchParams(search);
  const host = params.get('ws_host') || window.location.hostname || '127.0.0.1';
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  // 0 attempts means "no limit" in the server's published policy (max_reconnect_attempts: null).
  if (options.maxAttempts === 0) options.maxAttempts = Infinity;
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `${scheme}://${hostPart}:${options.wsPort}/`;
  return { options, problems, url, server };
}
