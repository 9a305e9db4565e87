// The invitation: the join code in large type, the URL and its QR code (an SVG drawn by the
// server, GET /api/rooms/{code}/qr.svg) for the projector; the teacher link (the secret that
// reopens the room as the teacher) folded away below, for the teacher only.
import { h } from '../dom.js';

function copyField(id, label, value) {
  const input = h('input', { id, type: 'text', readonly: true, value, class: 'copy-input', 'aria-label': label });
  const button = h('button', { type: 'button', class: 'btn-small', onclick: async () => {
    input.select();
    try { await navigator.clipboard.writeText(value); button.textContent = 'Copied'; } catch { document.execCommand?.('copy'); button.textContent = 'Copied'; }
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  } }, 'Copy');
  return h('div', { class: 'copy-row' }, input, button);
}

/** A <dialog> appended to the body; returns {open()}. */
export function createInvite(code, token) {
  const studentUrl = `${location.origin}/room/${code}`;
  const teacherUrl = `${studentUrl}#token=${encodeURIComponent(token)}`;
  const dialog = h('dialog', { class: 'invite', id: 'invite', 'aria-labelledby': 'invite-title' },
    h('div', { class: 'invite-body' },
      h('div', { class: 'invite-text' },
        h('h2', { id: 'invite-title', class: 'invite-title' }, 'Join the class'),
        h('p', { class: 'invite-how' }, 'Open ', h('strong', { class: 'invite-url', id: 'invite-url' }, `${location.host}/room/${code}`),
          ' or scan the QR code. Join code:'),
        h('p', { class: 'invite-code', id: 'invite-code', 'aria-label': `join code ${code.split('').join(' ')}` }, code),
        copyField('invite-student-url', 'Student link', studentUrl),
        h('details', { class: 'invite-secret' },
          h('summary', {}, 'Teacher link (secret: do not project)'),
          h('p', { class: 'muted' }, 'This link reopens the room as its teacher, after a reload or on another computer. Anyone with it can run the class.'),
          copyField('invite-teacher-url', 'Teacher link', teacherUrl))),
      h('img', { class: 'invite-qr', id: 'invite-qr', src: `/api/rooms/${code}/qr.svg`, alt: `QR code of ${studentUrl}`, width: 260, height: 260 })),
    h('form', { method: 'dialog', class: 'invite-actions' }, h('button', { class: 'btn-primary', id: 'invite-close', autofocus: true }, 'Start teaching')));
  document.body.append(dialog);
  return { open() { if (!dialog.open) dialog.showModal(); } };
}
