// The connection badge both pages show at all times, with the "Reconnect" button that appears
// once the client has used up its attempts (CONNECTIVITY.md: 10).
import { h, fill } from './dom.js';

const LABELS = {
  idle: 'Starting…',
  connecting: 'Connecting…',
  open: 'Connected',
  waiting: 'Reconnecting',
  failed: 'Disconnected',
  stopped: 'Closed',
};

/**
 * @param {HTMLElement} root  where to render
 * @param {import('../ws-client.js').McavClient} client
 */
export function mountConnStatus(root, client) {
  const dot = h('span', { class: 'conn-dot', 'aria-hidden': 'true' });
  const label = h('span', { class: 'conn-label', id: 'conn-label' });
  const detail = h('span', { class: 'conn-detail', id: 'conn-detail' });
  const button = h('button', {
    class: 'btn btn-small conn-reconnect', id: 'reconnect-btn', type: 'button', hidden: true,
    onclick: () => client.reconnectNow(),
  }, 'Reconnect');
  const badge = h('div', { class: 'conn', id: 'conn-status', role: 'status', 'aria-live': 'polite' },
    dot, label, detail);
  fill(root, badge, button);

  let countdown = null;
  const render = () => {
    const s = client.status();
    const max = s.maxAttempts === Infinity ? '∞' : s.maxAttempts;
    badge.dataset.state = s.state;
    label.textContent = LABELS[s.state] || s.state;
    const parts = [];
    if (s.state === 'waiting' && s.nextAttemptAt !== null) {
      const secs = Math.max(0, (s.nextAttemptAt - performance.now()) / 1000);
      parts.push(`in ${secs.toFixed(1)} s · attempt ${s.attempt}/${max}`);
    } else if (s.state === 'connecting' && s.attempt > 0) {
      parts.push(`attempt ${s.attempt}/${max}`);
    } else if (s.state === 'failed') {
      parts.push(`gave up after ${s.attempt} attempts`);
    }
    if (s.queueLength) parts.push(`${s.queueLength} queued`);
    detail.textContent = parts.join(' · ');
    button.hidden = s.state !== 'failed';
    // A countdown only while waiting; no timer otherwise.
    if (s.state === 'waiting' && countdown === null) countdown = setInterval(render, 200);
    if (s.state !== 'waiting' && countdown !== null) {
      clearInterval(countdown);
      countdown = null;
    }
  };
  client.on('status', render);
  render();
}
