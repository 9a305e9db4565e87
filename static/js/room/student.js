// A student's room page: the join form, then the playground over /ws/room/{code}.
// follow: the followed run (the teacher's or a spotlit student's) read-only, with the
// "Following the teacher" bar and Fork; own: the normal playground on the student's own run;
// paused: the teacher's message covers the page. Names are text (textContent), never markup.
import { $, h } from '../dom.js';
import { showOverlay, hideOverlay, showEnded, FINAL_CLOSE } from './overlay.js';

const MAX_NAME = 40;

/** `start`: startPlayground (app.js) or, in a lab room, startLab (lab/app.js). */
export function startStudent(code, start) {
  const nameKey = `nnp-room-name-${code}`;
  const saved = sessionStorage.getItem(nameKey);
  if (saved !== null) { join(code, saved, start); return; } // a reload joins again under the same name
  const input = h('input', { id: 'join-name', type: 'text', maxlength: String(MAX_NAME), autocomplete: 'nickname',
    placeholder: 'e.g. Ada (or leave empty)' });
  const form = h('form', { class: 'join-form', id: 'join-form' },
    h('label', { for: 'join-name' }, 'Your name, as the teacher will see it'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'btn-primary', id: 'join-button' }, 'Join')),
    h('p', { class: 'muted' }, 'Leave it empty to join anonymously.'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = input.value.trim().slice(0, MAX_NAME);
    sessionStorage.setItem(nameKey, name);
    hideOverlay();
    join(code, name, start);
  });
  showOverlay('join', h('p', { class: 'join-kicker' }, 'Join the class'), h('p', { class: 'join-code' }, code), form);
  input.focus();
}

function join(code, name, start) {
  const lab = document.body.dataset.kind === 'lab';
  const run = lab ? 'race' : 'run';
  const bar = $('#room-bar');
  const label = h('span', { class: 'room-follow-text', id: 'room-follow-text' });
  const who = h('span', { class: 'room-who', id: 'room-who' });
  const fork = h('button', { type: 'button', class: 'btn-primary', id: 'fork',
    title: lab ? 'Take this race’s settings into a race of your own and experiment from there'
      : 'Copy this run (weights, optimizer, iteration) into a run of your own and experiment from there' }, 'Fork: try it yourself');
  bar.append(h('div', { class: 'room-id' }, h('span', { class: 'room-code-small' }, code), who),
    h('div', { class: 'room-follow', id: 'room-follow', role: 'status' }, label), fork);
  bar.dataset.role = 'student';

  let mode = 'follow';
  let spotlight = null; // {student_id, name} of the spotlit run, or null (the teacher's)
  let ended = false;
  let myId = null;

  const showBar = (forked = false) => {
    bar.dataset.mode = mode;
    fork.hidden = mode !== 'follow';
    if (mode === 'follow') {
      label.textContent = spotlight
        ? (spotlight.student_id === myId ? `The class is watching your ${run}` : `Following ${spotlight.name ? `${spotlight.name}’s` : 'a classmate’s'} ${run} (spotlight)`)
        : 'Following the teacher';
    } else if (mode === 'own') {
      const act = lab ? 'race' : 'train';
      label.textContent = forked ? `Your own ${run}, forked from the one you followed: change anything and ${act}` : `Your own ${run}: change anything and ${act}`;
    } else {
      label.textContent = 'Class paused';
    }
  };

  const applyMode = (m) => {
    mode = m.mode;
    hideOverlay();
    api.setReadOnly(mode !== 'own');
    if (mode === 'paused') {
      showOverlay('pause', h('p', { class: 'pause-kicker' }, 'The teacher paused the class'),
        h('p', { class: 'pause-message', id: 'pause-message' }, m.message || 'Eyes on the projector'));
    } else if (mode === 'own' && !m.forked) {
      api.expectReplay(() => api.startRun()); // a run of one's own: its state, or a fresh one from what was shown
      api.sendSpeed();
    } else if (mode === 'own') {
      api.sendSpeed();
    } else {
      api.newRun();
    }
    showBar(Boolean(m.forked));
  };

  fork.addEventListener('click', () => { api.conn.send({ type: 'fork' }); });

  const api = start({
    socketPath: `/ws/room/${code}`,
    room: {
      join: () => (name ? { type: 'join', role: 'student', name } : { type: 'join', role: 'student' }),
      onMessage(m) {
        switch (m.type) {
          case 'joined':
            myId = m.student_id;
            who.textContent = m.name ? `You: ${m.name}` : 'You: anonymous';
            spotlight = m.spotlight != null ? { student_id: m.spotlight, name: null } : null;
            applyMode(m);
            return true;
          case 'mode':
            applyMode(m);
            return true;
          case 'spotlight':
            spotlight = m.student_id != null ? { student_id: m.student_id, name: m.name } : null;
            if (mode === 'follow') api.newRun();
            showBar();
            return true;
          case 'closed':
            ended = true;
            api.conn.stop();
            showEnded('The class has ended.', m.reason ? `${m.reason.charAt(0).toUpperCase()}${m.reason.slice(1)}.` : '');
            return true;
          case 'error':
            if (m.request_type === 'join') {
              ended = true;
              api.conn.stop();
              showEnded('Could not join this class.', m.message);
              return true;
            }
            return false;
          default:
            return false;
        }
      },
      onClose(info) {
        if (ended) return true;
        if (FINAL_CLOSE.has(info.code)) {
          ended = true;
          api.conn.stop();
          showEnded('You left the class.', 'The server closed the connection.');
          return true;
        }
        return false;
      },
    },
  });
  api.setReadOnly(true); // until `joined` says the class's mode
  showBar();
}
