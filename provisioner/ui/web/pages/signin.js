// The sign-in page: an operator token (the file STATE/operator.token, or one made with
// `provisioner token create`), exchanged for a session cookie; the token is not kept.
import { h, fill, busy } from '../dom.js';

export function signinPage(main, message, signIn) {
  const input = h('input', { id: 'token', type: 'password', name: 'token', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const out = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    message ? h('p', { class: 'muted' }, message) : null,
    h('label', { for: 'token' }, 'Operator token', input),
    h('p', { id: 'token-help', class: 'muted' },
      'An operator token (op_…): the server\u2019s state directory holds the first one in operator.token; ',
      h('code', {}, 'provisioner token create NAME'), ' makes more. Host and guest tokens cannot sign in.'),
    button, out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(button, out, () => signIn(input.value.trim()));
  });
  fill(main, form);
  input.focus();
}
