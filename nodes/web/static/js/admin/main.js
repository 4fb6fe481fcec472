// Admin panel entry point: resolve config, connect, mount components.
import { loadConfig } from '../config.js';
import { McavClient } from '../ws-client.js';
import { Store, Live } from '../store.js';
import { bindProtocol, initialState } from '../protocol.js';
import { $ } from '../ui/dom.js';
import { mountConnStatus } from '../ui/conn-status.js';
import { mountToasts } from '../ui/toasts.js';
import { mountBandMeters, mountBeat, mountTempo } from '../ui/meters.js';
import { mountPatterns } from './patterns.js';
import { mountPresets } from './presets.js';
import { mountEffects } from './effects.js';
import { mountSensitivity } from './sensitivity.js';
import { mountZone } from './zone.js';
import { mountRoster } from './roster.js';
import { mountCodes } from './codes.js';
import { mountHealth } from './health.js';
import { mountScenes } from './scenes.js';
import { mountCues, mountCountdown } from './cues.js';
import { mountMidi } from './midi.js';
import { mountAuth, authHello } from './auth.js';
import { mountNowPlaying, mountFooter } from './now-playing.js';
import { mountBeatRate } from './beat-rate.js';
import { bindKeys } from './keys.js';

// Refresh roster/health figures that the server only sends inside vj_state.
const REFRESH_MS = 5000;

async function main() {
  const notify = mountToasts(document.body);
  const { options, problems, url, server } = await loadConfig(window.location.search, (attempt) => {
    if (attempt === 1) notify({ kind: 'error', message: 'The VJ server is not answering; waiting for its /config.json…' });
  });
  problems.forEach((message) => notify({ kind: 'error', message }));

  const client = new McavClient(url, options, { hello: authHello });
  const store = new Store(initialState());
  const live = new Live();
  window.mcavClient = client.debugView();
  window.mcavLive = Object.freeze({ get frames() { return live.frames; }, get frame() { return live.frame; } });
  bindProtocol(client, store, live, notify);
  if (server.operator_auth === true) store.set({ auth: { ...store.get('auth'), required: true } });

  const ctx = { client, store, live, notify };
  mountConnStatus($('#conn'), client);
  mountAuth($('#header-actions'), ctx);
  mountNowPlaying($('#now-playing'), ctx);
  mountBeat($('#beat'), live);
  mountTempo($('#tempo'), live);
  const beatRate = mountBeatRate($('#beat-rate'), ctx);
  mountBandMeters($('#meters'), live);
  const patterns = mountPatterns($('#slot-patterns'), ctx);
  mountPresets($('#slot-presets'), ctx);
  const effects = mountEffects($('#slot-effects'), ctx);
  mountSensitivity($('#slot-sensitivity'), ctx);
  mountZone($('#slot-zone'), ctx);
  mountRoster($('#slot-djs'), ctx);
  mountCodes($('#slot-codes'), ctx);
  mountHealth($('#slot-health'), ctx);
  mountScenes($('#slot-scenes'), ctx);
  const cues = mountCues($('#slot-cues'), ctx);
  mountMidi($('#slot-midi'), ctx);
  mountCountdown($('#countdown'), ctx);
  mountFooter($('#footer-stats'), ctx);
  bindKeys({ patterns, effects, cues, beatRate });

  store.subscribe(['minecraftConnected'], (d) => {
    $('#mc-dot').dataset.ok = String(d.minecraftConnected);
  });
  client.on('status', (s) => { $('#server-dot').dataset.ok = String(s.state === 'open'); });

  // Lists that vj_state does not carry are asked for on every (re)connect.
  client.on('open', () => {
    client.send({ type: 'get_connect_codes' });
    client.send({ type: 'get_pending_djs' });
    client.send({ type: 'list_scenes' });
    client.send({ type: 'get_cues' });
  });
  setInterval(() => {
    if (client.state === 'open' && !document.hidden) client.send({ type: 'get_state' });
  }, REFRESH_MS);

  client.start();
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  // Shown on the page, not only in the console: the operator must see why nothing works.
  const el = document.getElementById('fatal');
  el.hidden = false;
  el.textContent = `The admin panel failed to start: ${err.message}`;
});
