// 3D preview entry point.
import { loadConfig } from '../config.js';
import { McavClient } from '../ws-client.js';
import { Store, Live } from '../store.js';
import { bindProtocol, initialState, djName } from '../protocol.js';
import { $, fmt, setText } from '../ui/dom.js';
import { mountConnStatus } from '../ui/conn-status.js';
import { mountToasts } from '../ui/toasts.js';
import { mountBandMeters, mountBeat, mountTempo } from '../ui/meters.js';
import { webglAvailable } from './webgl.js';
import { mountPanel } from './panel.js';

async function createView() {
  if (!webglAvailable()) return { view: null, reason: 'This browser cannot draw WebGL (no GPU or WebGL disabled).' };
  try {
    // Loaded on demand: without WebGL (or if the vendored library is missing) the rest of the
    // page still works.
    const { PreviewScene } = await import('./scene.js');
    return { view: new PreviewScene($('#viewport')), reason: null };
  } catch (err) {
    return { view: null, reason: `The 3D view could not start: ${err.message}` };
  }
}

async function main() {
  const notify = mountToasts(document.body);
  const { options, problems, url } = await loadConfig(window.location.search, (attempt) => {
    if (attempt === 1) notify({ kind: 'error', message: 'The VJ server is not answering; waiting for its /config.json…' });
  });
  problems.forEach((message) => notify({ kind: 'error', message }));

  const client = new McavClient(url, options);
  const store = new Store(initialState());
  const live = new Live();
  window.mcavClient = client.debugView();
  bindProtocol(client, store, live, notify);

  const { view, reason } = await createView();
  if (!view) {
    const msg = $('#no-webgl');
    msg.hidden = false;
    $('#no-webgl-reason').textContent = reason;
  }

  mountConnStatus($('#conn'), client);
  mountBandMeters($('#overlay-meters'), live, { vertical: true });
  mountBeat($('#overlay-beat'), live);
  mountTempo($('#overlay-tempo'), live);
  mountPanel($('#panel'), { client, store, view });

  const info = { pattern: $('#info-pattern'), dj: $('#info-dj'), fps: $('#info-fps'), frame: $('#info-frame'), blocks: $('#info-blocks') };
  store.subscribe(['currentPattern', 'patterns', 'activeDj', 'roster'], (d) => {
    const p = (d.patterns || []).find((x) => x.id === d.currentPattern);
    info.pattern.textContent = p ? p.name || p.id : d.currentPattern || '—';
    info.pattern.dataset.pattern = d.currentPattern || '';
    info.dj.textContent = djName(d.activeDj, d.roster) || 'no DJ';
  });
  // The zone's real size comes from the plugin (`get_zone`, relayed by the server); ask only while
  // Minecraft is connected (otherwise the server can only answer with an error).
  // A reply can be lost (an error while the plugin reconnects, a request timeout): ask again every
  // 3 s until the zone's info is there.
  let askedZone = null;
  const askZone = (d) => {
    if (d.minecraftConnected && d.zone && askedZone !== d.zone && client.state === 'open') {
      askedZone = d.zone;
      client.send({ type: 'get_zone', zone: d.zone });
      setTimeout(() => {
        const info = store.get('zoneInfo');
        if (askedZone === d.zone && !(info && info.name === d.zone)) {
          askedZone = null;
          askZone(store.data);
        }
      }, 3000);
    }
  };
  client.on('open', () => { askedZone = null; askZone(store.data); });
  store.subscribe(['minecraftConnected', 'zone'], askZone);
  store.subscribe(['zoneInfo'], (d) => {
    const s = d.zoneInfo && d.zoneInfo.size;
    if (view && s) view.setZoneSize(Number(s.x), Number(s.y), Number(s.z));
  });

  let lastFrame = null;
  let lastBeatSeen = live.lastBeatAt;
  live.add((frame, dt) => {
    if (frame && frame !== lastFrame) {
      lastFrame = frame;
      if (view) view.setEntities(frame.entities);
      setText(info.frame, String(frame.frame ?? '—'));
    }
    if (frame) {
      // The DJ's fps when a DJ is live, else the rate the state frames reach this page.
      setText(info.fps, typeof frame.fps === 'number' ? fmt(frame.fps, 0) : fmt(live.rate, 0));
    }
    if (live.lastBeatAt !== lastBeatSeen) {
      lastBeatSeen = live.lastBeatAt;
      if (view) view.beat(Number(lastFrame && lastFrame.beat_intensity) || 0.6);
    }
    if (view) {
      view.render(dt);
      setText(info.blocks, `${view.visibleCount}/${view.count}`);
    }
  });

  window.mcavPreview = Object.freeze({
    get webgl() { return !!view; },
    get entities() { return view ? view.count : 0; },
    get visibleEntities() { return view ? view.visibleCount : 0; },
    get framesRendered() { return view ? view.frameCount : 0; },
    get zoneSize() { return view ? view.size.toArray() : null; },
    get zoneInfo() { return store.get('zoneInfo'); },
    get camera() { return view ? { position: view.camera.position.toArray(), distance: view.camera.position.distanceTo(view.controls.target) } : null; },
    get stateFrames() { return live.frames; },
  });

  client.start();
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  const el = document.getElementById('fatal');
  el.hidden = false;
  el.textContent = `The preview failed to start: ${err.message}`;
});
