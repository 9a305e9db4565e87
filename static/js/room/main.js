// A classroom room's page (/room/{code}): the teacher's when the link carries the token
// (#token=…), else a student's.
import { startTeacher } from './teacher.js';
import { startStudent } from './student.js';

const code = document.body.dataset.code;
const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token) startTeacher(code, token);
else startStudent(code);
