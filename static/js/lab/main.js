// The optimizer lab page (/lab): the lab (app.js) on its own socket, and "Start a class", which
// opens a lab room (docs/lab.md "Lab rooms") starting from this page's settings.
import { $ } from '../dom.js';
import { startLab } from './app.js';
import { startClassButton } from '../room/start.js';

const lab = startLab();
$('#start-class-root')?.append(startClassButton(() => location.hash.slice(1), 'lab'));
void lab;
