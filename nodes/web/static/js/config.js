// Connection settings for both pages.
//
// Every timing comes from the server: admin_http's /config.json publishes its `admin_panel` link
// policy (CONNECTIVITY.md's "Admin Panel" table unless the graph overrides it) and the browser
// node's port and command rate. Nothing here repeats those numbers. Query parameters override them
// (so a test can run the same schedule in milliseconds instead of minutes).

/** Options every page needs, with the /config.json key that carries each. */
export const REQUIRED = Object.freeze({
  wsPort: 'ws_port',
  reconnectBaseMs: 'reconnect_base_ms',
  reconnectMultiplier: 'reconnect_multiplier',
  reconnectMaxMs: 'reconnect_max_ms',
  maxAttempts: 'max_attempts',
  pingMs: 'ping_ms',
  pongTimeoutMs: 'pong_timeout_ms',
  queueMax: 'queue_max',
  connectTimeoutMs: 'connect_timeout_ms',
  flushPerSecond: 'flush_per_s',
});

// While the server is unreachable the page asks for /config.json again this often (a bootstrap,
// before any policy is known; the server's own schedule applies from the first answer on).
const CONFIG_RETRY_MS = 1000;

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
    return null; // the server is not answering (yet)
  }
  if (!res.ok) return null;
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
    problems.push('/config.json is not valid JSON');
    return null;
  }
}

/** /config.json, asked for until the server answers (`onWait(attempt)` is told about each retry). */
async function serverConfig(problems, onWait) {
  for (let attempt = 1; ; attempt += 1) {
    const flat = await fetchServerConfig(problems);
    if (flat !== null) return flat;
    onWait(attempt);
    await new Promise((resolve) => setTimeout(resolve, CONFIG_RETRY_MS));
  }
}

/**
 * Resolve the options for this page load.
 * @returns {Promise<{options: object, problems: string[], url: string, server: object}>}
 *   `server` is the flattened /config.json (e.g. `operator_auth`), {} when there is none.
 */
export async function loadConfig(search = window.location.search, onWait = () => {}) {
  const problems = [];
  const options = {};
  const server = await serverConfig(problems, onWait);
  applyMapping(options, server, '/config.json', problems);
  applyMapping(options, Object.fromEntries(new URLSearchParams(search)), 'URL', problems);
  const missing = Object.entries(REQUIRED).filter(([name]) => options[name] === undefined).map(([, key]) => key);
  if (missing.length) {
    throw new Error(`the server's /config.json lacks ${missing.join(', ')} (is this page served by mcav's admin_http?)`);
  }
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
