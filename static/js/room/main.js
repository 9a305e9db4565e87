// A classroom room's page (/room/{code}): the teacher's when the link carries the token
// (#token=…), else a student's. A lab room (body data-kind="lab") runs the optimizer lab
// (lab/app.js) where a playground room runs the playground (app.js): same hooks, same handles.
// Only the modules of this page's kind and role are loaded (a student's page never loads the
// teacher's dashboard and invitation), both requested at once.
const { code, kind } = document.body.dataset;
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const [app, role] = await Promise.all([
  kind === 'lab' ? import('../lab/app.js') : import('../app.js'),
  token ? import('./teacher.js') : import('./student.js'),
]);
const start = kind === 'lab' ? app.startLab : app.startPlayground;
if (token) role.startTeacher(code, token, start);
else role.startStudent(code, start);
