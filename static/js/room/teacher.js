// The teacher's room page: the playground driving the room's run over /ws/room/{code}, the room
// bar (join code, invitation, the class's mode, push, close) and the class dashboard (a second
// view). The room outlives this page: a reload (the token stays in the link) reconnects to the
// same run, whose latest state is replayed; a fresh room is configured from the link's settings.
import { $, h } from '../dom.js';
import { createDashboard } from './dashboard.js';
import { createInvite } from './invite.js';
import { showEnded, FINAL_CLOSE } from './overlay.js';

const MODES = [['follow', 'Follow me', 'Every student watches your run'], ['own', 'Own runs', 'Each student trains and changes things themselves'],
  ['paused', 'Pause class', 'Covers every student’s page with your message']];
const DEFAULT_MESSAGE = 'Eyes on the projector';

/** `start`: startPlayground (app.js) or, in a lab room, startLab (lab/app.js). */
export function startTeacher(code, token, start) {
  const lab = document.body.dataset.kind === 'lab';
  const run = lab ? 'race' : 'run';
  const fresh = lab ? 'a fresh race at step 0' : 'fresh weights, iteration 0';
  const bar = $('#room-bar');
  bar.dataset.role = 'teacher';
  const invite = createInvite(code, token);
  let ended = false;
  let mode = 'follow';

  // ---------------------------------------------------------------- views: my run | class
  const tabRun = h('button', { type: 'button', class: 'room-tab', id: 'tab-run', 'aria-pressed': 'true', onclick: () => view('run') }, `My ${run}`);
  const classCount = h('span', { class: 'room-tab-count', id: 'class-count' }, '0');
  const tabClass = h('button', { type: 'button', class: 'room-tab', id: 'tab-class', 'aria-pressed': 'false', onclick: () => view('class') }, 'Class ', classCount);
  const view = (which) => {
    document.body.dataset.view = which;
    tabRun.setAttribute('aria-pressed', String(which === 'run'));
    tabClass.setAttribute('aria-pressed', String(which === 'class'));
    $('#dashboard').hidden = which !== 'class';
    if (which === 'run') window.dispatchEvent(new Event('resize')); // plots sized while hidden
  };

  // ---------------------------------------------------------------- mode, push, close
  const message = h('input', { type: 'text', id: 'pause-text', maxlength: '200', placeholder: DEFAULT_MESSAGE, 'aria-label': 'Message shown while the class is paused',
    onkeydown: (e) => { if (e.key === 'Enter' && mode === 'paused') sendMode('paused'); } });
  const modeButtons = MODES.map(([value, label, title]) => h('button', { type: 'button', class: 'seg', id: `mode-${value}`, title,
    'aria-pressed': String(value === mode), onclick: () => sendMode(value) }, label));
  const sendMode = (value) => api.conn.send({ type: 'mode', mode: value, ...(value === 'paused' ? { message: message.value.trim() || DEFAULT_MESSAGE } : {}) });
  const showMode = (value) => {
    mode = value;
    bar.dataset.mode = value;
    modeButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(MODES[i][0] === value)));
  };
  const push = h('button', { type: 'button', class: 'btn-small', id: 'push', title: `Give every student’s own ${run} your current settings (${fresh})`,
    onclick: () => api.conn.send({ type: 'push' }) }, 'Push my settings');
  const close = h('button', { type: 'button', class: 'btn-small danger', id: 'close-room', onclick: () => {
    if (confirm('Close the room? Every student is disconnected and the code stops working.')) api.conn.send({ type: 'close_room' });
  } }, 'Close room');

  bar.append(
    h('div', { class: 'room-id' }, h('span', { class: 'room-label' }, 'Class code'),
      h('button', { type: 'button', class: 'room-code', id: 'room-code', title: 'Show the invitation (code, link, QR code)', onclick: () => invite.open() }, code)),
    h('div', { class: 'room-tabs', role: 'group', 'aria-label': 'View' }, tabRun, tabClass),
    h('div', { class: 'room-modes', role: 'group', 'aria-label': 'Class mode' }, ...modeButtons, message),
    h('div', { class: 'room-actions' }, push, close));

  const dashboard = createDashboard($('#dashboard'), { spotlight: (id) => api.conn.send({ type: 'spotlight', student_id: id }) }, { lab });
  view('run');
  showMode(mode);

  const api = start({
    socketPath: `/ws/room/${code}`,
    room: {
      join: () => ({ type: 'join', role: 'teacher', token }),
      onMessage(m) {
        switch (m.type) {
          case 'joined':
            showMode(m.mode);
            if (m.message) message.value = m.message;
            dashboard.setSpotlight(m.spotlight);
            api.expectReplay(() => api.startRun()); // a new room: the link's settings; else its run as it was
            api.sendSpeed();
            if (sessionStorage.getItem(`nnp-room-new-${code}`)) {
              sessionStorage.removeItem(`nnp-room-new-${code}`);
              invite.open();
            }
            return true;
          case 'roster':
            showMode(m.mode);
            classCount.textContent = String(m.students.length);
            dashboard.update(m);
            return true;
          case 'mode':
            showMode(m.mode);
            return true;
          case 'spotlight':
            dashboard.setSpotlight(m.student_id);
            return true;
          case 'pushed':
            api.banners.show('room', 'Settings pushed.', `${m.students} student${m.students === 1 ? '' : 's'} now start${m.students === 1 ? 's' : ''} from your settings (${fresh}) in their own ${run}s.`, null, { role: 'status' });
            return true;
          case 'closed':
            ended = true;
            api.conn.stop();
            showEnded('The room is closed.', 'Students were disconnected and the code no longer works.');
            return true;
          case 'error':
            if (m.request_type === 'join') {
              ended = true;
              api.conn.stop();
              showEnded('This room cannot be opened.', `${m.message}. A room ends when its teacher closes it or stays away too long.`);
              return true;
            }
            if (m.request_type === 'spotlight') { dashboard.showError(m.message); return true; }
            if (['mode', 'push', 'close_room'].includes(m.request_type)) {
              api.banners.show('room', 'That did not work.', m.message);
              return true;
            }
            if (m.request_type === null && m.field === '' && /another page/.test(m.message)) {
              ended = true;
              api.conn.stop();
              showEnded('This room is open in another page.', m.message);
              return true;
            }
            return false;
          default:
            return false;
        }
      },
      onThumbnails: (frame) => dashboard.thumbnails(frame),
      onClose(info) {
        if (ended) return true;
        if (FINAL_CLOSE.has(info.code)) {
          ended = true;
          api.conn.stop();
          showEnded('Disconnected from the room.', 'The server ended this connection.');
          return true;
        }
        return false;
      },
    },
  });
}
