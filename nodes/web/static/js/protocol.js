// Turns the browser node's messages (WIRE.md 3.1-3.4) into store updates. Shared by both pages,
// so the admin panel and the preview never disagree about what the server said.

export const BANDS = [
  { key: 'bass', label: 'Bass', color: '#ff7a33' },
  { key: 'low', label: 'Low', color: '#ffd23f' },
  { key: 'mid', label: 'Mid', color: '#3ee08f' },
  { key: 'high', label: 'High', color: '#2fc8ff' },
  { key: 'air', label: 'Air', color: '#b77cff' },
];

// WIRE.md 6.4; the server accepts these names for `set_preset`.
export const PRESETS = ['auto', 'edm', 'chill', 'rock', 'hiphop', 'classical'];

export function initialState() {
  return {
    patterns: [],
    currentPattern: null,
    preset: null,
    presets: PRESETS,
    bandSensitivity: [1, 1, 1, 1, 1],
    entityCount: null,
    zone: null,
    zoneInfo: null,
    roster: [],
    activeDj: null,
    pending: [],
    health: null,
    minecraftConnected: null,
    codes: [],
    lastCode: null,
    blackout: false,
    freeze: false,
    lastEffect: null,
    auth: { required: false, authenticated: false, pending: false, error: null },
    serverInfo: null,
    djServer: null, // false once the server says its graph has no dj_server node
    // The show (a `show` node): scenes, the cue list, and the quantised changes waiting for their beat.
    showNode: null, // false once the server says its graph has no show node
    scenes: [],
    lastScene: null,
    cues: { cues: [], position: -1, current: null, next: null },
    quantizePending: [],
    quantize: '', // how this page asks changes to land: '' = the pattern node's default
    beatRate: null, // the pattern node's beat rate (0.5, 1, 2); null while the server reports none
    // MIDI learn (a `midi` node): available null until the server answers get_midi.
    midi: { available: null, mapping: {}, learning: null },
    midiLearned: null, // the last binding learn mode made ({action, note or cc, channel})
  };
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The DJ id, whether the server sends a string (OLD) or a profile object (NEW). */
export function djId(activeDj) {
  if (activeDj && typeof activeDj === 'object') return activeDj.dj_id ?? null;
  return activeDj ?? null;
}

export function djName(activeDj, roster = []) {
  if (activeDj && typeof activeDj === 'object') return activeDj.dj_name || activeDj.dj_id || null;
  if (!activeDj) return null;
  const entry = roster.find((d) => d.dj_id === activeDj);
  return (entry && entry.dj_name) || activeDj;
}

function readEffects(msg, patch) {
  // Toggles arrive as top-level booleans (vj_state / state) or inside an `effects` mapping.
  const group = msg.effects && typeof msg.effects === 'object' && !Array.isArray(msg.effects) ? msg.effects : {};
  for (const key of ['blackout', 'freeze']) {
    // `frozen` is the spelling of the state frames, `freeze` the command's.
    const alias = key === 'freeze' ? 'frozen' : key;
    let v = msg[key] !== undefined ? msg[key] : group[key];
    if (v === undefined) v = msg[alias] !== undefined ? msg[alias] : group[alias];
    if (typeof v === 'boolean') patch[key] = v;
    else if (v && typeof v === 'object' && 'enabled' in v) patch[key] = !!v.enabled;
  }
}

/**
 * Wire a client to a store.
 * @param {import('./ws-client.js').McavClient} client
 * @param {import('./store.js').Store} store
 * @param {import('./store.js').Live} live
 * @param {(msg: {message: string, kind?: string}) => void} notify  shows a message to the user
 */
export function bindProtocol(client, store, live, notify) {
  const on = (type, fn) => client.on(type, fn);

  on('vj_state', (m) => {
    const patch = {
      patterns: Array.isArray(m.patterns) ? m.patterns : store.get('patterns'),
      currentPattern: m.current_pattern ?? store.get('currentPattern'),
      entityCount: num(m.entity_count) ?? store.get('entityCount'),
      zone: m.zone ?? store.get('zone'),
      roster: Array.isArray(m.dj_roster) ? m.dj_roster : store.get('roster'),
      activeDj: m.active_dj !== undefined ? m.active_dj : store.get('activeDj'),
      pending: Array.isArray(m.pending_djs) ? m.pending_djs : store.get('pending'),
      health: m.health_stats ?? store.get('health'),
      minecraftConnected: typeof m.minecraft_connected === 'boolean' ? m.minecraft_connected : store.get('minecraftConnected'),
    };
    if (typeof m.preset === 'string') patch.preset = m.preset;
    else if (typeof m.current_preset === 'string') patch.preset = m.current_preset;
    if (Array.isArray(m.presets) && m.presets.length) {
      patch.presets = m.presets.map((p) => (typeof p === 'string' ? p : p.id || p.name)).filter(Boolean);
    }
    if (Array.isArray(m.band_sensitivity) && m.band_sensitivity.length === 5) patch.bandSensitivity = m.band_sensitivity;
    if (Array.isArray(m.connect_codes)) patch.codes = m.connect_codes;
    // Graphs without DJ input (e.g. the demo) say so; the DJ and code cards then explain it.
    if (typeof m.dj_server === 'boolean') patch.djServer = m.dj_server;
    if (typeof m.show === 'boolean') patch.showNode = m.show;
    if (Array.isArray(m.quantize_pending)) patch.quantizePending = m.quantize_pending;
    // mcav's own (an MCAV server sends none: the beat rate control stays off); null without a pattern node.
    if ('beat_rate' in m) patch.beatRate = num(m.beat_rate);
    // `operator_auth`: the server has an operator password; `operator`: this connection may
    // change the show (always true without a password).
    if (typeof m.operator_auth === 'boolean') {
      patch.auth = { ...store.get('auth'), required: m.operator_auth };
      if (typeof m.operator === 'boolean') {
        patch.auth.authenticated = m.operator_auth && m.operator;
        if (m.operator) patch.auth.pending = false;
      }
    }
    readEffects(m, patch);
    store.set(patch);
  });

  const onFrame = (m) => {
    live.push(m);
    const patch = {};
    if (m.pattern && m.pattern !== store.get('currentPattern')) patch.currentPattern = m.pattern;
    if (m.active_dj !== undefined && djId(m.active_dj) !== djId(store.get('activeDj'))) patch.activeDj = m.active_dj;
    readEffects(m, patch);
    if (Object.keys(patch).length) store.set(patch);
  };
  on('state', onFrame);
  on('audio', onFrame);

  on('pattern_changed', (m) => {
    const patch = { currentPattern: m.pattern };
    if (Array.isArray(m.patterns)) patch.patterns = m.patterns;
    store.set(patch);
  });
  on('patterns', (m) => {
    const patch = {};
    if (Array.isArray(m.patterns)) patch.patterns = m.patterns;
    if (m.current) patch.currentPattern = m.current;
    store.set(patch);
  });
  on('preset_changed', (m) => {
    const patch = { preset: typeof m.preset === 'string' ? m.preset : 'custom' };
    const bs = m.settings && m.settings.band_sensitivity;
    if (Array.isArray(bs) && bs.length === 5) patch.bandSensitivity = bs;
    store.set(patch);
  });
  on('beat_rate_changed', (m) => {
    if (num(m.beat_rate) !== null) store.set({ beatRate: m.beat_rate });
  });
  on('band_sensitivity_changed', (m) => {
    if (Array.isArray(m.band_sensitivity) && m.band_sensitivity.length === 5) store.set({ bandSensitivity: m.band_sensitivity });
  });
  on('config_update', (m) => {
    const patch = {};
    if (num(m.entity_count) !== null) patch.entityCount = m.entity_count;
    if (m.zone) patch.zone = m.zone;
    if (m.current_pattern) patch.currentPattern = m.current_pattern;
    store.set(patch);
  });
  on('dj_roster', (m) => {
    const patch = {};
    if (Array.isArray(m.roster)) patch.roster = m.roster;
    if (m.active_dj !== undefined) patch.activeDj = m.active_dj;
    store.set(patch);
  });
  on('pending_djs', (m) => {
    if (Array.isArray(m.pending)) store.set({ pending: m.pending });
  });
  // Single events about the waiting list: ask for the whole list rather than patching it here.
  for (const t of ['dj_pending', 'dj_approved', 'dj_denied']) {
    on(t, () => client.send({ type: 'get_pending_djs' }));
  }
  on('connect_codes', (m) => {
    if (Array.isArray(m.codes)) store.set({ codes: m.codes });
  });
  on('connect_code_generated', (m) => {
    store.set({ lastCode: { code: m.code, expires_at: m.expires_at, ttl_minutes: m.ttl_minutes } });
  });
  on('minecraft_status', (m) => {
    store.set({ minecraftConnected: !!m.connected });
  });
  on('effect_triggered', (m) => {
    const patch = { lastEffect: { effect: m.effect, at: performance.now() } };
    if (typeof m.enabled === 'boolean' && (m.effect === 'blackout' || m.effect === 'freeze')) patch[m.effect] = m.enabled;
    store.set(patch);
  });
  for (const t of ['blackout', 'freeze']) {
    on(`${t}_changed`, (m) => store.set({ [t]: !!m.enabled }));
  }
  on('scenes_list', (m) => {
    if (Array.isArray(m.scenes)) store.set({ scenes: m.scenes });
  });
  on('scene_loaded', (m) => store.set({ lastScene: m.name ?? null }));
  on('cues', (m) => {
    if (Array.isArray(m.cues)) {
      store.set({ cues: { cues: m.cues, position: num(m.position) ?? -1, current: m.current ?? null, next: m.next ?? null } });
    }
  });
  on('midi_map', (m) => {
    if (typeof m.available === 'boolean') {
      store.set({ midi: { available: m.available, mapping: m.mapping || {}, learning: m.learning ?? null } });
    }
  });
  on('midi_learned', (m) => store.set({ midiLearned: m }));
  on('quantize_pending', (m) => {
    if (Array.isArray(m.pending)) store.set({ quantizePending: m.pending });
  });
  on('zone', (m) => {
    if (m.zone && typeof m.zone === 'object') store.set({ zoneInfo: m.zone });
  });
  on('zones', (m) => {
    const zone = store.get('zone');
    const mine = Array.isArray(m.zones) && m.zones.find((z) => z && z.name && zone && z.name.toLowerCase() === zone.toLowerCase());
    if (mine) store.set({ zoneInfo: mine });
  });

  on('error', (m) => {
    const text = m.message || m.error || 'The server reported an error';
    // A graph without DJ input (e.g. the demo) answers the DJ/code requests this way: say so on
    // the DJ cards instead of raising an alarm on every page load.
    if (/no dj_server node/.test(text)) {
      store.set({ djServer: false });
      return;
    }
    notify({ kind: 'error', message: text });
  });
  on('client_error', (m) => notify({ kind: 'error', message: m.message }));

  // Operator login (auth.js drives it; the store only records the outcome).
  on('auth_required', (m) => {
    store.set({ auth: { ...store.get('auth'), required: true, authenticated: false, pending: false, error: m.message || null } });
  });
  on('auth_success', (m) => {
    // A server may accept a login with a role that cannot change the show.
    const operator = m.role === undefined || m.role === 'operator';
    store.set({ auth: { ...store.get('auth'), authenticated: operator, pending: false,
      error: operator ? null : 'Logged in as a viewer: this password cannot change the show.' } });
    client.send({ type: 'get_state' });
  });
  on('auth_error', (m) => {
    store.set({
      auth: { ...store.get('auth'), required: true, authenticated: false, pending: false,
        error: m.message || m.error || 'Wrong password' },
    });
  });
}
