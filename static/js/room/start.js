// "Start a class": creates a classroom room (POST /api/rooms; from the lab a lab room, {"kind":
// "lab"}) and opens its teacher page, which starts from the current experiment's settings (sent in
// the teacher link's fragment, after the token: the fragment never reaches a server).
import { h } from '../dom.js';

/** The top-bar button; `settings()` returns the experiment as a URL-hash string ('' = defaults);
 *  `kind`: the room's kind, 'playground' or 'lab'. */
export function startClassButton(settings, kind = 'playground') {
  const button = h('button', { type: 'button', class: 'btn-text', id: 'start-class', 'aria-label': 'Start a class',
    title: `Open a classroom room: students join with a code and follow your ${kind === 'lab' ? 'race' : 'run'}` },
  h('svg:svg', { viewBox: '0 0 24 24', class: 'icon', 'aria-hidden': 'true' },
    h('svg:path', { d: 'M12 3 1 9l11 6 9-4.9V17h2V9zM5 13.2v4L12 21l7-3.8v-4L12 17z' })),
  h('span', { class: 'btn-label' }, 'Start a class'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const reply = await fetch('/api/rooms', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind }) });
      const body = await reply.json().catch(() => ({}));
      if (!reply.ok) throw new Error(body.detail || `the server answered ${reply.status}`);
      sessionStorage.setItem(`nnp-room-new-${body.code}`, '1'); // the teacher page opens the invitation
      const extra = settings();
      location.href = `/room/${body.code}#token=${encodeURIComponent(body.teacher_token)}${extra ? `&${extra}` : ''}`;
    } catch (err) {
      button.disabled = false;
      button.title = `Could not start a class: ${err.message}`;
      alert(`Could not start a class: ${err.message}`);
    }
  });
  return button;
}
