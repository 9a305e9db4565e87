// A classroom room's page (/room/{code}): the teacher's when the link carries the token
// (#token=…), else a student's. A lab room (body data-kind="lab") runs the optimizer lab
// (lab/app.js) where a playground room runs the playground (app.js): same hooks, same handles.
import { startTeacher } from './teacher.js';
import { startStudent } from './student.js';

const { code, kind } = document.body.dataset;
const start = kind === 'lab' ? (await import('../lab/app.js')).startLab : (await import('../app.js')).startPlayground;
const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token) startTeacher(code, token, start);
else startStudent(code, start);
