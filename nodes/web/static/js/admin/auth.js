// Operator login. When the server is started with an operator password, mutating commands
// need `vj_auth{password}` first (→ auth_success / auth_error). The password is kept for this
// tab only (sessionStorage) and re-sent first thing on every reconnect via the client's hello hook.
import { h } from '../ui/dom.js';

const KEY = 'mcav.operatorPassword';
// Server errors that mean "log in first" (the wording is the server's; match loosely).
const NEEDS_LOGIN = /auth|log ?in|password|not allowed|permission|unauthori[sz]ed|forbidden/i;

export function storedPassword() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the operator logs in again after a reload
  }
}

function remember(pw) {
  try {
    if (pw === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, pw);
  } catch { /* see storedPassword */ }
}

/** The hello hook for McavClient: log in again on every (re)connect. */
export function authHello() {
  const pw = storedPassword();
  return pw ? [{ type: 'vj_auth', password: pw }] : [];
}

export function mountAuth(buttonRoot, { client, store, notify }) {
  const input = h('input', { type: 'password', id: 'login-password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'field-error', id: 'login-error', role: 'alert' });
  const submit = h('button', { class: 'btn', type: 'submit', id: 'login-submit' }, 'Log in');
  const cancel = h('button', { class: 'btn btn-ghost', type: 'button', onclick: () => dialog.close() }, 'Cancel');
  const dialog = h('dialog', { class: 'login-dialog', id: 'login-dialog', 'aria-labelledby': 'login-title' },
    h('form', {
      method: 'dialog',
      onsubmit: (ev) => {
        ev.preventDefault();
        const pw = input.value;
        if (!pw) {
          error.textContent = 'Enter the operator password.';
          return;
        }
        error.textContent = '';
        remember(pw);
        store.set({ auth: { ...store.get('auth'), pending: true, error: null } });
        // If we are offline the hello hook sends it on the next open, ahead of any queued command.
        if (client.state === 'open') client.send({ type: 'vj_auth', password: pw });
      },
    },
    h('h2', { id: 'login-title' }, 'Operator login'),
    h('p', { class: 'muted' }, 'This VJ server requires the operator password to change the show.'),
    h('label', { for: 'login-password' }, 'Password'), input, error,
    h('div', { class: 'dialog-actions' }, cancel, submit)));
  document.body.append(dialog);

  const btn = h('button', { class: 'btn btn-small btn-ghost', type: 'button', id: 'login-btn', onclick: () => open() }, 'Log in');
  buttonRoot.append(btn);

  function open(message) {
    if (message) error.textContent = message;
    if (!dialog.open) dialog.showModal();
    input.focus();
  }

  let wasAuthenticated = false;
  store.subscribe(['auth'], ({ auth }) => {
    btn.dataset.auth = auth.authenticated ? 'yes' : 'no';
    btn.textContent = auth.authenticated ? 'Operator ✓' : auth.pending ? 'Logging in…' : 'Log in';
    btn.classList.toggle('btn-ok', auth.authenticated);
    btn.hidden = !auth.required && !auth.authenticated && !storedPassword();
    submit.disabled = auth.pending;
    if (auth.error) {
      remember(null); // a wrong password must not be re-sent on every reconnect
      open(auth.error);
    }
    if (auth.authenticated && !wasAuthenticated) {
      if (dialog.open) dialog.close();
      input.value = '';
      notify({ kind: 'ok', message: 'Logged in as operator' });
    }
    wasAuthenticated = auth.authenticated;
  });

  client.on('error', (m) => {
    const text = m.message || m.error || '';
    if (NEEDS_LOGIN.test(text) && !store.get('auth').authenticated) {
      store.set({ auth: { ...store.get('auth'), required: true } });
      open(text);
    }
  });
  // A new connection is a new session on the server: not logged in until it says so.
  client.on('open', () => {
    const auth = store.get('auth');
    store.set({ auth: { ...auth, authenticated: false, pending: !!storedPassword(), error: null } });
  });

  return { open };
}
